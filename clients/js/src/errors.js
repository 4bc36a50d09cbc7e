// RelayError: every failure the client reports, except a cancellation (which stays the AbortError that
// fetch raises, so `err.name === 'AbortError'` keeps working), carries an HTTP status, a message a
// person can read and, where known, a machine-readable code.

/** Codes the client itself assigns (the relay may send others in its `code` field). */
export const ErrorCode = Object.freeze({
  NETWORK: 'network_error',        // the relay could not be reached (status 0)
  TOKEN_INVALID: 'token_invalid',  // 401: the token is missing, unknown, expired or revoked
  STREAM: 'stream_error',          // an error arrived inside an event stream (status of the response)
  PROVIDER: 'provider_error',      // the provider answered with an error body
  HTTP: 'http_error',              // any other non-2xx answer
})

export class RelayError extends Error {
  /**
   * @param {string} message
   * @param {{status?: number, code?: string, body?: unknown, retryAfter?: number|null, cause?: unknown}} [details]
   */
  constructor(message, { status = 0, code = ErrorCode.HTTP, body = null, retryAfter = null, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause })
    this.name = 'RelayError'
    this.status = status
    this.code = code
    this.body = body
    this.retryAfter = retryAfter
  }
}

// The message and code inside an error body, from the relay ({"error":"…","code":"…"}) or from a
// provider: OpenAI {"error":{"message","type","code"}}, Anthropic {"type":"error","error":{…}},
// Gemini {"error":{"code","message","status"}} (sometimes wrapped in an array).
export function describeErrorBody(body) {
  const doc = Array.isArray(body) ? body[0] : body
  if (doc === null || typeof doc !== 'object') return null
  const err = doc.error
  if (typeof err === 'string' && err) {
    return { message: err, code: typeof doc.code === 'string' ? doc.code : null, fromProvider: false }
  }
  if (err !== null && typeof err === 'object' && typeof err.message === 'string') {
    const code = [err.code, err.type, err.status].find((c) => typeof c === 'string' && c) ?? null
    return { message: err.message, code, fromProvider: true }
  }
  return null
}

function parseRetryAfter(value) {
  if (!value) return null
  const seconds = Number(value)
  if (Number.isFinite(seconds) && seconds >= 0) return seconds
  const at = Date.parse(value)
  return Number.isNaN(at) ? null : Math.max(0, Math.round((at - Date.now()) / 1000))
}

// Largest error body read; a provider's error page is not worth more.
const MAX_ERROR_BODY = 64 * 1024

/** Reads a non-2xx response into a RelayError (never throws for a malformed body). */
export async function errorFromResponse(res, what) {
  let text = ''
  try {
    text = (await res.text()).slice(0, MAX_ERROR_BODY)
  } catch {
    // the body broke off: the status still says what happened
  }
  let body = text
  try {
    body = JSON.parse(text)
  } catch {
    // not JSON: keep the text
  }
  const described = describeErrorBody(body)
  const status = res.status
  let code = described?.code ?? (described?.fromProvider ? ErrorCode.PROVIDER : ErrorCode.HTTP)
  if (status === 401 && !described?.fromProvider) code = ErrorCode.TOKEN_INVALID
  const detail = described?.message ?? (typeof body === 'string' && body.trim() ? body.trim().slice(0, 200) : '')
  const message = detail ? `${what} failed (${status}): ${detail}` : `${what} failed: HTTP ${status}`
  return new RelayError(message, {
    status,
    code,
    body,
    retryAfter: parseRetryAfter(res.headers?.get?.('retry-after')),
  })
}

/** True for the error fetch raises when its signal aborts. */
export function isAbort(err, signal) {
  return (signal?.aborted ?? false) || err?.name === 'AbortError'
}
