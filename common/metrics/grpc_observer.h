// Observes a gRPC server's calls in one place, outside the services' handlers: counts each call by
// method and status code and times it (when metrics are on), and writes one debug log line per call
// carrying the caller's request and trace ids (sent as plain metadata: x-request-id, traceparent,
// tracestate). Also the two ends of that metadata, for clients and handlers.
#ifndef BYOK_COMMON_METRICS_GRPC_OBSERVER_H_
#define BYOK_COMMON_METRICS_GRPC_OBSERVER_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/client_context.h>
#include <grpcpp/support/server_interceptor.h>
#include <grpcpp/support/string_ref.h>

#include "absl/time/time.h"
#include "common/request_context.h"

namespace byok::metrics {

// The interceptor factories to install on a server (ServerBuilder::experimental()
// .SetInterceptorCreators). `service` names the server in logs and in the `service` label.
std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> ServerObservers(
    const std::string& service);

// Counts and times one call of `method` (its short name, e.g. "Relay") that ended with `code`, as the
// observers do. For calls a service carries inside a stream of its own (RelayMany's requests).
void CountServerCall(const std::string& service, const std::string& method, grpc::StatusCode code,
                     absl::Duration elapsed);

// The caller's context from a call's metadata: its request id and trace, continued with a new span
// (request_context.h's validation applies; what is missing or invalid is made).
trace::RequestContext ContextFromMetadata(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata);

// Adds `context` to an outgoing call as metadata (this hop's span as the parent).
void AddToClientContext(const trace::RequestContext& context, grpc::ClientContext* client);

}  // namespace byok::metrics

#endif  // BYOK_COMMON_METRICS_GRPC_OBSERVER_H_
