// The demo page (clients/demo) and the browser client it imports (clients/js/src), embedded at build
// time (cmake/embed_files.cmake) and served at /demo/ when BYOK_DEMO=1.
#ifndef BYOK_SERVICES_GATEWAY_API_DEMO_ASSETS_H_
#define BYOK_SERVICES_GATEWAY_API_DEMO_ASSETS_H_

#include <cstddef>
#include "absl/strings/string_view.h"

namespace byok::gateway {

struct DemoAsset {
  // Below /demo/: "index.html", "app.js", "client/index.js", ...
  absl::string_view path;
  absl::string_view content_type;
  absl::string_view body;
};

extern const DemoAsset kDemoAssets[];
extern const size_t kDemoAssetCount;

// Returns the asset served at /demo/<path> ("" is index.html), or nullptr.
const DemoAsset* FindDemoAsset(absl::string_view path);

}  // namespace byok::gateway

#endif  // BYOK_SERVICES_GATEWAY_API_DEMO_ASSETS_H_
