// createClient: the byok-relay browser client. Same factory, options, methods and token storage as the
// original `@byok-relay/client`, so an app swaps the import; beyond it: errors are RelayError (status,
// message, code), streams surface `event: error` and provider error events, every call takes an
// AbortSignal (aborting closes the request, and the relay closes the provider's), and a token the relay
// refuses is dropped so that the next ensureToken() registers again.

import { ErrorCode, RelayError, errorFromResponse, isAbort } from './errors.js'
import { readEvents } from './sse.js'
import { responseText, streamError, textDelta } from './shapes.js'
import { TokenStore, createMemoryStorage, defaultStorage } from './token_store.js'

// Chat paths of the providers that speak OpenAI's chat completions.
const OPENAI_STYLE_CHAT_PATHS = Object.freeze({
  openai: '/v1/chat/completions',
  groq: '/openai/v1/chat/completions',
  mistral: '/v1/chat/completions',
  openrouter: '/api/v1/chat/completions',
})
const ANTHROPIC_VERSION = '2023-06-01'
const ignore = () => {}

// The relay's base URL: an absolute URL, or one relative to the page; empty means the page's origin.
function resolveBase(relayUrl) {
  const page = globalThis.location?.href
  if (!relayUrl) {
    if (!page) throw new TypeError('createClient: relayUrl is required outside a browser page')
    return new URL(page).origin
  }
  const url = page ? new URL(relayUrl, page) : new URL(relayUrl)
  return url.href.replace(/\/+$/, '')
}

function splitSystem(messages) {
  const system = messages.filter((m) => m.role === 'system').map((m) => m.content).join('\n\n')
  return { system, rest: messages.filter((m) => m.role !== 'system') }
}

/**
 * @param {{relayUrl?: string, appId?: string, storage?: Storage|null, fetch?: typeof fetch}} [options]
 */
