// The relay's resolved keys, kept between requests so a token's second request needs no vault call:
// found by a hash of (token, provider), the key in locked memory (crypto::LockedBytes: never swapped,
// not in core dumps, wiped when the entry goes), bounded in entries and age, never past the token's
// expiry, and trusted only while the vault's change stream is live (vault::AnswerCache).
#ifndef BYOK_SERVICES_RELAY_KEY_CACHE_H_
#define BYOK_SERVICES_RELAY_KEY_CACHE_H_

#include <atomic>
#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"
#include "byok/vault/v1/vault.pb.h"
#include "common/crypto/locked_bytes.h"
#include "services/vault/client/answer_cache.h"

namespace byok::relay {

// What one entry holds: every ResolveKeyResponse field the relay uses.
struct CachedKey {
  std::string app_id;
  std::string base_url;
  crypto::LockedBytes key;
};

// Thread-safe.
class KeyCache {
 public:
  explicit KeyCache(vault::AnswerCacheOptions options) : cache_(std::move(options)) {}

  bool enabled() const { return cache_.enabled(); }

  // On a hit fills `response` (user_id, app_id, base_url and the key, which the caller wipes after
  // use) and returns true; on a miss sets `*ticket` for Insert.
  bool Find(absl::string_view token, absl::string_view provider,
            vault::v1::ResolveKeyResponse* response, vault::CacheTicket* ticket);

  // Keeps `resolved` (the vault's answer for `token` and `provider`) unless `ticket` is stale, the
  // cache is bypassed, or no locked memory is left. Returns whether it was kept.
  bool Insert(const vault::CacheTicket& ticket, absl::string_view token, absl::string_view provider,
              const vault::v1::ResolveKeyResponse& resolved);

  // What the relay's WatchKeyChanges subscription reports to.
  vault::KeyChangeListener& listener() { return cache_; }

  size_t size() { return cache_.size(); }
  // Calls `f(key)` for every cached key (tests check where keys live and that they are wiped).
  template <typename F>
  void ForEachKeyForTesting(F&& f) {
    cache_.ForEachForTesting([&f](const CachedKey& cached) { f(cached.key.view()); });
  }
  bool subscribed() { return cache_.subscribed(); }

 private:
  vault::AnswerCache<CachedKey> cache_;
  std::atomic<bool> lock_failure_logged_{false};
};

}  // namespace byok::relay

#endif  // BYOK_SERVICES_RELAY_KEY_CACHE_H_
