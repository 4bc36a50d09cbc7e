#include "tests/e2e/metrics_scrape.h"

#include <cstdlib>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tests/gateway/http_test_client.h"

namespace byok::testing {
namespace {

// Parses `{a="x",b="y"}` (values without escaped quotes, as ours are).
MetricLabels ParseLabels(absl::string_view text) {
  MetricLabels out;
  while (!text.empty()) {
    size_t eq = text.find("=\"");
    if (eq == absl::string_view::npos) break;
    size_t end = text.find('"', eq + 2);
    if (end == absl::string_view::npos) break;
    out[std::string(text.substr(0, eq))] = std::string(text.substr(eq + 2, end - eq - 2));
    text.remove_prefix(end + 1);
    if (!text.empty() && text.front() == ',') text.remove_prefix(1);
  }
  return out;
}

}  // namespace

double SampleValue(const std::string& exposition, const std::string& name, const MetricLabels& labels) {
  double sum = 0;
  for (absl::string_view line : absl::StrSplit(exposition, '\n')) {
    if (line.empty() || line.front() == '#') continue;
    size_t brace = line.find('{');
    size_t space = line.rfind(' ');
    if (space == absl::string_view::npos) continue;
    absl::string_view sample_name = line.substr(0, brace == absl::string_view::npos ? space : brace);
    if (sample_name != name) continue;
    MetricLabels have;
    if (brace != absl::string_view::npos) {
      size_t close = line.rfind('}');
      have = ParseLabels(line.substr(brace + 1, close - brace - 1));
    }
    bool match = true;
    for (const auto& [k, v] : labels) {
      auto it = have.find(k);
      if (it == have.end() || it->second != v) match = false;
    }
    if (match) sum += std::strtod(std::string(line.substr(space + 1)).c_str(), nullptr);
  }
  return sum;
}

absl::StatusOr<std::string> Scrape(int port) {
  absl::StatusOr<TestResponse> r = Fetch(port, "GET", "/metrics");
  if (!r.ok()) return r.status();
  if (r->status != 200) return absl::InternalError(absl::StrCat("GET /metrics: ", r->status));
  return r->body;
}

}  // namespace byok::testing
