// The integration guide (docs/integrate.md) and the coding agents' skill (clients/skill/SKILL.md) checked
// against the real API: every relay path their snippets name exists in the suite's GET /openapi.json; their
// JavaScript runs in Node against the real suite and the fake provider (the `@byok-relay/client` import
// mapped to clients/js, `http://localhost:3000` to the suite, a stand-in `document` whose elements hold a
// key), and every HTTP call it makes is a route and method of the API document; the client methods they
// call exist; their curl sessions run as written.
import test from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { createClient, createMemoryStorage } from '../../clients/js/src/index.js'
import { startFakeProvider, REPLY } from './lib/fake_provider.js'
import { ROOT, startSuite } from './lib/suite.js'

const DOCS = [
  // scope: 'document' runs all its snippets as one module; 'section' one module per "## " section.
  { file: 'docs/integrate.md', scope: 'document' },
  { file: 'clients/skill/SKILL.md', scope: 'section' },
]
const CLIENT_URL = pathToFileURL(path.join(ROOT, 'clients/js/src/index.js')).href

// Fenced blocks: [{lang, code, section}].
function fences(markdown) {
  const out = []
  let section = ''
  let block = null
  for (const line of markdown.split('\n')) {
    if (block) {
      if (line.startsWith('```')) { out.push(block); block = null } else block.code += `${line}\n`
      continue
    }
    if (line.startsWith('## ')) section = line.slice(3)
    const m = /^```(\w*)/.exec(line)
    if (m) block = { lang: m[1], code: '', section }
  }
  return out
}

// The API document's routes as matchers: {method, pattern, re}.
function routesOf(openapi) {
  const routes = []
  for (const [pattern, item] of Object.entries(openapi.paths)) {
    const params = [...pattern.matchAll(/\{(\w+)\}/g)].map((m) => m[1])
    const last = params.at(-1)
    const source = pattern.replace(/\{(\w+)\}/g, (_, name) => (name === last && pattern.endsWith(`{${name}}`) && name === 'path' ? '.+' : '[^/]+'))
    for (const method of Object.keys(item)) routes.push({ method: method.toUpperCase(), pattern, re: new RegExp(`^${source}$`) })
  }
  return routes
}

function matchRoute(routes, method, urlPath) {
  return routes.find((r) => (method === null || r.method === method) && r.re.test(urlPath))
}

// Relay paths written in snippets: after ${relayUrl}, ${RELAY_URL}, ${base} or localhost:3000.
function pathsNamed(code) {
  const found = []
  const re = /(?:\$\{(?:relayUrl|RELAY_URL|base)\}|localhost:3000)(\/[^\s'"`?]*)/g
  for (const m of code.matchAll(re)) found.push(m[1].replace(/\$\{[^}]+\}/g, 'x'))
  return found
}

function standInDocument(key) {
  const elements = new Map()
  return {
    elements,
    getElementById(id) {
      if (!elements.has(id)) {
        elements.set(id, { id, value: id === 'api-key' ? key : '', textContent: '', addEventListener() {}, click() {} })
      }
      return elements.get(id)
    },
  }
}

