// The caller policy's decision table, the loopback rule of split daemons, and the structured errors
// (ErrorInfo reasons) on the wire.
#include "common/caller_policy.h"

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "common/grpc_status.h"
#include "common/service_auth.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace byok {
namespace {

using ::byok::testing::IsOk;
using ::byok::testing::StatusIs;
using Vars = absl::flat_hash_map<std::string, std::string>;

CallerPolicy Policy(bool mutual_tls, const std::string& token, bool trusted_loopback = false) {
  CallerPolicy::Options options;
  options.mutual_tls = mutual_tls;
  if (!token.empty()) options.service.token = crypto::SecretBytes(token);
  options.service.trusted_loopback = trusted_loopback;
  options.app_secret = crypto::SecretBytes("app-secret");
  options.domain = kVaultDomain;
  return CallerPolicy(std::move(options));
}

TEST(CallerPolicyTest, DecidesByWhatTheCallerPresented) {
  const std::vector<std::string> relay_only = {"relay"};
  const CallerPolicy plain = Policy(false, "service-token-service-token-0123");
  PresentedCredentials nothing;
  absl::Status refused = plain.Decide(nothing, relay_only, false, "ResolveKey");
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_EQ(ReasonOf(refused), reason::kCallerUnauthenticated);
  EXPECT_EQ(DomainOf(refused), kVaultDomain);
  EXPECT_THAT(std::string(refused.message()), ::testing::HasSubstr("ResolveKey"));

  PresentedCredentials service{true, true, false, false, {}};
  EXPECT_THAT(plain.Decide(service, relay_only, false, "ResolveKey"), IsOk());
  EXPECT_THAT(plain.Decide(service, relay_only, true, "CreateUser"), IsOk());

  PresentedCredentials wrong{true, false, false, false, {}};
  EXPECT_EQ(ReasonOf(plain.Decide(wrong, relay_only, false, "Rewrap")), reason::kServiceTokenInvalid);

  PresentedCredentials app{false, false, true, true, {}};
  EXPECT_THAT(plain.Decide(app, relay_only, true, "CreateUser"), IsOk());
  absl::Status app_on_internal = plain.Decide(app, relay_only, false, "RecordUsageBatch");
  EXPECT_THAT(app_on_internal, StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_EQ(ReasonOf(app_on_internal), reason::kCallerNotAllowed);
  EXPECT_EQ(app_on_internal.message(), "this caller may not use RecordUsageBatch");

  PresentedCredentials bad_app{false, false, true, false, {}};
  EXPECT_EQ(ReasonOf(plain.Decide(bad_app, relay_only, true, "CreateUser")),
            reason::kAppCredentialInvalid);

  // Certificates count only under mutual TLS, and only when listed for the method.
  PresentedCredentials relay_cert{false, false, false, false, {"relay"}};
  EXPECT_THAT(plain.Decide(relay_cert, relay_only, false, "ResolveKey"),
              StatusIs(absl::StatusCode::kPermissionDenied));
  const CallerPolicy mtls = Policy(true, "");
  EXPECT_THAT(mtls.Decide(relay_cert, relay_only, false, "ResolveKey"), IsOk());
  EXPECT_THAT(mtls.Decide(relay_cert, {"admin"}, false, "Rewrap"),
              StatusIs(absl::StatusCode::kPermissionDenied));
  PresentedCredentials uppercase{false, false, false, false, {"Relay"}};
  EXPECT_THAT(mtls.Decide(uppercase, relay_only, false, "ResolveKey"),
              StatusIs(absl::StatusCode::kPermissionDenied));
  // A token sent where none is configured is a wrong token, not a pass.
  EXPECT_EQ(ReasonOf(mtls.Decide(wrong, relay_only, false, "ResolveKey")),
            reason::kServiceTokenInvalid);
}

TEST(CallerPolicyTest, TrustedLoopbackTrustsEveryoneOnlyWithoutAnyOtherIdentity) {
  EXPECT_TRUE(Policy(false, "", true).trusts_everyone());
  EXPECT_THAT(Policy(false, "", true).Decide({}, {}, false, "Rewrap"), IsOk());
  // A configured token or mutual TLS wins over the loopback setting.
  EXPECT_FALSE(Policy(false, "service-token-service-token-0123", true).trusts_everyone());
  EXPECT_FALSE(Policy(true, "", true).trusts_everyone());
  EXPECT_FALSE(Policy(false, "", false).trusts_everyone());
}

TEST(ServiceAuthTest, LoopbackAddresses) {
  for (const char* yes : {"127.0.0.1:50051", "127.1.2.3:1", "[::1]:50051", "localhost:9",
                          "127.0.0.1", "::1", "ipv4:127.0.0.1:5"}) {
    EXPECT_TRUE(IsLoopbackAddress(yes)) << yes;
  }
  for (const char* no : {"0.0.0.0:50051", "10.0.0.7:1", "[::]:50051", "vault:50051",
                         "128.0.0.1:1", "127.0.0:1", "127.0.0.1.5:1", "[::2]:1", "", "dns:///x:1"}) {
    EXPECT_FALSE(IsLoopbackAddress(no)) << no;
  }
}

TEST(ServiceAuthTest, StartUpNeedsAnIdentityOrTrustedLoopbackOnLoopback) {
  ServiceAuth none;
  EXPECT_THAT(CheckServiceAuthConfigured(none, false, {"127.0.0.1:1"}, "byok-vaultd"),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(CheckServiceAuthConfigured(none, true, {"0.0.0.0:1"}, "byok-vaultd"), IsOk());
  ServiceAuth token;
  token.token = crypto::SecretBytes("service-token-service-token-0123");
  EXPECT_THAT(CheckServiceAuthConfigured(token, false, {"0.0.0.0:1"}, "byok-vaultd"), IsOk());
  ServiceAuth loopback;
  loopback.trusted_loopback = true;
  EXPECT_THAT(CheckServiceAuthConfigured(loopback, false, {"127.0.0.1:1", "[::1]:2"}, "x"), IsOk());
  absl::Status off = CheckServiceAuthConfigured(loopback, false, {"127.0.0.1:1", "vault:2"}, "x");
  EXPECT_THAT(off, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(std::string(off.message()), ::testing::HasSubstr("vault:2"));
}

TEST(ServiceAuthTest, TokenSettingIsCheckedAndNeverEchoed) {
  absl::StatusOr<ServiceAuth> short_token =
      LoadServiceAuth(Env(Vars{{"BYOK_SERVICE_TOKEN", "short-secret"}}));
  EXPECT_THAT(short_token, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(short_token.status().message()),
              ::testing::Not(::testing::HasSubstr("short-secret")));
  absl::StatusOr<ServiceAuth> ok = LoadServiceAuth(
      Env(Vars{{"BYOK_SERVICE_TOKEN", std::string(32, 'k')}, {"BYOK_TRUSTED_LOOPBACK", "1"}}));
  ASSERT_THAT(ok, IsOk());
  EXPECT_EQ(ok->token.view(), std::string(32, 'k'));
  EXPECT_TRUE(ok->trusted_loopback);
}

TEST(GrpcStatusTest, ReasonsTravelAsGoogleRpcStatusDetails) {
  const absl::Status status = WithReason(absl::UnauthenticatedError("Invalid or expired token"),
                                         reason::kTokenExpired, kVaultDomain);
  const grpc::Status wire = ToGrpcStatus(status);
  EXPECT_EQ(wire.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(wire.error_message(), "Invalid or expired token");
  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(wire.error_details()));
  EXPECT_EQ(details.code(), 16);
  ASSERT_EQ(details.details_size(), 1);
  EXPECT_EQ(details.details(0).type_url(), "type.googleapis.com/google.rpc.ErrorInfo");
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(details.details(0).UnpackTo(&info));
  EXPECT_EQ(info.reason(), "TOKEN_EXPIRED");
  EXPECT_EQ(info.domain(), "vault.byok-relay");

  const absl::Status back = FromGrpcStatus(wire);
  EXPECT_EQ(back.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(ReasonOf(back), reason::kTokenExpired);
  EXPECT_EQ(DomainOf(back), kVaultDomain);

  // Every failure gets a reason; its own wins.
  EXPECT_EQ(ReasonOf(WithDefaultReason(absl::InvalidArgumentError("x"), kRelayDomain)),
            "INVALID_ARGUMENT");
  EXPECT_EQ(ReasonOf(WithDefaultReason(status, kRelayDomain)), reason::kTokenExpired);
  EXPECT_EQ(DomainOf(WithDefaultReason(status, kRelayDomain)), kVaultDomain);
  // Garbage details are ignored, not trusted.
  EXPECT_EQ(ReasonOf(FromGrpcStatus(grpc::Status(grpc::StatusCode::INTERNAL, "m", "\xff\x01"))), "");
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
}

}  // namespace
}  // namespace byok
