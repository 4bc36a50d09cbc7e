#include "common/crypto/secret_bytes.h"

#include <openssl/crypto.h>

#include <cstring>
#include <string>

namespace byok::crypto {

SecretBytes::SecretBytes(absl::string_view bytes)
    : data_(bytes.empty() ? nullptr : new uint8_t[bytes.size()]), size_(bytes.size()) {
  if (size_ > 0) std::memcpy(data_.get(), bytes.data(), size_);
}

SecretBytes SecretBytes::Zeroed(size_t size) {
  SecretBytes s;
  if (size > 0) {
    s.data_.reset(new uint8_t[size]());
    s.size_ = size;
  }
  return s;
}

SecretBytes::SecretBytes(const SecretBytes& other) : SecretBytes(other.view()) {}

SecretBytes& SecretBytes::operator=(const SecretBytes& other) {
  if (this != &other) {
    SecretBytes copy(other);
    *this = std::move(copy);
  }
  return *this;
}

SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : data_(std::move(other.data_)), size_(other.size_) {
  other.size_ = 0;
}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    Wipe();
    data_ = std::move(other.data_);
    size_ = other.size_;
    other.size_ = 0;
  }
  return *this;
}

SecretBytes::~SecretBytes() { Wipe(); }

void SecretBytes::Wipe() {
  if (data_ != nullptr && size_ > 0) OPENSSL_cleanse(data_.get(), size_);
  data_.reset();
  size_ = 0;
}

bool SecretBytes::ConstantTimeEquals(const SecretBytes& other) const {
  return crypto::ConstantTimeEquals(view(), other.view());
}

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

void WipeString(std::string& s) {
  // Wipe the whole capacity: earlier, longer contents may still sit past size().
  if (s.capacity() > 0) {
    s.resize(s.capacity());
    OPENSSL_cleanse(s.data(), s.size());
  }
  s.clear();
}

}  // namespace byok::crypto