test('docs and skill snippets work against the real API', { timeout: 90000 }, async (t) => {
  const provider = await startFakeProvider({ tokenIntervalMs: 1 })
  t.after(provider.close)
  const suite = await startSuite({ providerUrl: provider.url })
  t.after(suite.stop)
  const openapi = await (await fetch(`${suite.url}/openapi.json`)).json()
  const routes = routesOf(openapi)
  assert.ok(routes.length > 10, 'the API document lists the routes')
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'byok-docs-'))
  t.after(() => fs.rmSync(tmp, { recursive: true, force: true }))

  // Every call the snippets make goes through here.
  const calls = []
  const realFetch = globalThis.fetch
  globalThis.fetch = (input, init = {}) => {
    const url = new URL(typeof input === 'string' ? input : input.url)
    if (url.origin === suite.url) calls.push({ method: (init.method ?? 'GET').toUpperCase(), path: url.pathname })
    return realFetch(input, init)
  }
  t.after(() => { globalThis.fetch = realFetch })

  for (const doc of DOCS) {
    await t.test(doc.file, async (t) => {
      const markdown = fs.readFileSync(path.join(ROOT, doc.file), 'utf8')
      const blocks = fences(markdown)
      const js = blocks.filter((b) => b.lang === 'js' || b.lang === 'javascript')
      assert.ok(js.length > 0, 'has JavaScript snippets')

      await t.test('every path named is a route of GET /openapi.json', () => {
        const named = blocks.flatMap((b) => pathsNamed(b.code))
        assert.ok(named.length > 0)
        for (const p of named) assert.ok(matchRoute(routes, null, p), `${p} is not in the API document`)
      })

      await t.test('every client method called exists', () => {
        const client = createClient({ storage: createMemoryStorage() })
        const methods = new Set(js.flatMap((b) => [...b.code.matchAll(/\brelay\.(\w+)\(/g)].map((m) => m[1])))
        for (const m of methods) assert.equal(typeof client[m], 'function', `relay.${m}() is not a client method`)
      })

      await t.test('the JavaScript runs against the suite', async () => {
        const groups = doc.scope === 'document' ? [js] : [...new Set(js.map((b) => b.section))].map((s) => js.filter((b) => b.section === s))
        for (const group of groups) {
          const key = `sk-docs-${Math.random().toString(16).slice(2)}`
          const document = standInDocument(key)
          globalThis.document = document
          globalThis.localStorage = createMemoryStorage()
          const before = calls.length
          const source = group.map((b) => b.code).join('\n')
            .replaceAll("'@byok-relay/client'", `'${CLIENT_URL}'`)
            .replaceAll('http://localhost:3000', suite.url)
          const file = path.join(tmp, `snippet-${path.basename(doc.file)}-${calls.length}.mjs`)
          fs.writeFileSync(file, source)
          const where = `${doc.file} § ${group[0].section}`
          await import(pathToFileURL(file).href).catch((err) => { throw new Error(`${where}: ${err.stack}`) })

          const made = calls.slice(before)
          for (const c of made) assert.ok(matchRoute(routes, c.method, c.path), `${where}: ${c.method} ${c.path} is not in the API document`)
          assert.ok(made.some((c) => c.method === 'POST' && c.path.startsWith('/keys/')), `${where} stores a key`)
          const stored = provider.requests.at(-1)
          assert.equal(stored.state, 'completed', `${where}: the provider served the chat`)
          assert.equal(document.elements.get('output')?.textContent.includes(REPLY), true, `${where}: the answer streamed into #output`)
          assert.equal(document.elements.get('api-key')?.value, '', `${where}: the key field is cleared`)
        }
      })

      await t.test('the curl sessions run as written', async () => {
        const sessions = blocks.filter((b) => b.lang === 'sh' && b.code.includes('curl') && !b.code.includes('run.sh'))
        for (const s of sessions) {
          const script = s.code.replaceAll('localhost:3000', `127.0.0.1:${suite.port}`)
          for (const m of script.matchAll(/curl\s[^\n]*?(?:-X\s+(\w+)\s+)?127\.0\.0\.1:\d+(\/[^\s'"]*)/g)) {
            const method = m[1] ?? (/ -d /.test(m[0]) ? 'POST' : 'GET')
            assert.ok(matchRoute(routes, method, m[2]), `${method} ${m[2]} is not in the API document`)
          }
          const { stdout } = await promisify(execFile)('bash', ['-euo', 'pipefail', '-c', script], { timeout: 20000 })
          if (script.includes('/relay')) assert.match(stdout, /data: \[DONE\]/)
          if (script.includes('/keys/openai')) assert.match(stdout, /"ok":true/)
          assert.doesNotMatch(stdout, /sk-your-key/, 'a key came back')
        }
      })
    })
  }
})
