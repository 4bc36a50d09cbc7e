#include "common/crypto/locked_bytes.h"

#include <openssl/crypto.h>
#include <sys/mman.h>

#include <array>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace byok::crypto {
namespace {

constexpr size_t kRegionBytes = 64 * 1024;
constexpr size_t kSmallestSlot = 64;
// Slots of 64, 128, ... 4096 bytes.
constexpr int kClasses = 7;
static_assert((kSmallestSlot << (kClasses - 1)) == kMaxLockedBytes);

size_t SlotSize(int size_class) { return kSmallestSlot << size_class; }

int ClassFor(size_t size) {
  int c = 0;
  while (SlotSize(c) < size) ++c;
  return c;
}

// Free slots per size class, carved from locked regions. Regions are never unmapped.
class LockedPool {
 public:
  static LockedPool& Get() {
    static LockedPool* pool = new LockedPool();  // never destroyed: slots may be released at exit
    return *pool;
  }

  absl::StatusOr<uint8_t*> Take(int size_class) {
    absl::MutexLock lock(&mu_);
    std::vector<uint8_t*>& free = free_[static_cast<size_t>(size_class)];
    if (free.empty()) {
      void* region = mmap(nullptr, kRegionBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                          -1, 0);
      if (region == MAP_FAILED) return absl::ResourceExhaustedError("out of memory for secrets");
      if (mlock(region, kRegionBytes) != 0) {
        munmap(region, kRegionBytes);
        return absl::ResourceExhaustedError(absl::StrCat(
            "cannot lock memory for secrets (RLIMIT_MEMLOCK, ulimit -l, allows ", mapped_,
            " bytes so far)"));
      }
      madvise(region, kRegionBytes, MADV_DONTDUMP);
      mapped_ += kRegionBytes;
      const size_t slot = SlotSize(size_class);
      for (size_t offset = 0; offset + slot <= kRegionBytes; offset += slot) {
        free.push_back(static_cast<uint8_t*>(region) + offset);
      }
    }
    uint8_t* slot = free.back();
    free.pop_back();
    return slot;
  }

  void Give(uint8_t* slot, int size_class) {
    OPENSSL_cleanse(slot, SlotSize(size_class));
    absl::MutexLock lock(&mu_);
    free_[static_cast<size_t>(size_class)].push_back(slot);
  }

  size_t mapped() {
    absl::MutexLock lock(&mu_);
    return mapped_;
  }

 private:
  absl::Mutex mu_;
  std::array<std::vector<uint8_t*>, kClasses> free_ ABSL_GUARDED_BY(mu_);
  size_t mapped_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace

absl::StatusOr<LockedBytes> LockedBytes::Copy(absl::string_view bytes) {
  if (bytes.size() > kMaxLockedBytes) {
    return absl::ResourceExhaustedError("secret too large for locked memory");
  }
  LockedBytes out;
  if (bytes.empty()) return out;
  const int size_class = ClassFor(bytes.size());
  absl::StatusOr<uint8_t*> slot = LockedPool::Get().Take(size_class);
  if (!slot.ok()) return slot.status();
  std::memcpy(*slot, bytes.data(), bytes.size());
  out.data_ = *slot;
  out.size_ = bytes.size();
  out.size_class_ = size_class;
  return out;
}

LockedBytes::LockedBytes(LockedBytes&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      size_class_(other.size_class_) {}

LockedBytes& LockedBytes::operator=(LockedBytes&& other) noexcept {
  if (this != &other) {
    Release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    size_class_ = other.size_class_;
  }
  return *this;
}

LockedBytes::~LockedBytes() { Release(); }

void LockedBytes::Release() {
  if (data_ != nullptr) LockedPool::Get().Give(data_, size_class_);
  data_ = nullptr;
  size_ = 0;
}

size_t LockedPoolBytes() { return LockedPool::Get().mapped(); }

}  // namespace byok::crypto
