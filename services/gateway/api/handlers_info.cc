// Routes that describe the service: GET /health, GET /version, GET /openapi.{json,yaml}, GET /models
// (compat.md §3.1-3.4).
//
// /health asks the vault and the relay live, through the standard gRPC health service, each with a
// short deadline (BYOK_HEALTH_TIMEOUT_MS); the vault stands where the original had its database
// (checks.db). 503 when either is down. `?deep=1` also pings a provider through the relay's key check
// with a key no provider accepts: any answer below 500 means reachable, as the original's ping.
#include <algorithm>
#include <atomic>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/providers/providers.h"
#include "common/version.h"
#include "services/gateway/api/api.h"
#include "services/gateway/api/handlers_common.h"
#include "services/gateway/api/phrases.h"

namespace byok::gateway {
namespace {

using byok::relay::v1::CheckKeyRequest;
using byok::relay::v1::CheckKeyResponse;
using byok::relay::v1::DescribeRoutesRequest;
using byok::relay::v1::DescribeRoutesResponse;
using nlohmann::ordered_json;

using HealthAnswer = BackendChannel::Health;

// The relay's gRPC service name in the health service (SERVING while it can relay).
constexpr char kRelayServiceName[] = "byok.relay.v1.Relay";

// The original's deep-probe deadline.
constexpr absl::Duration kDeepProbeTimeout = absl::Seconds(8);
// What the deep probe presents as a key: no provider accepts it, every reachable one answers 401.
constexpr char kProbeKey[] = "byok-relay-health-probe-not-a-key";

// Gathers the answers /health waits for; the last one to arrive sends the response.
struct HealthProbe {
  std::shared_ptr<ResponseWriter> writer;
  ordered_json head;  // ok .. timestamp, filled at the start
  bool app_secret_set = false;
  std::optional<std::string> deep_provider;  // set for deep probes
  std::atomic<int> pending{0};

  absl::Mutex mu;
  bool vault = false;
  HealthAnswer relay = HealthAnswer::kNoAnswer;
  DescribeRoutesResponse routes;
  ordered_json upstream;
  std::vector<std::string> warnings;

