#include "services/gateway/backends/token_cache.h"

namespace byok::gateway {
namespace {

constexpr absl::string_view kScope = "gateway-token";

absl::Time Expiry(const vault::v1::AuthenticateResponse& verified) {
  if (!verified.has_expires_at()) return absl::InfiniteFuture();
  return absl::FromUnixSeconds(verified.expires_at().seconds()) +
         absl::Nanoseconds(verified.expires_at().nanos());
}

}  // namespace

bool TokenCache::Find(absl::string_view token, std::string* user_id, std::string* app_id,
                      vault::CacheTicket* ticket) {
  if (!enabled()) return false;
  return cache_.Find(
      vault::HashToken(token, kScope),
      [user_id, app_id](const Verified& verified, const std::string& user) {
        *user_id = user;
        *app_id = verified.app_id;
      },
      ticket);
}

bool TokenCache::Insert(const vault::CacheTicket& ticket, absl::string_view token,
                        const vault::v1::AuthenticateResponse& verified) {
  if (!enabled()) return false;
  return cache_.Insert(ticket, vault::HashToken(token, kScope), verified.user_id(), "",
                       Expiry(verified), Verified{verified.app_id()});
}

void TokenCache::Forget(absl::string_view token) {
  if (enabled()) cache_.Forget(vault::HashToken(token, kScope));
}

}  // namespace byok::gateway
