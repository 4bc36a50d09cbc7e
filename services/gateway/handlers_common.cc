#include "services/gateway/handlers_common.h"

#include <google/protobuf/util/time_util.h>

#include "absl/strings/str_cat.h"

namespace byok::gateway {

std::optional<std::string> StringField(const nlohmann::json& body, const char* name, bool required,
                                       HttpResponse* error) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) {
    if (required) *error = JsonError(400, absl::StrCat("missing \"", name, "\" in the request body"));
    return std::nullopt;
  }
  if (!it->is_string()) {
    *error = JsonError(400, absl::StrCat("\"", name, "\" must be a string"));
    return std::nullopt;
  }
  return it->get<std::string>();
}

nlohmann::json IsoTime(const google::protobuf::Timestamp& time, bool set) {
  if (!set) return nullptr;
  return google::protobuf::util::TimeUtil::ToString(time);
}

HttpResponse Ok(const nlohmann::json& body) {
  return JsonResponse(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

bool KeyFormatOk(absl::string_view key) {
  if (key.empty() || key.size() > 4096) return false;
  for (char c : key) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
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
