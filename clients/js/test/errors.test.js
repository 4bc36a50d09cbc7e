// Typed errors: the relay's own errors, the providers' error bodies, and an unreachable relay.
import test from 'node:test'
import assert from 'node:assert/strict'
import { createClient, RelayError, ErrorCode } from '../src/index.js'
import { startServer, sendJson } from './fake_server.js'

async function relayAnswering(t, answer) {
  const srv = await startServer((req, res) => {
    if (req.path === '/users') return sendJson(res, 200, { token: 'tok', expires_at: null })
    return answer(req, res)
  })
  t.after(srv.close)
  return createClient({ relayUrl: srv.url, storage: null })
}

const chatOnce = (client) => client.chat({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], onChunk: () => {} })

test("the relay's error: status, its message and its code", async (t) => {
  const client = await relayAnswering(t, (req, res) =>
    sendJson(res, 400, { error: 'No API key stored for provider "openai". POST /keys/openai first.', code: 'key_missing' }))
  await assert.rejects(chatOnce(client), (err) => {
    assert.ok(err instanceof RelayError)
    assert.equal(err.status, 400)
    assert.equal(err.code, 'key_missing')
    assert.match(err.message, /No API key stored for provider "openai"/)
    assert.deepEqual(err.body.code, 'key_missing')
    return true
  })
})

test("OpenAI's error body, with Retry-After", async (t) => {
  const client = await relayAnswering(t, (req, res) =>
    sendJson(res, 429, { error: { message: 'Rate limit reached for gpt-4o-mini', type: 'requests', code: 'rate_limit_exceeded' } },
      { 'retry-after': '7' }))
  await assert.rejects(chatOnce(client), (err) => {
    assert.equal(err.status, 429)
    assert.equal(err.code, 'rate_limit_exceeded')
    assert.equal(err.retryAfter, 7)
    assert.match(err.message, /Rate limit reached/)
    return true
  })
})

test("a provider's 401 (the user's key is wrong) keeps the relay token", async (t) => {
  const client = await relayAnswering(t, (req, res) =>
    sendJson(res, 401, { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } }))
  await assert.rejects(chatOnce(client), (err) => {
    assert.equal(err.status, 401)
    assert.equal(err.code, 'authentication_error')
    assert.match(err.message, /invalid x-api-key/)
    return true
  })
  assert.equal(client.getToken(), 'tok')
})

test("Gemini's error body (an array) and a text body", async (t) => {
  let n = 0
  const client = await relayAnswering(t, (req, res) => {
    n += 1
    if (n === 1) return sendJson(res, 400, [{ error: { code: 400, message: 'API key not valid', status: 'INVALID_ARGUMENT' } }])
    res.writeHead(502, { 'content-type': 'text/html' })
    res.end('<html>Bad gateway</html>')
  })
  await assert.rejects(chatOnce(client), { status: 400, code: 'INVALID_ARGUMENT', message: /API key not valid/ })
  await assert.rejects(chatOnce(client), { status: 502, code: ErrorCode.HTTP, message: /Bad gateway/ })
})

test('an unreachable relay: status 0, network_error', async () => {
  const srv = await startServer(() => {})
  const url = srv.url
  await srv.close()
  const client = createClient({ relayUrl: url, storage: null })
  await assert.rejects(client.ensureToken(), (err) => {
    assert.equal(err.name, 'RelayError')
    assert.equal(err.status, 0)
    assert.equal(err.code, ErrorCode.NETWORK)
    return true
  })
})

test('health throws on 503 with the body attached', async (t) => {
  const client = await relayAnswering(t, (req, res) => sendJson(res, 503, { ok: false, status: 'degraded' }))
  await assert.rejects(client.health(), (err) => {
    assert.equal(err.status, 503)
    assert.deepEqual(err.body, { ok: false, status: 'degraded' })
    return true
  })
})
