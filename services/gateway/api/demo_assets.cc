#include "services/gateway/api/demo_assets.h"

namespace byok::gateway {

const DemoAsset* FindDemoAsset(absl::string_view path) {
  if (path.empty()) path = "index.html";
  for (size_t i = 0; i < kDemoAssetCount; ++i) {
    if (kDemoAssets[i].path == path) return &kDemoAssets[i];
  }
  return nullptr;
}

}  // namespace byok::gateway
