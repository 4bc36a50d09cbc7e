#include "common/grpc_status.h"

#include <optional>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace byok {
namespace {

// absl::Status payload URLs under which a reason and domain travel inside a process.
constexpr char kReasonPayload[] = "byok-relay/reason";
constexpr char kDomainPayload[] = "byok-relay/domain";

std::string Payload(const absl::Status& status, absl::string_view url) {
  auto value = status.GetPayload(url);
  return value.has_value() ? std::string(*value) : std::string();
}

}  // namespace

absl::Status WithReason(absl::Status status, absl::string_view reason, absl::string_view domain) {
  if (status.ok()) return status;
  status.SetPayload(kReasonPayload, absl::Cord(reason));
  if (!domain.empty()) status.SetPayload(kDomainPayload, absl::Cord(domain));
  return status;
}

std::string ReasonOf(const absl::Status& status) { return Payload(status, kReasonPayload); }

std::string DomainOf(const absl::Status& status) { return Payload(status, kDomainPayload); }

absl::Status WithDefaultReason(absl::Status status, absl::string_view domain) {
  if (status.ok()) return status;
  if (ReasonOf(status).empty()) {
    status.SetPayload(kReasonPayload,
                      absl::Cord(absl::AsciiStrToUpper(absl::StatusCodeToString(status.code()))));
  }
  if (DomainOf(status).empty()) status.SetPayload(kDomainPayload, absl::Cord(domain));
  return status;
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  const auto code = static_cast<grpc::StatusCode>(status.code());
  std::string message(status.message());
  const std::string reason = ReasonOf(status);
  if (reason.empty()) return grpc::Status(code, message);
  google::rpc::ErrorInfo info;
  info.set_reason(reason);
  info.set_domain(DomainOf(status));
  google::rpc::Status details;
  details.set_code(static_cast<int>(code));
  details.set_message(message);
  details.add_details()->PackFrom(info);
  return grpc::Status(code, message, details.SerializeAsString());
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  absl::Status result(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  google::rpc::Status details;
  if (status.error_details().empty() || !details.ParseFromString(status.error_details())) {
    return result;
  }
  for (const google::protobuf::Any& any : details.details()) {
    google::rpc::ErrorInfo info;
    if (any.UnpackTo(&info)) return WithReason(std::move(result), info.reason(), info.domain());
  }
  return result;
}

absl::Status FromProtobufStatus(const google::protobuf::util::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.code()),
                      std::string(status.message()));
}

}  // namespace byok
