// The vault's caller model against a real byok-vaultd, method by method and caller by caller, in
// plaintext (service token, app secret) and under mutual TLS (certificate identities): allowed calls
// succeed, every other call is refused with UNAUTHENTICATED or PERMISSION_DENIED and its ErrorInfo
// reason (common/caller_policy.h).
#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/mtls_certificates.h"
#include "tests/testing/process.h"
#include "tests/testing/service_token.h"
#include "tests/testing/status_matchers.h"
#include "tests/vault/vault_daemon.h"

namespace byok::vault {
namespace {

using ::byok::testing::IsOk;
using ::byok::testing::kTestServiceToken;
using ::byok::testing::ReadFile;
using ::byok::testing::TempDir;
using ::byok::vault::testing::Call;
using ::byok::vault::testing::NewSecret;
using ::byok::vault::testing::VaultDaemon;
using Stub = v1::Vault::Stub;

constexpr char kAppSecret[] = "callers-test-app-secret";

// A fresh user with an openai key, made through the test's service stub.
struct User {
  std::string token;
  std::string user_id;
};

// How a caller presents itself: a certificate (mTLS mode), metadata, and whether the request
// carries the user's token.
struct Caller {
  std::string name;
  std::string certificate;  // identity of the client certificate (mTLS mode only)
  std::map<std::string, std::string> metadata;
  bool sends_user_token = true;
};

// The expected answer: OK, or a code with a reason.
struct Outcome {
  absl::StatusCode code = absl::StatusCode::kOk;
  std::string reason;
};
const Outcome kOk{};
Outcome Refused(absl::StatusCode code, const char* why) { return {code, why}; }
const Outcome kNeedsService =
    Refused(absl::StatusCode::kUnauthenticated, reason::kCallerUnauthenticated);
const Outcome kNotAllowed = Refused(absl::StatusCode::kPermissionDenied, reason::kCallerNotAllowed);
const Outcome kBadServiceToken =
    Refused(absl::StatusCode::kUnauthenticated, reason::kServiceTokenInvalid);
const Outcome kNoToken = Refused(absl::StatusCode::kUnauthenticated, reason::kTokenMissing);

// One RPC made as a caller: `token` is the user's token, or empty.
using Invoke = std::function<grpc::Status(Stub&, grpc::ClientContext*, const User&,
                                          const std::string& token)>;

struct Method {
  std::string name;
  Invoke invoke;
  // The kind of method (common/caller_policy.h).
  enum class Kind { kTokenHolder, kApp, kResolver, kAdmin } kind;
};

std::vector<Method> Methods() {
  using K = Method::Kind;
  return {
      {"CreateUser",
       [](Stub& s, grpc::ClientContext* c, const User&, const std::string&) {
         v1::CreateUserRequest q;
         q.set_app_id("callers");
         v1::CreateUserResponse r;
         return s.CreateUser(c, q, &r);
       },
       K::kApp},
      {"PutKey",
       [](Stub& s, grpc::ClientContext* c, const User&, const std::string& token) {
         v1::PutKeyRequest q;
         q.set_token(token);
         q.set_provider("anthropic");
         q.set_key("sk-ant-callers-0123456789");
         v1::PutKeyResponse r;
         return s.PutKey(c, q, &r);
       },
       K::kTokenHolder},
      {"ListKeys",
       [](Stub& s, grpc::ClientContext* c, const User&, const std::string& token) {
         v1::ListKeysRequest q;
         q.set_token(token);
         v1::ListKeysResponse r;
         return s.ListKeys(c, q, &r);
       },
       K::kTokenHolder},
      {"DeleteKey",
       [](Stub& s, grpc::ClientContext* c, const User&, const std::string& token) {
         v1::DeleteKeyRequest q;
         q.set_token(token);
         q.set_provider("openai");
         v1::DeleteKeyResponse r;
         return s.DeleteKey(c, q, &r);
       },
       K::kTokenHolder},
      {"RevokeToken",
       [](Stub& s, grpc::ClientContext* c, const User&, const std::string& token) {
         v1::RevokeTokenRequest q;
         q.set_token(token);
         v1::RevokeTokenResponse r;
         return s.RevokeToken(c, q, &r);
       },
       K::kTokenHolder},
      {"DeleteUser",
       [](Stub& s, grpc::ClientContext* c, const User&, const std::string& token) {
         v1::DeleteUserRequest q;
         q.set_token(token);
         v1::DeleteUserResponse r;
         return s.DeleteUser(c, q, &r);
       },
       K::kTokenHolder},
      {"Authenticate",
       [](Stub& s, grpc::ClientContext* c, const User&, const std::string& token) {
         v1::AuthenticateRequest q;
         q.set_token(token);
         v1::AuthenticateResponse r;
         return s.Authenticate(c, q, &r);
       },
       K::kTokenHolder},
      {"GetStats by token",
       [](Stub& s, grpc::ClientContext* c, const User&, const std::string& token) {
         v1::GetStatsRequest q;
         q.set_token(token);
         v1::GetStatsResponse r;
         return s.GetStats(c, q, &r);
       },
       K::kTokenHolder},
      {"GetStats by app_id",
       [](Stub& s, grpc::ClientContext* c, const User&, const std::string&) {
         v1::GetStatsRequest q;
         q.set_app_id("callers");
         v1::GetStatsResponse r;
         return s.GetStats(c, q, &r);
       },
       K::kApp},
      {"ResolveKey",
       [](Stub& s, grpc::ClientContext* c, const User&, const std::string& token) {
         v1::ResolveKeyRequest q;
         q.set_token(token);
         q.set_provider("openai");
         v1::ResolveKeyResponse r;
         return s.ResolveKey(c, q, &r);
       },
       K::kResolver},
      {"RecordUsage",
       [](Stub& s, grpc::ClientContext* c, const User& u, const std::string&) {
         v1::RecordUsageRequest q;
         q.set_user_id(u.user_id);
         q.set_provider("openai");
         q.set_status(200);
         v1::RecordUsageResponse r;
         return s.RecordUsage(c, q, &r);
       },
       K::kResolver},
      {"RecordUsageBatch",
       [](Stub& s, grpc::ClientContext* c, const User& u, const std::string&) {
         v1::RecordUsageBatchRequest q;
         v1::RecordUsageRequest* record = q.add_records();
         record->set_user_id(u.user_id);
         record->set_provider("openai");
         record->set_status(200);
         v1::RecordUsageBatchResponse r;
         return s.RecordUsageBatch(c, q, &r);
       },
       K::kResolver},
      {"StreamUsage",
       [](Stub& s, grpc::ClientContext* c, const User& u, const std::string&) {
         // One batch over the stream; a refused caller's stream ends with the refusal.
         auto stream = s.StreamUsage(c);
         v1::StreamUsageRequest q;
         q.set_sequence(1);
         v1::RecordUsageRequest* record = q.add_records();
         record->set_user_id(u.user_id);
         record->set_provider("openai");
         record->set_status(200);
         v1::StreamUsageResponse r;
         if (stream->Write(q) && stream->Read(&r) && r.error_code() != 0) {
           return grpc::Status(static_cast<grpc::StatusCode>(r.error_code()), r.error_message());
         }
         stream->WritesDone();
         return stream->Finish();
       },
       K::kResolver},
      {"Rewrap",
       [](Stub& s, grpc::ClientContext* c, const User&, const std::string&) {
         v1::RewrapRequest q;
         v1::RewrapResponse r;
         return s.Rewrap(c, q, &r);
       },
       K::kAdmin},
      {"ListAuditEvents",
       [](Stub& s, grpc::ClientContext* c, const User&, const std::string&) {
         v1::ListAuditEventsRequest q;
         v1::ListAuditEventsResponse r;
         return s.ListAuditEvents(c, q, &r);
       },
       K::kAdmin},
  };
}

// What the vault answers `caller` for a method of `kind`, given which kinds the caller passes as.
struct Passes {
  bool app = false;       // app credential or app certificate
  bool resolver = false;  // service token or relay certificate
  bool admin = false;     // service token or admin certificate
  Outcome otherwise;      // the refusal when it does not pass
};

Outcome Expected(const Method& method, const Caller& caller, const Passes& passes) {
  switch (method.kind) {
    case Method::Kind::kTokenHolder:
      return caller.sends_user_token ? kOk : kNoToken;
    case Method::Kind::kApp:
      return passes.app ? kOk : passes.otherwise;
    case Method::Kind::kResolver:
      return passes.resolver ? kOk : passes.otherwise;
    case Method::Kind::kAdmin:
      return passes.admin ? kOk : passes.otherwise;
  }
  return kOk;
}

class VaultCallersTest : public ::testing::Test {
 protected:
  void StartVault(bool mutual_tls) {
    std::map<std::string, std::string> env = {{"ENCRYPTION_SECRET", NewSecret()},
                                              {"DB_PATH", dir_.path() + "/relay.db"},
                                              {"APP_SECRET", kAppSecret}};
    if (mutual_tls) {
      ASSERT_THAT(byok::testing::WriteMutualTlsCertificates(
                      dir_.path(), {"vault", "relay", "gateway", "admin", "stranger"}),
                  IsOk());
      for (auto& [k, v] : byok::testing::MutualTlsEnv(dir_.path(), "vault")) env[k] = v;
    }
    absl::StatusOr<std::unique_ptr<VaultDaemon>> d = VaultDaemon::Start(env);
    ASSERT_THAT(d, IsOk());
    daemon_ = *std::move(d);
    mutual_tls_ = mutual_tls;
    // The test registers users as the gateway would: its certificate under mTLS, else the token.
    if (mutual_tls) gateway_ = StubFor({"gateway", "gateway", {}, true});
  }

