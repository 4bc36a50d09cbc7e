// Conversions between absl::Status, grpc::Status and protobuf's util::Status. The codes map 1:1.
#ifndef BYOK_COMMON_GRPC_STATUS_H_
#define BYOK_COMMON_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "google/protobuf/stubs/status.h"

namespace byok {

// Trailing-metadata key the relay sets on a failed call to say which service behind it failed:
// "vault" (the key could not be resolved). The gateway answers 503 for a vault that is down or slow,
// 502/504 for a provider.
inline constexpr char kErrorSourceTrailer[] = "byok-error-source";
inline constexpr char kErrorSourceVault[] = "vault";

// Returns the gRPC status carrying the same code and message as `status`.
grpc::Status ToGrpcStatus(const absl::Status& status);

// Returns the absl::Status carrying the same code and message as `status`.
absl::Status FromGrpcStatus(const grpc::Status& status);

// Returns the absl::Status carrying the same code and message as protobuf's `status`.
absl::Status FromProtobufStatus(const google::protobuf::util::Status& status);

}  // namespace byok

#endif  // BYOK_COMMON_GRPC_STATUS_H_
