// A program that uses what byok_common_base offers (configuration, logging, status, request ids) and
// links nothing else: common_base_link_test.sh checks that it carries no gRPC or protobuf.
#include <cstdio>

#include "absl/container/flat_hash_map.h"
#include "common/env.h"
#include "common/logging.h"
#include "common/request_context.h"
#include "common/status.h"

namespace {

absl::Status Check(const byok::Env& env) {
  BYOK_ASSIGN_OR_RETURN(bool on, env.GetBool("PROBE_ON", false));
  if (!on) return absl::InvalidArgumentError("PROBE_ON is not set");
  return absl::OkStatus();
}

}  // namespace

int main() {
  absl::flat_hash_map<std::string, std::string> vars = {{"PROBE_ON", "1"}};
  byok::Env env(vars);
  absl::Status status = Check(env);
  byok::trace::RequestContext request;
  byok::trace::ScopedContext scope(&request);
  byok::log::Info("probe", "configuration read: %s", status.ok() ? "ok" : status.ToString());
  std::printf("%s\n", status.ok() ? "ok" : "failed");
  return status.ok() ? 0 : 1;
}
