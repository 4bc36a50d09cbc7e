// Test certificates made at test time: a throw-away certificate authority and a server certificate it
// signs, so TLS tests never depend on files checked into the tree or on the network.
#ifndef BYOK_TESTS_TESTING_FAKE_PROVIDER_TEST_CERTIFICATES_H_
#define BYOK_TESTS_TESTING_FAKE_PROVIDER_TEST_CERTIFICATES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace byok::testing {

// PEM texts for one test CA and one server certificate issued by it.
struct TestCertificates {
  // The CA certificate: what a client must trust (BYOK_UPSTREAM_CA_FILE).
  std::string ca_pem;
  // The server certificate and its private key (EC P-256).
  std::string cert_pem;
  std::string key_pem;
};

// Makes a new CA and a server certificate valid for one day, for the names in `dns_names` and the IP
// addresses in `ip_addresses` (subjectAltName). Each call makes a different CA.
absl::StatusOr<TestCertificates> MakeTestCertificates(
    const std::vector<std::string>& dns_names = {"localhost"},
    const std::vector<std::string>& ip_addresses = {"127.0.0.1", "::1"});

}  // namespace byok::testing

#endif  // BYOK_TESTS_TESTING_FAKE_PROVIDER_TEST_CERTIFICATES_H_