export function createClient({ relayUrl = 'http://localhost:3000', appId = 'app', storage, fetch: fetchImpl } = {}) {
  const base = resolveBase(relayUrl)
  const origin = new URL(base).origin
  const tokens = new TokenStore(storage === null ? createMemoryStorage() : storage || defaultStorage(), origin, appId)
  const doFetch = fetchImpl ?? ((...args) => globalThis.fetch(...args))

  // One HTTP call; every failure becomes a RelayError except a cancellation.
  async function send(path, { method = 'GET', body, headers = {}, token, signal, what }) {
    const init = { method, headers: { ...headers }, signal }
    if (token) init.headers['x-relay-token'] = token
    if (body !== undefined) {
      if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) init.headers['Content-Type'] = 'application/json'
      init.body = JSON.stringify(body)
    }
    let res
    try {
      res = await doFetch(`${base}${path}`, init)
    } catch (err) {
      if (isAbort(err, signal)) throw err
      throw new RelayError(`${what} failed: the relay at ${origin} could not be reached`, {
        code: ErrorCode.NETWORK,
        cause: err,
      })
    }
    if (res.ok) return res
    const error = await errorFromResponse(res, what)
    if (token && error.code === ErrorCode.TOKEN_INVALID) {
      // Expired, revoked or unknown: forget it, so that ensureToken() registers a new user.
      if (tokens.get() === token) tokens.clear()
      error.message += ' (the stored relay token was dropped; call ensureToken() to register again)'
    }
    throw error
  }

  async function json(res, what) {
    try {
      return await res.json()
    } catch (err) {
      throw new RelayError(`${what}: the relay's answer is not JSON`, { status: res.status, cause: err })
    }
  }

  // The text of a streamed (or, when the provider answered whole, JSON) response.
  async function consume(res, { onChunk, onEvent }) {
    const type = res.headers.get('content-type') || ''
    if (!type.includes('text/event-stream')) {
      const doc = await json(res, 'relay')
      const text = responseText(doc)
      if (text) onChunk?.(text)
      return text
    }
    let full = ''
    for await (const ev of readEvents(res.body)) {
      if (ev.data === '[DONE]') continue
      let doc = null
      try {
        doc = JSON.parse(ev.data)
      } catch {
        // not JSON: only onEvent sees it
      }
      onEvent?.({ event: ev.event, data: ev.data, json: doc })
      const failure = streamError(ev.event, doc)
      if (failure) {
        throw new RelayError(`stream interrupted: ${failure.message}`, {
          status: res.status,
          code: failure.fromRelay ? failure.code ?? ErrorCode.STREAM : failure.code ?? ErrorCode.PROVIDER,
          body: doc ?? ev.data,
        })
      }
      const delta = textDelta(doc)
      if (delta) {
        full += delta
        onChunk?.(delta)
      }
    }
    return full
  }

  function getToken(id) {
    return tokens.get(id)
  }

  function clearToken(id) {
    tokens.clear(id)
  }

  function getTokenExpiry(id) {
    return tokens.expiry(id)
  }

  // Registrations in flight, by app: calls made together share one.
  const registering = new Map()

  async function register(id, signal) {
    const res = await send('/users', { method: 'POST', body: { app_id: id || appId }, signal, what: 'registration' })
    const data = await json(res, 'registration')
    if (typeof data.token !== 'string' || !data.token) {
      throw new RelayError('registration: the relay sent no token', { status: res.status, body: data })
    }
    tokens.save(id, data.token, data.expires_at)
    return data.token
  }

  async function ensureToken(id, { signal } = {}) {
    const existing = tokens.get(id)
    if (existing && !tokens.expired(id)) return existing
    if (existing) tokens.clear(id)
    const app = id || appId
    if (!registering.has(app)) {
      registering.set(app, register(id, signal).finally(() => registering.delete(app)))
    }
    return registering.get(app)
  }

  async function storeKey(provider, apiKey, { signal } = {}) {
    const path = `/keys/${encodeURIComponent(provider)}`
    const put = async (token) =>
      json(await send(path, { method: 'POST', body: { key: apiKey }, token, signal, what: 'storing the key' }), 'storing the key')
    try {
      return await put(await ensureToken(undefined, { signal }))
    } catch (err) {
      // The token was refused (and dropped): storing the key is what the user wants, so register again.
      if (!(err instanceof RelayError) || err.code !== ErrorCode.TOKEN_INVALID) throw err
      return put(await ensureToken(undefined, { signal }))
    }
  }

  async function rotateKey(provider, apiKey, { signal } = {}) {
    const res = await send(`/keys/${encodeURIComponent(provider)}/rotate`, {
      method: 'POST', body: { key: apiKey }, token: await ensureToken(undefined, { signal }), signal, what: 'rotating the key',
    })
    return json(res, 'rotating the key')
  }

  // Provider names (strings, as the original); [] when there is no token or the call fails.
  async function listKeys({ signal } = {}) {
    const token = tokens.get()
    if (!token) return []
    try {
      const data = await json(await send('/keys', { token, signal, what: 'listing keys' }), 'listing keys')
      if (!Array.isArray(data.providers)) return []
      return data.providers.map((p) => (typeof p === 'string' ? p : p?.provider)).filter((p) => typeof p === 'string')
    } catch (err) {
      if (isAbort(err, signal)) throw err
      return []
    }
  }

  async function deleteKey(provider, { signal } = {}) {
    const token = tokens.get()
    if (!token) return
    await send(`/keys/${encodeURIComponent(provider)}`, { method: 'DELETE', token, signal, what: 'deleting the key' })
  }

  async function deleteAccount({ signal } = {}) {
    const token = tokens.get()
    if (!token) return
    await send('/users', { method: 'DELETE', token, signal, what: 'deleting the account' })
    tokens.clear()
  }

  async function revokeToken({ signal } = {}) {
    const token = tokens.get()
    if (!token) return
    await send('/tokens/revoke', { method: 'POST', token, signal, what: 'revoking the token' })
    tokens.clear()
  }

  async function relayRequest({ provider, path, body, headers = {}, onChunk, onEvent, signal }) {
    const token = await ensureToken(undefined, { signal })
    const route = `/relay/${encodeURIComponent(provider)}${path.startsWith('/') ? path : `/${path}`}`
    const res = await send(route, { method: 'POST', body, headers, token, signal, what: `${provider} request` })
    if (!onChunk && !onEvent) return json(res, `${provider} request`)
    return consume(res, { onChunk, onEvent })
  }

  async function streamChat({ provider, model, messages, onChunk, onEvent, maxTokens = 1024, signal }) {
    if (provider === 'anthropic') {
      const { system, rest } = splitSystem(messages)
      const body = { model, max_tokens: maxTokens, stream: true, messages: rest }
      if (system) body.system = system
      return relayRequest({
        provider, path: '/v1/messages', headers: { 'anthropic-version': ANTHROPIC_VERSION }, body,
        onChunk: onChunk ?? ignore, onEvent, signal,
      })
    }
    if (provider === 'google') {
      const { system, rest } = splitSystem(messages)
      const body = {
        contents: rest.map((m) => ({ role: m.role === 'assistant' ? 'model' : 'user', parts: [{ text: m.content }] })),
        generationConfig: { maxOutputTokens: maxTokens },
      }
      if (system) body.systemInstruction = { parts: [{ text: system }] }
      const path = `/v1beta/models/${encodeURIComponent(model)}:streamGenerateContent?alt=sse`
      return relayRequest({ provider, path, body, onChunk: onChunk ?? ignore, onEvent, signal })
    }
    const path = OPENAI_STYLE_CHAT_PATHS[provider]
    if (!path) {
      throw new RelayError(`streamChat: unsupported provider "${provider}". Use relayRequest() for others.`, {
        code: 'unsupported_provider',
      })
    }
    return relayRequest({ provider, path, body: { model, stream: true, messages }, onChunk: onChunk ?? ignore, onEvent, signal })
  }

  // Unified route: the model picks the provider ("provider/model" or a known model name).
  async function chat({ model, messages, onChunk, onEvent, maxTokens = 1024, signal }) {
    const streaming = Boolean(onChunk || onEvent)
    const token = await ensureToken(undefined, { signal })
    const res = await send('/relay', {
      method: 'POST', body: { model, messages, stream: streaming, max_tokens: maxTokens }, token, signal, what: 'chat',
    })
    if (!streaming) return json(res, 'chat')
    return consume(res, { onChunk, onEvent })
  }

  async function getStats({ signal } = {}) {
    const token = tokens.get()
    if (!token) throw new RelayError('Not authenticated: call ensureToken() first', { code: ErrorCode.TOKEN_INVALID })
    return json(await send('/stats', { token, signal, what: 'stats' }), 'stats')
  }

  async function health({ signal } = {}) {
    return json(await send('/health', { signal, what: 'health check' }), 'health check')
  }

  async function getModels({ signal } = {}) {
    return json(await send('/models', { signal, what: 'models' }), 'models')
  }

  return {
    relayUrl: base,
    getToken, clearToken, getTokenExpiry, ensureToken,
    storeKey, rotateKey, listKeys, deleteKey, deleteAccount, revokeToken,
    relayRequest, streamChat, chat,
    getStats, health, getModels,
  }
}
