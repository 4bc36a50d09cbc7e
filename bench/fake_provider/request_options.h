// What a benchmark request asks the fake provider for, read from an OpenAI-style chat body.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace byok::bench {

// How the fake provider answers one chat request. The options travel in the `model` field
// ("bench-e50-i20-idABC": 50 events, 20 ms apart, stream id ABC) because every relay passes the model
// through unchanged, whereas unknown body fields or headers may be dropped on the way.
struct RequestOptions {
  bool stream = false;           // "stream": true in the body
  int events = 50;               // SSE data events before [DONE]
  int interval_ms = 0;           // pause between events; 0 writes them back to back
  std::string id;                // stream id for the cancellation records; empty when not tracked
};

// Reads the options from a JSON body with a plain scan (no JSON parser: this runs on every request
// and must stay cheap). Unknown or malformed parts fall back to the defaults.
RequestOptions ParseRequestOptions(std::string_view body);

}  // namespace byok::bench
