// The service token the tests' daemons share (BYOK_SERVICE_TOKEN), and a channel that sends it: what
// a test uses when it acts as one of the suite's services.
#ifndef BYOK_TESTS_TESTING_SERVICE_TOKEN_H_
#define BYOK_TESTS_TESTING_SERVICE_TOKEN_H_

#include <grpcpp/channel.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <memory>
#include <string>

#include "common/crypto/secret_bytes.h"
#include "common/service_auth.h"

namespace byok::testing {

// Not a secret: only test daemons on loopback accept it.
inline constexpr char kTestServiceToken[] = "test-service-token-0123456789abcdef0123456789abcdef";

// A plaintext channel to `target` whose calls carry kTestServiceToken.
inline std::shared_ptr<grpc::Channel> ServiceChannel(const std::string& target) {
  return CreateServiceChannel(target, grpc::InsecureChannelCredentials(), grpc::ChannelArguments(),
                              crypto::SecretBytes(kTestServiceToken));
}

}  // namespace byok::testing

#endif  // BYOK_TESTS_TESTING_SERVICE_TOKEN_H_
