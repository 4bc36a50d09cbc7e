// Key management, account deletion and what happens when the relay refuses the token.
import test from 'node:test'
import assert from 'node:assert/strict'
import { createClient, RelayError, ErrorCode } from '../src/index.js'
import { startServer, sendJson } from './fake_server.js'

// A relay that knows the tokens in `valid` and hands out tok1, tok2, ...
async function fakeRelay(t, { valid = new Set(), keys = [] } = {}) {
  let issued = 0
  const srv = await startServer((req, res) => {
    if (req.method === 'POST' && req.path === '/users') {
      const token = `tok${++issued}`
      valid.add(token)
      return sendJson(res, 200, { token, expires_at: null })
    }
    if (!valid.has(req.headers['x-relay-token'])) return sendJson(res, 401, { error: 'Invalid or expired token' })
    if (req.method === 'POST' && req.path.startsWith('/keys/')) {
      return sendJson(res, 200, { ok: true, provider: decodeURIComponent(req.path.slice(6)) })
    }
    if (req.method === 'GET' && req.path === '/keys') return sendJson(res, 200, { providers: keys })
    if (req.method === 'DELETE') return sendJson(res, 200, { ok: true })
    return sendJson(res, 404, { error: `Cannot ${req.method} ${req.path}` })
  })
  t.after(srv.close)
  return { srv, valid, client: createClient({ relayUrl: srv.url, storage: null }) }
}

test('storeKey registers, then sends {key} with x-relay-token', async (t) => {
  const { srv, client } = await fakeRelay(t)
  assert.deepEqual(await client.storeKey('openai', 'sk-user-key-123'), { ok: true, provider: 'openai' })
  const put = srv.requests[1]
  assert.deepEqual([put.method, put.path], ['POST', '/keys/openai'])
  assert.equal(put.headers['x-relay-token'], 'tok1')
  assert.equal(put.headers['content-type'], 'application/json')
  assert.deepEqual(put.body, { key: 'sk-user-key-123' })
})

test('storeKey with a refused token drops it, registers again and stores the key', async (t) => {
  const { srv, client, valid } = await fakeRelay(t)
  await client.ensureToken()
  valid.delete('tok1')  // revoked elsewhere
  await client.storeKey('anthropic', 'sk-ant-123456789')
  assert.deepEqual(srv.requests.map((r) => `${r.method} ${r.path} ${r.headers['x-relay-token'] ?? ''}`.trim()), [
    'POST /users', 'POST /keys/anthropic tok1', 'POST /users', 'POST /keys/anthropic tok2',
  ])
  assert.equal(client.getToken(), 'tok2')
})

test('listKeys returns provider names, also from entries that are objects', async (t) => {
  const { client } = await fakeRelay(t, { keys: ['anthropic', { provider: 'openai', created_at: 'x' }] })
  assert.deepEqual(await client.listKeys(), [])  // no token yet: no call
  await client.ensureToken()
  assert.deepEqual(await client.listKeys(), ['anthropic', 'openai'])
})

test('a refused token: listKeys gives [] and forgets it; other calls throw token_invalid', async (t) => {
  const { client, valid } = await fakeRelay(t)
  await client.ensureToken()
  valid.clear()
  assert.deepEqual(await client.listKeys(), [])
  assert.equal(client.getToken(), null)
  await client.ensureToken()
  valid.clear()
  await assert.rejects(client.deleteKey('openai'), (err) => {
    assert.ok(err instanceof RelayError)
    assert.equal(err.status, 401)
    assert.equal(err.code, ErrorCode.TOKEN_INVALID)
    assert.match(err.message, /Invalid or expired token/)
    assert.match(err.message, /ensureToken/)
    return true
  })
  assert.equal(client.getToken(), null)
})

test('deleteKey and deleteAccount call DELETE; deleteAccount forgets the token', async (t) => {
  const { srv, client } = await fakeRelay(t)
  await client.ensureToken()
  await client.deleteKey('openai-compatible')
  await client.deleteAccount()
  assert.deepEqual(srv.requests.slice(1).map((r) => `${r.method} ${r.path}`), [
    'DELETE /keys/openai-compatible', 'DELETE /users',
  ])
  assert.equal(client.getToken(), null)
})

test('getStats without a token says so', async () => {
  const client = createClient({ storage: null })
  await assert.rejects(client.getStats(), { name: 'RelayError', code: ErrorCode.TOKEN_INVALID })
})
