// Streams: OpenAI, Anthropic and Gemini shapes, split anywhere; the relay's `event: error` frame and the
// providers' in-stream errors reach the caller.
import test from 'node:test'
import assert from 'node:assert/strict'
import { createClient, ErrorCode } from '../src/index.js'
import { startServer, sendJson, startSse } from './fake_server.js'

// Writes `text` in pieces of `size` bytes (splitting lines, CRLFs and UTF-8 sequences).
async function writeSplit(res, text, size) {
  const bytes = Buffer.from(text, 'utf8')
  for (let i = 0; i < bytes.length; i += size) {
    res.write(bytes.subarray(i, i + size))
    await new Promise((r) => setImmediate(r))
  }
  res.end()
}

async function relayStreaming(t, streamText, { size = 7, status = 200 } = {}) {
  const srv = await startServer(async (req, res) => {
    if (req.path === '/users') return sendJson(res, 200, { token: 'tok', expires_at: null })
    startSse(res, status)
    await writeSplit(res, streamText, size)
  })
  t.after(srv.close)
  return { srv, client: createClient({ relayUrl: srv.url, storage: null }) }
}

const openaiEvent = (content) => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content } }] })}\n\n`
const messages = [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hi' }]

for (const size of [1, 3, 64]) {
  test(`OpenAI stream in pieces of ${size} bytes (CRLF, UTF-8, [DONE])`, async (t) => {
    const text = openaiEvent('Hel') + openaiEvent('lo, ') + ': keep-alive comment\r\n\r\n' +
      openaiEvent('wörld ✓').replace(/\n/g, '\r\n') + 'data: [DONE]\n\n'
    const { srv, client } = await relayStreaming(t, text, { size })
    const chunks = []
    const full = await client.streamChat({ provider: 'openai', model: 'gpt-4o-mini', messages, onChunk: (d) => chunks.push(d) })
    assert.deepEqual(chunks, ['Hel', 'lo, ', 'wörld ✓'])
    assert.equal(full, 'Hello, wörld ✓')
    const req = srv.requests[1]
    assert.equal(req.path, '/relay/openai/v1/chat/completions')
    assert.deepEqual(req.body, { model: 'gpt-4o-mini', stream: true, messages })
  })
}

test('Anthropic stream: text deltas, anthropic-version, system moved out of messages', async (t) => {
  const ev = (type, doc) => `event: ${type}\ndata: ${JSON.stringify({ type, ...doc })}\n\n`
  const text = ev('message_start', { message: { id: 'm', usage: { input_tokens: 3 } } }) +
    ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }) +
    ev('ping', {}) +
    ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'Bon' } }) +
    ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'jour' } }) +
    ev('message_delta', { delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 2 } }) +
    ev('message_stop', {})
  const { srv, client } = await relayStreaming(t, text)
  const events = []
  const full = await client.streamChat({
    provider: 'anthropic', model: 'claude-3-5-haiku', messages, maxTokens: 50, onEvent: (e) => events.push(e.event),
  })
  assert.equal(full, 'Bonjour')
  assert.equal(events.length, 7)
  const req = srv.requests[1]
  assert.equal(req.path, '/relay/anthropic/v1/messages')
  assert.equal(req.headers['anthropic-version'], '2023-06-01')
  assert.deepEqual(req.body, { model: 'claude-3-5-haiku', max_tokens: 50, stream: true, system: 'be brief',
    messages: [{ role: 'user', content: 'hi' }] })
})

test('Gemini stream: candidate parts, the streaming path and its body', async (t) => {
  const ev = (text) => `data: ${JSON.stringify({ candidates: [{ content: { role: 'model', parts: [{ text }] } }] })}\r\n\r\n`
  const { srv, client } = await relayStreaming(t, ev('Ciao') + ev(' mondo'))
  const chunks = []
  assert.equal(await client.streamChat({ provider: 'google', model: 'gemini-2.0-flash', messages, onChunk: (d) => chunks.push(d) }), 'Ciao mondo')
  assert.deepEqual(chunks, ['Ciao', ' mondo'])
  const req = srv.requests[1]
  assert.equal(req.path, '/relay/google/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse')
  assert.deepEqual(req.body.contents, [{ role: 'user', parts: [{ text: 'hi' }] }])
  assert.deepEqual(req.body.systemInstruction, { parts: [{ text: 'be brief' }] })
})

test("the relay's event: error frame rejects the stream after the text before it", async (t) => {
  const text = openaiEvent('partial ') + 'event: error\ndata: {"error":"Stream interrupted by provider"}\n\n'
  const { client } = await relayStreaming(t, text)
  const chunks = []
  await assert.rejects(
    client.chat({ model: 'gpt-4o-mini', messages, onChunk: (d) => chunks.push(d) }),
    (err) => {
      assert.equal(err.name, 'RelayError')
      assert.equal(err.code, ErrorCode.STREAM)
      assert.equal(err.status, 200)
      assert.match(err.message, /Stream interrupted by provider/)
      return true
    })
  assert.deepEqual(chunks, ['partial '])
})

test("Anthropic's error event and an OpenAI error object inside a stream", async (t) => {
  const anthropic = 'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n'
  const { client } = await relayStreaming(t, anthropic)
  await assert.rejects(client.streamChat({ provider: 'anthropic', model: 'claude-x', messages }),
    { code: 'overloaded_error', message: /Overloaded/ })

  const openai = `data: ${JSON.stringify({ error: { message: 'The server had an error', type: 'server_error' } })}\n\n`
  const second = await relayStreaming(t, openai)
  await assert.rejects(second.client.streamChat({ provider: 'openai', model: 'gpt-4o', messages }),
    { code: 'server_error', message: /The server had an error/ })
})

test('a stream that ends without a blank line still delivers its last event', async (t) => {
  const { client } = await relayStreaming(t, openaiEvent('a') + openaiEvent('b').trimEnd())
  assert.equal(await client.streamChat({ provider: 'openai', model: 'gpt-4o', messages }), 'ab')
})

test('chat without onChunk returns the JSON answer; streaming asked but JSON answered gives its text', async (t) => {
  const answer = { choices: [{ message: { role: 'assistant', content: 'whole answer' } }] }
  const srv = await startServer((req, res) => {
    if (req.path === '/users') return sendJson(res, 200, { token: 'tok', expires_at: null })
    sendJson(res, 200, answer)
  })
  t.after(srv.close)
  const client = createClient({ relayUrl: srv.url, storage: null })
  assert.deepEqual(await client.chat({ model: 'gpt-4o', messages }), answer)
  assert.deepEqual(srv.requests[1].body, { model: 'gpt-4o', messages, stream: false, max_tokens: 1024 })
  const chunks = []
  assert.equal(await client.chat({ model: 'gpt-4o', messages, onChunk: (d) => chunks.push(d) }), 'whole answer')
  assert.deepEqual(chunks, ['whole answer'])
  assert.equal(srv.requests[2].body.stream, true)
})

test('relayRequest: JSON without onChunk, the path as given', async (t) => {
  const srv = await startServer((req, res) => {
    if (req.path === '/users') return sendJson(res, 200, { token: 'tok', expires_at: null })
    sendJson(res, 200, { data: [{ embedding: [0.1] }] })
  })
  t.after(srv.close)
  const client = createClient({ relayUrl: srv.url, storage: null })
  const out = await client.relayRequest({ provider: 'openai', path: '/v1/embeddings', body: { model: 'text-embedding-3-small', input: 'x' } })
  assert.deepEqual(out, { data: [{ embedding: [0.1] }] })
  assert.equal(srv.requests[1].path, '/relay/openai/v1/embeddings')
})
