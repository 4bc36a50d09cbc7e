#include "services/relay/key_cache.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/logging.h"

namespace byok::relay {
namespace {

// Separates the relay's entries from any other use of the same token hash.
constexpr absl::string_view kScope = "relay-key";

vault::TokenHash KeyFor(absl::string_view token, absl::string_view provider) {
  // The provider goes into the scope: one token has one entry per provider.
  return vault::HashToken(token, absl::StrCat(kScope, "/", provider));
}

absl::Time TokenExpiry(const vault::v1::ResolveKeyResponse& resolved) {
  if (!resolved.has_token_expires_at()) return absl::InfiniteFuture();
  return absl::FromUnixSeconds(resolved.token_expires_at().seconds()) +
         absl::Nanoseconds(resolved.token_expires_at().nanos());
}

}  // namespace

bool KeyCache::Find(absl::string_view token, absl::string_view provider,
                    vault::v1::ResolveKeyResponse* response, vault::CacheTicket* ticket) {
  if (!enabled()) return false;
  return cache_.Find(
      KeyFor(token, provider),
      [response](const CachedKey& cached, const std::string& user_id) {
        response->set_user_id(user_id);
        response->set_app_id(cached.app_id);
        response->set_base_url(cached.base_url);
        response->set_key(cached.key.view().data(), cached.key.size());  // no temporary copy
      },
      ticket);
}

bool KeyCache::Insert(const vault::CacheTicket& ticket, absl::string_view token,
                      absl::string_view provider, const vault::v1::ResolveKeyResponse& resolved) {
  if (!enabled() || ticket.generation == 0) return false;
  absl::StatusOr<crypto::LockedBytes> key = crypto::LockedBytes::Copy(resolved.key());
  if (!key.ok()) {
    if (!lock_failure_logged_.exchange(true)) {
      log::Warn("relay", "key cache: %s; keys that do not fit are not kept", key.status().message());
    }
    return false;
  }
  CachedKey value{resolved.app_id(), resolved.base_url(), *std::move(key)};
  return cache_.Insert(ticket, KeyFor(token, provider), resolved.user_id(), std::string(provider),
                       TokenExpiry(resolved), std::move(value));
}

}  // namespace byok::relay
