#include "common/metrics/metrics.h"

#include <prometheus/collectable.h>
#include <prometheus/exposer.h>

#include <exception>
#include <mutex>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/logging.h"

namespace byok::metrics {
namespace {

// Gauges computed at scrape time.
class ScrapedGauges : public prometheus::Collectable {
 public:
  int Add(std::string name, std::string help, std::function<double()> read) {
    std::lock_guard<std::mutex> lock(mu_);
    gauges_.push_back({next_id_, std::move(name), std::move(help), std::move(read)});
    return next_id_++;
  }

  void Remove(int id) {
    std::lock_guard<std::mutex> lock(mu_);
    std::erase_if(gauges_, [id](const Gauge& g) { return g.id == id; });
  }

  std::vector<prometheus::MetricFamily> Collect() const override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<prometheus::MetricFamily> out;
    for (const Gauge& g : gauges_) {
      double value = g.read();
      if (value < 0) continue;
      prometheus::MetricFamily family;
      family.name = g.name;
      family.help = g.help;
      family.type = prometheus::MetricType::Gauge;
      prometheus::ClientMetric metric;
      metric.gauge.value = value;
      family.metric.push_back(std::move(metric));
      out.push_back(std::move(family));
    }
    return out;
  }

 private:
  struct Gauge {
    int id;
    std::string name;
    std::string help;
    std::function<double()> read;
  };
  mutable std::mutex mu_;
  std::vector<Gauge> gauges_;
  int next_id_ = 0;
};

class ScrapedGaugeHandle : public ScrapedGauge {
 public:
  ScrapedGaugeHandle(std::shared_ptr<ScrapedGauges> gauges, int id) : gauges_(std::move(gauges)), id_(id) {}
  ~ScrapedGaugeHandle() override { gauges_->Remove(id_); }

 private:
  std::shared_ptr<ScrapedGauges> gauges_;
  int id_;
};

// What Start made; lives until the process exits (the listener may be scraped while services stop).
struct State {
  std::shared_ptr<prometheus::Registry> registry;
  std::shared_ptr<ScrapedGauges> scraped;
  std::unique_ptr<prometheus::Exposer> exposer;
  int port = 0;
};

State& GlobalState() {
  static State* state = new State();  // never destroyed: scrapes may come while the process exits
  return *state;
}

// Checks "host:port" (host may be a bracketed IPv6 address) and returns civetweb's form of it.
absl::Status CheckAddress(absl::string_view address) {
  size_t colon = address.rfind(':');
  int port = -1;
  if (colon == absl::string_view::npos || colon == 0 ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat(kMetricsAddrEnv, " must be host:port (for example 127.0.0.1:9464)"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status Start(const std::string& address) {
  State& state = GlobalState();
  if (state.registry != nullptr) return absl::FailedPreconditionError("metrics already started");
  if (absl::Status s = CheckAddress(address); !s.ok()) return s;
  auto registry = std::make_shared<prometheus::Registry>();
  auto scraped = std::make_shared<ScrapedGauges>();
  std::unique_ptr<prometheus::Exposer> exposer;
  try {
    // One thread: scrapes are rare and small.
    exposer = std::make_unique<prometheus::Exposer>(address, 1);
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", address, " (", kMetricsAddrEnv,
                                               "): ", e.what()));
  }
  std::vector<int> ports = exposer->GetListeningPorts();
  exposer->RegisterCollectable(registry);
  exposer->RegisterCollectable(scraped);
  state.registry = std::move(registry);
  state.scraped = std::move(scraped);
  state.exposer = std::move(exposer);
  state.port = ports.empty() ? 0 : ports.front();
  log::Info("metrics", "metrics on %s, port %d (/metrics)", address, state.port);
  return absl::OkStatus();
}

absl::Status StartFromEnv(const Env& env) {
  std::string address = env.GetString(kMetricsAddrEnv, "");
  if (address.empty()) return absl::OkStatus();
  return Start(address);
}

absl::Status InitObservability(const Env& env) {
  log::Format format = log::Format::kText;
  if (absl::Status s = log::ParseFormat(env.GetString("LOG_FORMAT", "text"), &format); !s.ok()) return s;
  log::SetFormat(format);
  return StartFromEnv(env);
}

prometheus::Registry* Registry() { return GlobalState().registry.get(); }

int Port() { return GlobalState().port; }

std::unique_ptr<ScrapedGauge> AddScrapedGauge(const std::string& name, const std::string& help,
                                              std::function<double()> read) {
  State& state = GlobalState();
  if (state.scraped == nullptr) return nullptr;
  int id = state.scraped->Add(name, help, std::move(read));
  return std::make_unique<ScrapedGaugeHandle>(state.scraped, id);
}

const prometheus::Histogram::BucketBoundaries& DurationBuckets() {
  static const auto* buckets = new prometheus::Histogram::BucketBoundaries{
      0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};
  return *buckets;
}

std::string StatusLabel(int status) {
  if (status >= 100 && status <= 599) return absl::StrCat(status);
  return "other";
}

}  // namespace byok::metrics
