// The one-process byok-relay wires its three services with gRPC's in-process transport: no socket and
// no listener between them, the same service token on every call (CreateInProcessServiceChannel in
// service_auth.h), the same server interceptors (metrics, request ids) on the called side. What a
// service is given to take part; the default (nothing in process) is the split daemons' wiring.
#ifndef BYOK_COMMON_IN_PROCESS_H_
#define BYOK_COMMON_IN_PROCESS_H_

namespace grpc {
class Server;
}  // namespace grpc

namespace byok {

struct InProcessLinks {
  // Servers of this process to call through in-process channels instead of the configured address
  // (BYOK_VAULT_ADDR, BYOK_RELAY_ADDR); null: over the network. They outlive the caller's calls.
  grpc::Server* vault = nullptr;
  grpc::Server* relay = nullptr;
  // The service's own server is called in process. Such a server sets no maximum connection age
  // (AddServerBalancingArguments): gRPC's in-process transport takes the GOAWAY it sends as the end
  // of the channel, which is never reconnected. Its network address, when it has one, is optional
  // (empty: in-process callers only).
  bool called_in_process = false;
};

}  // namespace byok

#endif  // BYOK_COMMON_IN_PROCESS_H_
