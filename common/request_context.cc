#include "common/request_context.h"

#include <cstdint>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace byok::trace {
namespace {

thread_local const RequestContext* g_current = nullptr;

bool IsLowerHex(absl::string_view text) {
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool AllZero(absl::string_view text) { return text.find_first_not_of('0') == absl::string_view::npos; }

}  // namespace

std::string RequestContext::Traceparent() const {
  return absl::StrCat("00-", trace_id, "-", span_id, "-", flags);
}

bool ValidRequestId(absl::string_view id) {
  if (id.empty() || id.size() > kMaxRequestIdBytes) return false;
  for (char c : id) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != ':' &&
        c != '-') {
      return false;
    }
  }
  return true;
}

bool ParseTraceparent(absl::string_view text, std::string* trace_id, std::string* parent_span_id,
                      std::string* flags) {
  // version "-" trace-id "-" parent-id "-" trace-flags: 2+1+32+1+16+1+2 = 55.
  constexpr size_t kLength = 55;
  if (text.size() < kLength) return false;
  absl::string_view version = text.substr(0, 2);
  if (!IsLowerHex(version) || version == "ff") return false;
  // Version 00 is exactly 55 long; a later version may append "-" and more.
  if (version == "00" ? text.size() != kLength : (text.size() > kLength && text[kLength] != '-')) {
    return false;
  }
  if (text[2] != '-' || text[35] != '-' || text[52] != '-') return false;
  absl::string_view trace = text.substr(3, 32);
  absl::string_view span = text.substr(36, 16);
  absl::string_view f = text.substr(53, 2);
  if (!IsLowerHex(trace) || !IsLowerHex(span) || !IsLowerHex(f) || AllZero(trace) || AllZero(span)) {
    return false;
  }
  *trace_id = std::string(trace);
  *parent_span_id = std::string(span);
  *flags = std::string(f);
  return true;
}

bool ValidTracestate(absl::string_view text) {
  if (text.empty() || text.size() > kMaxTracestateBytes) return false;
  for (char c : text) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  for (absl::string_view member : absl::StrSplit(text, ',')) {
    member = absl::StripAsciiWhitespace(member);
    if (member.empty()) continue;  // the spec allows empty list members
    size_t eq = member.find('=');
    if (eq == 0 || eq == absl::string_view::npos || eq + 1 == member.size()) return false;
  }
  return true;
}

RequestContext Continue(absl::string_view request_id, absl::string_view traceparent,
                        absl::string_view tracestate) {
  RequestContext out;
  out.request_id = ValidRequestId(request_id) ? std::string(request_id) : RandomHex(16);
  std::string parent;
  if (ParseTraceparent(traceparent, &out.trace_id, &parent, &out.flags)) {
    // tracestate means something only beside the traceparent it came with.
    if (ValidTracestate(tracestate)) out.tracestate = std::string(tracestate);
  } else {
    out.trace_id = RandomHex(16);
    out.flags = "00";
  }
  out.span_id = RandomHex(8);
  return out;
}

std::string RandomHex(size_t bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  thread_local absl::BitGen gen;
  std::string out;
  out.reserve(bytes * 2);
  while (out.size() < bytes * 2) {
    uint64_t word = absl::Uniform<uint64_t>(gen);
    for (int i = 0; i < 16 && out.size() < bytes * 2; ++i, word >>= 4) out.push_back(kHex[word & 0xF]);
  }
  // Never all zero (the spec's invalid value); one in 2^64 at worst.
  if (AllZero(out)) out.back() = '1';
  return out;
}

const RequestContext* Current() { return g_current; }

ScopedContext::ScopedContext(const RequestContext* context) : previous_(g_current) { g_current = context; }

ScopedContext::~ScopedContext() { g_current = previous_; }

}  // namespace byok::trace
