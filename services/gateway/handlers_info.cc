// Routes that describe the service: GET /health, GET /version, GET /models.
//
// /health checks the vault and the relay live, through the standard gRPC health service, each with a
// short deadline (BYOK_HEALTH_TIMEOUT_MS), and lists the relay's providers; 503 when either service is not
// SERVING. `?deep=1` is accepted for compatibility and changes nothing: readiness is always checked live,
// and probing a provider would need a user's key.
#include <atomic>

#include <nlohmann/json.hpp>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/version.h"
#include "services/gateway/api.h"
#include "services/gateway/handlers_common.h"

namespace byok::gateway {
namespace {

using byok::relay::v1::DescribeRoutesRequest;
using byok::relay::v1::DescribeRoutesResponse;

// Gathers the three answers /health waits for; the last one to arrive sends the response.
struct HealthProbe {
  std::shared_ptr<ResponseWriter> writer;
  absl::Duration uptime;
  std::atomic<int> pending{3};
  absl::Mutex mu;
  bool vault = false;
  bool relay = false;
  std::vector<std::string> providers;

  void Arrived() {
    if (pending.fetch_sub(1) != 1) return;
    absl::MutexLock lock(&mu);
    bool ok = vault && relay;
    HttpResponse response =
        Ok({{"ok", ok},
            {"version", kVersion},
            {"uptime", absl::ToInt64Seconds(uptime)},
            {"providers", providers},
            {"checks",
             {{"vault", vault ? "ok" : "unavailable"},
              {"relay", relay ? "ok" : "unavailable"},
              {"config", "ok"}}}});
    if (!ok) response.status = 503;
    // Load balancers must see the current state, never a cached one.
    response.headers.emplace_back("Cache-Control", "no-store");
    writer->Send(std::move(response));
  }
};

nlohmann::json RoutesJson(const DescribeRoutesResponse& r) {
  nlohmann::json providers = nlohmann::json::array();
  for (const auto& p : r.providers()) {
    providers.push_back(
        {{"name", p.name()}, {"base_url", p.base_url()}, {"allowed_paths", p.allowed_paths()}});
  }
  nlohmann::json routes = nlohmann::json::array();
  for (const auto& m : r.routes()) {
    routes.push_back({{"pattern", m.pattern()}, {"provider", m.provider()}, {"path", m.path()}});
  }
  return {{"providers", std::move(providers)},
          {"routes", std::move(routes)},
          {"allowed_models", r.allowed_models()}};
}

}  // namespace

void Api::Health(Call call) {
  auto probe = std::make_shared<HealthProbe>();
  probe->writer = call.writer;
  probe->uptime = absl::Now() - started_;
  backends_.vault().CheckHealth(config_.health_timeout, &backends_.calls(), [probe](bool serving) {
    {
      absl::MutexLock lock(&probe->mu);
      probe->vault = serving;
    }
    probe->Arrived();
  });
  backends_.relay().CheckHealth(config_.health_timeout, &backends_.calls(), [probe](bool serving) {
    {
      absl::MutexLock lock(&probe->mu);
      probe->relay = serving;
    }
    probe->Arrived();
  });
  CallUnary<DescribeRoutesRequest, DescribeRoutesResponse>(
      backends_.relay(), backends_.calls(), config_.health_timeout, DescribeRoutesRequest(),
      BYOK_RELAY_CALL(DescribeRoutes), [probe](RpcResult<DescribeRoutesResponse> result) {
        if (!result.error) {
          absl::MutexLock lock(&probe->mu);
          for (const auto& p : result.response.providers()) probe->providers.push_back(p.name());
        }
        probe->Arrived();
      });
}

void Api::Version(Call call) {
  call.writer->Send(Ok({{"name", kProductName}, {"version", kVersion}, {"api", "v1"}}));
}

void Api::Models(Call call) {
  CallUnary<DescribeRoutesRequest, DescribeRoutesResponse>(
      backends_.relay(), backends_.calls(), config_.rpc_timeout, DescribeRoutesRequest(),
      BYOK_RELAY_CALL(DescribeRoutes),
      [writer = call.writer](RpcResult<DescribeRoutesResponse> result) {
        if (result.error) return writer->Send(ResponseForRpcError(*result.error));
        writer->Send(Ok(RoutesJson(result.response)));
      });
}

}  // namespace byok::gateway
