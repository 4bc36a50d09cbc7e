// Cancellation: aborting the signal rejects with AbortError and closes the connection, so the relay
// (here: the fake) sees the client leave.
import test from 'node:test'
import assert from 'node:assert/strict'
import { createClient } from '../src/index.js'
import { startServer, sendJson, startSse, waitFor } from './fake_server.js'

async function endlessStream(t) {
  const srv = await startServer((req, res) => {
    if (req.path === '/users') return sendJson(res, 200, { token: 'tok', expires_at: null })
    const write = startSse(res)
    write(`data: ${JSON.stringify({ choices: [{ delta: { content: 'first' } }] })}\n\n`)
    // ...and nothing more until the client leaves.
  })
  t.after(srv.close)
  return { srv, client: createClient({ relayUrl: srv.url, storage: null }) }
}

test('abort during a stream: AbortError, and the server sees the connection close', async (t) => {
  const { srv, client } = await endlessStream(t)
  const controller = new AbortController()
  const chunks = []
  const done = client.chat({
    model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], signal: controller.signal,
    onChunk: (d) => { chunks.push(d); controller.abort() },
  })
  await assert.rejects(done, { name: 'AbortError' })
  assert.deepEqual(chunks, ['first'])
  await waitFor(() => srv.closedEarly.some((r) => r.path === '/relay'), 3000, 'the stream to close')
})

test('abort before the answer arrives', async (t) => {
  const srv = await startServer((req, res) => {
    if (req.path === '/users') return sendJson(res, 200, { token: 'tok', expires_at: null })
    // never answers
  })
  t.after(srv.close)
  const client = createClient({ relayUrl: srv.url, storage: null })
  await client.ensureToken()
  const controller = new AbortController()
  const done = client.streamChat({ provider: 'openai', model: 'gpt-4o', messages: [], signal: controller.signal })
  await waitFor(() => srv.requests.length === 2, 3000, 'the request to arrive')
  controller.abort()
  await assert.rejects(done, { name: 'AbortError' })
  await waitFor(() => srv.closedEarly.length === 1, 3000, 'the connection to close')
})

test('an already aborted signal sends nothing', async (t) => {
  const { srv, client } = await endlessStream(t)
  await client.ensureToken()
  await assert.rejects(
    client.chat({ model: 'gpt-4o', messages: [], onChunk: () => {}, signal: AbortSignal.abort() }),
    { name: 'AbortError' })
  assert.equal(srv.requests.length, 1)
})

test('a throwing onChunk stops the stream and closes it', async (t) => {
  const { srv, client } = await endlessStream(t)
  await assert.rejects(
    client.chat({ model: 'gpt-4o', messages: [], onChunk: () => { throw new Error('render failed') } }),
    /render failed/)
  await waitFor(() => srv.closedEarly.length === 1, 3000, 'the stream to close')
})
