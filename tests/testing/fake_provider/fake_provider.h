// A fake AI provider for tests and benchmarks: an HTTP/1.1 server (plain or TLS) that answers as every
// provider the relay knows, in their real wire formats, and records what it received.
//
// It answers by path:
//   POST …/chat/completions            OpenAI-style JSON, or SSE (`data: {…}` … `data: [DONE]`) when the
//                                      body asks for "stream": true (openai, groq, mistral, openrouter,
//                                      huggingface, openai-compatible)
//   POST /v1/messages                  Anthropic JSON, or SSE with `event:` lines when streaming
//   POST /v1beta/models/M:generateContent, :streamGenerateContent (?alt=sse)   Gemini JSON / SSE
//   POST /v1/audio/speech, /v1/text-to-speech/…   binary audio (audio/mpeg)
//   POST /v1/listen                    Deepgram JSON
//   GET  …/models, /v1/user            a key check: 200 with a small JSON list
// A request without an accepted key gets 401 with a JSON error. The key is read from wherever the
// provider puts it (Authorization Bearer/Token, x-api-key, x-goog-api-key, xi-api-key).
//
// The model name (from the JSON body, or Gemini's path) picks a test scenario:
//   fake-429            429 with `retry-after: 7` and a JSON error
//   fake-break          SSE: two events, then the connection is cut without ending the body
//   fake-stall-headers  the request is read but no response is ever sent
//   fake-stall-body     SSE: the head and one event, then silence
//   fake-hold           SSE: the head and one event, then waits for Release() (or the client leaving),
//                       then the rest
//   fake-slow-N-MS      SSE: N events, MS milliseconds apart (for example fake-slow-20-50)
// Streams that wait (hold, stall, slow) watch the connection: when the client closes it, the time is
// recorded (WaitForClientClosed) and the stream stops.
#ifndef BYOK_TESTS_TESTING_FAKE_PROVIDER_FAKE_PROVIDER_H_
#define BYOK_TESTS_TESTING_FAKE_PROVIDER_FAKE_PROVIDER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace byok::testing {

// One HTTP request as the fake provider received it.
struct RecordedRequest {
  std::string method;
  // The request target: path and query, exactly as sent.
  std::string target;
  // Header names in lower case, values as sent, in order.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // Returns the first value of header `name` (case-insensitive), or nullopt.
  std::optional<std::string> Header(absl::string_view name) const;
  // Returns how many times header `name` (case-insensitive) was sent.
  int HeaderCount(absl::string_view name) const;
};

// How a FakeProvider is started.
struct FakeProviderOptions {
  // Address and port to listen on; port 0 picks a free port.
  std::string address = "127.0.0.1";
  uint16_t port = 0;
  // TLS: when both are set the fake speaks https with this certificate chain and key (PEM).
  std::string tls_cert_pem;
  std::string tls_key_pem;
  // Keys the fake accepts. Empty: any non-empty key is accepted.
  std::vector<std::string> accepted_keys;
};

// The fake provider. Runs its own I/O thread; every method is thread-safe.
class FakeProvider {
 public:
  // Starts listening. Returns an error when the address cannot be bound or the TLS material is bad.
  static absl::StatusOr<std::unique_ptr<FakeProvider>> Start(FakeProviderOptions options);

  // Stops listening, closes every connection and joins the I/O thread.
  ~FakeProvider();

  FakeProvider(const FakeProvider&) = delete;
  FakeProvider& operator=(const FakeProvider&) = delete;

  // Returns the bound port.
  uint16_t port() const;
  // Returns "http://127.0.0.1:<port>" or "https://…" (with the listening address).
  std::string base_url() const;

  // Replaces the accepted keys (empty: accept any non-empty key), e.g. to test key rotation.
  void SetAcceptedKeys(std::vector<std::string> keys);

  // Waits for the next request not yet returned by this method and returns it, or nullopt on timeout.
  std::optional<RecordedRequest> WaitForRequest(absl::Duration timeout);
  // Returns every request received so far.
  std::vector<RecordedRequest> Requests() const;

  // Waits until a watched stream (hold, stall, slow) sees its client close the connection, and returns
  // when that happened; nullopt on timeout. Each close is returned once.
  std::optional<absl::Time> WaitForClientClosed(absl::Duration timeout);
  // Waits until `n` streams have started sending their body (head and first event written).
  bool WaitForStreamsStarted(int n, absl::Duration timeout);

  // Lets every stream held by `fake-hold` (now and later) send the rest of its events.
  void Release();

  // Returns how many TCP connections were accepted (to observe connection reuse).
  int connections_accepted() const;

 private:
  class Impl;
  explicit FakeProvider(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace byok::testing

#endif  // BYOK_TESTS_TESTING_FAKE_PROVIDER_FAKE_PROVIDER_H_