  Stub& Registrar() { return gateway_ != nullptr ? *gateway_ : daemon_->stub(); }

  std::unique_ptr<Stub> StubFor(const Caller& caller) {
    const std::string target = absl::StrCat("127.0.0.1:", daemon_->port());
    if (!mutual_tls_) {
      return v1::Vault::NewStub(grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
    }
    grpc::SslCredentialsOptions tls;
    tls.pem_root_certs = ReadFile(dir_.path() + "/ca.pem");
    tls.pem_private_key = ReadFile(dir_.path() + "/" + caller.certificate + ".key");
    tls.pem_cert_chain = ReadFile(dir_.path() + "/" + caller.certificate + ".pem");
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride("vault");
    return v1::Vault::NewStub(grpc::CreateCustomChannel(target, grpc::SslCredentials(tls), args));
  }

  // A new user with an openai key, through the service stub (the test acting as the gateway).
  User NewUser() {
    User user;
    v1::CreateUserRequest create;
    create.set_app_id("callers");
    v1::CreateUserResponse created;
    EXPECT_THAT(Call(&Stub::CreateUser, Registrar(), create, &created), IsOk());
    user.token = created.token();
    v1::PutKeyRequest put;
    put.set_token(user.token);
    put.set_provider("openai");
    put.set_key("sk-callers-0123456789");
    v1::PutKeyResponse stored;
    EXPECT_THAT(Call(&Stub::PutKey, Registrar(), put, &stored), IsOk());
    v1::AuthenticateRequest who;
    who.set_token(user.token);
    v1::AuthenticateResponse whose;
    EXPECT_THAT(Call(&Stub::Authenticate, Registrar(), who, &whose), IsOk());
    user.user_id = whose.user_id();
    return user;
  }

  void RunTable(const std::vector<std::pair<Caller, Passes>>& callers) {
    for (const Method& method : Methods()) {
      for (const auto& [caller, passes] : callers) {
        SCOPED_TRACE(absl::StrCat(method.name, " as ", caller.name));
        const User user = NewUser();
        std::unique_ptr<Stub> stub = StubFor(caller);
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
        for (const auto& [key, value] : caller.metadata) context.AddMetadata(key, value);
        const absl::Status status = FromGrpcStatus(
            method.invoke(*stub, &context, user, caller.sends_user_token ? user.token : ""));
        const Outcome want = Expected(method, caller, passes);
        EXPECT_EQ(status.code(), want.code) << status;
        EXPECT_EQ(ReasonOf(status), want.reason) << status;
        if (!status.ok()) {
          EXPECT_EQ(DomainOf(status), kVaultDomain);
          // A refusal of the caller names the method it refused, never a credential.
          if (want.reason != reason::kTokenMissing) {
            EXPECT_THAT(std::string(status.message()),
                        ::testing::HasSubstr(method.name.substr(0, method.name.find(' '))));
          }
          EXPECT_THAT(std::string(status.message()),
                      ::testing::Not(::testing::HasSubstr(kTestServiceToken)));
        }
      }
    }
  }

  TempDir dir_;
  std::unique_ptr<VaultDaemon> daemon_;
  std::unique_ptr<Stub> gateway_;
  bool mutual_tls_ = false;
};

const std::map<std::string, std::string> kServiceMetadata = {
    {"byok-service-token", kTestServiceToken}};
const std::map<std::string, std::string> kWrongServiceMetadata = {
    {"byok-service-token", "not-the-service-token-0123456789abcdef"}};
const std::map<std::string, std::string> kAppMetadata = {{"byok-app-secret", kAppSecret}};

TEST_F(VaultCallersTest, PlaintextEveryMethodAndCallerKind) {
  StartVault(/*mutual_tls=*/false);
  const Passes anonymous{false, false, false, kNeedsService};
  RunTable({
      {{"no credential", "", {}, false}, anonymous},
      {{"a user token", "", {}, true}, anonymous},
      {{"the app secret", "", kAppMetadata, true}, {true, false, false, kNotAllowed}},
      {{"a wrong app secret", "", {{"byok-app-secret", "guess-guess-guess"}}, true},
       {false, false, false,
        Refused(absl::StatusCode::kUnauthenticated, reason::kAppCredentialInvalid)}},
      {{"the service token", "", kServiceMetadata, true}, {true, true, true, kOk}},
      {{"a wrong service token", "", kWrongServiceMetadata, true},
       {false, false, false, kBadServiceToken}},
  });
}

TEST_F(VaultCallersTest, MutualTlsEveryMethodAndCallerKind) {
  StartVault(/*mutual_tls=*/true);
  RunTable({
      {{"a stranger's certificate", "stranger", {}, true}, {false, false, false, kNotAllowed}},
      {{"the relay's certificate", "relay", {}, true}, {false, true, false, kNotAllowed}},
      {{"the gateway's certificate", "gateway", {}, true}, {true, false, false, kNotAllowed}},
      {{"the admin's certificate", "admin", {}, true}, {false, false, true, kNotAllowed}},
      {{"a stranger's certificate and no token", "stranger", {}, false},
       {false, false, false, kNotAllowed}},
      {{"a stranger with the app secret", "stranger", kAppMetadata, true},
       {true, false, false, kNotAllowed}},
      {{"a stranger with the service token", "stranger", kServiceMetadata, true},
       {true, true, true, kOk}},
      {{"a stranger with a wrong service token", "stranger", kWrongServiceMetadata, true},
       {false, false, false, kBadServiceToken}},
  });
}

// One unary call as `caller` (the test's channel for it) with `metadata`.
template <typename Request, typename Response>
absl::Status CallAs(grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*),
                    Stub& stub, const std::map<std::string, std::string>& metadata,
                    const Request& request, Response* response) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  for (const auto& [key, value] : metadata) context.AddMetadata(key, value);
  return FromGrpcStatus((stub.*method)(&context, request, response));
}

// Every event of the trail, read a page at a time by `admin`.
std::vector<v1::AuditEvent> AllEvents(Stub& admin, const std::map<std::string, std::string>& metadata) {
  std::vector<v1::AuditEvent> events;
  v1::ListAuditEventsRequest q;
  q.set_page_size(1000);
  for (int pages = 0; pages < 100; ++pages) {
    v1::ListAuditEventsResponse r;
    EXPECT_THAT(CallAs(&Stub::ListAuditEvents, admin, metadata, q, &r), IsOk());
    events.insert(events.end(), r.events().begin(), r.events().end());
    if (r.next_page_token().empty()) break;
    q.set_page_token(r.next_page_token());
  }
  return events;
}

// The one event with this request id.
const v1::AuditEvent* EventFor(const std::vector<v1::AuditEvent>& events, const std::string& request_id) {
  const v1::AuditEvent* found = nullptr;
  for (const v1::AuditEvent& e : events) {
    if (e.request_id() != request_id) continue;
    EXPECT_EQ(found, nullptr) << "two events carry " << request_id;
    found = &e;
  }
  EXPECT_NE(found, nullptr) << "no event carries " << request_id;
  return found;
}

// Under mutual TLS an audit row names the certificate identity that called, and carries the
// x-request-id the call sent.
TEST_F(VaultCallersTest, AuditRowsNameTheCertificateAndTheRequestId) {
  StartVault(/*mutual_tls=*/true);
  std::unique_ptr<Stub> relay = StubFor({"relay", "relay", {}, true});
  std::unique_ptr<Stub> admin = StubFor({"admin", "admin", {}, true});
  std::unique_ptr<Stub> stranger = StubFor({"stranger", "stranger", {}, true});
  const User user = NewUser();

  v1::ResolveKeyRequest resolve;
  resolve.set_token(user.token);
  resolve.set_provider("openai");
  v1::ResolveKeyResponse resolved;
  ASSERT_THAT(CallAs(&Stub::ResolveKey, *relay, {{"x-request-id", "mtls-resolve-1"}}, resolve, &resolved),
              IsOk());
  v1::DeleteKeyRequest del;
  del.set_token(user.token);
  del.set_provider("openai");
  v1::DeleteKeyResponse deleted;
  ASSERT_THAT(CallAs(&Stub::DeleteKey, *stranger, {{"x-request-id", "mtls-delete-1"}}, del, &deleted), IsOk());
  // A refused caller's attempt leaves no row: it never reached the key.
  EXPECT_FALSE(CallAs(&Stub::ResolveKey, *stranger, {{"x-request-id", "mtls-refused"}}, resolve, &resolved).ok());
  // An invalid request id is not recorded.
  ASSERT_EQ(CallAs(&Stub::ResolveKey, *relay, {{"x-request-id", "bad id with spaces"}}, resolve, &resolved)
                .code(),
            absl::StatusCode::kNotFound);

  const std::vector<v1::AuditEvent> events = AllEvents(*admin, {});
  if (const v1::AuditEvent* e = EventFor(events, "mtls-resolve-1")) {
    EXPECT_EQ(e->action(), v1::AuditEvent::ACTION_KEY_RESOLVED);
    EXPECT_EQ(e->caller(), "relay");
    EXPECT_EQ(e->user_id(), user.user_id);
    EXPECT_EQ(e->provider(), "openai");
    EXPECT_EQ(e->outcome(), "OK");
  }
  if (const v1::AuditEvent* e = EventFor(events, "mtls-delete-1")) {
    EXPECT_EQ(e->action(), v1::AuditEvent::ACTION_KEY_DELETED);
    EXPECT_EQ(e->caller(), "stranger");
  }
  for (const v1::AuditEvent& e : events) {
    EXPECT_NE(e.request_id(), "mtls-refused");
    EXPECT_EQ(e.request_id().find(' '), std::string::npos);
    EXPECT_EQ(e.user_id().find(user.token), std::string::npos);
  }
  // The resolve with the bad id is there, with no request id, and its outcome.
  EXPECT_EQ(std::count_if(events.begin(), events.end(),
                          [](const v1::AuditEvent& e) {
                            return e.action() == v1::AuditEvent::ACTION_KEY_RESOLVED &&
                                   e.outcome() == "NOT_FOUND" && e.request_id().empty();
                          }),
            1);
}

// In plaintext the caller is named by the credential it presented.
TEST_F(VaultCallersTest, AuditRowsNameThePlaintextCredential) {
  StartVault(/*mutual_tls=*/false);
  std::unique_ptr<Stub> plain = StubFor({"plain", "", {}, true});
  v1::CreateUserRequest create;
  create.set_app_id("callers");
  v1::CreateUserResponse created;
  ASSERT_THAT(CallAs(&Stub::CreateUser, *plain, {{"byok-app-secret", kAppSecret}, {"x-request-id", "by-app"}},
                     create, &created),
              IsOk());
  v1::PutKeyRequest put;
  put.set_token(created.token());
  put.set_provider("openai");
  put.set_key("sk-callers-0123456789");
  v1::PutKeyResponse stored;
  ASSERT_THAT(CallAs(&Stub::PutKey, *plain, {{"x-request-id", "by-user"}}, put, &stored), IsOk());
  v1::ResolveKeyRequest resolve;
  resolve.set_token(created.token());
  resolve.set_provider("openai");
  v1::ResolveKeyResponse resolved;
  ASSERT_THAT(CallAs(&Stub::ResolveKey, *plain, {{"byok-service-token", kTestServiceToken}, {"x-request-id", "by-service"}},
                     resolve, &resolved),
              IsOk());
  const std::vector<v1::AuditEvent> events = AllEvents(*plain, kServiceMetadata);
  if (const v1::AuditEvent* e = EventFor(events, "by-app")) {
    EXPECT_EQ(e->action(), v1::AuditEvent::ACTION_USER_CREATED);
    EXPECT_EQ(e->caller(), "app-credential");
  }
  if (const v1::AuditEvent* e = EventFor(events, "by-user")) {
    EXPECT_EQ(e->action(), v1::AuditEvent::ACTION_KEY_STORED);
    EXPECT_EQ(e->caller(), "user-token");
  }
  if (const v1::AuditEvent* e = EventFor(events, "by-service")) {
    EXPECT_EQ(e->action(), v1::AuditEvent::ACTION_KEY_RESOLVED);
    EXPECT_EQ(e->caller(), "service-token");
  }
}

// The trail read through the RPC: three pages, a user's events only, a malformed page token.
TEST_F(VaultCallersTest, ListAuditEventsPagesFiltersAndRefusesABadToken) {
  StartVault(/*mutual_tls=*/false);
  const User first = NewUser();   // CreateUser and PutKey: two events each
  const User second = NewUser();
  NewUser();
  Stub& service = daemon_->stub();
  v1::ListAuditEventsRequest q;
  q.set_page_size(2);
  std::vector<std::string> users;
  int pages = 0;
  do {
    v1::ListAuditEventsResponse r;
    ASSERT_THAT(Call(&Stub::ListAuditEvents, service, q, &r), IsOk());
    ++pages;
    EXPECT_EQ(r.events_size(), 2);
    for (const v1::AuditEvent& e : r.events()) users.push_back(e.user_id());
    q.set_page_token(r.next_page_token());
  } while (!q.page_token().empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(users.size(), 6u);
  EXPECT_EQ(users[0], first.user_id);
  EXPECT_EQ(users[2], second.user_id);

  v1::ListAuditEventsRequest mine;
  mine.set_user_id(second.user_id);
  v1::ListAuditEventsResponse r;
  ASSERT_THAT(Call(&Stub::ListAuditEvents, service, mine, &r), IsOk());
  ASSERT_EQ(r.events_size(), 2);
  EXPECT_EQ(r.events(0).action(), v1::AuditEvent::ACTION_USER_CREATED);
  EXPECT_EQ(r.events(1).action(), v1::AuditEvent::ACTION_KEY_STORED);
  EXPECT_EQ(r.events(1).user_id(), second.user_id);

  v1::ListAuditEventsRequest bad;
  bad.set_page_token("not-a-page-token");
  const absl::Status refused = Call(&Stub::ListAuditEvents, service, bad, &r);
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument) << refused;
}

// A usage record from a caller without a service identity never reaches statistics.
TEST_F(VaultCallersTest, ForgedUsageIsNotCounted) {
  StartVault(/*mutual_tls=*/false);
  const User user = NewUser();
  auto anonymous = v1::Vault::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", daemon_->port()), grpc::InsecureChannelCredentials()));
  v1::RecordUsageRequest forged;
  forged.set_user_id(user.user_id);
  forged.set_provider("openai");
  forged.set_status(200);
  forged.set_input_tokens(1'000'000'000);
  v1::RecordUsageResponse ignored;
  EXPECT_FALSE(Call(&Stub::RecordUsage, *anonymous, forged, &ignored).ok());
  v1::GetStatsRequest stats;
  stats.set_token(user.token);
  v1::GetStatsResponse seen;
  ASSERT_THAT(Call(&Stub::GetStats, *anonymous, stats, &seen), IsOk());
  EXPECT_EQ(seen.total_requests(), 0);
  EXPECT_EQ(seen.input_tokens(), 0);
}

// Token failures differ by reason, not by message.
TEST_F(VaultCallersTest, TokenFailuresCarryTheirReason) {
  StartVault(/*mutual_tls=*/false);
  const User user = NewUser();
  auto check = [&](const std::string& token) {
    v1::AuthenticateRequest q;
    q.set_token(token);
    v1::AuthenticateResponse r;
    return Call(&Stub::Authenticate, daemon_->stub(), q, &r);
  };
  const absl::Status unknown = check(std::string(64, 'f'));
  EXPECT_EQ(ReasonOf(unknown), reason::kTokenUnknown);
  EXPECT_EQ(ReasonOf(check("")), reason::kTokenMissing);
  v1::RevokeTokenRequest revoke;
  revoke.set_token(user.token);
  v1::RevokeTokenResponse revoked;
  ASSERT_THAT(Call(&Stub::RevokeToken, daemon_->stub(), revoke, &revoked), IsOk());
  const absl::Status expired = check(user.token);
  EXPECT_EQ(expired.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(ReasonOf(expired), reason::kTokenExpired);
  EXPECT_EQ(expired.message(), unknown.message());  // the original's one phrase for all of them

  v1::ResolveKeyRequest none;
  none.set_token(NewUser().token);
  none.set_provider("mistral");
  v1::ResolveKeyResponse resolved;
  const absl::Status missing = Call(&Stub::ResolveKey, daemon_->stub(), none, &resolved);
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ReasonOf(missing), reason::kKeyNotFound);
}

// A split vault without a service identity does not start, unless told it runs on a trusted
// loopback, which it believes only on a loopback address.
TEST(VaultServiceIdentityStartupTest, RefusesToStartWithoutAServiceIdentity) {
  TempDir dir;
  auto run = [&](std::map<std::string, std::string> extra) {
    std::map<std::string, std::string> env = {{"ENCRYPTION_SECRET", NewSecret()},
                                              {"DB_PATH", dir.path() + "/relay.db"},
                                              {"BYOK_VAULT_ADDR", "127.0.0.1:0"},
                                              {"LOG_LEVEL", "warn"}};
    for (auto& [k, v] : extra) env[k] = v;
    auto p = byok::testing::ChildProcess::Start(byok::testing::BinaryPath("byok-vaultd"), {}, env);
    EXPECT_THAT(p, IsOk());
    return p.ok() ? *std::move(p) : nullptr;
  };
  auto none = run({});
  ASSERT_NE(none, nullptr);
  EXPECT_EQ(none->Wait(absl::Seconds(10)).value_or(-1), 2);
  EXPECT_THAT(none->Output(), ::testing::HasSubstr("BYOK_SERVICE_TOKEN"));
  EXPECT_THAT(none->Output(), ::testing::HasSubstr("BYOK_TRUSTED_LOOPBACK"));

  auto off_loopback = run({{"BYOK_TRUSTED_LOOPBACK", "1"}, {"BYOK_VAULT_ADDR", "0.0.0.0:0"}});
  ASSERT_NE(off_loopback, nullptr);
  EXPECT_EQ(off_loopback->Wait(absl::Seconds(10)).value_or(-1), 2);
  EXPECT_THAT(off_loopback->Output(), ::testing::HasSubstr("only for loopback"));

  auto short_token = run({{"BYOK_SERVICE_TOKEN", "too-short"}});
  ASSERT_NE(short_token, nullptr);
  EXPECT_EQ(short_token->Wait(absl::Seconds(10)).value_or(-1), 2);
  EXPECT_THAT(short_token->Output(), ::testing::HasSubstr("BYOK_SERVICE_TOKEN"));
  EXPECT_THAT(short_token->Output(), ::testing::Not(::testing::HasSubstr("too-short")));

  // Trusted loopback on 127.0.0.1: it starts (and still serves a plain loopback caller).
  absl::StatusOr<std::unique_ptr<VaultDaemon>> trusted =
      VaultDaemon::Start({{"ENCRYPTION_SECRET", NewSecret()},
                          {"DB_PATH", dir.path() + "/trusted.db"},
                          {"BYOK_SERVICE_TOKEN", ""},
                          {"BYOK_TRUSTED_LOOPBACK", "1"}});
  ASSERT_THAT(trusted, IsOk());
  auto anonymous = v1::Vault::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", (*trusted)->port()), grpc::InsecureChannelCredentials()));
  v1::RewrapRequest rewrap;
  v1::RewrapResponse rewrapped;
  EXPECT_THAT(Call(&Stub::Rewrap, *anonymous, rewrap, &rewrapped), IsOk());
}

}  // namespace
}  // namespace byok::vault
