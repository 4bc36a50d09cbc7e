// The vault's storage interface: users (found by token hash), encrypted keys, usage records and the
// key audit trail.
// SQLite implements it (sqlite_key_store.h), PostgreSQL too (pg_key_store.h; key_store_factory.h picks
// one), so the service logic never sees which database it runs on. Each implementation brings its schema up to date
// on open through numbered migrations (migration.h), and can take in another deployment's rows at once
// (Import, used by adoption of an original byok-relay database).
#ifndef BYOK_SERVICES_VAULT_KEY_STORE_H_
#define BYOK_SERVICES_VAULT_KEY_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace byok::vault {

// One user: an app's end user, reached through one token.
struct UserRecord {
  std::string user_id;     // opaque random id, never derived from the token
  std::string app_id;      // the app the user belongs to
  std::string token_hash;  // HMAC-SHA256 of the token (32 bytes); the token itself is never stored
  // 2: token_hash is confirmed under the current HMAC key; 1: legacy or unconfirmed (the original's
  // meaning; a match under a legacy key rewrites the hash and sets 2).
  int token_hmac_version = kTokenHmacCurrent;
  absl::Time created_at;
  // Unset: never expires. The token works while now <= expires_at; revocation sets it to the past.
  std::optional<absl::Time> expires_at;

  static constexpr int kTokenHmacLegacy = 1;
  static constexpr int kTokenHmacCurrent = 2;
};

// One stored provider key, as ciphertext.
struct KeyRecord {
  std::string user_id;
  std::string provider;
  std::string ciphertext;    // keyring AEAD output; empty in listings
  uint32_t key_version = 0;  // the keyring key id the ciphertext was written under
  std::string base_url;      // openai-compatible only; empty when unbound
  absl::Time created_at;
  absl::Time updated_at;
};

// One relayed request.
struct UsageRecord {
  std::string user_id;
  std::string app_id;  // filled by the store from the user on RecordUsage; given on Import
  std::string provider;
  std::string model;
  int32_t status = 0;  // the provider's status, or 502 when none arrived; not 2xx counts as an error
  int64_t latency_ms = 0;
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  absl::Time at;
};

// Which usage records statistics cover: one user's, or every user's of one app.
struct StatsScope {
  enum class Kind { kUser, kApp };
  Kind kind = Kind::kUser;
  std::string id;  // user id or app id
};

// Aggregates over one scope. Field meanings follow byok.vault.v1.GetStatsResponse.
struct UsageStats {
  struct Provider {
    std::string provider;
    int64_t requests = 0, errors = 0, avg_latency_ms = 0, input_tokens = 0, output_tokens = 0;
  };
  struct Model {
    std::string model;
    int64_t requests = 0, input_tokens = 0, output_tokens = 0;
  };
  struct Day {
    std::string day;  // YYYY-MM-DD, UTC
    std::string provider;
    int64_t requests = 0, errors = 0, input_tokens = 0, output_tokens = 0;
  };
  int64_t total_requests = 0, total_errors = 0;
  int64_t requests_last_7_days = 0, requests_last_30_days = 0;
  int64_t input_tokens = 0, output_tokens = 0;
  std::vector<Provider> providers;  // most requests first
  std::vector<Model> top_models;    // at most 10, most requests first, empty models left out
  // User scope: 1. App scope: distinct user ids among the app's usage records.
  int64_t users = 0;
  std::optional<absl::Time> last_request;  // the newest record's time
  std::vector<Day> daily;                  // the last 30 days, oldest first, then by provider
};

// One row of the key audit trail (byok.vault.v1.AuditEvent): who did what to whose key or token, and
// how it ended. Never a key or a token.
struct AuditRecord {
  int64_t id = 0;  // assigned by the store on append, increasing; ignored by AppendAuditEvent
  absl::Time time;
  int action = 0;  // byok.vault.v1.AuditEvent.Action's number
  std::string user_id;
  std::string provider;
  std::string caller;
  std::string request_id;
  std::string outcome;  // "OK" or the gRPC code's name
};

// Which audit rows ListAuditEvents returns: ids above `after_id`, of `user_id` when not empty, at
// most `limit`, oldest first.
struct AuditQuery {
  int64_t after_id = 0;
  std::string user_id;
  int limit = 100;
};

// Another deployment's rows, taken in at once by KeyStore::Import (adoption). Keys are already
// encrypted in this vault's format.
struct ImportData {
  std::vector<UserRecord> users;
  std::vector<KeyRecord> keys;
  std::vector<UsageRecord> usage;  // app_id given; user ids need not exist (deleted users' history)
};

// Where the vault keeps its rows. Implementations are thread-safe and return:
// NotFound for a missing row, AlreadyExists for a duplicate, Unavailable when the database cannot be
// reached or is busy (the call may be retried), Internal for anything else.
class KeyStore {
 public:
  virtual ~KeyStore() = default;

  // Inserts a new user. AlreadyExists when the user id or token hash is taken.
  virtual absl::Status CreateUser(const UserRecord& user) = 0;

  // Returns the user whose token hashes to `token_hash` (revoked or expired users included; the caller
  // decides). NotFound when there is none.
  virtual absl::StatusOr<UserRecord> FindUserByTokenHash(absl::string_view token_hash) = 0;

  // Returns the user with this id. NotFound when there is none.
  virtual absl::StatusOr<UserRecord> FindUserById(absl::string_view user_id) = 0;

