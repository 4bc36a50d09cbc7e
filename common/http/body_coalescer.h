// The pieces of one response body on their way to a writer that takes one write at a time (a gRPC
// stream, a socket). A piece that finds the writer idle leaves at once, so the first byte is never held
// back; pieces that come while a write is in flight are held and leave together, as one write, when it
// completes. What is held is bounded: past `limit` bytes the producer is told to pause, and told to
// resume once a write has taken the held bytes, so a slow reader slows the producer instead of growing
// a buffer.
//
// Not thread-safe: one owner (one executor, or one lock) makes every call.
#ifndef BYOK_COMMON_HTTP_BODY_COALESCER_H_
#define BYOK_COMMON_HTTP_BODY_COALESCER_H_

#include <cstddef>
#include <optional>
#include <string>

#include "absl/status/statusor.h"

namespace byok::http {

class BodyCoalescer {
 public:
  // kIdle: no write in flight. kWriting: one write in flight (pieces are held). kClosed: the reader is
  // gone or the body ended; nothing more is taken.
  enum class State { kIdle, kWriting, kClosed };

  // What the owner does next.
  struct Step {
    // Bytes to write now (the owner starts the write; the state is kWriting until WriteDone).
    std::optional<std::string> write;
    // Whether the producer may send the next piece now. When false, a later WriteDone says when.
    bool more = false;
  };

  explicit BodyCoalescer(size_t limit) : limit_(limit) {}

  // A piece arrives. Idle: it is to be written at once (even when empty: the owner may have a head to
  // send with it). Writing: it is held, joined to the pieces held before it. FailedPrecondition once
  // closed.
  absl::StatusOr<Step> Offer(std::string piece);

  // The write in flight completed. Returns what was held as one write (the state stays kWriting), or no
  // write (kIdle); `more` is true when a producer told to pause may now resume. FailedPrecondition when
  // no write was in flight.
  absl::StatusOr<Step> WriteDone();

  // Drops what is held and takes nothing more (the reader left, or the body ended). Returns what was
  // held, for an owner that still sends it with the end.
  std::string Close();

  State state() const { return state_; }
  size_t held_bytes() const { return held_.size(); }

 private:
  const size_t limit_;
  State state_ = State::kIdle;
  std::string held_;
  bool producer_paused_ = false;
};

}  // namespace byok::http

#endif  // BYOK_COMMON_HTTP_BODY_COALESCER_H_
