// GET /demo/...: the demo page and the browser client it imports, embedded at build time, when the
// operator turned it on (BYOK_DEMO=1). Static files only: no token, nothing from the vault or relay.
#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "services/gateway/api/api.h"
#include "services/gateway/api/demo_assets.h"

namespace byok::gateway {

Api::Outcome Api::ServeDemo(Call& call) {
  absl::string_view path = call.request.path;
  if (!config_.demo || (path != "/demo" && !absl::StartsWith(path, "/demo/"))) return std::nullopt;
  if (call.request.method != "GET" && call.request.method != "HEAD") return std::nullopt;
  HttpResponse response;
  if (path == "/demo") {
    // Relative asset paths resolve below /demo/ only.
    response.status = 301;
    response.headers.emplace_back("Location", "/demo/");
    return response;
  }
  const DemoAsset* asset = FindDemoAsset(absl::StripPrefix(path, "/demo/"));
  if (asset == nullptr) return std::nullopt;  // the API's own 404
  response.headers.emplace_back("Content-Type", std::string(asset->content_type));
  response.headers.emplace_back("Cache-Control", "no-cache");
  response.body = std::string(asset->body);
  return response;
}

}  // namespace byok::gateway
