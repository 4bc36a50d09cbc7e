// The providers the vault accepts keys for: common/providers is the one list.
#ifndef BYOK_SERVICES_VAULT_PROVIDERS_H_
#define BYOK_SERVICES_VAULT_PROVIDERS_H_

#include "common/providers/providers.h"

namespace byok::vault {

using ::byok::providers::IsKnownProvider;
using ::byok::providers::kOpenAiCompatible;
using ::byok::providers::kProviders;

}  // namespace byok::vault

#endif  // BYOK_SERVICES_VAULT_PROVIDERS_H_
