#include "services/gateway/http/http_head.h"

#include <vector>

#include <boost/beast/http/field.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace byok::gateway {

namespace http = boost::beast::http;

namespace {

HeadScan Refused(int status, std::string_view message) {
  HeadScan scan;
  scan.state = HeadScan::State::kRefused;
  scan.refusal = {status, message};
  return scan;
}

absl::string_view View(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// A Host value is an authority (host[:port]) or empty: nothing that could change where a path or a
// log line ends.
bool ValidHost(std::string_view host) {
  for (char c : host) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7F || c == '/' || c == '\\' || c == '?' || c == '#' || c == '@') {
      return false;
    }
  }
  return true;
}

}  // namespace

HeadScan RequestHeadScanner::Scan(std::string_view buffered) {
  const std::size_t size = buffered.size();
  while (pos_ < size) {
    if (!in_head_) {
      // Empty lines before the request line are dropped, within the limit.
      if (buffered[pos_] == '\r') {
        if (pos_ + 1 >= size) return HeadScan{};
        if (buffered[pos_ + 1] != '\n') return Refused(400, "malformed HTTP request");
        pos_ += 2;
        if (pos_ > limit_) return Refused(431, "request header too large");
        continue;
      }
      in_head_ = true;
      head_start_ = line_start_ = pos_;
    }
    if (pos_ - head_start_ >= limit_) return Refused(431, "request header too large");
    const char c = buffered[pos_];
    if (c == '\r') {
      if (pos_ + 1 >= size) return HeadScan{};
      if (buffered[pos_ + 1] != '\n') return Refused(400, "malformed HTTP request: bare CR");
      if (pos_ == line_start_) {
        // The empty line: the head is complete.
        HeadScan scan;
        scan.state = HeadScan::State::kComplete;
        scan.skip = head_start_;
        scan.head_size = pos_ + 2 - head_start_;
        if (scan.head_size > limit_) return Refused(431, "request header too large");
        return scan;
      }
      pos_ += 2;
      line_start_ = pos_;
      continue;
    }
    if (c == '\n') return Refused(400, "malformed HTTP request: bare LF");
    if (c == '\0') return Refused(400, "malformed HTTP request: NUL");
    if (pos_ == line_start_ && (c == ' ' || c == '\t')) {
      // RFC 9112 §5.2: obs-fold in a request is rejected (a folded x-relay-token would otherwise be
      // joined into one value by the parser).
      return Refused(400, "malformed HTTP request: folded or indented header line");
    }
    ++pos_;
  }
  if (in_head_ && pos_ - head_start_ >= limit_) return Refused(431, "request header too large");
  return HeadScan{};
}

std::optional<HeadRefusal> CheckRequestFraming(const http::request_header<>& head) {
  // Beast's parser takes HTTP/1.0 and HTTP/1.1 only; the rules below rely on it.
  if (head.version() != 10 && head.version() != 11) {
    return HeadRefusal{505, "HTTP version not supported"};
  }
  const bool http11 = head.version() == 11;

  // RFC 9112 §3.2: exactly one Host in HTTP/1.1, at most one in HTTP/1.0, with a valid value.
  int hosts = 0;
  for (auto range = head.equal_range(http::field::host); range.first != range.second; ++range.first) {
    ++hosts;
    if (!ValidHost(range.first->value())) return HeadRefusal{400, "invalid Host header"};
  }
  if (hosts > 1) return HeadRefusal{400, "more than one Host header"};
  if (hosts == 0 && http11) return HeadRefusal{400, "missing Host header"};

  // RFC 9112 §6: Transfer-Encoding, possibly over several field lines.
  bool has_transfer_encoding = false;
  std::vector<absl::string_view> codings;
  for (auto range = head.equal_range(http::field::transfer_encoding); range.first != range.second;
       ++range.first) {
    has_transfer_encoding = true;
    for (absl::string_view coding : absl::StrSplit(View(range.first->value()), ',')) {
      coding = absl::StripAsciiWhitespace(coding);
      if (!coding.empty()) codings.push_back(coding);  // empty list elements do not count (§5.6.1)
    }
  }
  if (!has_transfer_encoding) return std::nullopt;
  if (!http11) {
    // §6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing.
    return HeadRefusal{400, "Transfer-Encoding in an HTTP/1.0 request"};
  }
  if (head.count(http::field::content_length) > 0) {
    // §6.3: both together is how requests are smuggled; the connection closes either way.
    return HeadRefusal{400, "both Transfer-Encoding and Content-Length"};
  }
  if (codings.empty() || !absl::EqualsIgnoreCase(codings.back(), "chunked")) {
    // §6.3: the body's length cannot be known; 400 and close.
    return HeadRefusal{400, "Transfer-Encoding must end with chunked"};
  }
  if (codings.size() > 1) {
    // §6.1: a coding this server does not apply (gzip, identity, a second chunked).
    return HeadRefusal{501, "unsupported transfer coding"};
  }
  return std::nullopt;
}

}  // namespace byok::gateway
