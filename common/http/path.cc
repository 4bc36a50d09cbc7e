#include "common/http/path.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace byok::http {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsControl(unsigned char c) { return c < 0x20 || c == 0x7f; }

// Characters left literal in a path on the wire: RFC 3986 unreserved, sub-delims, ':' '@' and '/'.
bool IsWirePathChar(unsigned char c) {
  if (absl::ascii_isalnum(c)) return true;
  switch (c) {
    case '-': case '.': case '_': case '~': case '!': case '$': case '&': case '\'': case '(':
    case ')': case '*': case '+': case ',': case ';': case '=': case ':': case '@': case '/':
      return true;
    default:
      return false;
  }
}

absl::Status CheckQuery(absl::string_view query) {
  for (char ch : query) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (IsControl(c)) return absl::InvalidArgumentError("query string contains a control character");
    if (c == ' ') return absl::InvalidArgumentError("query string contains whitespace");
    if (c >= 0x80) return absl::InvalidArgumentError("query string contains a non-ASCII byte");
    if (c == '#') return absl::InvalidArgumentError("fragments are not allowed in a request path");
  }
  // Malformed escapes in the query would be read differently by different servers.
  for (size_t i = 0; i < query.size(); ++i) {
    if (query[i] != '%') continue;
    if (query.size() - i < 3) {
      return absl::InvalidArgumentError("query string contains a malformed %-escape");
    }
    if (HexValue(query[i + 1]) < 0 || HexValue(query[i + 2]) < 0) {
      return absl::InvalidArgumentError("query string contains a malformed %-escape");
    }
  }
  return absl::OkStatus();
}

// Decodes a query component: '+' is a space, %XX a byte.
absl::StatusOr<std::string> FormDecode(absl::string_view in) {
  std::string plus_as_space(in);
  for (char& c : plus_as_space) {
    if (c == '+') c = ' ';
  }
  return PercentDecode(plus_as_space);
}

}  // namespace

std::string NormalizedTarget::WireTarget() const {
  if (!has_query) return wire_path;
  return absl::StrCat(wire_path, "?", query);
}

absl::StatusOr<std::string> PercentDecode(absl::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    if (in.size() - i < 3) return absl::InvalidArgumentError("malformed %-escape");
    int hi = HexValue(in[i + 1]);
    int lo = HexValue(in[i + 2]);
    if (hi < 0 || lo < 0) return absl::InvalidArgumentError("malformed %-escape");
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

std::string EncodePathForWire(absl::string_view decoded_path) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(decoded_path.size());
  for (char ch : decoded_path) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (IsWirePathChar(c)) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

absl::StatusOr<NormalizedTarget> NormalizeTarget(absl::string_view path_and_query) {
  if (path_and_query.size() > kMaxTargetLength) {
    return absl::InvalidArgumentError("request path is too long");
  }
  NormalizedTarget result;
  absl::string_view raw_path = path_and_query;
  if (size_t q = path_and_query.find('?'); q != absl::string_view::npos) {
    raw_path = path_and_query.substr(0, q);
    result.query = std::string(path_and_query.substr(q + 1));
    result.has_query = true;
    if (absl::Status s = CheckQuery(result.query); !s.ok()) return s;
  }
  if (raw_path.empty() || (raw_path[0] != '/' && raw_path[0] != '\\')) {
    return absl::InvalidArgumentError("request path must start with '/'");
  }
  for (char ch : raw_path) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (IsControl(c)) return absl::InvalidArgumentError("request path contains a control character");
    if (c == ' ') return absl::InvalidArgumentError("request path contains whitespace");
    if (c >= 0x80) return absl::InvalidArgumentError("request path contains a non-ASCII byte");
    if (c == '#') return absl::InvalidArgumentError("fragments are not allowed in a request path");
  }
  absl::StatusOr<std::string> decoded = PercentDecode(raw_path);
  if (!decoded.ok()) return absl::InvalidArgumentError("request path contains a malformed %-escape");
  for (char& ch : *decoded) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (IsControl(c)) {
      return absl::InvalidArgumentError("request path contains an encoded control character");
    }
    if (c == '?' || c == '#') {
      return absl::InvalidArgumentError("request path contains an encoded '?' or '#'");
    }
    if (c == '%') return absl::InvalidArgumentError("request path is percent-encoded twice");
    if (c == '\\') ch = '/';
  }
  // remove_dot_segments over the decoded path; '\\' is already '/'.
  std::vector<absl::string_view> segments;
  std::vector<absl::string_view> parts = absl::StrSplit(*decoded, '/');
  bool trailing_slash = false;
  for (size_t i = 0; i < parts.size(); ++i) {
    absl::string_view seg = parts[i];
    bool last = i + 1 == parts.size();
    if (seg.empty() || seg == ".") {
      if (last && !segments.empty()) trailing_slash = true;
      continue;
    }
    if (seg == "..") {
      if (segments.empty()) {
        return absl::InvalidArgumentError("request path climbs above the root");
      }
      segments.pop_back();
      if (last && !segments.empty()) trailing_slash = true;
      continue;
    }
    trailing_slash = false;
    segments.push_back(seg);
  }
  result.path = absl::StrCat("/", absl::StrJoin(segments, "/"));
  if (trailing_slash) result.path.push_back('/');
  result.wire_path = EncodePathForWire(result.path);
  return result;
}

std::string RemoveQueryParam(absl::string_view query, absl::string_view name) {
  std::vector<absl::string_view> kept;
  for (absl::string_view param : absl::StrSplit(query, '&')) {
    absl::string_view key = param.substr(0, param.find('='));
    absl::StatusOr<std::string> decoded = FormDecode(key);
    // A name that cannot be decoded is compared raw; a server that cannot decode it either will not
    // read it as `name`.
    absl::string_view compare = decoded.ok() ? absl::string_view(*decoded) : key;
    if (absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(compare), name)) continue;
    kept.push_back(param);
  }
  return absl::StrJoin(kept, "&");
}

absl::StatusOr<std::vector<std::string>> QueryParamValues(absl::string_view query,
                                                          absl::string_view name) {
  std::vector<std::string> values;
  if (query.empty()) return values;
  for (absl::string_view param : absl::StrSplit(query, '&')) {
    size_t eq = param.find('=');
    absl::string_view key = param.substr(0, eq);
    absl::StatusOr<std::string> decoded_key = FormDecode(key);
    if (!decoded_key.ok()) return decoded_key.status();
    if (*decoded_key != name) continue;
    absl::string_view value = eq == absl::string_view::npos ? "" : param.substr(eq + 1);
    absl::StatusOr<std::string> decoded_value = FormDecode(value);
    if (!decoded_value.ok()) return decoded_value.status();
    values.push_back(*std::move(decoded_value));
  }
  return values;
}

}  // namespace byok::http
