#include "services/gateway/api/handlers_common.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"

namespace byok::gateway {

std::string RelayToken(const HttpRequest& request) {
  absl::string_view token = request.Header("x-relay-token");
  if (!token.empty()) return std::string(token);
  absl::string_view auth = absl::StripAsciiWhitespace(request.Header("authorization"));
  constexpr absl::string_view kBearer = "bearer ";
  if (auth.size() <= kBearer.size() || !absl::StartsWithIgnoreCase(auth, kBearer)) return {};
  return std::string(absl::StripAsciiWhitespace(auth.substr(kBearer.size())));
}

bool IsDeepProbe(const HttpRequest& request) {
  std::string deep = absl::AsciiStrToLower(request.QueryParam("deep"));
  return deep == "1" || deep == "true";
}

int64_t EpochMillis(const google::protobuf::Timestamp& time) {
  return time.seconds() * 1000 + time.nanos() / 1000000;
}

std::string IsoMillis(absl::Time time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", time, absl::UTCTimeZone());
}

HttpResponse Ok(const nlohmann::ordered_json& body) {
  return JsonResponse(body.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
}

std::optional<std::string> DecodeSegment(absl::string_view segment) {
  std::string out;
  for (size_t i = 0; i < segment.size(); ++i) {
    char c = segment[i];
    if (c != '%') {
      out.push_back(c);
      continue;
    }
    if (i + 2 >= segment.size()) return std::nullopt;
    int value = 0;
    for (int k = 1; k <= 2; ++k) {
      char h = segment[i + k];
      int digit = (h >= '0' && h <= '9')   ? h - '0'
                  : (h >= 'a' && h <= 'f') ? h - 'a' + 10
                  : (h >= 'A' && h <= 'F') ? h - 'A' + 10
                                           : -1;
      if (digit < 0) return std::nullopt;
      value = value * 16 + digit;
    }
    out.push_back(static_cast<char>(value));
    i += 2;
  }
  return out;
}

}  // namespace byok::gateway
