#include "common/grpc_tls.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace byok {
namespace {

absl::StatusOr<std::string> ReadPem(absl::string_view variable, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream contents;
  if (in) contents << in.rdbuf();
  if (!in || contents.str().find("-----BEGIN") == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(variable, " must name a readable PEM file"));
  }
  return contents.str();
}

}  // namespace

absl::StatusOr<std::optional<MutualTls>> LoadMutualTls(const Env& env) {
  std::optional<std::string> cert = env.Get("BYOK_TLS_CERT_FILE");
  std::optional<std::string> key = env.Get("BYOK_TLS_KEY_FILE");
  std::optional<std::string> ca = env.Get("BYOK_TLS_CA_FILE");
  const int set = cert.has_value() + key.has_value() + ca.has_value();
  if (set == 0) return std::optional<MutualTls>();
  if (set != 3) {
    return absl::InvalidArgumentError(
        "BYOK_TLS_CERT_FILE, BYOK_TLS_KEY_FILE and BYOK_TLS_CA_FILE must be set together");
  }
  MutualTls tls;
  BYOK_ASSIGN_OR_RETURN(tls.cert_pem, ReadPem("BYOK_TLS_CERT_FILE", *cert));
  BYOK_ASSIGN_OR_RETURN(std::string key_pem, ReadPem("BYOK_TLS_KEY_FILE", *key));
  tls.key_pem = crypto::SecretBytes(key_pem);
  crypto::WipeString(key_pem);
  BYOK_ASSIGN_OR_RETURN(tls.ca_pem, ReadPem("BYOK_TLS_CA_FILE", *ca));
  return std::optional<MutualTls>(std::move(tls));
}

std::shared_ptr<grpc::ServerCredentials> ServerCredentialsFor(const std::optional<MutualTls>& tls) {
  if (!tls.has_value()) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions options(
      GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_root_certs = tls->ca_pem;
  options.pem_key_cert_pairs.push_back({std::string(tls->key_pem.view()), tls->cert_pem});
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::SslServerCredentials(options);
  crypto::WipeString(options.pem_key_cert_pairs.front().private_key);
  return credentials;
}

std::shared_ptr<grpc::ChannelCredentials> ChannelCredentialsFor(const std::optional<MutualTls>& tls) {
  if (!tls.has_value()) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = tls->ca_pem;
  options.pem_private_key = std::string(tls->key_pem.view());
  options.pem_cert_chain = tls->cert_pem;
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::SslCredentials(options);
  crypto::WipeString(options.pem_private_key);
  return credentials;
}

}  // namespace byok
