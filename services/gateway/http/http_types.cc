#include "services/gateway/http/http_types.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_split.h"

namespace byok::gateway {

absl::string_view HttpRequest::Header(absl::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return value;
  }
  return {};
}

std::string HttpRequest::QueryParam(absl::string_view name) const {
  for (absl::string_view pair : absl::StrSplit(query, '&')) {
    std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(pair, absl::MaxSplits('=', 1));
    if (kv.first == name) return std::string(kv.second);
  }
  return {};
}

HttpResponse JsonError(int status, absl::string_view message, absl::string_view code) {
  nlohmann::ordered_json body = {{"error", std::string(message)}};
  if (!code.empty()) body["code"] = std::string(code);
  // Invalid UTF-8 (from a hostile path echoed in a message) is replaced, never thrown on.
  return JsonResponse(body.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace),
                      status);
}

HttpResponse JsonResponse(std::string json, int status) {
  HttpResponse response;
  response.status = status;
  response.headers.emplace_back("Content-Type", "application/json; charset=utf-8");
  response.body = std::move(json);
  return response;
}

}  // namespace byok::gateway
