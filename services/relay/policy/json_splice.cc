#include "services/relay/policy/json_splice.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"

namespace byok::relay {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// The scanner: positions only, over text known to be valid JSON.
class Scanner {
 public:
  explicit Scanner(absl::string_view s) : s_(s) {}

  void SkipSpace() {
    while (pos_ < s_.size() && IsSpace(s_[pos_])) ++pos_;
  }
  bool Peek(char c) const { return pos_ < s_.size() && s_[pos_] == c; }
  bool Take(char c) {
    if (!Peek(c)) return false;
    ++pos_;
    return true;
  }
  size_t pos() const { return pos_; }

  // At a '"': moves past the closing quote.
  bool SkipString() {
    if (!Take('"')) return false;
    while (pos_ < s_.size()) {
      char c = s_[pos_++];
      if (c == '\\') {
        ++pos_;
      } else if (c == '"') {
        return true;
      }
    }
    return false;
  }

  // Moves past one value of any kind; nesting is counted, not recursed into.
  bool SkipValue() {
    if (Peek('"')) return SkipString();
    if (Peek('{') || Peek('[')) {
      int depth = 0;
      while (pos_ < s_.size()) {
        char c = s_[pos_];
        if (c == '"') {
          if (!SkipString()) return false;
          continue;
        }
        ++pos_;
        if (c == '{' || c == '[') ++depth;
        if (c == '}' || c == ']') {
          if (--depth == 0) return true;
        }
      }
      return false;
    }
    size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] != ',' && s_[pos_] != '}' && s_[pos_] != ']' && !IsSpace(s_[pos_])) {
      ++pos_;
    }
    return pos_ > start;
  }

 private:
  absl::string_view s_;
  size_t pos_ = 0;
};

}  // namespace

std::optional<std::string> ReplaceTopLevelValue(absl::string_view object_json, absl::string_view key,
                                                absl::string_view new_value) {
  Scanner scan(object_json);
  scan.SkipSpace();
  if (!scan.Take('{')) return std::nullopt;
  std::optional<std::pair<size_t, size_t>> found;
  scan.SkipSpace();
  if (scan.Take('}')) return std::nullopt;
  while (true) {
    scan.SkipSpace();
    size_t key_start = scan.pos();
    if (!scan.SkipString()) return std::nullopt;
    absl::string_view key_token = object_json.substr(key_start, scan.pos() - key_start);
    // Keys may be written with escapes ("mod\u0065l"): compare what they decode to.
    bool match = key_token == absl::StrCat("\"", key, "\"");
    if (!match && key_token.find('\\') != absl::string_view::npos) {
      nlohmann::json decoded = nlohmann::json::parse(key_token, nullptr, /*allow_exceptions=*/false);
      match = decoded.is_string() && decoded.get_ref<const std::string&>() == key;
    }
    scan.SkipSpace();
    if (!scan.Take(':')) return std::nullopt;
    scan.SkipSpace();
    size_t value_start = scan.pos();
    if (!scan.SkipValue()) return std::nullopt;
    if (match) found = std::make_pair(value_start, scan.pos());
    scan.SkipSpace();
    if (scan.Take(',')) continue;
    if (scan.Take('}')) break;
    return std::nullopt;
  }
  if (!found.has_value()) return std::nullopt;
  return absl::StrCat(object_json.substr(0, found->first), new_value, object_json.substr(found->second));
}

}  // namespace byok::relay
