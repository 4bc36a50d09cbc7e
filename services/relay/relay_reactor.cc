#include "services/relay/relay_reactor.h"

#include <grpcpp/server_context.h>

#include <utility>

#include "common/metrics/grpc_observer.h"
#include "services/relay/policy/model_policy.h"

namespace byok::relay {

// gRPC allocates the request as a mutable message, reads it no more once the handler has it, and
// destroys it only after OnDone: the exchange may take its body.
RelayReactor::RelayReactor(const RelayDeps& deps, grpc::CallbackServerContext* context,
                           const v1::RelayRequest* request)
    : RelayExchange(deps, metrics::ContextFromMetadata(context->client_metadata()),
                    const_cast<v1::RelayRequest*>(request)),
      context_(context) {
  Start();
}

void RelayReactor::SendStatus(const grpc::Status& status, std::string allowed_models) {
  if (!allowed_models.empty()) context_->AddTrailingMetadata(kAllowedModelsTrailer, allowed_models);
  Finish(status);
}

}  // namespace byok::relay
