#include "services/gateway/limits/redis_pool.h"

#include <hiredis/hiredis.h>
#include <openssl/sha.h>
#include <sys/time.h>

#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"

namespace byok::gateway {
namespace {

constexpr char kComponent[] = "gateway.redis";
// Largest error text kept from Redis or hiredis (it goes into logs).
constexpr size_t kMaxErrorText = 200;

struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyFree>;

// Sends one command. A null reply means the connection is broken (hiredis set c->err).
Reply Command(redisContext* c, const std::vector<std::string>& argv) {
  std::vector<const char*> parts;
  std::vector<size_t> lengths;
  parts.reserve(argv.size());
  lengths.reserve(argv.size());
  for (const std::string& a : argv) {
    parts.push_back(a.data());
    lengths.push_back(a.size());
  }
  return Reply(static_cast<redisReply*>(
      redisCommandArgv(c, static_cast<int>(parts.size()), parts.data(), lengths.data())));
}

absl::Status ConnectionError(const redisContext* c, absl::string_view doing) {
  std::string why = c == nullptr ? "out of memory" : std::string(c->errstr);
  if (why.size() > kMaxErrorText) why.resize(kMaxErrorText);
  return absl::UnavailableError(absl::StrCat("Redis ", doing, ": ", why));
}

absl::Status ReplyError(const redisReply& r, absl::string_view doing) {
  std::string why(r.str == nullptr ? "" : r.str, r.str == nullptr ? 0 : r.len);
  if (why.size() > kMaxErrorText) why.resize(kMaxErrorText);
  return absl::UnavailableError(absl::StrCat("Redis ", doing, ": ", why));
}

const char* PolicyWord(RedisFailurePolicy policy) {
  return policy == RedisFailurePolicy::kOpen ? "open (requests pass uncounted)"
                                             : "closed (requests get 503)";
}

}  // namespace

RedisScript::RedisScript(std::string text) : text_(std::move(text)) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(text_.data()), text_.size(), digest);
  sha1_ = absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

void RedisPool::ContextFree::operator()(redisContext* c) const { redisFree(c); }

RedisPool::RedisPool(RedisSettings settings, size_t max_connections)
    : settings_(std::move(settings)), max_connections_(std::max<size_t>(max_connections, 1)) {}

RedisPool::~RedisPool() = default;

absl::StatusOr<RedisPool::Connection> RedisPool::Connect() const {
  const RedisEndpoint& e = settings_.endpoint;
  Connection c(redisConnectWithTimeout(e.host.c_str(), e.port, absl::ToTimeval(settings_.timeout)));
  if (c == nullptr || c->err != 0) return ConnectionError(c.get(), "connect");
  if (redisSetTimeout(c.get(), absl::ToTimeval(settings_.timeout)) != REDIS_OK) {
    return ConnectionError(c.get(), "set timeout");
  }
  std::vector<std::vector<std::string>> setup;
  if (!e.password.empty()) {
    if (e.username.empty()) {
      setup.push_back({"AUTH", e.password});
    } else {
      setup.push_back({"AUTH", e.username, e.password});
    }
  }
  if (e.db != 0) setup.push_back({"SELECT", std::to_string(e.db)});
  for (const auto& argv : setup) {
    Reply r = Command(c.get(), argv);
    if (r == nullptr) return ConnectionError(c.get(), argv[0] == "AUTH" ? "AUTH" : "SELECT");
    // Never quote AUTH's arguments; Redis's own error text names none of them.
    if (r->type == REDIS_REPLY_ERROR) return ReplyError(*r, argv[0] == "AUTH" ? "AUTH" : "SELECT");
  }
  return c;
}

