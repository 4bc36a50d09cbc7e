// The gateway's verified tokens, kept between requests so a relay route's token check needs no vault
// call: whose token it is (user and app ids) and until when, found by a hash of the token; no secret
// is kept. Bounded, aged, never past the token's expiry, and trusted only while the gateway's
// WatchKeyChanges subscription is live (vault::AnswerCache, shared with the relay's key cache).
#ifndef BYOK_SERVICES_GATEWAY_BACKENDS_TOKEN_CACHE_H_
#define BYOK_SERVICES_GATEWAY_BACKENDS_TOKEN_CACHE_H_

#include <string>

#include "absl/strings/string_view.h"
#include "byok/vault/v1/vault.pb.h"
#include "services/vault/client/answer_cache.h"

namespace byok::gateway {

// Thread-safe.
class TokenCache {
 public:
  explicit TokenCache(vault::AnswerCacheOptions options) : cache_(std::move(options)) {}

  bool enabled() const { return cache_.enabled(); }

  // On a hit sets the ids and returns true; on a miss sets `*ticket` for Insert.
  bool Find(absl::string_view token, std::string* user_id, std::string* app_id,
            vault::CacheTicket* ticket);
  // Keeps the vault's Authenticate answer for `token` unless `ticket` is stale.
  bool Insert(const vault::CacheTicket& ticket, absl::string_view token,
              const vault::v1::AuthenticateResponse& verified);
  // Drops `token` at once (it was revoked, or its user deleted, through this gateway).
  void Forget(absl::string_view token);

  vault::KeyChangeListener& listener() { return cache_; }
  size_t size() { return cache_.size(); }

 private:
  struct Verified {
    std::string app_id;
  };
  vault::AnswerCache<Verified> cache_;
};

}  // namespace byok::gateway

#endif  // BYOK_SERVICES_GATEWAY_BACKENDS_TOKEN_CACHE_H_
