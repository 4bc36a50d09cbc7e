#include "tests/testing/mtls_certificates.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace byok::testing {

absl::Status WriteMutualTlsCertificates(const std::string& dir, const std::vector<std::string>& names) {
  std::string script = absl::StrCat(
      "set -e; cd '", dir, "'; ",
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key "
      "-out ca.pem -days 1 -subj /CN=byok-test-ca 2>/dev/null; ");
  for (const std::string& n : names) {
    absl::StrAppend(
        &script, "printf 'subjectAltName=DNS:", n, ",IP:127.0.0.1\\n' > ", n, ".ext; ",
        "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ", n,
        ".key -out ", n, ".csr -subj /CN=", n, " 2>/dev/null; ",
        "openssl x509 -req -in ", n, ".csr -CA ca.pem -CAkey ca.key -CAcreateserial -out ", n,
        ".pem -days 1 -extfile ", n, ".ext 2>/dev/null; ");
  }
  if (std::system(absl::StrCat("bash -c \"", script, "\"").c_str()) != 0) {
    return absl::InternalError("openssl could not make the test certificates");
  }
  return absl::OkStatus();
}

std::map<std::string, std::string> MutualTlsEnv(const std::string& dir, const std::string& name) {
  return {{"BYOK_TLS_CERT_FILE", absl::StrCat(dir, "/", name, ".pem")},
          {"BYOK_TLS_KEY_FILE", absl::StrCat(dir, "/", name, ".key")},
          {"BYOK_TLS_CA_FILE", absl::StrCat(dir, "/ca.pem")}};
}

}  // namespace byok::testing
