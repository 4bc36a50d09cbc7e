// The demo page in headless Chromium against the real suite (build/bin/byok-relay) and the fake
// provider, the page served from another origin than the gateway (CORS: ALLOWED_ORIGINS is the page's
// origin) under a strict CSP: register, store a key (the field clears, the key never reaches the DOM or
// storage), list and delete keys, chat with tokens rendered as they stream, Stop closes the provider's
// connection, an error event in the stream and a provider's error reach the user, and the usage chart is
// drawn as SVG. Then the same page from the API's own origin. A screenshot of the page after the chat is
// kept (BYOK_ARTIFACT_DIR, else the working directory).
import test from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { startFakeProvider, REPLY } from '../clients/lib/fake_provider.js'
import { freePort, startSuite, waitFor } from '../clients/lib/suite.js'
import { usageSeries } from '../../clients/demo/usage_data.js'
import { startStaticServer } from './static_server.js'
import { startBrowser } from './webdriver.js'

const artifactDir = process.env.BYOK_ARTIFACT_DIR || process.cwd()

test('the demo page: the whole flow in Chromium, page and relay on different origins', { timeout: 120000 }, async (t) => {
  const provider = await startFakeProvider({ tokenIntervalMs: 90 })
  t.after(provider.close)
  // The page's origin is the only one the relay allows (CORS), and the relay the only one the page may
  // connect to besides its own (CSP).
  const gatewayPort = await freePort()
  const site = await startStaticServer({
    csp: `default-src 'self'; connect-src 'self' http://127.0.0.1:${gatewayPort}; object-src 'none'; ` +
      "base-uri 'none'; form-action 'self'; frame-ancestors 'none'; report-uri /csp-report",
  })
  t.after(site.close)
  const suite = await startSuite({
    providerUrl: provider.url, port: gatewayPort, env: { BYOK_DEMO: '1', ALLOWED_ORIGINS: site.url },
  })
  t.after(suite.stop)
  const { session: b, stop } = await startBrowser({ width: 1280, height: 1200 })
  t.after(stop)
  assert.notEqual(new URL(site.url).origin, new URL(suite.url).origin)

  const statusOf = (id) => b.exec(`return document.getElementById(${JSON.stringify(id)}).textContent`)
  const waitStatus = (id, pattern, what, ms = 10000) =>
    b.waitFor(`const e = document.getElementById(arguments[0]); return new RegExp(arguments[1]).test(e.textContent) && e.textContent`,
      ms, what, id, pattern.source)

  await t.test('connects to the relay on the other origin', async () => {
    await b.get(`${site.url}/demo/?relay=${encodeURIComponent(suite.url)}`)
    await waitStatus('relay-status', /^Connected to /, 'the page to connect')
    assert.equal(await statusOf('account-status'), 'Not registered yet.')
  })

  let token
  await t.test('registers; the token is stored, never shown', async () => {
    await b.click('#register')
    await waitStatus('account-status', /^Registered/, 'registration')
    token = await b.exec(`return localStorage.getItem(arguments[0])`, `byok-relay:relay-token:${suite.url}:byok-demo`)
    assert.match(token, /^[0-9a-f]{64}$/)
    assert.equal(await b.exec(`return document.documentElement.outerHTML.includes(arguments[0])`, token), false)
  })

  const key = `sk-demo-${randomBytes(12).toString('hex')}`
  await t.test('stores a key: the field clears and the key is never in the page or its storage', async () => {
    await b.type('#key-input', key)
    await b.click('#key-save')
    await waitStatus('key-status', /^Key for openai stored/, 'the key to be stored')
    assert.equal(await b.exec(`return document.getElementById('key-input').value`), '')
    const pageHasKey = await b.exec(`
      const k = arguments[0]
      const inputs = [...document.querySelectorAll('input, textarea')].some((e) => e.value.includes(k))
      return document.documentElement.outerHTML.includes(k) || inputs ||
        JSON.stringify(Object.entries(localStorage)).includes(k) || JSON.stringify(Object.entries(sessionStorage)).includes(k)`, key)
    assert.equal(pageHasKey, false)
    await b.waitFor(`return document.querySelector('#key-list li[data-provider="openai"]') !== null`, 5000, 'openai in the key list')
  })

  await t.test('lists and deletes keys', async () => {
    await b.exec(`document.getElementById('key-provider').value = 'anthropic'`)
    await b.type('#key-input', `sk-ant-demo-${randomBytes(8).toString('hex')}`)
    await b.click('#key-save')
    await b.waitFor(`return [...document.querySelectorAll('#key-list li[data-provider]')].map((e) => e.dataset.provider).join(',') === 'anthropic,openai'`,
      5000, 'both keys listed')
    await b.click('#key-list li[data-provider="anthropic"] button')
    await b.waitFor(`return [...document.querySelectorAll('#key-list li[data-provider]')].map((e) => e.dataset.provider).join(',') === 'openai'`,
      5000, 'only openai left')
    assert.match(await statusOf('key-status'), /Key for anthropic deleted/)
  })

  await t.test('chat: tokens render progressively as they stream', async () => {
    // Record every change of the answer's text, with its time, from before the message is sent.
    await b.exec(`
      window.__seen = []
      new MutationObserver(() => {
        const last = document.querySelector('#chat-log .msg.assistant:last-child .text')
        if (last) window.__seen.push([performance.now(), last.textContent.length])
      }).observe(document.getElementById('chat-log'), { childList: true, subtree: true, characterData: true })`)
    await b.type('#chat-model', 'gpt-4o-mini')
    await b.type('#chat-prompt', 'Tell me about foxes.')
    await b.click('#chat-send')
    await waitStatus('chat-status', /^Done/, 'the answer to finish', 20000)
    const answer = await b.text('#chat-log .msg.assistant:last-child .text')
    assert.equal(answer, REPLY)
    const seen = await b.exec('return window.__seen')
    const lengths = [...new Set(seen.map(([, n]) => n))].filter((n) => n > 0)
    assert.ok(lengths.length >= 8, `the text grew in ${lengths.length} steps`)
    const partial = seen.filter(([, n]) => n > 0 && n < REPLY.length)
    const spread = partial.at(-1)[0] - partial[0][0]
    assert.ok(spread > 300, `partial answers were visible for ${spread} ms`)
    // The page refreshes the usage chart by itself after the answer.
    await b.waitFor(`return document.querySelector('#usage-chart svg.chart rect.bar') !== null`, 5000, 'the usage chart')
    await b.screenshot(path.join(artifactDir, 'demo-after-chat.png'))
  })

  await t.test('Stop aborts the stream and the provider sees its connection close', async () => {
    await b.type('#chat-model', 'gpt-slow')
    await b.type('#chat-prompt', 'A very long story, please.')
    await b.click('#chat-send')
    await b.waitFor(`return Number(document.querySelector('#chat-log .msg.assistant:last-child')?.dataset.chunks ?? 0) >= 3`,
      10000, 'a few tokens of the slow stream')
    const record = () => provider.requests.find((r) => r.model === 'gpt-slow')
    assert.equal(record().state, 'running')
    const stoppedAt = Date.now()
    await b.click('#chat-stop')
    await waitStatus('chat-status', /^Stopped/, 'the page to stop')
    await waitFor(() => record().state === 'aborted', 5000, 'the provider to see the connection close')
    const ms = Date.now() - stoppedAt
    assert.ok(record().tokens_sent < 100, `the provider stopped after ${record().tokens_sent} tokens`)
    assert.equal(await b.exec(`return document.querySelector('#chat-log .msg.assistant:last-child').classList.contains('stopped')`), true)
    t.diagnostic(`provider connection closed within ${ms} ms of the click`)
  })

  await t.test('an error event in the stream is shown to the user', async () => {
    await b.type('#chat-model', 'gpt-break')
    await b.click('#chat-send')
    await b.waitFor(`return document.querySelector('#chat-log .msg.assistant:last-child.error .note')?.textContent`,
      15000, 'the stream error to show')
    const shown = await b.text('#chat-log .msg.assistant:last-child .note')
    assert.match(shown, /^stream interrupted: \S/)
    assert.ok((await b.text('#chat-log .msg.assistant:last-child .text')).length > 0, 'the tokens before the error stay')
    assert.equal(provider.requests.find((r) => r.model === 'gpt-break').state, 'broken')
  })

  await t.test("the provider's own error is shown with its status", async () => {
    await b.type('#chat-model', 'gpt-error')
    await b.click('#chat-send')
    const shown = await b.waitFor(`return document.querySelector('#chat-log .msg.assistant:last-child.error .note')?.textContent`,
      10000, 'the provider error to show')
    assert.match(shown, /\(429\): Rate limit reached for requests/)
  })

  await t.test('usage is drawn as an SVG chart', async () => {
    let clicked = 0
    const bars = await waitFor(async () => {
      if (Date.now() - clicked > 500) {  // the relay writes usage in batches: ask again now and then
        clicked = Date.now()
        await b.click('#usage-refresh')
      }
      return b.exec(`
        const bars = [...document.querySelectorAll('#usage-chart svg.chart[data-metric="requests"] rect.bar')]
        const total = bars.reduce((s, r) => s + Number(r.dataset.value), 0)
        return total >= 3 && bars.map((r) => ({ provider: r.dataset.provider, day: r.dataset.day, value: Number(r.dataset.value) }))`)
    }, 10000, 'the chart to count the chats')
    assert.ok(bars.every((r) => r.provider === 'openai'), JSON.stringify(bars))
    const today = new Date().toISOString().slice(0, 10)
    assert.ok(bars.every((r) => r.day === today || r.day === 'all time'), JSON.stringify(bars))
    // The tokens chart shows what the relay counted (it may count none for streamed answers).
    const stats = await (await fetch(`${suite.url}/stats`, { headers: { 'x-relay-token': token } })).json()
    const tokens = usageSeries(stats).cells.reduce((sum, c) => sum + c.tokens, 0)
    const drawn = await b.exec(`
      const svg = document.querySelector('#usage-chart svg.chart[data-metric="tokens"]')
      return svg && [...svg.querySelectorAll('rect.bar')].reduce((s, r) => s + Number(r.dataset.value), 0)`)
    assert.equal(drawn, tokens)
    t.diagnostic(`chart: ${bars.length} bars, ${bars[0].day === 'all time' ? 'provider totals (no daily series)' : 'daily series'}, ${tokens} tokens`)
    await b.screenshot(path.join(artifactDir, 'demo-usage.png'))
  })

  await t.test('deletes the account: the token is forgotten', async () => {
    await b.click('#delete-account')
    await b.click('#delete-account')
    await waitStatus('account-status', /^Account, keys and usage deleted/, 'the account to be deleted')
    assert.equal(await b.exec(`return localStorage.getItem(arguments[0])`, `byok-relay:relay-token:${suite.url}:byok-demo`), null)
    const res = await fetch(`${suite.url}/keys`, { headers: { 'x-relay-token': token } })
    assert.equal(res.status, 401)
  })

  await t.test('no Content-Security-Policy violation, every asset from the page origin', async () => {
    assert.deepEqual(site.cspReports, [])
    for (const asset of ['/demo/app.js', '/demo/style.css', '/demo/client/index.js', '/demo/usage_chart.js']) {
      assert.ok(site.served.includes(asset), `${asset} served`)
    }
  })
  await t.test("same origin as the API, under the gateway's own security headers", async (st) => {
    // Served by the gateway itself at /demo/ (BYOK_DEMO=1), under its own security headers.
    const pageOrigin = suite.url
    const served = await fetch(`${suite.url}/demo/`)
    assert.equal(served.status, 200)
    assert.match(served.headers.get('content-security-policy'), /script-src 'self'/)
    const script = await fetch(`${suite.url}/demo/client/index.js`)
    assert.equal(script.status, 200)
    assert.match(script.headers.get('content-type'), /^text\/javascript/)
    await b.get(`${pageOrigin}/demo/`)
    await waitStatus('relay-status', /^Connected to /, 'the page to connect to its own origin')
    assert.equal(await b.exec(`return document.getElementById('relay-url').value`), '')
    await b.click('#register')
    await waitStatus('account-status', /^Registered/, 'registration')
    await b.type('#key-input', key)
    await b.click('#key-save')
    await waitStatus('key-status', /^Key for openai stored/, 'the key to be stored')
    await b.type('#chat-model', 'gpt-4o-mini')
    await b.click('#chat-send')
    await waitStatus('chat-status', /^Done/, 'the answer to finish', 20000)
    assert.equal(await b.text('#chat-log .msg.assistant:last-child .text'), REPLY)
  })

  assert.ok(fs.existsSync(path.join(artifactDir, 'demo-after-chat.png')))
})
