// JSON bodies from browsers as the relay's routing and model policy read them: the unified route (with
// and without an allowlist) and the model extractors for JSON, multipart and url-encoded bodies.
#include <cstddef>
#include <cstdint>
#include <string>

#include "services/relay/policy/model_policy.h"
#include "services/relay/policy/routing.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string body(reinterpret_cast<const char*>(data), size);
  static const byok::relay::ModelAllowlist kEveryModel;
  static const byok::relay::ModelAllowlist kSome =
      *byok::relay::ModelAllowlist::Parse("gpt-4o*, claude-*, openai/*");
  (void)byok::relay::ResolveRoute(body, kEveryModel);
  (void)byok::relay::ResolveRoute(body, kSome);
  (void)byok::relay::ModelFromJson(body, "model");
  (void)byok::relay::ModelFromUrlEncoded(body, "model");
  (void)byok::relay::ModelFromMultipart("multipart/form-data; boundary=xyz", body, "model");
  auto model = byok::relay::ModelFromJson(body, "model");
  if (model.ok() && model->has_value()) {
    (void)byok::relay::ValidateModelName(**model);
    (void)kSome.Check("openai", *model);
  }
  return 0;
}