  // Replaces the user's token hash and HMAC version only if the row still holds `expected_hash` (so
  // two concurrent upgrades of one token agree). Returns true when the row was updated.
  virtual absl::StatusOr<bool> UpdateTokenHash(absl::string_view user_id,
                                               absl::string_view expected_hash,
                                               absl::string_view new_hash, int token_hmac_version) = 0;

  // Sets the user's expiry (revocation sets it to the past). NotFound when the user does not exist.
  virtual absl::Status SetExpiry(absl::string_view user_id, absl::Time expires_at) = 0;

  // Erases the user with all keys and usage records; returns how many keys were erased.
  virtual absl::StatusOr<int64_t> DeleteUser(absl::string_view user_id) = 0;

  // Erases every user whose token expired before `now` (revoked ones included) with their keys; their
  // usage records stay, as app statistics count them. Returns how many users were erased.
  virtual absl::StatusOr<int64_t> PurgeUsers(absl::Time now) = 0;

  // Inserts or replaces the key for (user, provider); keeps created_at of a replaced row. Returns true
  // when a row was replaced.
  virtual absl::StatusOr<bool> PutKey(const KeyRecord& key) = 0;

  // Returns the stored key for (user, provider). NotFound when there is none.
  virtual absl::StatusOr<KeyRecord> GetKey(absl::string_view user_id, absl::string_view provider) = 0;

  // Returns the user's keys sorted by provider, without ciphertexts.
  virtual absl::StatusOr<std::vector<KeyRecord>> ListKeys(absl::string_view user_id) = 0;

  // Deletes the key for (user, provider); returns true when one existed.
  virtual absl::StatusOr<bool> DeleteKey(absl::string_view user_id, absl::string_view provider) = 0;

  // Returns up to `limit` keys (with ciphertexts) whose key_version differs from `version`, ordered by
  // (user_id, provider) and strictly after the cursor (user_id, provider); an empty cursor starts at
  // the beginning.
  virtual absl::StatusOr<std::vector<KeyRecord>> KeysNotUnderVersion(uint32_t version,
                                                                     absl::string_view after_user_id,
                                                                     absl::string_view after_provider,
                                                                     int limit) = 0;

  // Counts keys whose key_version differs from `version`.
  virtual absl::StatusOr<int64_t> CountKeysNotUnderVersion(uint32_t version) = 0;

  // Replaces one key's ciphertext and version only if the row still holds `expected_ciphertext` (so a
  // concurrent PutKey wins). Returns true when the row was updated.
  virtual absl::StatusOr<bool> ReplaceCiphertext(absl::string_view user_id, absl::string_view provider,
                                                 absl::string_view expected_ciphertext,
                                                 absl::string_view new_ciphertext,
                                                 uint32_t new_version) = 0;

  // Appends one usage record. NotFound when the user does not exist (any more).
  virtual absl::Status RecordUsage(const UsageRecord& usage) = 0;

  // Appends several usage records atomically (all or none); records of users that no longer exist are
  // skipped. Returns how many were stored.
  virtual absl::StatusOr<int64_t> RecordUsageBatch(absl::Span<const UsageRecord> records) = 0;

  // Group commit: appends several callers' batches in one transaction (all or none), skipping records
  // of users that no longer exist; returns how many of each batch were stored, in order. This default
  // stores each batch in its own transaction; stores override it to share one.
  virtual absl::StatusOr<std::vector<int64_t>> RecordUsageBatches(
      absl::Span<const absl::Span<const UsageRecord>> batches) {
    std::vector<int64_t> stored;
    stored.reserve(batches.size());
    for (absl::Span<const UsageRecord> batch : batches) {
      absl::StatusOr<int64_t> n = RecordUsageBatch(batch);
      if (!n.ok()) return n.status();
      stored.push_back(*n);
    }
    return stored;
  }

  // Returns aggregates over `scope`; "last 7/30 days" and the daily series count from `now`.
  virtual absl::StatusOr<UsageStats> GetStats(const StatsScope& scope, absl::Time now) = 0;

  // Inserts all of `data` in one transaction, all or none. AlreadyExists when a user id or token hash
  // is taken, or a (user, provider) key appears twice.
  virtual absl::Status Import(const ImportData& data) = 0;

  // Returns every row as Import takes it, from one consistent snapshot: users by id, keys by (user,
  // provider) with their ciphertexts as stored, usage records in the order they were recorded. For
  // moving a deployment between stores (store_copy.h); the whole deployment is held in memory.
  virtual absl::StatusOr<ImportData> Export() = 0;

  // Returns true when the store holds no user, key or usage record.
  virtual absl::StatusOr<bool> Empty() = 0;

  // How many users and provider keys the store holds (one indexed count each, for the gauges).
  virtual absl::StatusOr<int64_t> CountUsers() = 0;
  virtual absl::StatusOr<int64_t> CountKeys() = 0;

  // Appends one row to the audit trail (its id is the store's); returns the id given. The trail is
  // append-only: nothing changes a row, only PurgeAuditEvents removes old ones.
  virtual absl::StatusOr<int64_t> AppendAuditEvent(const AuditRecord& event) = 0;
  // Returns the rows `query` selects, by increasing id.
  virtual absl::StatusOr<std::vector<AuditRecord>> ListAuditEvents(const AuditQuery& query) = 0;
  // Deletes the rows older than `before` (retention); returns how many.
  virtual absl::StatusOr<int64_t> PurgeAuditEvents(absl::Time before) = 0;
};

}  // namespace byok::vault

#endif  // BYOK_SERVICES_VAULT_KEY_STORE_H_