absl::StatusOr<RedisPool::Connection> RedisPool::Checkout() {
  {
    absl::MutexLock lock(&mu_);
    if (state_ == State::kDown) {
      absl::Time now = absl::Now();
      if (now < retry_at_) {
        ++failed_fast_;
        return absl::UnavailableError("Redis is counted down until the next probe");
      }
      retry_at_ = now + kRetryInterval;  // this call is the probe; the others keep failing fast
    }
    auto can_take = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !idle_.empty() || open_ < max_connections_;
    };
    if (!mu_.AwaitWithTimeout(absl::Condition(&can_take), settings_.timeout)) {
      return absl::UnavailableError("no free Redis connection within the timeout");
    }
    if (!idle_.empty()) {
      Connection c = std::move(idle_.back());
      idle_.pop_back();
      return c;
    }
    ++open_;
  }
  absl::StatusOr<Connection> c = Connect();
  if (!c.ok()) {
    absl::MutexLock lock(&mu_);
    --open_;
    MarkDownLocked(c.status());
  }
  return c;
}

void RedisPool::Release(Connection connection, const absl::Status& failure) {
  absl::MutexLock lock(&mu_);
  if (failure.ok()) {
    if (state_ == State::kDown) {
      state_ = State::kUp;
      log::Info(kComponent, "Redis at %s answers again; shared rate limits are back (%d requests were "
                "decided without it)", settings_.endpoint.Describe(), failed_fast_);
      failed_fast_ = 0;
    }
    idle_.push_back(std::move(connection));
    return;
  }
  connection.reset();
  --open_;
  MarkDownLocked(failure);
}

void RedisPool::MarkDownLocked(const absl::Status& why) {
  // Idle connections to a Redis that failed are most likely dead too (a restart closes them all).
  open_ -= idle_.size();
  idle_.clear();
  retry_at_ = absl::Now() + kRetryInterval;
  if (state_ == State::kDown) return;
  state_ = State::kDown;
  failed_fast_ = 0;
  log::Warn(kComponent, "Redis at %s is unreachable (%s); rate limits fail %s until it answers again",
            settings_.endpoint.Describe(), why.message(), PolicyWord(settings_.on_failure));
}

absl::StatusOr<std::vector<int64_t>> RedisPool::EvalIntegers(const RedisScript& script,
                                                             const std::string& key,
                                                             const std::vector<std::string>& args) {
  absl::StatusOr<Connection> c = Checkout();
  if (!c.ok()) return c.status();
  std::vector<std::string> argv = {"EVALSHA", script.sha1(), "1", key};
  argv.insert(argv.end(), args.begin(), args.end());
  Reply r = Command(c->get(), argv);
  if (r != nullptr && r->type == REDIS_REPLY_ERROR &&
      absl::StartsWith(absl::string_view(r->str, r->len), "NOSCRIPT")) {
    // A fresh (or restarted) Redis: EVAL runs the script and caches it for the next EVALSHA.
    argv[0] = "EVAL";
    argv[1] = script.text();
    r = Command(c->get(), argv);
  }
  if (r == nullptr) {
    absl::Status failure = ConnectionError(c->get(), "command");
    Release(nullptr, failure);
    return failure;
  }
  absl::Status bad_reply;
  std::vector<int64_t> values;
  if (r->type == REDIS_REPLY_ERROR) {
    bad_reply = ReplyError(*r, "script");
  } else if (r->type != REDIS_REPLY_ARRAY) {
    bad_reply = absl::UnavailableError("Redis script: the reply is not an array");
  } else {
    for (size_t i = 0; i < r->elements; ++i) {
      if (r->element[i]->type != REDIS_REPLY_INTEGER) {
        bad_reply = absl::UnavailableError("Redis script: a reply element is not an integer");
        break;
      }
      values.push_back(r->element[i]->integer);
    }
  }
  // An error reply leaves the connection usable, but Redis is not doing what the gateway needs (a
  // read-only replica, out of memory): counted down like an unreachable one.
  if (!bad_reply.ok()) {
    Release(nullptr, bad_reply);
    return bad_reply;
  }
  Release(*std::move(c), absl::OkStatus());
  return values;
}

}  // namespace byok::gateway
