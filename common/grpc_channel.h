// Client channels between the services (gateway → vault and relay, relay → vault), spread over every
// replica a target names.
//
// A target (BYOK_VAULT_ADDR, BYOK_RELAY_ADDR on the calling side) is one of:
//   host:port            resolved by DNS; every address it resolves to is used
//   ip:port,ip:port,...  a fixed list of IP addresses (all IPv4 or all IPv6, the latter bracketed)
//   dns:///name:port     every address DNS returns (a Kubernetes headless Service), re-resolved when a
//                        connection drops
//   any other gRPC URI   (unix:/path, ipv4:..., ipv6:...) as gRPC reads it
// Calls are spread round-robin over the addresses; a replica that went away is reconnected to within
// about a second of being back.
#ifndef BYOK_COMMON_GRPC_CHANNEL_H_
#define BYOK_COMMON_GRPC_CHANNEL_H_

#include <grpcpp/channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/support/channel_arguments.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace byok {

// Returns the gRPC target URI for `value` (a list becomes ipv4:a:p,b:q or ipv6:[a]:p,[b]:q). `name` is
// the variable, for the error message.
absl::StatusOr<std::string> GrpcTarget(absl::string_view name, absl::string_view value);

// Whether `target` (as configured, valid for GrpcTarget) names exactly one address: one IP address and
// port, a one-entry ipv4:/ipv6: URI, or a unix: socket. A host name may resolve to several.
bool NamesOneAddress(absl::string_view target);

// Adds round_robin load balancing, bounded reconnect backoff and keepalive pings (AddKeepaliveArguments)
// to `args` and returns the URI to create the channel with, for `target` as configured (validated earlier with GrpcTarget). For callers
// that create the channel themselves (with interceptors: the service token).
std::string BalancedTarget(absl::string_view target, grpc::ChannelArguments* args);

// Creates a channel to `target` (as configured; validated earlier with GrpcTarget) with `args` plus
// what BalancedTarget adds.
std::shared_ptr<grpc::Channel> BalancedChannel(absl::string_view target,
                                               std::shared_ptr<grpc::ChannelCredentials> credentials,
                                               grpc::ChannelArguments args);

// Server side of the same: connections are closed gracefully (GOAWAY; running calls and streams finish)
// after kMaxConnectionAge, so callers resolve their dns:/// targets again and new replicas get load
// (gRPC re-resolves only when a connection ends).
void AddServerBalancingArguments(grpc::ServerBuilder& builder);

inline constexpr int kMaxConnectionAgeMs = 2 * 60 * 1000;

// Callers ping a connection every kKeepaliveTimeMs while a call is open on it, so that a long silent
// stream (the gateway's subscription to the vault's key changes) notices a peer that vanished; a ping
// unanswered for kKeepaliveTimeoutMs ends the connection.
inline constexpr int kKeepaliveTimeMs = 30 * 1000;
inline constexpr int kKeepaliveTimeoutMs = 10 * 1000;

// Adds that keepalive, a ping every `keepalive_ms`, to a caller's `args`.
void AddKeepaliveArguments(grpc::ChannelArguments* args, int keepalive_ms = kKeepaliveTimeMs);

// Server side of the same: accepts the pings of callers that ping every `keepalive_ms`. gRPC's default
// takes more than one ping per five minutes on a connection that sends no data as abuse and ends the
// connection (GOAWAY "too_many_pings", after a few pings), failing every call on it: a silent stream
// then cost a caller's requests running on the same connection.
void AddServerKeepalivePolicy(grpc::ServerBuilder& builder, int keepalive_ms = kKeepaliveTimeMs);

}  // namespace byok

#endif  // BYOK_COMMON_GRPC_CHANNEL_H_
