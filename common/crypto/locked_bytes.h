// Secret bytes kept in locked memory: pages that are mlock()ed (never written to swap) and excluded
// from core dumps (MADV_DONTDUMP), wiped when the bytes are released. For secrets held for a while
// (the relay's cached provider keys), where SecretBytes' ordinary heap block could be swapped out.
#ifndef BYOK_COMMON_CRYPTO_LOCKED_BYTES_H_
#define BYOK_COMMON_CRYPTO_LOCKED_BYTES_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace byok::crypto {

// Largest secret LockedBytes holds (the vault's largest provider key).
inline constexpr size_t kMaxLockedBytes = 4096;

// Owns a copy of a secret in a slot of a process-wide pool of locked pages. Move-only. The slot is
// overwritten (OPENSSL_cleanse) when it is released: on destruction, on assignment and on move-from.
// The pool grows in 64 KiB locked regions and keeps them (a bounded cache reuses its slots).
// Thread-compatible; the pool itself is thread-safe.
class LockedBytes {
 public:
  LockedBytes() = default;
  // Copies `bytes` into locked memory. ResourceExhausted when the pages cannot be locked (the
  // process's RLIMIT_MEMLOCK is reached) or `bytes` is larger than kMaxLockedBytes.
  static absl::StatusOr<LockedBytes> Copy(absl::string_view bytes);

  LockedBytes(LockedBytes&& other) noexcept;
  LockedBytes& operator=(LockedBytes&& other) noexcept;
  LockedBytes(const LockedBytes&) = delete;
  LockedBytes& operator=(const LockedBytes&) = delete;
  ~LockedBytes();

  // Valid while this object holds the bytes.
  absl::string_view view() const { return {reinterpret_cast<const char*>(data_), size_}; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  void Release();

  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  int size_class_ = 0;
};

// Bytes of locked memory the pool has mapped (for metrics and tests).
size_t LockedPoolBytes();

}  // namespace byok::crypto

#endif  // BYOK_COMMON_CRYPTO_LOCKED_BYTES_H_
