#include "bench/loadgen/options.h"

#include <cstdlib>

namespace byok::bench {

const char* LoadUsage() {
  return "usage: byok-bench-loadgen MODE --port P [options]\n"
         "  MODE run:    --connections C --duration S --warmup S [--stream --events N --interval-ms I]\n"
         "  MODE hold:   --connections N --events N --interval-ms I [--connect-concurrency K]\n"
         "               [--rss name=pid]... [--timeout S]\n"
         "  MODE cancel: --count N --after-events K --events N --interval-ms I --control-port P\n"
         "  common:      --host H --path /v1/chat/completions --header 'name: value'...\n"
         "Prints one line of key=value pairs.\n";
}

std::string ParseLoadOptions(int argc, char** argv, LoadOptions& o) {
  if (argc < 2) return "missing MODE";
  o.mode = argv[1];
  if (o.mode != "run" && o.mode != "hold" && o.mode != "cancel") return "unknown MODE " + o.mode;
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    bool has_value = i + 1 < argc;
    auto value = [&]() -> std::string { return has_value ? argv[++i] : std::string(); };
    auto number = [&]() { return std::atof(value().c_str()); };
    if (arg == "--stream") { o.stream = true; continue; }
    if (!has_value) return "missing value for " + arg;
    if (arg == "--host") o.host = value();
    else if (arg == "--port") o.port = static_cast<unsigned short>(number());
    else if (arg == "--path") o.path = value();
    else if (arg == "--header") o.headers.push_back(value());
    else if (arg == "--connections") o.connections = static_cast<int>(number());
    else if (arg == "--duration") o.duration_s = number();
    else if (arg == "--warmup") o.warmup_s = number();
    else if (arg == "--events") o.events = static_cast<int>(number());
    else if (arg == "--interval-ms") o.interval_ms = static_cast<int>(number());
    else if (arg == "--connect-concurrency") o.connect_concurrency = static_cast<int>(number());
    else if (arg == "--count") o.count = static_cast<int>(number());
    else if (arg == "--after-events") o.after_events = static_cast<int>(number());
    else if (arg == "--control-port") o.control_port = static_cast<unsigned short>(number());
    else if (arg == "--timeout") o.timeout_s = number();
    else if (arg == "--rss") {
      std::string spec = value();
      auto eq = spec.find('=');
      if (eq == std::string::npos) return "--rss wants name=pid";
      o.rss_pids.emplace_back(spec.substr(0, eq), std::atoi(spec.c_str() + eq + 1));
    } else {
      return "unknown option " + arg;
    }
  }
  if (o.port == 0) return "--port is required";
  if (o.connections < 1 || o.count < 1 || o.connect_concurrency < 1) return "counts must be positive";
  return "";
}

std::string BenchModel(int events, int interval_ms, const std::string& id) {
  std::string model = "bench-e" + std::to_string(events) + "-i" + std::to_string(interval_ms);
  if (!id.empty()) model += "-id" + id;
  return model;
}

std::string BuildChatRequest(const LoadOptions& o, const std::string& model, bool stream) {
  std::string body = "{\"model\":\"" + model + "\",";
  if (stream) body += "\"stream\":true,";
  body += "\"messages\":[{\"role\":\"user\",\"content\":\"Say hello.\"}]}";
  std::string req = "POST " + o.path + " HTTP/1.1\r\nHost: " + o.host + ":" + std::to_string(o.port) +
                    "\r\nContent-Type: application/json\r\nContent-Length: " +
                    std::to_string(body.size()) + "\r\n";
  if (stream) req += "Accept: text/event-stream\r\n";
  for (const std::string& h : o.headers) req += h + "\r\n";
  req += "\r\n" + body;
  return req;
}

}  // namespace byok::bench
