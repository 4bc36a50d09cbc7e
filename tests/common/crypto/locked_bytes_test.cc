// LockedBytes: the bytes are kept, their pages are locked (VmLck grows), and a released slot is
// wiped.
#include "common/crypto/locked_bytes.h"

#include <fstream>
#include <string>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/sanitizers.h"
#include "tests/testing/status_matchers.h"

namespace byok::crypto {
namespace {

using ::byok::testing::IsOk;
using ::byok::testing::StatusIs;

// The process's locked memory, in kB, from /proc/self/status.
[[maybe_unused]] int64_t LockedKb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    absl::string_view rest = line;
    if (!absl::ConsumePrefix(&rest, "VmLck:")) continue;
    rest = absl::StripAsciiWhitespace(rest);
    absl::ConsumeSuffix(&rest, " kB");
    int64_t kb = -1;
    if (absl::SimpleAtoi(rest, &kb)) return kb;
  }
  return -1;
}

TEST(LockedBytesTest, KeepsTheBytesInLockedPages) {
  absl::StatusOr<LockedBytes> secret = LockedBytes::Copy("sk-test-0123456789abcdef");
  ASSERT_THAT(secret, IsOk());
  EXPECT_EQ(secret->view(), "sk-test-0123456789abcdef");
  EXPECT_GE(LockedPoolBytes(), 64u * 1024);
#if BYOK_ASAN
  // AddressSanitizer replaces mlock with a no-op (it says so on stderr), so VmLck cannot grow there;
  // every other build checks the kernel's count.
#else
  EXPECT_GE(LockedKb(), 64) << "the pool's pages are not locked";
#endif
}

TEST(LockedBytesTest, ReleaseWipesTheSlot) {
  const std::string plain(200, 'k');
  absl::StatusOr<LockedBytes> secret = LockedBytes::Copy(plain);
  ASSERT_THAT(secret, IsOk());
  // The pool never unmaps its regions: the slot stays readable after release.
  const volatile char* slot = secret->view().data();
  *secret = LockedBytes();
  for (size_t i = 0; i < plain.size(); ++i) ASSERT_EQ(slot[i], 0) << "byte " << i << " not wiped";
}

TEST(LockedBytesTest, MoveLeavesNothingBehind) {
  absl::StatusOr<LockedBytes> a = LockedBytes::Copy("secret-one");
  ASSERT_THAT(a, IsOk());
  LockedBytes b = *std::move(a);
  EXPECT_TRUE(a->empty());  // NOLINT(bugprone-use-after-move): moved-from state is specified
  EXPECT_EQ(b.view(), "secret-one");
}

TEST(LockedBytesTest, RefusesWhatIsTooLarge) {
  EXPECT_THAT(LockedBytes::Copy(std::string(kMaxLockedBytes + 1, 'x')),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(LockedBytes::Copy(std::string(kMaxLockedBytes, 'x')), IsOk());
}

}  // namespace
}  // namespace byok::crypto
