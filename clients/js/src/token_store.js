// Where the relay token lives: one entry per relay origin and app, under the same key as the original
// client (`byok-relay:relay-token:<relay origin>:<appId>`), so an app that swaps the import keeps its
// users signed in. The original's global key `byok_relay_token` is moved to the scoped key on first read
// for the client's own app. The token's expiry (integer ms, or none) is kept beside it.

const LEGACY_KEY = 'byok_relay_token'

/** A storage that lives as long as the object: for Node, tests, or `storage: null`. */
export function createMemoryStorage() {
  const store = new Map()
  return {
    getItem: (key) => (store.has(key) ? store.get(key) : null),
    setItem: (key, value) => { store.set(key, String(value)) },
    removeItem: (key) => { store.delete(key) },
  }
}

export function defaultStorage() {
  try {
    const ls = globalThis.localStorage
    if (ls && typeof ls.getItem === 'function') return ls
  } catch {
    // localStorage can throw (blocked third-party storage): fall back to memory
  }
  return createMemoryStorage()
}

export function tokenStorageKey(origin, appId) {
  return `byok-relay:relay-token:${origin}:${appId}`
}

// expires_at is integer milliseconds since the epoch or null (never); an ISO string is read too.
export function expiryMs(expiresAt) {
  if (typeof expiresAt === 'number' && Number.isFinite(expiresAt)) return expiresAt
  if (typeof expiresAt === 'string' && expiresAt) {
    const ms = Date.parse(expiresAt)
    return Number.isNaN(ms) ? null : ms
  }
  return null
}

export class TokenStore {
  constructor(storage, origin, defaultAppId) {
    this.storage = storage
    this.origin = origin
    this.defaultAppId = defaultAppId
  }

  key(appId) {
    return tokenStorageKey(this.origin, appId || this.defaultAppId)
  }

  get(appId) {
    const key = this.key(appId)
    const token = this.storage.getItem(key)
    if (token) return token
    if (appId && appId !== this.defaultAppId) return null
    const legacy = this.storage.getItem(LEGACY_KEY)
    if (!legacy) return null
    this.storage.setItem(key, legacy)
    this.storage.removeItem(LEGACY_KEY)
    return legacy
  }

  /** Milliseconds since the epoch when the token expires; null when it never does or is unknown. */
  expiry(appId) {
    const raw = this.storage.getItem(`${this.key(appId)}:expires_at`)
    return raw ? expiryMs(Number(raw)) : null
  }

  expired(appId, now = Date.now()) {
    const at = this.expiry(appId)
    return at !== null && at <= now
  }

  save(appId, token, expiresAt) {
    const key = this.key(appId)
    this.storage.setItem(key, token)
    const at = expiryMs(expiresAt)
    if (at === null) this.storage.removeItem(`${key}:expires_at`)
    else this.storage.setItem(`${key}:expires_at`, String(at))
  }

  clear(appId) {
    const key = this.key(appId)
    this.storage.removeItem(key)
    this.storage.removeItem(`${key}:expires_at`)
  }
}
