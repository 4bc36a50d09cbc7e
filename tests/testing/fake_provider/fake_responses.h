// What the fake AI provider answers: pure functions from a request to a planned response, in each
// provider's real wire format. Kept apart from the server so the formats read in one place.
#ifndef BYOK_TESTS_TESTING_FAKE_PROVIDER_FAKE_RESPONSES_H_
#define BYOK_TESTS_TESTING_FAKE_PROVIDER_FAKE_RESPONSES_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace byok::testing::fake {

// What the model name asks the fake to do (see fake_provider.h).
struct Scenario {
  enum class Kind { kNormal, kRateLimited, kBreak, kStallHeaders, kStallBody, kHold, kSlow, kBurst };
  Kind kind = Kind::kNormal;
  // kSlow: how many events, and the gap between them.
  int events = 0;
  int interval_ms = 0;
};

// A planned response. Streaming responses are written with chunked encoding, one chunk per piece.
struct ResponsePlan {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  // True: `pieces` are written one by one; false: `body` is written with a Content-Length.
  bool streaming = false;
  std::string body;
  std::vector<std::string> pieces;
  Scenario scenario;
};

// Returns the key the request carries, wherever its provider puts it; empty when there is none.
// `header` looks a header up by lower-case name and returns "" when absent.
template <typename HeaderFn>
std::string ExtractKey(HeaderFn header);

// Returns the model named by the request: Gemini's path segment, or the JSON body's "model".
std::string ModelOf(absl::string_view target, absl::string_view body);

// Parses a scenario from a model name.
Scenario ScenarioFor(absl::string_view model);

// Plans the answer to an authenticated request.
ResponsePlan PlanResponse(absl::string_view method, absl::string_view target,
                          absl::string_view body);

// Plans the 401 answer to a request without an accepted key.
ResponsePlan PlanUnauthorized();

// Removes the "Bearer " / "Token " scheme from an Authorization value.
std::string StripAuthScheme(absl::string_view value);

template <typename HeaderFn>
std::string ExtractKey(HeaderFn header) {
  for (const char* name : {"x-api-key", "x-goog-api-key", "xi-api-key"}) {
    std::string v = header(name);
    if (!v.empty()) return v;
  }
  return StripAuthScheme(header("authorization"));
}

}  // namespace byok::testing::fake

#endif  // BYOK_TESTS_TESTING_FAKE_PROVIDER_FAKE_RESPONSES_H_
