// Token storage (same key as the original client, legacy migration), registration and expiry.
import test from 'node:test'
import assert from 'node:assert/strict'
import { createClient, createMemoryStorage, tokenStorageKey } from '../src/index.js'
import { startServer, sendJson } from './fake_server.js'

const ORIGINAL_METHODS = [
  'getToken', 'clearToken', 'ensureToken', 'storeKey', 'listKeys', 'deleteKey', 'deleteAccount',
  'relayRequest', 'streamChat', 'chat', 'getStats', 'health', 'getModels',
]

test('createClient returns every method of the original client', () => {
  const relay = createClient({ storage: null })
  for (const m of ORIGINAL_METHODS) assert.equal(typeof relay[m], 'function', m)
  assert.equal(relay.relayUrl, 'http://localhost:3000')
})

test('the token lives under byok-relay:relay-token:<relay origin>:<appId>', () => {
  const mem = createMemoryStorage()
  const relay = createClient({ relayUrl: 'http://relay.test:8080/', appId: 'my-app', storage: mem })
  mem.setItem('byok-relay:relay-token:http://relay.test:8080:my-app', 'tok')
  assert.equal(relay.getToken(), 'tok')
  assert.equal(tokenStorageKey('http://relay.test:8080', 'my-app'), 'byok-relay:relay-token:http://relay.test:8080:my-app')
  relay.clearToken()
  assert.equal(mem.getItem('byok-relay:relay-token:http://relay.test:8080:my-app'), null)
})

test('the legacy global token moves to the scoped key for the default app only', () => {
  const mem = createMemoryStorage()
  const relay = createClient({ storage: mem, appId: 'app-a' })
  mem.setItem('byok_relay_token', 'tok_legacy')
  assert.equal(relay.getToken('app-b'), null)
  assert.equal(mem.getItem('byok_relay_token'), 'tok_legacy')
  assert.equal(relay.getToken(), 'tok_legacy')
  assert.equal(mem.getItem('byok-relay:relay-token:http://localhost:3000:app-a'), 'tok_legacy')
  assert.equal(mem.getItem('byok_relay_token'), null)
})

test('two clients of one relay and app share the token; other apps do not', () => {
  const mem = createMemoryStorage()
  const a = createClient({ storage: mem })
  const b = createClient({ storage: mem })
  const other = createClient({ storage: mem, appId: 'other' })
  mem.setItem('byok-relay:relay-token:http://localhost:3000:app', 'shared')
  assert.equal(b.getToken(), 'shared')
  assert.equal(other.getToken(), null)
  a.clearToken()
  assert.equal(b.getToken(), null)
})

test('ensureToken registers once with the app id and keeps the token and its expiry', async (t) => {
  const expires = Date.now() + 90 * 86400000
  const srv = await startServer((req, res) => sendJson(res, 200, { token: 'a'.repeat(64), expires_at: expires }))
  t.after(srv.close)
  const relay = createClient({ relayUrl: srv.url, appId: 'demo', storage: createMemoryStorage() })
  assert.equal(await relay.ensureToken(), 'a'.repeat(64))
  assert.equal(await relay.ensureToken(), 'a'.repeat(64))
  assert.equal(srv.requests.length, 1)
  assert.deepEqual([srv.requests[0].method, srv.requests[0].path], ['POST', '/users'])
  assert.deepEqual(srv.requests[0].body, { app_id: 'demo' })
  assert.equal(srv.requests[0].headers.authorization, undefined)
  assert.equal(relay.getTokenExpiry(), expires)
})

test('a token that never expires (expires_at null) is reused', async (t) => {
  const srv = await startServer((req, res) => sendJson(res, 200, { token: 'never', expires_at: null }))
  t.after(srv.close)
  const relay = createClient({ relayUrl: srv.url, storage: null })
  await relay.ensureToken()
  assert.equal(relay.getTokenExpiry(), null)
  await relay.ensureToken()
  assert.equal(srv.requests.length, 1)
})

test('an expired token is replaced by a new registration', async (t) => {
  let n = 0
  const srv = await startServer((req, res) => {
    n += 1
    sendJson(res, 200, { token: `tok${n}`, expires_at: n === 1 ? Date.now() - 1 : Date.now() + 60000 })
  })
  t.after(srv.close)
  const relay = createClient({ relayUrl: srv.url, storage: null })
  assert.equal(await relay.ensureToken(), 'tok1')
  assert.equal(await relay.ensureToken(), 'tok2')
  assert.equal(await relay.ensureToken(), 'tok2')
})

test('registration refused: RelayError with the relay message', async (t) => {
  const srv = await startServer((req, res) =>
    sendJson(res, 401, { error: 'Unauthorized: valid Authorization: Bearer <APP_SECRET> header required to register.' }))
  t.after(srv.close)
  const relay = createClient({ relayUrl: srv.url, storage: null })
  await assert.rejects(relay.ensureToken(), (err) => {
    assert.equal(err.name, 'RelayError')
    assert.equal(err.status, 401)
    assert.match(err.message, /APP_SECRET/)
    return true
  })
  assert.equal(relay.getToken(), null)
})

test('calls made together share one registration', async (t) => {
  const srv = await startServer((req, res) => sendJson(res, 200, { token: `tok${srv.requests.length}`, expires_at: null }))
  t.after(srv.close)
  const relay = createClient({ relayUrl: srv.url, storage: null })
  const tokens = await Promise.all([relay.ensureToken(), relay.ensureToken(), relay.ensureToken()])
  assert.deepEqual(tokens, ['tok1', 'tok1', 'tok1'])
  assert.equal(srv.requests.length, 1)
})

test("in a page, relayUrl '' is the page's origin and a relative URL is resolved against the page", (t) => {
  globalThis.location = { href: 'http://page.test:8080/demo/index.html' }
  t.after(() => { delete globalThis.location })
  const same = createClient({ relayUrl: '', appId: 'a', storage: createMemoryStorage() })
  assert.equal(same.relayUrl, 'http://page.test:8080')
  assert.equal(createClient({ relayUrl: '/api/', storage: null }).relayUrl, 'http://page.test:8080/api')
  const mem = createMemoryStorage()
  mem.setItem('byok-relay:relay-token:http://page.test:8080:a', 'tok')
  assert.equal(createClient({ relayUrl: '', appId: 'a', storage: mem }).getToken(), 'tok')
})

test("outside a page, relayUrl '' is refused", () => {
  assert.throws(() => createClient({ relayUrl: '' }), /relayUrl is required/)
})
