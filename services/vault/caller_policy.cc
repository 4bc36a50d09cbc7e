#include "services/vault/caller_policy.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace byok::vault {
namespace {

absl::Status Check(bool enforced, const absl::flat_hash_set<std::string>& allowed,
                   const std::vector<std::string>& identities, const char* rpc) {
  if (!enforced) return absl::OkStatus();
  for (const std::string& id : identities) {
    if (allowed.contains(id)) return absl::OkStatus();
  }
  return absl::PermissionDeniedError(absl::StrCat("this caller may not use ", rpc));
}

}  // namespace

CallerPolicy::CallerPolicy(std::vector<std::string> resolvers, std::vector<std::string> admins)
    : enforced_(true),
      resolvers_(resolvers.begin(), resolvers.end()),
      admins_(admins.begin(), admins.end()) {}

absl::Status CallerPolicy::CheckResolve(const std::vector<std::string>& identities) const {
  return Check(enforced_, resolvers_, identities, "ResolveKey");
}

absl::Status CallerPolicy::CheckAdmin(const std::vector<std::string>& identities) const {
  return Check(enforced_, admins_, identities, "Rewrap");
}

}  // namespace byok::vault
