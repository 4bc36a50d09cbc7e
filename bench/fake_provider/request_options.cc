#include "bench/fake_provider/request_options.h"

#include <algorithm>
#include <charconv>

namespace byok::bench {
namespace {

constexpr int kMaxEvents = 100000;
constexpr int kMaxIntervalMs = 60000;
constexpr std::size_t kMaxIdLength = 64;

// Returns the position just after `"key"` and any `:` and spaces, or npos.
std::size_t ValueStart(std::string_view body, std::string_view quoted_key) {
  std::size_t pos = body.find(quoted_key);
  if (pos == std::string_view::npos) return pos;
  pos += quoted_key.size();
  while (pos < body.size() && (body[pos] == ' ' || body[pos] == ':' || body[pos] == '\t')) ++pos;
  return pos;
}

int ParseBounded(std::string_view digits, int fallback, int max) {
  int value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || end != digits.data() + digits.size() || value < 0) return fallback;
  return std::min(value, max);
}

}  // namespace

RequestOptions ParseRequestOptions(std::string_view body) {
  RequestOptions options;
  std::size_t stream_pos = ValueStart(body, "\"stream\"");
  options.stream = stream_pos != std::string_view::npos && body.substr(stream_pos, 4) == "true";

  std::size_t model_pos = ValueStart(body, "\"model\"");
  if (model_pos == std::string_view::npos || model_pos >= body.size() || body[model_pos] != '"') {
    return options;
  }
  std::size_t model_end = body.find('"', model_pos + 1);
  if (model_end == std::string_view::npos) return options;
  std::string_view model = body.substr(model_pos + 1, model_end - model_pos - 1);

  // Tokens after the first '-': e<N>, i<N>, id<X>.
  std::size_t pos = model.find('-');
  while (pos != std::string_view::npos) {
    std::size_t next = model.find('-', pos + 1);
    std::string_view token = model.substr(pos + 1, next == std::string_view::npos ? next : next - pos - 1);
    if (token.size() > 2 && token.substr(0, 2) == "id") {
      std::string_view id = token.substr(2);
      bool safe = id.size() <= kMaxIdLength &&
                  std::all_of(id.begin(), id.end(), [](char c) {
                    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
                  });
      if (safe) options.id = std::string(id);
    } else if (token.size() > 1 && token[0] == 'e') {
      options.events = ParseBounded(token.substr(1), options.events, kMaxEvents);
    } else if (token.size() > 1 && token[0] == 'i') {
      options.interval_ms = ParseBounded(token.substr(1), options.interval_ms, kMaxIntervalMs);
    }
    pos = next;
  }
  return options;
}

}  // namespace byok::bench
