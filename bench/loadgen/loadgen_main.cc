// byok-bench-loadgen: the benchmark's HTTP load generator (one thread, many connections, keep-alive).
// Prints one line of key=value pairs; see options.cc for the modes.
#include <cstdio>
#include <exception>
#include <string>

#include "bench/common/rlimit.h"
#include "bench/loadgen/modes.h"
#include "bench/loadgen/options.h"

int main(int argc, char** argv) {
  if (argc > 1 && (std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h")) {
    std::fputs(byok::bench::LoadUsage(), stdout);
    return 0;
  }
  byok::bench::LoadOptions options;
  std::string error = byok::bench::ParseLoadOptions(argc, argv, options);
  if (!error.empty()) {
    std::fprintf(stderr, "loadgen: %s\n%s", error.c_str(), byok::bench::LoadUsage());
    return 2;
  }
  byok::bench::RaiseOpenFileLimit();
  try {
    std::string line;
    if (options.mode == "run") line = byok::bench::RunClosedLoop(options);
    else if (options.mode == "hold") line = byok::bench::RunHoldStreams(options);
    else line = byok::bench::RunCancelStreams(options);
    std::printf("%s\n", line.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "loadgen: %s\n", e.what());
    return 1;
  }
  return 0;
}
