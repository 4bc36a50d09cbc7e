// Test support for the upstream client's tests: a collector of one call's response, requests as the
// relay prepares them, clients and fake providers (plain or TLS) on loopback.
#ifndef BYOK_TESTS_RELAY_UPSTREAM_RIG_H_
#define BYOK_TESTS_RELAY_UPSTREAM_RIG_H_

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "services/relay/upstream/upstream_client.h"
#include "tests/testing/fake_provider/fake_provider.h"
#include "tests/testing/fake_provider/test_certificates.h"

namespace byok::relay::upstream_testing {

using ::byok::testing::FakeProvider;
using ::byok::testing::FakeProviderOptions;

inline constexpr absl::Duration kWait = absl::Seconds(10);

// Collects one call's response; passes each piece on at once (auto_next) or when the test says so.
class Collector : public UpstreamHandler {
 public:
  explicit Collector(bool auto_next = true) : auto_next_(auto_next) {}

  void SetCall(std::shared_ptr<UpstreamCall> call) {
    absl::MutexLock lock(&mu_);
    call_ = std::move(call);
    if (next_owed_ && auto_next_) {
      next_owed_ = false;
      call_->Next();
    }
  }
  void OnUpstreamHead(UpstreamHead head) override {
    absl::MutexLock lock(&mu_);
    head_ = std::move(head);
    has_head_ = true;
    Continue();
  }
  void OnUpstreamBody(std::string piece, bool last) override {
    absl::MutexLock lock(&mu_);
    pieces_.push_back(std::move(piece));
    if (last) last_seen_ = true;
    if (!last) Continue();
  }
  void OnUpstreamDone(absl::Status status) override {
    absl::MutexLock lock(&mu_);
    status_ = std::move(status);
    done_ = true;
  }

  // Asks for the next piece (when auto_next is off).
  void Next() {
    absl::MutexLock lock(&mu_);
    call_->Next();
  }
  void Cancel() {
    absl::MutexLock lock(&mu_);
    call_->Cancel();
  }
  bool WaitForPieces(size_t n, absl::Duration timeout = kWait) {
    absl::MutexLock lock(&mu_);
    auto enough = [this, n]() { return pieces_.size() >= n || done_; };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout) && pieces_.size() >= n;
  }
  bool WaitForHead() {
    absl::MutexLock lock(&mu_);
    auto arrived = [this]() { return has_head_ || done_; };
    return mu_.AwaitWithTimeout(absl::Condition(&arrived), kWait) && has_head_;
  }
  absl::Status WaitForDone() {
    absl::MutexLock lock(&mu_);
    if (!mu_.AwaitWithTimeout(absl::Condition(&done_), kWait)) {
      return absl::DeadlineExceededError("test: call did not end");
    }
    return status_;
  }
  UpstreamHead head() {
    absl::MutexLock lock(&mu_);
    return head_;
  }
  std::string Body() {
    absl::MutexLock lock(&mu_);
    return absl::StrJoin(pieces_, "");
  }
  size_t piece_count() {
    absl::MutexLock lock(&mu_);
    return pieces_.size();
  }
  // Returns the number of pieces whose allocation is more than twice their bytes (and over a
  // small-string buffer): memory a waiting stream would hold for nothing.
  size_t OversizedPieces() {
    absl::MutexLock lock(&mu_);
    size_t n = 0;
    for (const std::string& p : pieces_) n += p.capacity() > std::max<size_t>(2 * p.size(), 15);
    return n;
  }
  bool last_seen() {
    absl::MutexLock lock(&mu_);
    return last_seen_;
  }

 private:
  void Continue() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!auto_next_) return;
    if (call_) {
      call_->Next();
    } else {
      next_owed_ = true;
    }
  }

  const bool auto_next_;
  absl::Mutex mu_;
  std::shared_ptr<UpstreamCall> call_ ABSL_GUARDED_BY(mu_);
  bool next_owed_ ABSL_GUARDED_BY(mu_) = false;
  UpstreamHead head_ ABSL_GUARDED_BY(mu_);
  bool has_head_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::string> pieces_ ABSL_GUARDED_BY(mu_);
  absl::Status status_ ABSL_GUARDED_BY(mu_);
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  bool last_seen_ ABSL_GUARDED_BY(mu_) = false;
};

inline UpstreamRequest Post(uint16_t port, std::string target, std::string body, bool tls = false,
                     std::string host = "127.0.0.1") {
  UpstreamRequest r;
  r.tls = tls;
  r.host = std::move(host);
  r.port = port;
  r.method = "POST";
  r.target = std::move(target);
  r.headers = {{"content-type", "application/json"}, {"authorization", "Bearer sk-test"}};
  r.body = std::move(body);
  return r;
}

inline std::string Chat(absl::string_view model, bool stream) {
  return absl::StrCat(R"({"model":")", model, R"(","stream":)", stream ? "true" : "false",
                      R"(,"messages":[{"role":"user","content":"hi"}]})");
}

