// A small synchronous HTTP/1.1 client for tests, on Beast: loopback only, every step bounded by a
// timeout. Reads whole responses, or a streamed body piece by piece; can also write raw bytes.
#ifndef BYOK_TESTS_GATEWAY_HTTP_TEST_CLIENT_H_
#define BYOK_TESTS_GATEWAY_HTTP_TEST_CLIENT_H_

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace byok::testing {

// A response as the test sees it; header names lower-cased (repeated headers joined with ", ").
struct TestResponse {
  int status = 0;
  std::map<std::string, std::string> headers;
  std::string body;

  // Returns the header's value, or "" when absent.
  std::string Header(const std::string& lower_name) const;
  // Returns true when the header is present.
  bool Has(const std::string& lower_name) const { return headers.count(lower_name) > 0; }
};

// A request: method, target, headers, body (Content-Length is set when a body is given).
struct TestRequest {
  std::string method = "GET";
  std::string target = "/";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // When false, no Content-Length is added (for raw tests).
  bool set_content_length = true;
};

// One connection to 127.0.0.1:port. Not thread-safe.
class TestHttpClient {
 public:
  static absl::StatusOr<std::unique_ptr<TestHttpClient>> Connect(
      int port, absl::Duration timeout = absl::Seconds(5));
  ~TestHttpClient();

  // Writes the request.
  absl::Status Send(const TestRequest& request, absl::Duration timeout = absl::Seconds(5));
  // Writes raw bytes.
  absl::Status WriteRaw(const std::string& bytes, absl::Duration timeout = absl::Seconds(5));
  // Reads a whole response (chunked bodies are joined).
  absl::StatusOr<TestResponse> ReadResponse(absl::Duration timeout = absl::Seconds(10));
  // Reads only the response head (status and headers); then ReadBodyPiece gives the body as it comes.
  absl::StatusOr<TestResponse> ReadHead(absl::Duration timeout = absl::Seconds(10));
  // Returns the next piece of body that arrived (non-empty), or "" once the body is complete.
  absl::StatusOr<std::string> ReadBodyPiece(absl::Duration timeout = absl::Seconds(10));
  // Returns true when the server closed the connection within `timeout` (reads and drops any bytes).
  bool WaitForClose(absl::Duration timeout);
  // Closes the connection at once.
  void Close();

 private:
  struct Impl;
  explicit TestHttpClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Sends one request on a fresh connection and reads the whole response.
absl::StatusOr<TestResponse> Fetch(int port, const TestRequest& request,
                                   absl::Duration timeout = absl::Seconds(10));

// Shorthand for Fetch with method, target, headers and body; a body without a Content-Type header is
// sent as application/json.
absl::StatusOr<TestResponse> Fetch(int port, const std::string& method, const std::string& target,
                                   std::vector<std::pair<std::string, std::string>> headers = {},
                                   std::string body = "");

}  // namespace byok::testing

#endif  // BYOK_TESTS_GATEWAY_HTTP_TEST_CLIENT_H_
