#include "services/vault/pg_change_relay.h"

#include <fcntl.h>
#include <libpq-fe.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/crypto/hex.h"
#include "common/crypto/random.h"
#include "common/logging.h"
#include "common/thread_name.h"

namespace byok::vault {
namespace {

using Change = v1::WatchKeyChangesResponse;

constexpr char kLog[] = "vault";
constexpr char kPayloadVersion[] = "v1";
constexpr size_t kMaxPayload = 1024;
constexpr absl::Duration kFirstRetry = absl::Milliseconds(100);
constexpr absl::Duration kLastRetry = absl::Seconds(2);

std::string NewOrigin() {
  absl::StatusOr<std::string> bytes = crypto::RandomBytes(8);
  return bytes.ok() ? crypto::HexEncode(*bytes) : absl::StrCat(getpid());
}

// The LISTEN connection. Its keepalives notice a database that vanished without closing the
// connection within about 10 s; a closed one is noticed at once.
struct ListenConn {
  explicit ListenConn(const std::string& url) {
    const char* keywords[] = {"connect_timeout", "keepalives", "keepalives_idle",
                              "keepalives_interval", "keepalives_count", "tcp_user_timeout",
                              "application_name", "dbname", nullptr};
    const char* values[] = {"5", "1", "4", "2", "3", "10000", "byok-vaultd-changes", url.c_str(),
                            nullptr};
    conn = PQconnectdbParams(keywords, values, /*expand_dbname=*/1);
    if (conn != nullptr) PQsetNoticeProcessor(conn, [](void*, const char*) {}, nullptr);
  }
  ~ListenConn() {
    if (conn != nullptr) PQfinish(conn);
  }
  ListenConn(const ListenConn&) = delete;
  ListenConn& operator=(const ListenConn&) = delete;

  bool Ok() const { return conn != nullptr && PQstatus(conn) == CONNECTION_OK; }

  pg_conn* conn = nullptr;
};

}  // namespace

std::string ChangePayload(absl::string_view origin, const Change& change) {
  return absl::StrCat(kPayloadVersion, "|", origin, "|", static_cast<int>(change.kind()), "|",
                      change.user_id(), "|", change.provider());
}

std::optional<ParsedChange> ParseChangePayload(absl::string_view payload) {
  if (payload.size() > kMaxPayload) return std::nullopt;
  std::vector<absl::string_view> parts = absl::StrSplit(payload, absl::MaxSplits('|', 4));
  int kind = 0;
  if (parts.size() != 5 || parts[0] != kPayloadVersion || !absl::SimpleAtoi(parts[2], &kind)) {
    return std::nullopt;
  }
  ParsedChange parsed;
  parsed.origin = std::string(parts[1]);
  switch (kind) {
    case Change::KIND_KEY_CHANGED:
      if (parts[3].empty()) return std::nullopt;
      parsed.change.set_provider(std::string(parts[4]));
      [[fallthrough]];
    case Change::KIND_USER_CHANGED:
      if (parts[3].empty()) return std::nullopt;
      parsed.change.set_user_id(std::string(parts[3]));
      [[fallthrough]];
    case Change::KIND_RESET:
      parsed.change.set_kind(static_cast<Change::Kind>(kind));
      return parsed;
    default:
      return std::nullopt;
  }
}

PgChangeRelay::PgChangeRelay(std::string url, ChangeFeed& feed)
    : url_(std::move(url)), origin_(NewOrigin()), feed_(feed) {
  if (pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) wake_[0] = wake_[1] = -1;
  thread_ = StartNamedThread("pg-listen", [this] { Listen(); });
}

PgChangeRelay::~PgChangeRelay() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (wake_[1] >= 0) {
    const char byte = 1;
    [[maybe_unused]] ssize_t n = write(wake_[1], &byte, 1);
  }
  thread_.join();
  for (int fd : wake_) {
    if (fd >= 0) close(fd);
  }
}

