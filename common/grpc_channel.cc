#include "common/grpc_channel.h"

#include <arpa/inet.h>
#include <grpcpp/create_channel.h>

#include <optional>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace byok {
namespace {

// gRPC's default reconnect backoff (1 s growing to 120 s) left calls failing for seconds after a
// restarted replica was back. Retry soon and often: a connect attempt to a down replica is cheap. With
// gRPC's jitter (20 %) a restarted replica is found within 0.6 s of being back.
// GRPC_ARG_MIN_RECONNECT_BACKOFF_MS stays at its default: gRPC uses it as the shortest time a connect
// attempt (TCP, TLS, HTTP/2 handshake) may take, and 100 ms failed every attempt on a loaded host.
constexpr int kInitialReconnectBackoffMs = 100;
constexpr int kMaxReconnectBackoffMs = 500;

// round_robin keeps a connection to every address and spreads calls over the ready ones (pick_first,
// gRPC's default, would send everything to one replica).
constexpr char kServiceConfig[] = R"({"loadBalancingConfig":[{"round_robin":{}}]})";

constexpr size_t kMaxTargetLength = 4096;
constexpr size_t kMaxListEntries = 64;

enum class Family { kV4, kV6 };

// One list entry: an IP literal and a port. Returns the family, or an error.
absl::StatusOr<Family> CheckEntry(absl::string_view entry) {
  absl::string_view host;
  absl::string_view port_text;
  Family family = Family::kV4;
  if (absl::StartsWith(entry, "[")) {
    size_t close = entry.find("]:");
    if (close == absl::string_view::npos) return absl::InvalidArgumentError("bad [ipv6]:port");
    host = entry.substr(1, close - 1);
    port_text = entry.substr(close + 2);
    family = Family::kV6;
  } else {
    size_t colon = entry.rfind(':');
    if (colon == absl::string_view::npos) return absl::InvalidArgumentError("no port");
    host = entry.substr(0, colon);
    port_text = entry.substr(colon + 1);
  }
  int port = 0;
  if (!absl::SimpleAtoi(port_text, &port) || port < 1 || port > 65535) {
    return absl::InvalidArgumentError("the port is not in 1-65535");
  }
  unsigned char buf[16];
  std::string host_z(host);
  if (inet_pton(family == Family::kV4 ? AF_INET : AF_INET6, host_z.c_str(), buf) != 1) {
    return absl::InvalidArgumentError(
        "a list takes IP addresses (for a name, use dns:///name:port: every address it resolves to "
        "is used)");
  }
  return family;
}

}  // namespace

absl::StatusOr<std::string> GrpcTarget(absl::string_view name, absl::string_view value) {
  auto invalid = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        name, " must be host:port, a comma-separated list of ip:port, or dns:///name:port: ", why));
  };
  value = absl::StripAsciiWhitespace(value);
  if (value.empty()) return invalid("empty");
  if (value.size() > kMaxTargetLength) return invalid("too long");
  // A URI (dns:///, ipv4:, ipv6:, unix:): gRPC checks it.
  if (absl::StrContains(value, ":/") || absl::StartsWith(value, "ipv4:") ||
      absl::StartsWith(value, "ipv6:") || absl::StartsWith(value, "unix:")) {
    return std::string(value);
  }
  if (!absl::StrContains(value, ',')) {
    size_t colon = value.rfind(':');
    int port = 0;
    if (colon == absl::string_view::npos || colon == 0 ||
        !absl::SimpleAtoi(value.substr(colon + 1), &port) || port < 1 || port > 65535) {
      return invalid("no host or no port in 1-65535");
    }
    return std::string(value);
  }
  std::vector<std::string> entries;
  std::optional<Family> family;
  for (absl::string_view entry : absl::StrSplit(value, ',')) {
    entry = absl::StripAsciiWhitespace(entry);
    if (entry.empty()) continue;
    if (entries.size() == kMaxListEntries) return invalid("more than 64 addresses");
    absl::StatusOr<Family> f = CheckEntry(entry);
    if (!f.ok()) return invalid(absl::StrCat("\"", entry, "\": ", f.status().message()));
    if (family.has_value() && *family != *f) return invalid("IPv4 and IPv6 addresses mixed");
    family = *f;
    entries.emplace_back(entry);
  }
  if (entries.empty()) return invalid("empty list");
  return absl::StrCat(*family == Family::kV4 ? "ipv4:" : "ipv6:", absl::StrJoin(entries, ","));
}

bool NamesOneAddress(absl::string_view target) {
  target = absl::StripAsciiWhitespace(target);
  if (absl::StartsWith(target, "unix:")) return true;
  if (absl::ConsumePrefix(&target, "ipv4:") || absl::ConsumePrefix(&target, "ipv6:")) {
    return !absl::StrContains(target, ',');
  }
  if (absl::StrContains(target, ":/") || absl::StrContains(target, ',')) return false;
  return CheckEntry(target).ok();  // an IP address, not a name
}

std::string BalancedTarget(absl::string_view target, grpc::ChannelArguments* args) {
  absl::StatusOr<std::string> uri = GrpcTarget("target", target);
  args->SetServiceConfigJSON(kServiceConfig);
  // The service config is ours, never one published in DNS TXT records.
  args->SetInt(GRPC_ARG_SERVICE_CONFIG_DISABLE_RESOLUTION, 1);
  args->SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, kInitialReconnectBackoffMs);
  args->SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, kMaxReconnectBackoffMs);
  AddKeepaliveArguments(args);
  // An invalid target was refused at start-up; should one get here, gRPC reports it on every call.
  return uri.ok() ? *std::move(uri) : std::string(target);
}

std::shared_ptr<grpc::Channel> BalancedChannel(absl::string_view target,
                                               std::shared_ptr<grpc::ChannelCredentials> credentials,
                                               grpc::ChannelArguments args) {
  std::string uri = BalancedTarget(target, &args);
  return grpc::CreateCustomChannel(uri, std::move(credentials), args);
}

void AddKeepaliveArguments(grpc::ChannelArguments* args, int keepalive_ms) {
  args->SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, keepalive_ms);
  args->SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, kKeepaliveTimeoutMs);
}

void AddServerKeepalivePolicy(grpc::ServerBuilder& builder, int keepalive_ms) {
  // Half the callers' interval: their timers are not exact. Pings more frequent than that still count
  // as abuse.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, keepalive_ms / 2);
}

void AddServerBalancingArguments(grpc::ServerBuilder& builder) {
  // gRPC adds +-10 % jitter, so the callers' reconnects do not all land at once.
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS, kMaxConnectionAgeMs);
}

}  // namespace byok
