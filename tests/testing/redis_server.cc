#include "tests/testing/redis_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace byok::testing {
namespace {

constexpr char kRedisServer[] = "/usr/bin/redis-server";
constexpr absl::Duration kStartTimeout = absl::Seconds(10);
constexpr absl::Duration kIoTimeout = absl::Seconds(2);

// Sends `payload` to 127.0.0.1:port and returns everything the server wrote until it closed the
// connection (the payload ends with QUIT).
absl::StatusOr<std::string> RoundTrip(int port, const std::string& payload) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError("socket failed");
  timeval tv{};
  tv.tv_sec = absl::ToInt64Seconds(kIoTimeout);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string reply;
  bool closed = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::send(fd, payload.data(), payload.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(payload.size())) {
    char buf[4096];
    while (reply.size() < (1 << 20)) {
      ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
      if (n == 0) closed = true;
      if (n <= 0) break;
      reply.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  if (!closed) return absl::UnavailableError("no complete reply from redis-server");
  return reply;
}

}  // namespace

absl::StatusOr<std::unique_ptr<RedisServer>> RedisServer::Start(RedisServerOptions options) {
  std::unique_ptr<RedisServer> server(new RedisServer(std::move(options), PickUnusedPort()));
  if (absl::Status s = server->Launch(); !s.ok()) return s;
  return server;
}

std::string RedisServer::url() const {
  if (options_.password.empty()) return absl::StrCat("redis://127.0.0.1:", port_);
  return absl::StrCat("redis://:", options_.password, "@127.0.0.1:", port_);
}

absl::Status RedisServer::Launch() {
  std::vector<std::string> args = {"--port", std::to_string(port_), "--bind", "127.0.0.1",
                                   "--dir", dir_.path(), "--save", "", "--appendonly", "no",
                                   "--daemonize", "no", "--logfile", ""};
  if (!options_.password.empty()) {
    args.push_back("--requirepass");
    args.push_back(options_.password);
  }
  auto process = ChildProcess::Start(kRedisServer, args, {});
  if (!process.ok()) return process.status();
  if (absl::Status s = (*process)->WaitForPort(port_, kStartTimeout); !s.ok()) return s;
  process_ = *std::move(process);
  // Listening is not yet serving: wait for an answer to PING (NOAUTH also proves it serves).
  absl::Time deadline = absl::Now() + kStartTimeout;
  while (absl::Now() < deadline) {
    absl::StatusOr<std::string> pong = Command("PING");
    if (pong.ok() && (*pong == "+PONG" || absl::StartsWith(*pong, "-NOAUTH"))) {
      return absl::OkStatus();
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("redis-server did not answer PING: ", process_->Output()));
}

absl::Status RedisServer::Stop() {
  if (process_ == nullptr) return absl::OkStatus();
  absl::StatusOr<int> code = process_->Stop(absl::Seconds(10));
  process_.reset();
  return code.status();
}

absl::Status RedisServer::Restart() {
  if (absl::Status s = Stop(); !s.ok()) return s;
  return Launch();
}

absl::StatusOr<std::string> RedisServer::Command(const std::string& inline_command) const {
  std::string payload;
  if (!options_.password.empty()) absl::StrAppend(&payload, "AUTH ", options_.password, "\r\n");
  absl::StrAppend(&payload, inline_command, "\r\nQUIT\r\n");
  absl::StatusOr<std::string> reply = RoundTrip(port_, payload);
  if (!reply.ok()) return reply;
  std::string text = *std::move(reply);
  if (!options_.password.empty() && absl::StartsWith(text, "+OK\r\n")) text.erase(0, 5);
  if (absl::EndsWith(text, "+OK\r\n")) text.resize(text.size() - 5);  // QUIT's answer
  if (absl::EndsWith(text, "\r\n")) text.resize(text.size() - 2);
  return text;
}

}  // namespace byok::testing