  void Arrived() {
    if (pending.fetch_sub(1) != 1) return;
    absl::MutexLock lock(&mu);
    const bool ok = vault && relay == HealthAnswer::kServing;
    // Up, but not yet (or no longer) connected to the vault: cannot relay, so not ok.
    if (vault && relay == HealthAnswer::kNotServing) warnings.push_back("Relay cannot reach the vault yet");
    ordered_json body = head;
    body["ok"] = ok;
    ordered_json providers = ordered_json::array();
    for (const auto& p : routes.providers()) providers.push_back(p.name());
    body["providers"] = std::move(providers);
    ordered_json config = {{"ok", true},
                           {"encryption_key_set", true},
                           {"registration_gated", app_secret_set},
                           {"model_allowlist_restricted", routes.allowed_models_size() > 0}};
    if (routes.allowed_models_size() > 0) config["allowed_models"] = routes.allowed_models();
    ordered_json checks = {
        {"db", vault ? ordered_json({{"ok", true}})
                     : ordered_json({{"ok", false}, {"error", "Database unreachable"}})},
        {"config", std::move(config)},
        {"vault", vault ? "ok" : "unavailable"},
        {"relay", relay != HealthAnswer::kNoAnswer ? "ok" : "unavailable"}};
    if (deep_provider.has_value()) checks["upstream"] = upstream;
    body["checks"] = std::move(checks);
    if (!warnings.empty()) body["warnings"] = warnings;
    body["status"] = ok ? "ok" : "degraded";
    HttpResponse response = Ok(body);
    if (!ok) response.status = 503;
    // Load balancers must see the current state, never a cached one.
    response.headers.emplace_back("Cache-Control", "no-store");
    writer->Send(std::move(response));
  }
};

// The original's `commit`, `buildTime` head of /health and /version.
ordered_json BuildInfo(const GatewayConfig& config, absl::Time started) {
  return {{"version", kVersion},
          {"commit", config.commit_sha.has_value() ? ordered_json(*config.commit_sha)
                                                   : ordered_json(nullptr)},
          {"buildTime", config.build_time.value_or(IsoMillis(started))}};
}

// The deep probe's verdict on `provider`, from the relay's key check.
void PingProvider(Backends& backends, const GatewayConfig& config,
                  std::shared_ptr<HealthProbe> probe) {
  const std::string provider = *probe->deep_provider;
  CheckKeyRequest request;
  request.set_provider(provider);
  request.set_key(kProbeKey);
  CallUnary<CheckKeyRequest, CheckKeyResponse>(
      backends.relay(), backends.calls(), std::min(config.check_key_timeout, kDeepProbeTimeout),
      std::move(request),
      [&backends](grpc::ClientContext* c, const auto* q, auto* r,
                  std::function<void(grpc::Status)> d) {
        backends.relay_stub().async()->CheckKey(c, q, r, std::move(d));
      },
      [probe, provider](RpcResult<CheckKeyResponse> result) {
        {
          absl::MutexLock lock(&probe->mu);
          int status = result.error ? 0 : result.response.status();
          if (status > 0) {
            probe->upstream = {{"ok", status < 500}, {"provider", provider}, {"statusCode", status}};
            if (status >= 500) {
              probe->warnings.push_back(absl::StrCat("Provider ", provider, " returned ", status,
                                                     " \u2014 may be a key issue or provider outage"));
            }
          } else {
            probe->upstream = {{"ok", false}, {"provider", provider}, {"error", "Ping failed"}};
            probe->warnings.push_back(absl::StrCat("Provider ", provider, " unreachable"));
          }
        }
        probe->Arrived();
      });
}

}  // namespace

void Api::Health(Call call) {
  auto probe = std::make_shared<HealthProbe>();
  probe->writer = call.writer;
  probe->head = {{"ok", false}};
  const ordered_json build = BuildInfo(config_, started_);
  for (const auto& [k, v] : build.items()) probe->head[k] = v;
  probe->head["uptime"] = absl::ToInt64Seconds(absl::Now() - started_);
  probe->head["timestamp"] = IsoMillis(absl::Now());
  probe->app_secret_set = config_.app_secret.has_value();
  if (IsDeepProbe(call.request)) {
    std::string provider = call.request.QueryParam("provider");
    probe->deep_provider = provider.empty() ? "openai" : DecodeSegment(provider).value_or(provider);
  }
  probe->pending = 3;
  backends_.vault().CheckHealth("", config_.health_timeout, &backends_.calls(), [probe](HealthAnswer health) {
    {
      absl::MutexLock lock(&probe->mu);
      probe->vault = health == HealthAnswer::kServing;
    }
    probe->Arrived();
  });
  // The relay's service is SERVING only while its own link to the vault works (it can relay); the
  // relay process itself may be up without it.
  backends_.relay().CheckHealth(kRelayServiceName, config_.health_timeout, &backends_.calls(),
                                [probe](HealthAnswer health) {
                                  {
                                    absl::MutexLock lock(&probe->mu);
                                    probe->relay = health;
                                  }
                                  probe->Arrived();
                                });
  CallUnary<DescribeRoutesRequest, DescribeRoutesResponse>(
      backends_.relay(), backends_.calls(), config_.health_timeout, DescribeRoutesRequest(),
      BYOK_RELAY_CALL(DescribeRoutes), [this, probe](RpcResult<DescribeRoutesResponse> result) {
        bool ping = false;
        {
          absl::MutexLock lock(&probe->mu);
          if (!result.error) probe->routes = std::move(result.response);
          if (probe->deep_provider.has_value()) {
            bool known = false;
            for (const auto& p : probe->routes.providers()) known |= p.name() == *probe->deep_provider;
            if (!known) {
              probe->upstream = {{"ok", false},
                                 {"error", absl::StrCat("Unknown provider '", *probe->deep_provider, "'")}};
            } else if (*probe->deep_provider == "openai-compatible") {
              // No base URL to ping: the original's probe of it always fails.
              probe->upstream = {{"ok", false}, {"provider", "openai-compatible"}, {"error", "Ping failed"}};
              probe->warnings.push_back("Provider openai-compatible unreachable");
            } else {
              ping = true;
            }
          }
        }
        if (ping) {
          ++probe->pending;
          PingProvider(backends_, config_, probe);
        }
        probe->Arrived();
      });
}

void Api::Version(Call call) {
  ordered_json body = BuildInfo(config_, started_);
  body["repoUrl"] = config_.repo_url;
  body["attestationUrl"] = config_.commit_sha.has_value()
                               ? ordered_json(absl::StrCat(config_.repo_url, "/tree/", *config_.commit_sha))
                               : ordered_json(nullptr);
  call.writer->Send(Ok(body));
}

void Api::OpenApi(Call call, bool yaml) {
  if (!yaml) return call.writer->Send(JsonResponse(openapi_json_));
  HttpResponse response;
  response.headers.emplace_back("Content-Type", "text/yaml; charset=utf-8");
  response.body = openapi_yaml_;
  call.writer->Send(std::move(response));
}

void Api::Models(Call call) {
  CallUnary<DescribeRoutesRequest, DescribeRoutesResponse>(
      backends_.relay(), backends_.calls(), config_.rpc_timeout, DescribeRoutesRequest(),
      BYOK_RELAY_CALL(DescribeRoutes),
      [writer = call.writer](RpcResult<DescribeRoutesResponse> result) {
        if (result.error) return writer->Send(ResponseForRpcError(*result.error));
        const DescribeRoutesResponse& r = result.response;
        ordered_json providers = ordered_json::array();
        for (const auto& p : r.providers()) providers.push_back(p.name());
        ordered_json prefixes = ordered_json::array();
        for (absl::string_view p : providers::kRoutablePrefixes) prefixes.push_back(std::string(p));
        ordered_json patterns = ordered_json::array();
        for (const auto& m : r.routes()) {
          patterns.push_back({{"pattern", m.pattern()}, {"flags", "i"}, {"provider", m.provider()}});
        }
        ordered_json body = {{"providers", std::move(providers)},
                             {"providerPrefixes", std::move(prefixes)},
                             {"patterns", std::move(patterns)},
                             {"restricted", r.allowed_models_size() > 0}};
        if (r.allowed_models_size() > 0) {
          body["allowed_models"] = r.allowed_models();
        } else {
          body["message"] = "All models are permitted on this relay.";
        }
        body["usage"] = "POST /relay with { model: \"provider/model-name\", ...providerBody }";
        body["examples"] = {
            R"({ "model": "anthropic/claude-3-5-haiku", "max_tokens": 1024, "messages": [{ "role": "user", "content": "Hello" }] })",
            R"({ "model": "gpt-4o", "messages": [{ "role": "user", "content": "Hello" }] })",
            R"({ "model": "google/gemini-2.0-flash", "contents": [{ "parts": [{ "text": "Hello" }] }] })"};
        writer->Send(Ok(body));
      });
}

}  // namespace byok::gateway
