// gRPC server reflection (grpc.reflection.v1alpha.ServerReflection), so grpcurl and similar tools can
// list and call the services without the .proto files. On by default; BYOK_GRPC_REFLECTION=0 turns it
// off.
#ifndef BYOK_COMMON_GRPC_REFLECTION_H_
#define BYOK_COMMON_GRPC_REFLECTION_H_

#include "absl/status/statusor.h"
#include "common/env.h"

namespace byok {

// Reads BYOK_GRPC_REFLECTION (a boolean, default true).
absl::StatusOr<bool> LoadReflectionSetting(const Env& env);

// With `on`, every gRPC server built after this call in this process serves reflection (gRPC's
// plugin is process-wide; turning it on is idempotent, and `false` changes nothing).
void EnableServerReflection(bool on);

}  // namespace byok

#endif  // BYOK_COMMON_GRPC_REFLECTION_H_
