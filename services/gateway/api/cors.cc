#include "services/gateway/api/cors.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"

namespace byok::gateway {
namespace {

// An origin is scheme://host[:port] with nothing after it.
bool LooksLikeOrigin(absl::string_view origin) {
  absl::string_view rest;
  if (absl::StartsWith(origin, "https://")) {
    rest = origin.substr(8);
  } else if (absl::StartsWith(origin, "http://")) {
    rest = origin.substr(7);
  } else {
    return false;
  }
  if (rest.empty()) return false;
  return std::all_of(rest.begin(), rest.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' ||
           c == '[' || c == ']';
  });
}

}  // namespace

CorsPolicy CorsPolicy::Parse(absl::string_view allowed_origins) {
  std::vector<std::string> origins;
  for (absl::string_view piece : absl::StrSplit(allowed_origins, ',')) {
    piece = absl::StripAsciiWhitespace(piece);
    if (piece.empty()) continue;
    if (piece == "*") return CorsPolicy(true, {});
    // Browsers never send a trailing slash in Origin; accept one in the setting anyway.
    if (absl::EndsWith(piece, "/")) piece.remove_suffix(1);
    origins.emplace_back(piece);
  }
  if (origins.empty()) return CorsPolicy(true, {});
  return CorsPolicy(false, std::move(origins));
}

std::vector<std::string> CorsPolicy::NonOrigins() const {
  std::vector<std::string> out;
  for (const std::string& o : origins_) {
    if (!LooksLikeOrigin(o)) out.push_back(o);
  }
  return out;
}

bool CorsPolicy::Allows(absl::string_view origin) const {
  if (any_) return true;
  if (origin.empty()) return false;
  // Scheme and host are case-insensitive; browsers send them in lower case.
  return std::any_of(origins_.begin(), origins_.end(), [&](const std::string& allowed) {
    return absl::EqualsIgnoreCase(allowed, origin);
  });
}

HeaderList CorsPolicy::ResponseHeaders(absl::string_view origin) const {
  HeaderList headers;
  if (any_) {
    headers.emplace_back("Access-Control-Allow-Origin", "*");
  } else {
    // Caches must not reuse one origin's answer (grant or refusal) for another.
    headers.emplace_back("Vary", "Origin");
    if (!Allows(origin)) return headers;
    headers.emplace_back("Access-Control-Allow-Origin", std::string(origin));
  }
  headers.emplace_back("Access-Control-Expose-Headers", std::string(kExposedHeaders));
  return headers;
}

HeaderList CorsPolicy::PreflightHeaders(absl::string_view origin) const {
  HeaderList headers = ResponseHeaders(origin);
  std::erase_if(headers, [](const auto& h) { return h.first == "Access-Control-Expose-Headers"; });
  headers.emplace_back("Access-Control-Allow-Methods", std::string(kAllowedMethods));
  headers.emplace_back("Access-Control-Allow-Headers", std::string(kAllowedHeaders));
  return headers;
}

}  // namespace byok::gateway