bool PgChangeRelay::WaitUnlessStopping(absl::Duration d) {
  absl::MutexLock lock(&mu_);
  auto stopping = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stopping_; };
  mu_.AwaitWithTimeout(absl::Condition(&stopping), d);
  return !stopping_;
}

void PgChangeRelay::Listen() {
  absl::Duration retry = kFirstRetry;
  bool was_live = false;
  while (WaitUnlessStopping(absl::ZeroDuration())) {
    ListenConn listen(url_);
    bool listening = false;
    if (listen.Ok()) {
      PGresult* r = PQexec(listen.conn, absl::StrCat("LISTEN ", kChangeChannel).c_str());
      listening = r != nullptr && PQresultStatus(r) == PGRES_COMMAND_OK;
      PQclear(r);
    }
    if (!listening) {
      if (!WaitUnlessStopping(retry)) break;
      retry = std::min(retry * 2, kLastRetry);
      continue;
    }
    // From here every change through another replica reaches the feed: subscriptions may open.
    retry = kFirstRetry;
    feed_.SetLive(true);
    if (was_live) log::Info(kLog, "change feed: listening to the other replicas again");
    was_live = true;
    const int socket = PQsocket(listen.conn);
    bool lost = false;
    while (!lost && WaitUnlessStopping(absl::ZeroDuration())) {
      pollfd fds[2] = {{socket, POLLIN, 0}, {wake_[0], POLLIN, 0}};
      const int ready = poll(fds, wake_[0] >= 0 ? 2 : 1, 1000);
      if (ready < 0) continue;  // EINTR
      if (ready == 0) continue;
      if ((fds[0].revents & (POLLIN | POLLERR | POLLHUP)) == 0) continue;
      if (PQconsumeInput(listen.conn) == 0 || PQstatus(listen.conn) != CONNECTION_OK) {
        lost = true;
        break;
      }
      while (PGnotify* n = PQnotifies(listen.conn)) {
        std::optional<ParsedChange> parsed = ParseChangePayload(n->extra);
        PQfreemem(n);
        if (!parsed.has_value()) {
          // Something on our channel we cannot read: assume the worst.
          Change reset;
          reset.set_kind(Change::KIND_RESET);
          feed_.Publish(reset);
          continue;
        }
        if (parsed->origin == origin_) continue;  // ours: the feed had it first-hand
        feed_.Publish(parsed->change);
      }
    }
    // Changes through other replicas may be missed from here: subscribers drop everything and
    // resubscribe once this connection is back.
    feed_.SetLive(false);
    if (lost) log::Warn(kLog, "change feed: lost the database's LISTEN connection; reconnecting");
  }
  feed_.SetLive(false);
}

void PgChangeRelay::OnKeyEvent(const KeyEvent& event) {
  std::optional<Change> change = ChangeFor(event);
  if (!change.has_value()) return;
  const std::string payload = ChangePayload(origin_, *change);
  absl::MutexLock lock(&publish_mu_);
  absl::Status published = Publish(payload);
  if (!published.ok()) published = Publish(payload);  // once more, on a new connection
  if (!published.ok()) {
    // The other replicas' subscribers miss this change until their caches' TTL or a reset.
    log::Error(kLog, "change feed: could not publish a change to the other replicas: %s",
               published.message());
  }
}

absl::Status PgChangeRelay::Publish(const std::string& payload) {
  if (publisher_ == nullptr) {
    PgTimeouts timeouts;
    timeouts.connect = absl::Seconds(2);
    timeouts.statement = absl::Seconds(2);
    absl::StatusOr<std::unique_ptr<PgConnection>> conn = PgConnection::Connect(url_, timeouts);
    if (!conn.ok()) return conn.status();
    publisher_ = *std::move(conn);
  }
  absl::StatusOr<PgResult> sent =
      publisher_->Exec("SELECT pg_notify($1, $2)", PgParams().Text(kChangeChannel).Text(payload));
  if (!sent.ok()) publisher_.reset();
  return sent.status();
}

}  // namespace byok::vault
