// @byok-relay/client: the browser (and Node 18+) client of byok-relay. No dependencies, no build step.
export { createClient } from './client.js'
export { createMemoryStorage, tokenStorageKey } from './token_store.js'
export { RelayError, ErrorCode } from './errors.js'
export { SseDecoder, readEvents } from './sse.js'
export { textDelta, responseText, streamError } from './shapes.js'
