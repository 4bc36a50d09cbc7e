// What the contract tests (contract_*_test.cc, one per route group of compat.md) share: one suite per
// test binary, JSON parsing, and calls with or without a token.
#ifndef BYOK_TESTS_E2E_CONTRACT_HELPERS_H_
#define BYOK_TESTS_E2E_CONTRACT_HELPERS_H_

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/e2e/suite.h"

namespace byok::testing {

using Headers = std::vector<std::pair<std::string, std::string>>;

// Parses a response body; null JSON (discarded) when it is not JSON.
inline nlohmann::json Json(const TestResponse& r) {
  return nlohmann::json::parse(r.body, nullptr, false);
}

// Returns the keys of the body's top-level object in the order they were sent.
inline std::vector<std::string> KeysInOrder(const std::string& body) {
  std::vector<std::string> keys;
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(body, nullptr, false);
  if (!j.is_object()) return keys;
  for (const auto& [k, v] : j.items()) keys.push_back(k);
  return keys;
}

// Returns the body's "error" text, or "" when there is none.
inline std::string Error(const TestResponse& r) {
  nlohmann::json j = Json(r);
  return j.is_object() && j.contains("error") && j["error"].is_string() ? j["error"].get<std::string>()
                                                                       : std::string();
}

// A fixture with one suite for every test of the binary (the suite's rate limits are off; tests that
// need a limit start an extra gateway).
class ContractTest : public ::testing::Test {
 protected:
  static void StartSuite(SuiteOptions options = {}) {
    auto suite = Suite::Start(std::move(options));
    ASSERT_TRUE(suite.ok()) << suite.status();
    suite_ = suite->release();
  }
  static void TearDownTestSuite() {
    delete suite_;
    suite_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(suite_, nullptr); }
  void TearDown() override {
    if (HasFailure() && suite_ != nullptr) std::cerr << suite_->Logs();
  }

  // Calls the suite's gateway with the token in x-relay-token (when not empty); a body is JSON.
  static TestResponse Call(const std::string& method, const std::string& target, const std::string& token,
                           std::string body = "", Headers headers = {}, int port = 0) {
    if (!token.empty()) headers.emplace_back("x-relay-token", token);
    auto r = Fetch(port == 0 ? suite_->port() : port, method, target, std::move(headers), std::move(body));
    EXPECT_TRUE(r.ok()) << method << " " << target << ": " << r.status();
    return r.ok() ? *std::move(r) : TestResponse{};
  }

  // Registers a user and returns the token.
  static std::string NewToken(const std::string& app_id = "contract-app") {
    auto token = suite_->Register(app_id);
    EXPECT_TRUE(token.ok()) << token.status();
    return token.ok() ? *token : std::string();
  }

  static Headers AppSecret() { return {{"Authorization", absl::StrCat("Bearer ", Suite::kAppSecret)}}; }

  static inline Suite* suite_ = nullptr;
};

}  // namespace byok::testing

#endif  // BYOK_TESTS_E2E_CONTRACT_HELPERS_H_
