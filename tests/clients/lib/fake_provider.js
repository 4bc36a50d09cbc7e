// A fake AI provider on loopback for the client, docs and browser tests: OpenAI chat completions,
// Anthropic messages and Gemini streamGenerateContent, streaming slowly enough to watch tokens arrive.
// What it does is chosen by the model name (every relay passes the model through):
//   "...slow..."  a long stream, one token every 150 ms (for Stop)
//   "...break..." three tokens, then the connection is cut (the relay sends `event: error`)
//   "...error..." a 429 with the provider's own error body and Retry-After
// A key ending in "-bad" is refused with the provider's 401 (a suffix no random hex key takes by chance;
// "contains bad" once refused a random test key). GET /_fake/requests lists every request and what
// became of it: running, completed, aborted (the client went away) or broken.
import http from 'node:http'

export const REPLY = 'The quick brown fox jumps over the lazy dog, one token at a time.'
const TOKENS = REPLY.split(/(?<= )/)

function sendJson(res, status, doc, headers = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers })
  res.end(JSON.stringify(doc))
}

// The key the relay injected, per provider's scheme.
function keyOf(provider, headers) {
  if (provider === 'anthropic') return headers['x-api-key'] ?? ''
  if (provider === 'google') return headers['x-goog-api-key'] ?? ''
  return (headers.authorization ?? '').replace(/^Bearer /, '')
}

const refusal = {
  openai: { error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' } },
  anthropic: { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } },
  google: { error: { code: 400, message: 'API key not valid. Please pass a valid API key.', status: 'INVALID_ARGUMENT' } },
}
const rateLimited = {
  openai: { error: { message: 'Rate limit reached for requests', type: 'requests', code: 'rate_limit_exceeded' } },
  anthropic: { type: 'error', error: { type: 'rate_limit_error', message: 'Number of requests has exceeded your rate limit' } },
  google: { error: { code: 429, message: 'Resource has been exhausted', status: 'RESOURCE_EXHAUSTED' } },
}

// The event-stream frames of one token, and of the stream's start and end, per provider.
const frames = {
  openai: {
    start: () => '',
    token: (t) => `data: ${JSON.stringify({ id: 'chatcmpl-fake', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: t } }] })}\n\n`,
    end: (n) => `data: ${JSON.stringify({ id: 'chatcmpl-fake', object: 'chat.completion.chunk', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: { prompt_tokens: 9, completion_tokens: n, total_tokens: 9 + n } })}\n\ndata: [DONE]\n\n`,
  },
  anthropic: {
    start: () => `event: message_start\ndata: ${JSON.stringify({ type: 'message_start', message: { id: 'msg_fake', usage: { input_tokens: 9, output_tokens: 0 } } })}\n\n` +
      `event: content_block_start\ndata: ${JSON.stringify({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } })}\n\n`,
    token: (t) => `event: content_block_delta\ndata: ${JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: t } })}\n\n`,
    end: (n) => `event: message_delta\ndata: ${JSON.stringify({ type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: n } })}\n\n` +
      `event: message_stop\ndata: ${JSON.stringify({ type: 'message_stop' })}\n\n`,
  },
  google: {
    start: () => '',
    token: (t) => `data: ${JSON.stringify({ candidates: [{ content: { role: 'model', parts: [{ text: t }] } }] })}\r\n\r\n`,
    end: (n) => `data: ${JSON.stringify({ candidates: [{ content: { role: 'model', parts: [{ text: '' }] }, finishReason: 'STOP' }], usageMetadata: { promptTokenCount: 9, candidatesTokenCount: n } })}\r\n\r\n`,
  },
}

function wholeAnswer(provider) {
  if (provider === 'anthropic') return { id: 'msg_fake', type: 'message', role: 'assistant', content: [{ type: 'text', text: REPLY }], usage: { input_tokens: 9, output_tokens: TOKENS.length } }
  if (provider === 'google') return { candidates: [{ content: { role: 'model', parts: [{ text: REPLY }] } }], usageMetadata: { promptTokenCount: 9, candidatesTokenCount: TOKENS.length } }
  return { id: 'chatcmpl-fake', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: REPLY }, finish_reason: 'stop' }], usage: { prompt_tokens: 9, completion_tokens: TOKENS.length, total_tokens: 9 + TOKENS.length } }
}

function route(method, path) {
  if (method !== 'POST') return null
  if (path === '/v1/chat/completions') return { provider: 'openai' }
  if (path === '/v1/messages') return { provider: 'anthropic' }
  const g = /^\/v1beta\/models\/([^/:?]+):(streamGenerateContent|generateContent)(\?.*)?$/.exec(path)
  if (g) return { provider: 'google', model: decodeURIComponent(g[1]), stream: g[2] === 'streamGenerateContent' }
  return null
}

/**
 * Starts the fake provider. `tokenIntervalMs` paces normal streams.
 * @returns {Promise<{url: string, port: number, requests: object[], close: () => Promise<void>}>}
 */
export async function startFakeProvider({ tokenIntervalMs = 60, slowIntervalMs = 150, slowTokens = 400 } = {}) {
  const requests = []
  const server = http.createServer(async (req, res) => {
    const chunks = []
    for await (const c of req) chunks.push(c)
    if (req.method === 'GET' && req.url === '/_fake/requests') return sendJson(res, 200, requests)
    const r = route(req.method, req.url)
    if (!r) return sendJson(res, 404, { error: { message: `no route ${req.method} ${req.url}` } })
    let body = {}
    try { body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') } catch { /* empty */ }
    const model = r.model ?? String(body.model ?? '')
    const stream = r.stream ?? body.stream === true
    const record = { id: requests.length + 1, provider: r.provider, path: req.url, model, stream, state: 'running', tokens_sent: 0 }
    requests.push(record)
    res.on('close', () => { if (record.state === 'running') record.state = 'aborted' })

    const key = keyOf(r.provider, req.headers)
    if (!key || key.endsWith('-bad')) {
      record.state = 'completed'
      return sendJson(res, r.provider === 'google' ? 400 : 401, refusal[r.provider])
    }
    if (model.includes('error')) {
      record.state = 'completed'
      return sendJson(res, 429, rateLimited[r.provider], { 'retry-after': '12' })
    }
    if (!stream) {
      record.state = 'completed'
      return sendJson(res, 200, wholeAnswer(r.provider))
    }

    const f = frames[r.provider]
    const slow = model.includes('slow')
    const count = slow ? slowTokens : TOKENS.length
    const interval = slow ? slowIntervalMs : tokenIntervalMs
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
    res.write(f.start())
    for (let i = 0; i < count; i++) {
      if (record.state !== 'running') return
      await new Promise((resolve) => setTimeout(resolve, interval))
      if (record.state !== 'running') return
      res.write(f.token(TOKENS[i % TOKENS.length]))
      record.tokens_sent += 1
      if (model.includes('break') && record.tokens_sent === 3) {
        record.state = 'broken'
        res.socket.destroy()
        return
      }
    }
    record.state = 'completed'
    res.end(f.end(count))
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = server.address().port
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }),
  }
}

// Run on its own: `node fake_provider.js` (for trying the demo by hand).
if (import.meta.url === `file://${process.argv[1]}`) {
  const p = await startFakeProvider()
  console.log(`fake provider on ${p.url}`)
}
