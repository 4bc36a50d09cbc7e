// Type declarations of @byok-relay/client.

/** Any object with the three methods of the Web Storage API (localStorage, sessionStorage, ...). */
export interface StorageAdapter {
  getItem(key: string): string | null
  setItem(key: string, value: string): void
  removeItem(key: string): void
}

export interface ClientOptions {
  /** Base URL of the relay. Default 'http://localhost:3000'; '' means the page's own origin. */
  relayUrl?: string
  /** Sent as app_id when registering. Default 'app'. */
  appId?: string
  /** Where the token is kept. Default localStorage (in-memory outside a browser); null: memory only. */
  storage?: StorageAdapter | null
  /** A fetch to use instead of globalThis.fetch. */
  fetch?: typeof fetch
}

export interface CallOptions {
  /** Aborting rejects the call with the signal's AbortError and closes the request. */
  signal?: AbortSignal
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | string
  content: string
}

/** One server-sent event of a relayed stream. `json` is its data parsed, or null. */
export interface StreamEvent {
  event: string
  data: string
  json: unknown
}

export interface StreamOptions extends CallOptions {
  /** Called with each piece of text as it arrives; turns streaming on. */
  onChunk?: (delta: string) => void
  /** Called with every event of the stream (tool calls, usage, ...); turns streaming on. */
  onEvent?: (event: StreamEvent) => void
}

export interface RelayRequestOptions extends StreamOptions {
  provider: string
  /** The provider's path, e.g. '/v1/chat/completions'. */
  path: string
  body?: unknown
  /** Extra headers the relay passes on, e.g. anthropic-version. */
  headers?: Record<string, string>
}

export interface StreamChatOptions extends StreamOptions {
  provider: 'openai' | 'anthropic' | 'google' | 'groq' | 'mistral' | 'openrouter'
  model: string
  messages: ChatMessage[]
  /** max_tokens (Anthropic) or maxOutputTokens (Gemini). Default 1024. */
  maxTokens?: number
}

export interface ChatOptions extends StreamOptions {
  /** 'provider/model' (e.g. 'anthropic/claude-3-5-haiku') or a known model name (e.g. 'gpt-4o'). */
  model: string
  messages: ChatMessage[]
  maxTokens?: number
}

export interface StoreKeyResult {
  ok: boolean
  provider: string
  [field: string]: unknown
}

export interface RelayClient {
  /** The relay's base URL, resolved. */
  readonly relayUrl: string
  /** The stored token for this relay and app (or the given app), or null. */
  getToken(appId?: string): string | null
  clearToken(appId?: string): void
  /** When the stored token expires (ms since the epoch); null when it never does or is unknown. */
  getTokenExpiry(appId?: string): number | null
  /** The stored token, or a new one from POST /users when there is none or it has expired. */
  ensureToken(appId?: string, options?: CallOptions): Promise<string>
  /** POST /keys/{provider}: the key is encrypted by the relay and never returned. */
  storeKey(provider: string, apiKey: string, options?: CallOptions): Promise<StoreKeyResult>
  /** POST /keys/{provider}/rotate: the provider checks the new key before it replaces the old one. */
  rotateKey(provider: string, apiKey: string, options?: CallOptions): Promise<StoreKeyResult & { rotated: boolean }>
  /** Providers the user holds keys for; [] without a token or on failure. */
  listKeys(options?: CallOptions): Promise<string[]>
  deleteKey(provider: string, options?: CallOptions): Promise<void>
  /** DELETE /users: the user, their keys and usage are erased; the token is forgotten. */
  deleteAccount(options?: CallOptions): Promise<void>
  /** POST /tokens/revoke: the token stops working at once and is forgotten. */
  revokeToken(options?: CallOptions): Promise<void>
  /** POST /relay/{provider}{path}: parsed JSON, or (with onChunk or onEvent) the streamed text. */
  relayRequest(options: RelayRequestOptions): Promise<any>
  /** A streamed chat with a provider's own API; resolves with the whole text. */
  streamChat(options: StreamChatOptions): Promise<string>
  /** POST /relay: the provider's JSON answer, or (with onChunk or onEvent) the streamed text. */
  chat(options: ChatOptions): Promise<any>
  getStats(options?: CallOptions): Promise<UserStats>
  health(options?: CallOptions): Promise<Record<string, unknown>>
  getModels(options?: CallOptions): Promise<Record<string, unknown>>
}

/** GET /stats; fields beside these may be present. */
export interface UserStats {
  total?: number
  last_7d?: number
  last_30d?: number
  error_count?: number
  error_rate?: number
  providers?: Record<string, { total: number; errors: number; [field: string]: unknown }> | Array<{ provider: string; [field: string]: unknown }>
  top_models?: Array<{ model: string; total?: number; requests?: number }>
  last_request?: string | null
  /** Requests, errors and tokens per UTC day and provider. */
  daily?: Array<{ day: string; provider: string; requests: number; errors: number; input_tokens: number; output_tokens: number }>
  [field: string]: unknown
}

export function createClient(options?: ClientOptions): RelayClient
export function createMemoryStorage(): StorageAdapter
/** The storage key of a token: `byok-relay:relay-token:<relay origin>:<appId>`. */
export function tokenStorageKey(origin: string, appId: string): string

export declare const ErrorCode: Readonly<{
  NETWORK: 'network_error'
  TOKEN_INVALID: 'token_invalid'
  STREAM: 'stream_error'
  PROVIDER: 'provider_error'
  HTTP: 'http_error'
}>

export class RelayError extends Error {
  constructor(message: string, details?: { status?: number; code?: string; body?: unknown; retryAfter?: number | null; cause?: unknown })
  readonly name: 'RelayError'
  /** HTTP status; 0 when the relay could not be reached. */
  status: number
  /** The relay's code, the provider's error type, or one of ErrorCode. */
  code: string
  /** The error body (parsed JSON, or text). */
  body: unknown
  /** Seconds from Retry-After, when the relay sent it. */
  retryAfter: number | null
}

export interface SseEvent {
  event: string
  data: string
  id: string | null
}

export class SseDecoder {
  push(text: string): SseEvent[]
  end(): SseEvent[]
}
export function readEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent, void, undefined>

/** The text one streamed event adds (OpenAI, Anthropic, Gemini shapes), or ''. */
export function textDelta(json: unknown): string
/** The text of a whole answer (OpenAI, Anthropic, Gemini shapes), or ''. */
export function responseText(json: unknown): string
export function streamError(event: string, json: unknown): { message: string; code: string | null; fromRelay: boolean } | null
