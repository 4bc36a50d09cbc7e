#include "common/http/headers.h"

#include <array>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace byok::http {
namespace {

// RFC 9110 tchar: "!#$%&'*+-.^_`|~", digits and letters.
bool IsTokenChar(unsigned char c) {
  if (absl::ascii_isalnum(c)) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-':
    case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

constexpr std::array<absl::string_view, 9> kHopByHop = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
    "te",         "trailer",    "transfer-encoding",  "upgrade"};

}  // namespace

bool IsValidHeaderName(absl::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!IsTokenChar(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool IsValidHeaderValue(absl::string_view value) {
  for (char ch : value) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c == '\t') continue;
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

bool HeaderNameEquals(absl::string_view a, absl::string_view b) { return absl::EqualsIgnoreCase(a, b); }

bool IsHopByHopHeader(absl::string_view name) {
  for (absl::string_view h : kHopByHop) {
    if (HeaderNameEquals(h, name)) return true;
  }
  return false;
}

bool ListsToken(absl::string_view list, absl::string_view token) {
  if (list.empty()) return false;  // the usual case: no Connection options
  for (absl::string_view element : absl::StrSplit(list, ',')) {
    if (HeaderNameEquals(absl::StripAsciiWhitespace(element), token)) return true;
  }
  return false;
}

bool HeaderNameMatches(absl::string_view pattern, absl::string_view name) {
  if (!pattern.empty() && pattern.back() == '*') {
    pattern.remove_suffix(1);
    return name.size() > pattern.size() && absl::StartsWithIgnoreCase(name, pattern);
  }
  return HeaderNameEquals(pattern, name);
}

const std::string* FindHeader(const std::vector<HeaderField>& headers, absl::string_view name) {
  for (const HeaderField& h : headers) {
    if (HeaderNameEquals(h.name, name)) return &h.value;
  }
  return nullptr;
}

}  // namespace byok::http
