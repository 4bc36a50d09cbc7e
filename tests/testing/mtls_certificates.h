// Certificates for mutual TLS between the suite's services, made at test time with the openssl CLI:
// a throw-away CA and one certificate per service identity, so no key material lives in the tree.
#ifndef BYOK_TESTS_TESTING_MTLS_CERTIFICATES_H_
#define BYOK_TESTS_TESTING_MTLS_CERTIFICATES_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace byok::testing {

// Writes `dir`/ca.pem and, for each of `names`, `dir`/<name>.pem and <name>.key (EC P-256, one day),
// with subjectAltName DNS:<name> (the identity the vault checks) and IP:127.0.0.1 (the address the
// tests connect to).
absl::Status WriteMutualTlsCertificates(const std::string& dir, const std::vector<std::string>& names);

// The BYOK_TLS_* variables for identity `name` of certificates written by WriteMutualTlsCertificates.
std::map<std::string, std::string> MutualTlsEnv(const std::string& dir, const std::string& name);

}  // namespace byok::testing

#endif  // BYOK_TESTS_TESTING_MTLS_CERTIFICATES_H_
