#include "services/gateway/cors.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
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

absl::StatusOr<CorsPolicy> CorsPolicy::Parse(absl::string_view allowed_origins) {
  absl::string_view trimmed = absl::StripAsciiWhitespace(allowed_origins);
  if (trimmed.empty() || trimmed == "*") return CorsPolicy(true, {});
  std::vector<std::string> origins;
  for (absl::string_view piece : absl::StrSplit(trimmed, ',')) {
    piece = absl::StripAsciiWhitespace(piece);
    if (piece.empty()) continue;
    if (piece == "*") return CorsPolicy(true, {});
    // Browsers never send a trailing slash in Origin; accept one in the setting anyway.
    if (absl::EndsWith(piece, "/")) piece.remove_suffix(1);
    if (!LooksLikeOrigin(piece)) {
      return absl::InvalidArgumentError(
          absl::StrCat("ALLOWED_ORIGINS: \"", piece,
                       "\" is not an origin (expected scheme://host[:port], comma separated, or *)"));
    }
    origins.push_back(absl::AsciiStrToLower(piece));
  }
  if (origins.empty()) return CorsPolicy(true, {});
  return CorsPolicy(false, std::move(origins));
}

bool CorsPolicy::Allows(absl::string_view origin) const {
  if (origin.empty()) return false;
  if (any_) return true;
  return std::any_of(origins_.begin(), origins_.end(), [&](const std::string& allowed) {
    return absl::EqualsIgnoreCase(allowed, origin);
  });
}

HeaderList CorsPolicy::ResponseHeaders(absl::string_view origin) const {
  HeaderList headers;
  if (!Allows(origin)) {
    // Caches must not reuse a refusal for another origin either.
    if (!any_ && !origin.empty()) headers.emplace_back("Vary", "Origin");
    return headers;
  }
  if (any_) {
    headers.emplace_back("Access-Control-Allow-Origin", "*");
  } else {
    headers.emplace_back("Access-Control-Allow-Origin", std::string(origin));
    headers.emplace_back("Vary", "Origin");
  }
  headers.emplace_back("Access-Control-Expose-Headers", std::string(kExposedHeaders));
  return headers;
}

HeaderList CorsPolicy::PreflightHeaders(absl::string_view origin) const {
  HeaderList headers;
  if (!Allows(origin)) {
    if (!any_ && !origin.empty()) headers.emplace_back("Vary", "Origin");
    return headers;
  }
  headers.emplace_back("Access-Control-Allow-Origin", any_ ? std::string("*") : std::string(origin));
  if (!any_) headers.emplace_back("Vary", "Origin");
  headers.emplace_back("Access-Control-Allow-Methods", std::string(kAllowedMethods));
  headers.emplace_back("Access-Control-Allow-Headers", std::string(kAllowedHeaders));
  headers.emplace_back("Access-Control-Max-Age", std::string(kMaxAgeSeconds));
  return headers;
}

}  // namespace byok::gateway
