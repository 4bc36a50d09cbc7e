// A buffer for secret material (keys, key-encryption keys, decrypted provider keys) that wipes itself.
#ifndef BYOK_COMMON_CRYPTO_SECRET_BYTES_H_
#define BYOK_COMMON_CRYPTO_SECRET_BYTES_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"

namespace byok::crypto {

// Owns a fixed-size block of secret bytes. The bytes live in one heap block that is never reallocated
// and is overwritten (OPENSSL_cleanse) on destruction, on assignment and on move-from, so no stale copy
// stays behind in memory this class owned. Equality runs in constant time for equal sizes.
// Thread-compatible: const methods may run concurrently.
class SecretBytes {
 public:
  // Creates an empty secret.
  SecretBytes() = default;
  // Copies `bytes` into a new secret. The caller remains responsible for wiping its own copy.
  explicit SecretBytes(absl::string_view bytes);
  // Creates a secret of `size` zero bytes, to be filled through mutable_data().
  static SecretBytes Zeroed(size_t size);

  SecretBytes(const SecretBytes& other);
  SecretBytes& operator=(const SecretBytes& other);
  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  ~SecretBytes();

  // Returns a view of the bytes; valid while this object lives and is not assigned to.
  absl::string_view view() const {
    return {reinterpret_cast<const char*>(data_.get()), size_};
  }
  const uint8_t* data() const { return data_.get(); }
  uint8_t* mutable_data() { return data_.get(); }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // Returns true when both hold the same bytes. Runs in time independent of the contents.
  bool ConstantTimeEquals(const SecretBytes& other) const;
  friend bool operator==(const SecretBytes& a, const SecretBytes& b) { return a.ConstantTimeEquals(b); }

 private:
  void Wipe();

  std::unique_ptr<uint8_t[]> data_;
  size_t size_ = 0;
};

// Returns true when `a` and `b` hold the same bytes, in time that depends only on their sizes.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

// Overwrites the contents of `s` (for plaintext that had to pass through a std::string).
void WipeString(std::string& s);

}  // namespace byok::crypto

#endif  // BYOK_COMMON_CRYPTO_SECRET_BYTES_H_
