#include "services/vault/client/answer_cache.h"

#include <openssl/evp.h>

namespace byok::vault {

TokenHash HashToken(absl::string_view token, absl::string_view scope) {
  TokenHash out{};
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const unsigned char zero = 0;
  unsigned int size = 0;
  if (ctx != nullptr && EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) == 1 &&
      EVP_DigestUpdate(ctx, scope.data(), scope.size()) == 1 &&
      EVP_DigestUpdate(ctx, &zero, 1) == 1 &&
      EVP_DigestUpdate(ctx, token.data(), token.size()) == 1) {
    EVP_DigestFinal_ex(ctx, out.data(), &size);
  }
  EVP_MD_CTX_free(ctx);
  return out;
}

}  // namespace byok::vault
