#include "services/vault/client/key_change_watch.h"

#include <grpcpp/client_context.h>
#include <grpcpp/support/client_callback.h>

#include <algorithm>
#include <memory>
#include <utility>

#include "common/logging.h"
#include "common/thread_name.h"

namespace byok::vault {

using Change = v1::WatchKeyChangesResponse;

// One subscription: reads until the stream ends. Shared by Run, which waits for OnDone, and by
// itself until OnDone has returned (so Run never frees it under a running reaction).
class KeyChangeWatch::Reader final : public grpc::ClientReadReactor<Change> {
 public:
  explicit Reader(KeyChangeListener& listener) : listener_(listener) {}

  void Start(std::shared_ptr<Reader> self, v1::Vault::Stub& stub) {
    self_ = std::move(self);
    stub.async()->WatchKeyChanges(&context_, &request_, this);
    StartRead(&message_);
    StartCall();
  }

  void Cancel() { context_.TryCancel(); }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // OnDone follows
    if (message_.kind() == Change::KIND_SUBSCRIBED) {
      subscribed_ = true;
      listener_.OnSubscribed();
    } else if (subscribed_) {
      listener_.OnChange(message_);
    }
    StartRead(&message_);
  }

  void OnDone(const grpc::Status& status) override {
    std::shared_ptr<Reader> keep = std::move(self_);  // released last, after the lock
    absl::MutexLock lock(&mu_);
    status_ = status;
    done_ = true;
  }

  // Waits for OnDone; returns the stream's end and whether it was ever live.
  grpc::Status Await(bool* was_subscribed) {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(&done_));
    *was_subscribed = subscribed_;
    return status_;
  }

 private:
  KeyChangeListener& listener_;
  std::shared_ptr<Reader> self_;  // set from Start until OnDone
  grpc::ClientContext context_;
  v1::WatchKeyChangesRequest request_;
  Change message_;
  bool subscribed_ = false;  // reactions only, then read after done_
  absl::Mutex mu_;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status status_ ABSL_GUARDED_BY(mu_);
};

KeyChangeWatch::KeyChangeWatch(std::shared_ptr<grpc::Channel> channel, KeyChangeListener& listener,
                               KeyChangeWatchOptions options)
    : stub_(v1::Vault::NewStub(std::move(channel))),
      listener_(listener),
      options_(std::move(options)),
      thread_(StartNamedThread("key-watch", [this] { Run(); })) {}

KeyChangeWatch::~KeyChangeWatch() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    if (reader_ != nullptr) reader_->Cancel();
  }
  thread_.join();
}

int KeyChangeWatch::subscriptions() {
  absl::MutexLock lock(&mu_);
  return subscriptions_;
}

bool KeyChangeWatch::WaitUnlessStopping(absl::Duration d) {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&stopping_), d);
  return !stopping_;
}

void KeyChangeWatch::Run() {
  absl::Duration retry = options_.first_retry;
  bool refusal_logged = false;
  while (WaitUnlessStopping(absl::ZeroDuration())) {
    auto reader = std::make_shared<Reader>(listener_);
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) break;
      reader_ = reader.get();
    }
    reader->Start(reader, *stub_);
    bool was_subscribed = false;
    const grpc::Status end = reader->Await(&was_subscribed);
    {
      absl::MutexLock lock(&mu_);
      reader_ = nullptr;
      if (was_subscribed) ++subscriptions_;
    }
    listener_.OnUnsubscribed();
    if (was_subscribed) retry = options_.first_retry;
    const grpc::StatusCode code = end.error_code();
    if (code == grpc::StatusCode::PERMISSION_DENIED || code == grpc::StatusCode::UNAUTHENTICATED ||
        code == grpc::StatusCode::UNIMPLEMENTED) {
      if (!refusal_logged) {
        log::Warn(options_.who,
                  "the vault refused this %s's change subscription (%s); it runs without its cache "
                  "of vault answers",
                  options_.who, end.error_message());
        refusal_logged = true;
      }
      retry = options_.last_retry;
    }
    if (!WaitUnlessStopping(retry)) break;
    retry = std::min(retry * 2, options_.last_retry);
  }
}

}  // namespace byok::vault
