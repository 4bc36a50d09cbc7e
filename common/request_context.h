// Request ids and W3C trace context (traceparent/tracestate) for one request as it crosses the suite:
// taken from the browser when valid, made otherwise, continued hop by hop with a new span id each, and
// made current on a thread so that every log line written there carries them.
#ifndef BYOK_COMMON_REQUEST_CONTEXT_H_
#define BYOK_COMMON_REQUEST_CONTEXT_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"

namespace byok::trace {

// Header names, also the gRPC metadata keys between the services (plain keys: no proto involved).
inline constexpr char kRequestIdHeader[] = "x-request-id";
inline constexpr char kTraceparentHeader[] = "traceparent";
inline constexpr char kTracestateHeader[] = "tracestate";

// A request id from the network is kept only when it is 1..128 bytes of [A-Za-z0-9._:-].
inline constexpr size_t kMaxRequestIdBytes = 128;
// tracestate is kept only when it is at most this long, printable ASCII, and a comma list of key=value.
inline constexpr size_t kMaxTracestateBytes = 512;

// How long one request waited on the vault and the relay, summed over the calls made for it (the
// gateway's access line shows it). Shared by every copy of the request's context; thread-safe.
struct BackendWaits {
  std::atomic<int64_t> vault_us{0};
  std::atomic<int64_t> relay_us{0};
};

struct RequestContext {
  std::string request_id;
  std::string trace_id;   // 32 lower-case hex digits, not all zero
  std::string span_id;    // this hop's span: 16 lower-case hex digits, not all zero
  std::string flags = "00";  // trace-flags, 2 hex digits, passed on as received
  std::string tracestate;    // passed on unchanged when valid
  // Set where the waits are reported (the gateway's requests); null elsewhere.
  std::shared_ptr<BackendWaits> waits;

  // The traceparent this hop sends on (version 00, this hop's span as the parent).
  std::string Traceparent() const;
};

bool ValidRequestId(absl::string_view id);
// Parses a version-00 traceparent (or a later version's first 55 characters, as the spec says);
// returns false for anything malformed, all-zero ids or version ff.
bool ParseTraceparent(absl::string_view text, std::string* trace_id, std::string* parent_span_id,
                      std::string* flags);
bool ValidTracestate(absl::string_view text);

// The context of a new hop: the received ids where they are valid, new ones where they are absent or
// not; always a new span id. `request_id`, `traceparent` and `tracestate` are the received values
// ("" when absent).
RequestContext Continue(absl::string_view request_id, absl::string_view traceparent,
                        absl::string_view tracestate);

// Random lower-case hex of `bytes` random bytes (ids, not secrets).
std::string RandomHex(size_t bytes);

// The context current on this thread, or null.
const RequestContext* Current();

// Makes `context` current on this thread for its lifetime (null clears it); restores the previous one.
class ScopedContext {
 public:
  explicit ScopedContext(const RequestContext* context);
  ~ScopedContext();
  ScopedContext(const ScopedContext&) = delete;
  ScopedContext& operator=(const ScopedContext&) = delete;

 private:
  const RequestContext* previous_;
};

}  // namespace byok::trace

#endif  // BYOK_COMMON_REQUEST_CONTEXT_H_
