#include "common/grpc_reflection.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>

#include <mutex>

namespace byok {

absl::StatusOr<bool> LoadReflectionSetting(const Env& env) {
  return env.GetBool("BYOK_GRPC_REFLECTION", true);
}

void EnableServerReflection(bool on) {
  if (!on) return;
  static std::once_flag once;
  std::call_once(once, [] { grpc::reflection::InitProtoReflectionServerBuilderPlugin(); });
}

}  // namespace byok
