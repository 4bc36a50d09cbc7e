#include "common/service_auth.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/auth_context.h>
#include <grpcpp/support/client_interceptor.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status.h"

namespace byok {
namespace {

// Adds the service token to a call's initial metadata.
class ServiceTokenInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit ServiceTokenInterceptor(const crypto::SecretBytes& token) : token_(token) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->emplace(kServiceTokenMetadata, std::string(token_.view()));
    }
    methods->Proceed();
  }

 private:
  const crypto::SecretBytes& token_;
};

class ServiceTokenInterceptorFactory final
    : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit ServiceTokenInterceptorFactory(crypto::SecretBytes token) : token_(std::move(token)) {}

  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo* /*info*/) override {
    return new ServiceTokenInterceptor(token_);
  }

 private:
  // Lives as long as the channel, which owns this factory and outlives its calls' interceptors.
  const crypto::SecretBytes token_;
};

std::string Sha256(absl::string_view bytes) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  std::string out(reinterpret_cast<const char*>(digest), sizeof(digest));
  OPENSSL_cleanse(digest, sizeof(digest));
  return out;
}

// The interceptor that puts `token` on every call of a channel.
std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> TokenInterceptors(
    const crypto::SecretBytes& token) {
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<ServiceTokenInterceptorFactory>(token));
  return interceptors;
}

}  // namespace

absl::StatusOr<ServiceAuth> LoadServiceAuth(const Env& env) {
  ServiceAuth auth;
  if (std::optional<std::string> token = env.Get("BYOK_SERVICE_TOKEN"); token.has_value()) {
    if (token->size() < kMinServiceTokenLength) {
      crypto::WipeString(*token);
      return absl::InvalidArgumentError(absl::StrCat("BYOK_SERVICE_TOKEN must be at least ",
                                                     kMinServiceTokenLength, " characters"));
    }
    auth.token = crypto::SecretBytes(*token);
    crypto::WipeString(*token);
  }
  BYOK_ASSIGN_OR_RETURN(auth.trusted_loopback, env.GetBool("BYOK_TRUSTED_LOOPBACK", false));
  return auth;
}

bool IsLoopbackAddress(absl::string_view address) {
  absl::string_view host = address;
  if (absl::StartsWith(host, "[")) {
    const size_t end = host.find(']');
    if (end == absl::string_view::npos) return false;
    host = host.substr(1, end - 1);
    return host == "::1";
  }
  if (absl::StrContains(host, "::")) return host == "::1";
  if (const size_t colon = host.rfind(':'); colon != absl::string_view::npos) {
    host = host.substr(0, colon);
  }
  if (absl::StartsWith(host, "ipv4:")) host.remove_prefix(5);
  if (host == "localhost") return true;
  // 127.0.0.0/8, written as four decimal octets.
  int octets = 0;
  for (absl::string_view part : absl::StrSplit(host, '.')) {
    int value = 0;
    if (!absl::SimpleAtoi(part, &value) || value < 0 || value > 255) return false;
    if (octets == 0 && value != 127) return false;
    ++octets;
  }
  return octets == 4;
}

absl::Status CheckServiceAuthConfigured(const ServiceAuth& auth, bool mutual_tls,
                                        const std::vector<std::string>& addresses,
                                        absl::string_view daemon) {
  if (mutual_tls || !auth.token.empty()) return absl::OkStatus();
  const std::string how = absl::StrCat(
      daemon, " needs a service identity for its internal gRPC calls: set BYOK_SERVICE_TOKEN (the "
              "same 32+ character secret on every service) or BYOK_TLS_CERT_FILE, BYOK_TLS_KEY_FILE "
              "and BYOK_TLS_CA_FILE");
  if (!auth.trusted_loopback) {
    return absl::FailedPreconditionError(
        absl::StrCat(how, " (or BYOK_TRUSTED_LOOPBACK=1 when every service runs on loopback)"));
  }
  for (const std::string& address : addresses) {
    if (!IsLoopbackAddress(address)) {
      return absl::FailedPreconditionError(
          absl::StrCat(how, ": BYOK_TRUSTED_LOOPBACK=1 holds only for loopback addresses, not ",
                       address));
    }
  }
  return absl::OkStatus();
}

bool MetadataMatches(const grpc::ServerContextBase& context, absl::string_view key,
                     const crypto::SecretBytes& expected) {
  if (expected.empty()) return false;
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(grpc::string_ref(key.data(), key.size()));
  if (it == metadata.end()) return false;
  const std::string presented = Sha256(absl::string_view(it->second.data(), it->second.size()));
  const std::string wanted = Sha256(expected.view());
  return CRYPTO_memcmp(presented.data(), wanted.data(), presented.size()) == 0;
}

bool HasMetadata(const grpc::ServerContextBase& context, absl::string_view key) {
  return context.client_metadata().count(grpc::string_ref(key.data(), key.size())) > 0;
}

std::vector<std::string> PeerIdentities(const grpc::ServerContextBase& context) {
  std::vector<std::string> ids;
  const std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth == nullptr || !auth->IsPeerAuthenticated()) return ids;
  for (const grpc::string_ref& id : auth->GetPeerIdentity()) ids.emplace_back(id.data(), id.size());
  return ids;
}

std::shared_ptr<grpc::Channel> CreateServiceChannel(const std::string& target,
                                                    std::shared_ptr<grpc::ChannelCredentials> creds,
                                                    const grpc::ChannelArguments& args,
                                                    const crypto::SecretBytes& token) {
  if (token.empty()) return grpc::CreateCustomChannel(target, std::move(creds), args);
  return grpc::experimental::CreateCustomChannelWithInterceptors(target, std::move(creds), args,
                                                                 TokenInterceptors(token));
}

std::shared_ptr<grpc::Channel> CreateInProcessServiceChannel(grpc::Server& server,
                                                             const grpc::ChannelArguments& args,
                                                             const crypto::SecretBytes& token) {
  if (token.empty()) return server.InProcessChannel(args);
  return server.experimental().InProcessChannelWithInterceptors(args, TokenInterceptors(token));
}

}  // namespace byok
