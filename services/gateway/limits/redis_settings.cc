#include "services/gateway/limits/redis_settings.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/http/path.h"

namespace byok::gateway {
namespace {

constexpr size_t kMaxUrlLength = 2048;
constexpr int kMaxDb = 1 << 20;

absl::Status Invalid(absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("REDIS_URL must be redis://[[user]:password@]host[:port][/db]: ", why));
}

}  // namespace

std::string RedisEndpoint::Describe() const {
  if (absl::StrContains(host, ':')) return absl::StrCat("[", host, "]:", port);
  return absl::StrCat(host, ":", port);
}

absl::StatusOr<RedisEndpoint> ParseRedisUrl(absl::string_view url) {
  if (url.size() > kMaxUrlLength) return Invalid("too long");
  if (absl::StartsWithIgnoreCase(url, "rediss://")) {
    return Invalid("rediss:// (TLS) is not supported by this build; reach Redis over a private network");
  }
  if (!absl::ConsumePrefix(&url, "redis://")) return Invalid("the scheme is not redis://");
  RedisEndpoint endpoint;

  // The userinfo ends at the last '@' (a password may contain an encoded one, but never a raw '/').
  size_t at = url.rfind('@');
  if (at != absl::string_view::npos) {
    absl::string_view userinfo = url.substr(0, at);
    url.remove_prefix(at + 1);
    size_t colon = userinfo.find(':');
    absl::string_view user = userinfo.substr(0, colon);
    absl::string_view password =
        colon == absl::string_view::npos ? absl::string_view() : userinfo.substr(colon + 1);
    absl::StatusOr<std::string> decoded_user = http::PercentDecode(user);
    absl::StatusOr<std::string> decoded_password = http::PercentDecode(password);
    if (!decoded_user.ok() || !decoded_password.ok()) return Invalid("bad %-escape in the userinfo");
    // redis://secret@host (no colon) is how some clients write a bare password.
    if (colon == absl::string_view::npos) {
      endpoint.password = *std::move(decoded_user);
    } else {
      endpoint.username = *std::move(decoded_user);
      endpoint.password = *std::move(decoded_password);
    }
  }

  if (absl::StrContains(url, '?') || absl::StrContains(url, '#')) {
    return Invalid("query parameters are not supported");
  }
  absl::string_view authority = url;
  size_t slash = url.find('/');
  if (slash != absl::string_view::npos) {
    authority = url.substr(0, slash);
    absl::string_view db = url.substr(slash + 1);
    if (!db.empty() && (!absl::SimpleAtoi(db, &endpoint.db) || endpoint.db < 0 ||
                        endpoint.db > kMaxDb)) {
      return Invalid("the database is not a number");
    }
  }

  absl::string_view port_text;
  if (absl::StartsWith(authority, "[")) {
    size_t close = authority.find(']');
    if (close == absl::string_view::npos) return Invalid("unclosed [ in the host");
    endpoint.host = std::string(authority.substr(1, close - 1));
    absl::string_view rest = authority.substr(close + 1);
    if (!rest.empty() && !absl::ConsumePrefix(&rest, ":")) return Invalid("junk after the host");
    port_text = rest;
  } else {
    size_t colon = authority.find(':');
    endpoint.host = std::string(authority.substr(0, colon));
    if (colon != absl::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (endpoint.host.empty()) return Invalid("no host");
  for (char c : endpoint.host) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != ':' &&
        c != '_') {
      return Invalid("bad character in the host");
    }
  }
  if (!port_text.empty() && (!absl::SimpleAtoi(port_text, &endpoint.port) || endpoint.port < 1 ||
                             endpoint.port > 65535)) {
    return Invalid("the port is not in 1-65535");
  }
  return endpoint;
}

absl::StatusOr<RedisFailurePolicy> ParseRedisFailurePolicy(absl::string_view text) {
  std::string lower = absl::AsciiStrToLower(text);
  if (lower == "open") return RedisFailurePolicy::kOpen;
  if (lower == "closed") return RedisFailurePolicy::kClosed;
  return absl::InvalidArgumentError("RATE_LIMIT_REDIS_FAILURE must be open or closed");
}

}  // namespace byok::gateway
