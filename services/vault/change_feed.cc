#include "services/vault/change_feed.h"

#include <utility>
#include <vector>

namespace byok::vault {
namespace {

using Change = v1::WatchKeyChangesResponse;

Change OfKind(Change::Kind kind) {
  Change change;
  change.set_kind(kind);
  return change;
}

// Failures after which the store may still have applied the write.
bool MayHaveChanged(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kDataLoss:
      return true;
    default:
      return false;
  }
}

}  // namespace

std::optional<Change> ChangeFor(const KeyEvent& event) {
  if (!MayHaveChanged(event.outcome)) return std::nullopt;
  switch (event.action) {
    case v1::AuditEvent::ACTION_KEY_STORED:
    case v1::AuditEvent::ACTION_KEY_ROTATED:
    case v1::AuditEvent::ACTION_KEY_DELETED:
    case v1::AuditEvent::ACTION_KEY_REWRAPPED: {
      if (event.user_id.empty()) return std::nullopt;  // an unknown token: nothing changed
      Change change = OfKind(Change::KIND_KEY_CHANGED);
      change.set_user_id(event.user_id);
      change.set_provider(event.provider);
      return change;
    }
    case v1::AuditEvent::ACTION_TOKEN_REVOKED:
    case v1::AuditEvent::ACTION_USER_DELETED: {
      if (event.user_id.empty()) return std::nullopt;
      Change change = OfKind(Change::KIND_USER_CHANGED);
      change.set_user_id(event.user_id);
      return change;
    }
    case v1::AuditEvent::ACTION_USER_PURGED:
      return OfKind(Change::KIND_RESET);
    default:
      // Registrations and resolutions change nothing a cache holds; an action added later is
      // treated as unknown here until it is mapped.
      return std::nullopt;
  }
}

ChangeSubscription::ChangeSubscription(size_t limit, std::function<void()> wake)
    : limit_(limit < 2 ? 2 : limit), wake_(std::move(wake)) {
  absl::MutexLock lock(&mu_);
  queue_.push_back(OfKind(Change::KIND_SUBSCRIBED));
}

std::optional<Change> ChangeSubscription::Next() {
  absl::MutexLock lock(&mu_);
  if (queue_.empty()) return std::nullopt;
  Change next = std::move(queue_.front());
  queue_.pop_front();
  return next;
}

bool ChangeSubscription::Ended() {
  absl::MutexLock lock(&mu_);
  return closed_ && queue_.empty();
}

void ChangeSubscription::Detach() {
  std::lock_guard<std::recursive_mutex> lock(wake_mu_);
  wake_ = nullptr;
}

void ChangeSubscription::Push(const Change& change) {
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return;
    // A reset or a subscription still queued covers every change behind it: the subscriber drops
    // everything when it reads either, which is after these changes happened, and its answers
    // from the vault asked for before then are refused by its own race guard.
    if (!queue_.empty() && (queue_.back().kind() == Change::KIND_RESET ||
                            queue_.back().kind() == Change::KIND_SUBSCRIBED)) {
      return;
    }
    if (queue_.size() >= limit_) {
      queue_.clear();
      queue_.push_back(OfKind(Change::KIND_RESET));
    } else {
      queue_.push_back(change);
    }
  }
  Wake();
}

void ChangeSubscription::Close() {
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return;
    closed_ = true;
  }
  Wake();
}

void ChangeSubscription::Wake() {
  std::lock_guard<std::recursive_mutex> lock(wake_mu_);
  // A copy: a Detach inside the call (inline OnDone) must not destroy the function while it runs.
  std::function<void()> wake = wake_;
  if (wake) wake();
}

ChangeFeed::ChangeFeed(size_t queue_limit, bool live) : queue_limit_(queue_limit), live_(live) {}

std::shared_ptr<ChangeSubscription> ChangeFeed::Subscribe(std::function<void()> wake) {
  absl::MutexLock lock(&mu_);
  if (closed_ || !live_) return nullptr;
  auto subscription = std::make_shared<ChangeSubscription>(queue_limit_, std::move(wake));
  subscriptions_.insert(subscription);
  return subscription;
}

void ChangeFeed::Unsubscribe(const std::shared_ptr<ChangeSubscription>& subscription) {
  if (subscription == nullptr) return;
  {
    absl::MutexLock lock(&mu_);
    subscriptions_.erase(subscription);
  }
  subscription->Detach();
}

void ChangeFeed::OnKeyEvent(const KeyEvent& event) {
  if (std::optional<Change> change = ChangeFor(event)) Publish(*change);
}

void ChangeFeed::Publish(const Change& change) {
  std::vector<std::shared_ptr<ChangeSubscription>> targets;
  {
    absl::MutexLock lock(&mu_);
    targets.assign(subscriptions_.begin(), subscriptions_.end());
  }
  // Outside the feed's lock: a wake starts a write on the subscriber's stream.
  for (const auto& subscription : targets) subscription->Push(change);
}

void ChangeFeed::SetLive(bool live) {
  if (live) {
    absl::MutexLock lock(&mu_);
    live_ = true;
    return;
  }
  EndAll(/*for_good=*/false);
}

void ChangeFeed::Close() { EndAll(/*for_good=*/true); }

void ChangeFeed::EndAll(bool for_good) {
  std::vector<std::shared_ptr<ChangeSubscription>> ended;
  {
    absl::MutexLock lock(&mu_);
    if (for_good) closed_ = true;
    live_ = false;
    ended.assign(subscriptions_.begin(), subscriptions_.end());
  }
  for (const auto& subscription : ended) {
    subscription->Push(OfKind(Change::KIND_RESET));
    subscription->Close();
  }
}

size_t ChangeFeed::subscribers() {
  absl::MutexLock lock(&mu_);
  return subscriptions_.size();
}

}  // namespace byok::vault
