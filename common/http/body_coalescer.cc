#include "common/http/body_coalescer.h"

#include <utility>

#include "absl/status/status.h"

namespace byok::http {

absl::StatusOr<BodyCoalescer::Step> BodyCoalescer::Offer(std::string piece) {
  switch (state_) {
    case State::kClosed:
      return absl::FailedPreconditionError("body piece offered after the body was closed");
    case State::kIdle:
      state_ = State::kWriting;
      return Step{std::move(piece), true};
    case State::kWriting:
      break;
  }
  if (held_.empty()) {
    held_ = std::move(piece);  // no copy for the first piece held
  } else {
    held_.append(piece);
  }
  const bool more = held_.size() < limit_;
  producer_paused_ = !more;
  return Step{std::nullopt, more};
}

absl::StatusOr<BodyCoalescer::Step> BodyCoalescer::WriteDone() {
  if (state_ != State::kWriting) {
    return absl::FailedPreconditionError(state_ == State::kIdle ? "write completed while none was in flight"
                                                                : "write completed after the body was closed");
  }
  Step step;
  step.more = std::exchange(producer_paused_, false);
  if (held_.empty()) {
    state_ = State::kIdle;
    return step;
  }
  step.write = std::exchange(held_, std::string());
  return step;
}

std::string BodyCoalescer::Close() {
  state_ = State::kClosed;
  producer_paused_ = false;
  return std::exchange(held_, std::string());
}

}  // namespace byok::http
