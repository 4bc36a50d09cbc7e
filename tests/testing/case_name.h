// Readable names for parameterized test cases: gtest prints a case with PrintTo, and ctest lists the
// test under that text. Without one, a struct prints as its raw bytes (heap addresses included).
#ifndef BYOK_TESTS_TESTING_CASE_NAME_H_
#define BYOK_TESTS_TESTING_CASE_NAME_H_

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/string_view.h"

namespace byok::testing {

// Returns `text` with every byte outside [A-Za-z0-9._/:-] written as %XX (so distinct cases keep
// distinct names and the name survives CMake lists, shells and ctest's regular expressions), cut to
// 80 characters.
inline std::string CaseName(absl::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (absl::ascii_isalnum(byte) || c == '.' || c == '_' || c == '/' || c == ':' || c == '-') {
      out.push_back(c);
    } else {
      out += {'%', kHex[byte >> 4], kHex[byte & 0xF]};
    }
  }
  if (out.empty()) out = "(empty)";
  return out.substr(0, 80);
}

}  // namespace byok::testing

#endif  // BYOK_TESTS_TESTING_CASE_NAME_H_
