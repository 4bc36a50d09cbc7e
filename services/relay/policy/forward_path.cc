#include "services/relay/policy/forward_path.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace byok::relay {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 3986 unreserved and sub-delims, plus ':' and '@': literal in a path segment.
bool IsPathChar(char c) {
  if (absl::ascii_isalnum(c)) return true;
  switch (c) {
    case '-': case '.': case '_': case '~': case '!': case '$': case '&': case '\'': case '(':
    case ')': case '*': case '+': case ',': case ';': case '=': case ':': case '@':
      return true;
    default:
      return false;
  }
}

// Which part of a target is being encoded.
enum class Part { kPath, kQuery, kClientQuery };

// kClientQuery is the client's own query, already encoded by the client: its '%' escapes stay.
void AppendEncoded(absl::string_view in, Part part, std::string& out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char c : in) {
    if (IsPathChar(c) || c == '/' || (part != Part::kPath && c == '?') ||
        (part == Part::kClientQuery && c == '%')) {
      out.push_back(c);
    } else {
      unsigned char b = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kHex[b >> 4]);
      out.push_back(kHex[b & 0xf]);
    }
  }
}

}  // namespace

bool DecodeUriComponent(absl::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    int hi = HexValue(in[i + 1]);
    int lo = HexValue(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out.push_back(static_cast<char>(hi << 4 | lo));
    i += 2;
  }
  return true;
}

std::string PosixNormalize(absl::string_view path) {
  const bool absolute = !path.empty() && path.front() == '/';
  const bool trailing = !path.empty() && path.back() == '/';
  std::vector<absl::string_view> kept;
  for (absl::string_view segment : absl::StrSplit(path, '/')) {
    if (segment.empty() || segment == ".") continue;
    if (segment == "..") {
      if (!kept.empty() && kept.back() != "..") {
        kept.pop_back();
      } else if (!absolute) {
        kept.push_back(segment);
      }
      continue;
    }
    kept.push_back(segment);
  }
  std::string out = absl::StrCat(absolute ? "/" : "", absl::StrJoin(kept, "/"));
  if (out.empty()) out.push_back('.');
  if (trailing && out.back() != '/') out.push_back('/');
  return out;
}

std::string ComputeForwardPath(absl::string_view raw_rest) {
  if (raw_rest.size() > kMaxForwardPathInput) raw_rest = raw_rest.substr(0, kMaxForwardPathInput);
  std::string once;
  if (!DecodeUriComponent(raw_rest, once)) once = std::string(raw_rest);
  std::string prefixed(1, '/');
  prefixed.append(once);
  std::string twice;
  if (!DecodeUriComponent(prefixed, twice)) twice = prefixed;
  std::string normal = PosixNormalize(twice);
  if (!normal.empty() && normal.front() == '/') return normal;
  std::string rooted(1, '/');
  rooted.append(normal);
  return rooted;
}

std::string UpstreamTarget(absl::string_view base_path, absl::string_view forward_path,
                           absl::string_view client_query) {
  std::string out(base_path);
  size_t q = forward_path.find('?');
  AppendEncoded(forward_path.substr(0, q), Part::kPath, out);
  bool has_query = false;
  if (q != absl::string_view::npos) {
    out.push_back('?');
    AppendEncoded(forward_path.substr(q + 1), Part::kQuery, out);
    has_query = true;
  }
  if (!client_query.empty()) {
    out.push_back(has_query ? '&' : '?');
    AppendEncoded(client_query, Part::kClientQuery, out);
  }
  return out;
}

}  // namespace byok::relay
