// fake-provider: serves the fake AI provider on a port, answering as every provider, for the README
// demo and the benchmarks. Never for production use.
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "common/shutdown.h"
#include "tests/testing/fake_provider/fake_provider.h"
#include "tests/testing/fake_provider/test_certificates.h"

namespace {

constexpr const char* kUsage =
    "Usage: fake-provider [--port N] [--address A] [--tls] [--ca-out FILE] [--keys k1,k2]\n"
    "\n"
    "Serves a fake AI provider that answers as every provider byok-relay knows (OpenAI, Anthropic,\n"
    "Gemini, ElevenLabs, Deepgram, ...) in their real wire formats. For tests, demos and benchmarks.\n"
    "\n"
    "  --port N       port to listen on (default 0: any free port, printed on start)\n"
    "  --address A    address to listen on (default 127.0.0.1)\n"
    "  --tls          serve https with a certificate from a CA made at start-up\n"
    "  --ca-out FILE  with --tls: write the CA certificate there (for BYOK_UPSTREAM_CA_FILE)\n"
    "  --keys LIST    comma-separated keys to accept (default: any non-empty key)\n"
    "\n"
    "Models named fake-429, fake-break, fake-stall-headers, fake-stall-body, fake-hold, fake-burst\n"
    "(the whole body and its end in one write) and fake-slow-N-MS select test scenarios. Stops on SIGINT or SIGTERM.\n";

int Fail(const std::string& message) {
  std::fprintf(stderr, "fake-provider: %s\n", message.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  byok::BlockShutdownSignals();
  byok::testing::FakeProviderOptions options;
  bool tls = false;
  std::string ca_out;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (arg == "--version") {
      std::puts("fake-provider (byok-relay test support)");
      return 0;
    } else if (arg == "--tls") {
      tls = true;
    } else if (arg == "--port") {
      const char* v = value();
      uint32_t port = 0;
      if (v == nullptr || !absl::SimpleAtoi(v, &port) || port > 65535) {
        return Fail("--port needs a number from 0 to 65535");
      }
      options.port = static_cast<uint16_t>(port);
    } else if (arg == "--address") {
      const char* v = value();
      if (v == nullptr) return Fail("--address needs a value");
      options.address = v;
    } else if (arg == "--ca-out") {
      const char* v = value();
      if (v == nullptr) return Fail("--ca-out needs a file name");
      ca_out = v;
    } else if (arg == "--keys") {
      const char* v = value();
      if (v == nullptr) return Fail("--keys needs a list");
      options.accepted_keys = absl::StrSplit(v, ',', absl::SkipEmpty());
    } else {
      return Fail("unknown argument " + arg + " (see --help)");
    }
  }
  if (tls) {
    auto certs = byok::testing::MakeTestCertificates();
    if (!certs.ok()) return Fail(std::string(certs.status().message()));
    options.tls_cert_pem = certs->cert_pem;
    options.tls_key_pem = certs->key_pem;
    if (!ca_out.empty()) {
      std::ofstream out(ca_out, std::ios::trunc);
      out << certs->ca_pem;
      if (!out) return Fail("cannot write " + ca_out);
    }
  }
  auto fake = byok::testing::FakeProvider::Start(options);
  if (!fake.ok()) return Fail(std::string(fake.status().message()));
  std::printf("fake-provider listening on %s\n", (*fake)->base_url().c_str());
  std::fflush(stdout);
  byok::WaitForShutdownSignal();
  return 0;
}
