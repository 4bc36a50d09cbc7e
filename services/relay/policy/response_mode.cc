#include "services/relay/policy/response_mode.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace byok::relay {
namespace {

// Abseil 20220623 has no StrContainsIgnoreCase.
bool ContainsIgnoreCase(absl::string_view haystack, absl::string_view needle) {
  return absl::StrContains(absl::AsciiStrToLower(haystack), absl::AsciiStrToLower(needle));
}

// `content_type` with any charset parameter replaced by charset=utf-8 (as Express's res.send does).
std::string WithUtf8(absl::string_view content_type) {
  std::vector<std::string> parts;
  for (absl::string_view part : absl::StrSplit(content_type, ';')) {
    absl::string_view p = absl::StripAsciiWhitespace(part);
    if (p.empty() || absl::StartsWithIgnoreCase(p, "charset=")) continue;
    parts.emplace_back(p);
  }
  parts.emplace_back("charset=utf-8");
  return absl::StrJoin(parts, "; ");
}

}  // namespace

ResponseMode ChooseResponseMode(bool binary_provider, bool stream_requested, int status,
                                const std::optional<std::string>& content_type) {
  if (status == 204 || status == 304) return ResponseMode::kNoContent;
  absl::string_view ct = content_type.has_value() ? absl::string_view(*content_type) : "";
  if (ContainsIgnoreCase(ct, "text/event-stream")) return ResponseMode::kSse;
  if (!content_type.has_value() && stream_requested && status >= 200 && status < 300) return ResponseMode::kSse;
  if (binary_provider || absl::StartsWithIgnoreCase(ct, "audio/") || absl::StartsWithIgnoreCase(ct, "image/") ||
      absl::StartsWithIgnoreCase(ct, "video/") || absl::EqualsIgnoreCase(ct, "application/octet-stream")) {
    return ResponseMode::kBinary;
  }
  if (ContainsIgnoreCase(ct, "application/json")) return ResponseMode::kJson;
  return ResponseMode::kText;
}

std::vector<http::HeaderField> ModeHeaders(ResponseMode mode, const std::optional<std::string>& content_type,
                                           const std::optional<std::string>& content_disposition) {
  std::vector<http::HeaderField> out;
  switch (mode) {
    case ResponseMode::kNoContent:
      if (content_type.has_value()) out.push_back({"content-type", *content_type});
      break;
    case ResponseMode::kSse:
      out.push_back({"content-type", "text/event-stream"});
      out.push_back({"cache-control", "no-cache"});
      break;
    case ResponseMode::kBinary:
      if (content_type.has_value()) out.push_back({"content-type", *content_type});
      if (content_disposition.has_value()) out.push_back({"content-disposition", *content_disposition});
      break;
    case ResponseMode::kJson:
      out.push_back({"content-type", "application/json; charset=utf-8"});
      break;
    case ResponseMode::kText:
      out.push_back({"content-type", content_type.has_value() ? WithUtf8(*content_type)
                                                              : std::string("text/html; charset=utf-8")});
      break;
  }
  return out;
}

}  // namespace byok::relay
