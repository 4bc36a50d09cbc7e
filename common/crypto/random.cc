#include "common/crypto/random.h"

#include <openssl/rand.h>

#include <climits>

#include "absl/status/status.h"

namespace byok::crypto {
namespace {

absl::Status Fill(uint8_t* out, size_t size) {
  if (size > static_cast<size_t>(INT_MAX)) return absl::InvalidArgumentError("random request too large");
  if (size == 0) return absl::OkStatus();
  if (RAND_bytes(out, static_cast<int>(size)) != 1) {
    return absl::InternalError("the random number generator failed");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> RandomBytes(size_t size) {
  std::string out(size, '\0');
  absl::Status status = Fill(reinterpret_cast<uint8_t*>(out.data()), size);
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<SecretBytes> RandomSecret(size_t size) {
  SecretBytes out = SecretBytes::Zeroed(size);
  absl::Status status = Fill(out.mutable_data(), size);
  if (!status.ok()) return status;
  return out;
}

}  // namespace byok::crypto