inline std::unique_ptr<UpstreamClient> MakeClient(UpstreamOptions options = {}) {
  auto client = UpstreamClient::Create(std::move(options));
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? *std::move(client) : nullptr;
}

inline std::unique_ptr<FakeProvider> StartFake(FakeProviderOptions options = {}) {
  auto fake = FakeProvider::Start(std::move(options));
  EXPECT_TRUE(fake.ok()) << fake.status();
  return fake.ok() ? *std::move(fake) : nullptr;
}

// Returns default options with one field changed.
template <typename T>
UpstreamOptions With(T UpstreamOptions::*field, T value) {
  UpstreamOptions o;
  o.*field = std::move(value);
  return o;
}

// Returns options that trust `ca_file` (and the system store only when asked).
inline UpstreamOptions TrustOnly(const std::string& ca_file, bool system_roots = false) {
  UpstreamOptions o;
  o.ca_file = ca_file;
  o.use_system_roots = system_roots;
  return o;
}

inline FakeProviderOptions TlsFake(const byok::testing::TestCertificates& certs) {
  FakeProviderOptions o;
  o.tls_cert_pem = certs.cert_pem;
  o.tls_key_pem = certs.key_pem;
  return o;
}

// Runs one call to the end and returns its status.
inline absl::Status RunCall(UpstreamClient& client, UpstreamRequest request, Collector& collector) {
  collector.SetCall(client.Start(std::move(request), &collector));
  return collector.WaitForDone();
}

inline std::string HeaderOf(const UpstreamHead& head, absl::string_view name) {
  for (const auto& [n, v] : head.headers) {
    if (n == name) return v;
  }
  return "";
}

// A file holding `text`, removed when the test ends.
class TempFile {
 public:
  explicit TempFile(const std::string& text) {
    char name[] = "/tmp/byok-upstream-test-XXXXXX";
    int fd = mkstemp(name);
    path_ = name;
    if (fd >= 0) {
      EXPECT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
      close(fd);
    }
  }
  ~TempFile() { unlink(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A TLS fake provider with fresh certificates, and a client that trusts only their CA.
struct TlsRig {
  std::unique_ptr<FakeProvider> fake;
  std::unique_ptr<TempFile> ca;
  std::unique_ptr<UpstreamClient> client;
};

// Starts a TlsRig; nullopt (with a test failure) when the certificates cannot be made.
// The client has `options` besides trusting the fake's CA alone.
inline std::optional<TlsRig> StartTlsRig(UpstreamOptions options = {}) {
  auto certs = byok::testing::MakeTestCertificates();
  EXPECT_TRUE(certs.ok()) << certs.status();
  if (!certs.ok()) return std::nullopt;
  TlsRig rig;
  rig.fake = StartFake(TlsFake(*certs));
  rig.ca = std::make_unique<TempFile>(certs->ca_pem);
  options.ca_file = rig.ca->path();
  options.use_system_roots = false;
  rig.client = MakeClient(std::move(options));
  if (rig.fake == nullptr || rig.client == nullptr) return std::nullopt;
  return rig;
}

// The fake provider's speech: 64 KiB where byte i is i * 7 % 256, whole and in order.
inline void ExpectTheFakeAudio(Collector& collector) {
  EXPECT_EQ(HeaderOf(collector.head(), "content-type"), "audio/mpeg");
  const std::string body = collector.Body();
  ASSERT_EQ(body.size(), 4u * 16 * 1024);
  for (size_t i = 0; i < body.size(); ++i) {
    ASSERT_EQ(static_cast<unsigned char>(body[i]), i * 7 % 256) << "byte " << i;
  }
}

// Starts a fake-burst stream (every event and the body's end in one write, all of it here before the
// first Next()) and expects every event in one piece, not one per chunk: one hand-off to the consumer
// and one message to the caller. The body's end is read on the next Next(), as before.
inline void ExpectTheBurstInOnePiece(FakeProvider& fake, UpstreamClient& client, UpstreamRequest request) {
  Collector collector(/*auto_next=*/false);
  collector.SetCall(client.Start(std::move(request), &collector));
  ASSERT_TRUE(collector.WaitForHead());
  ASSERT_TRUE(fake.WaitForStreamsStarted(1, kWait));
  collector.Next();
  ASSERT_TRUE(collector.WaitForPieces(1));
  const std::string body = collector.Body();
  EXPECT_GT(std::count(body.begin(), body.end(), '\n'), 4) << body;
  EXPECT_TRUE(absl::EndsWith(body, "data: [DONE]\n\n")) << body;
  EXPECT_EQ(collector.piece_count(), 1u);
  collector.Next();
  ASSERT_TRUE(collector.WaitForDone().ok());
  EXPECT_EQ(collector.piece_count(), 1u);
  EXPECT_EQ(collector.Body(), body);
}

}  // namespace byok::relay::upstream_testing

#endif  // BYOK_TESTS_RELAY_UPSTREAM_RIG_H_
