// Command-line options of byok-bench-loadgen.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace byok::bench {

// What to run and against what. Every run is bounded in time by these values.
struct LoadOptions {
  std::string mode;                 // "run" (closed loop), "hold" (many slow streams), "cancel"
  std::string host = "127.0.0.1";
  unsigned short port = 0;
  std::string path = "/v1/chat/completions";
  std::vector<std::string> headers;  // "name: value", sent with every request
  int connections = 1;              // run: concurrent keep-alive connections; hold: streams to open
  double duration_s = 5;            // run: measured time
  double warmup_s = 1;              // run: time before measuring
  bool stream = false;              // run: streaming requests
  int events = 50;                  // SSE events per stream
  int interval_ms = 0;              // gap between events, set by the fake provider
  int connect_concurrency = 256;    // hold: streams starting at once (not yet at their first byte)
  int count = 20;                   // cancel: how many streams to leave
  int after_events = 3;             // cancel: events read before leaving
  unsigned short control_port = 0;  // cancel: the fake provider's port, asked when the stream closed
  double timeout_s = 60;            // hold/cancel: hard limit for the whole run
  std::vector<std::pair<std::string, int>> rss_pids;  // hold: name=pid whose RSS is sampled
};

// Parses argv into `options`; returns an error message, empty on success.
std::string ParseLoadOptions(int argc, char** argv, LoadOptions& options);

// Returns the usage text.
const char* LoadUsage();

// Builds the raw HTTP/1.1 request for a chat completion with the given model name.
std::string BuildChatRequest(const LoadOptions& options, const std::string& model, bool stream);

// Returns the model name that asks the fake provider for `events` events `interval_ms` apart,
// tracked under `id` when not empty (see bench/fake_provider/request_options.h).
std::string BenchModel(int events, int interval_ms, const std::string& id);

}  // namespace byok::bench
