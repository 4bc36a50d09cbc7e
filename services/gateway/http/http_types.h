// The gateway's view of an HTTP exchange, free of Beast: a parsed request, a whole response, and the
// interface handlers use to answer (whole or streamed). Keeps handlers testable and their translation
// units light.
#ifndef BYOK_SERVICES_GATEWAY_HTTP_HTTP_TYPES_H_
#define BYOK_SERVICES_GATEWAY_HTTP_HTTP_TYPES_H_

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

#include "services/gateway/api/cors.h"

namespace byok::gateway {

// A request as read from the browser.
struct HttpRequest {
  std::string method;
  // The target as sent: path and query string.
  std::string target;
  // The path part of target (before '?'), and the query string (after it, without '?').
  std::string path;
  std::string query;
  // Header names lower-cased, in the order received.
  HeaderList headers;
  std::string body;
  // The client address (after TRUST_PROXY).
  std::string client_address;

  // Returns the first header called `name` (lower case), or "" when absent.
  absl::string_view Header(absl::string_view name) const;
  // Returns the query parameter `name` (first occurrence, not decoded), or "" when absent.
  std::string QueryParam(absl::string_view name) const;
};

// A whole response.
struct HttpResponse {
  int status = 200;
  HeaderList headers;
  std::string body;
};

// Returns a response with a JSON body {"error": message} (and "code", a stable machine-readable name,
// when given) and `status`.
HttpResponse JsonError(int status, absl::string_view message, absl::string_view code = {});

// Returns a 200 (or `status`) response with `json` (already serialised) as body.
HttpResponse JsonResponse(std::string json, int status = 200);

// Answers one request. Every method may be called from any thread (gRPC callbacks); the implementation
// moves the work onto the connection's strand. Exactly one of Send or StartStream is called per request.
class ResponseWriter {
 public:
  virtual ~ResponseWriter() = default;

  // Adds headers to whichever response is sent for this request (CORS grants, rate-limit counts),
  // replacing earlier added ones of the same name. Call before Send or StartStream, on the thread that
  // received the request.
  virtual void AddHeaders(HeaderList headers) = 0;

  // Sends a whole response.
  virtual void Send(HttpResponse response) = 0;

  // Starts a chunked response with `status`, `headers` and, when not empty, its first chunk (written
  // together); `done(ok)` runs (on the strand) once the writer takes the next piece, with ok false when
  // the client is gone.
  virtual void StartStream(int status, HeaderList headers, std::string first_chunk,
                           std::function<void(bool ok)> done) = 0;

  // Writes one chunk, or joins it to the pieces waiting for the write in flight; `done(ok)` runs once
  // the writer takes the next piece (at once while little is waiting; after a write otherwise). The
  // caller sends more only then, so a slow client slows the producer.
  virtual void WriteChunk(std::string data, std::function<void(bool ok)> done) = 0;

  // Ends a stream normally (the last chunk), writing `tail` first when not empty.
  virtual void FinishStream(std::string tail) = 0;

  // Ends a stream abnormally: the connection is closed without the last chunk, so the client sees a
  // truncated body instead of a complete one.
  virtual void AbortStream() = 0;

  // Registers `cancel`, run at most once (on the strand) when the client disconnects before the response
  // finished. Replaces an earlier one.
  virtual void OnClientGone(std::function<void()> cancel) = 0;
};

}  // namespace byok::gateway

#endif  // BYOK_SERVICES_GATEWAY_HTTP_HTTP_TYPES_H_
