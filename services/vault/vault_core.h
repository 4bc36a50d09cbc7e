// The vault's logic, apart from gRPC wiring: every RPC of byok.vault.v1.Vault as a plain method over a
// KeyStore, a keyring AEAD, a token hasher and a clock, so tests construct it directly.
#ifndef BYOK_SERVICES_VAULT_VAULT_CORE_H_
#define BYOK_SERVICES_VAULT_VAULT_CORE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "byok/vault/v1/vault.pb.h"
#include "common/crypto/keyring_aead.h"
#include "services/vault/clock.h"
#include "services/vault/key_events.h"
#include "services/vault/key_store.h"
#include "services/vault/token.h"

namespace byok::vault {

// Settings of the logic (from VaultConfig).
struct VaultOptions {
  // How long a new token works; zero means tokens never expire.
  absl::Duration token_lifetime = absl::Hours(24 * 90);
  // Accept http:// (not only https://) base URLs for openai-compatible keys.
  bool allow_http_base_urls = false;
  // How long audit events are kept; zero keeps them forever.
  absl::Duration audit_retention = absl::Hours(24 * 90);
};

// Rows Rewrap re-encrypts per call when the request does not say, and at most.
inline constexpr int kDefaultRewrapBatch = 500;
inline constexpr int kMaxRewrapBatch = 10000;
// Audit events ListAuditEvents returns per page when the request does not say, and at most.
inline constexpr int kDefaultAuditPage = 100;
inline constexpr int kMaxAuditPage = 1000;
// Usage records one RecordUsageBatch call may carry.
inline constexpr int kMaxUsageBatch = 1000;

// Returns the associated data that binds a stored key's ciphertext to its user, provider and base URL:
// a ciphertext copied to another row fails to decrypt.
std::string KeyAssociatedData(absl::string_view user_id, absl::string_view provider,
                              absl::string_view base_url);

// Implements the Vault API. Errors follow the codes in vault.proto's header comment. Thread-safe (all
// state lives in the store); the referenced objects must outlive it.
class VaultCore {
 public:
  VaultCore(KeyStore& store, const crypto::KeyringAead& keyring, const TokenHasher& hasher,
            const Clock& clock, VaultOptions options)
      : store_(store), keyring_(keyring), hasher_(hasher), clock_(clock), options_(options) {}

  // Each method below implements the RPC of the same name (see vault.proto), filling `response` and
  // returning the status the RPC finishes with.

  // Creates a user with a new token (returned only here) for a valid app id.
  absl::Status CreateUser(const v1::CreateUserRequest& request, v1::CreateUserResponse* response);
  // Checks token, provider and key in the original's order, then encrypts the trimmed key (bound to
  // user, provider and base URL) and upserts it; with validate_only, stores nothing.
  absl::Status PutKey(const v1::PutKeyRequest& request, v1::PutKeyResponse* response);
  // Lists the user's providers and timestamps, never a key.
  absl::Status ListKeys(const v1::ListKeysRequest& request, v1::ListKeysResponse* response);
  // Deletes one provider's key (any provider string); `deleted` says whether one existed.
  absl::Status DeleteKey(const v1::DeleteKeyRequest& request, v1::DeleteKeyResponse* response);
  // Revokes the token (expiry now - 1 ms); it fails from the next call on.
  absl::Status RevokeToken(const v1::RevokeTokenRequest& request, v1::RevokeTokenResponse* response);
  // Erases the user with all keys and usage records.
  absl::Status DeleteUser(const v1::DeleteUserRequest& request, v1::DeleteUserResponse* response);
  // Says whose a valid token is.
  absl::Status Authenticate(const v1::AuthenticateRequest& request,
                            v1::AuthenticateResponse* response);
  // Decrypts the user's key for a provider into response->key; the caller wipes it once sent.
  // DataLoss when the row does not decrypt.
  absl::Status ResolveKey(const v1::ResolveKeyRequest& request, v1::ResolveKeyResponse* response);
  // Appends one usage record for a user id (NotFound when the user is gone); status 0, or a 2xx with
  // `error`, is stored as 502.
  absl::Status RecordUsage(const v1::RecordUsageRequest& request, v1::RecordUsageResponse* response);
  // Appends up to kMaxUsageBatch records in one transaction, skipping users that are gone.
  absl::Status RecordUsageBatch(const v1::RecordUsageBatchRequest& request,
                                v1::RecordUsageBatchResponse* response);
  // RecordUsageBatch in two steps, so that calls arriving together share one transaction (group
  // commit, usage_commit.h): CheckUsageBatch validates a request and stamps its records with the time
  // of arrival (no store access); StoreUsageBatches stores several checked batches at once and
  // returns how many records of each were stored.
  absl::StatusOr<std::vector<UsageRecord>> CheckUsageBatch(const v1::RecordUsageBatchRequest& request) const;
  absl::StatusOr<std::vector<int64_t>> StoreUsageBatches(
      absl::Span<const absl::Span<const UsageRecord>> batches);
  // Aggregates usage for the token's user or for an app.
  absl::Status GetStats(const v1::GetStatsRequest& request, v1::GetStatsResponse* response);
  // Re-encrypts up to batch_size rows not under the current key version; skips and counts rows that
  // do not decrypt.
  absl::Status Rewrap(const v1::RewrapRequest& request, v1::RewrapResponse* response);

  // Returns a page of the audit trail, oldest first; page_token is opaque (the last id returned),
  // InvalidArgument when it is not one this method made.
  absl::Status ListAuditEvents(const v1::ListAuditEventsRequest& request,
                               v1::ListAuditEventsResponse* response);

  // Adds a receiver of key events (audit trail, change feed). Call before the first RPC; `sink`
  // outlives this object.
  void AddEventSink(KeyEventSink* sink) { sinks_.push_back(sink); }

  // Erases users whose token is revoked or expired; returns how many. Called on a schedule.
  absl::StatusOr<int64_t> PurgeExpiredUsers();
  // Erases audit events older than the retention (none when it is zero); returns how many. Called on
  // the same schedule.
  absl::StatusOr<int64_t> PurgeOldAuditEvents();

  // Returns the user a valid token belongs to, with the original's lookup (compat.md §10.3): the hash
  // under the current key, else under each legacy key, whose match is rewritten under the current key;
  // a row with HMAC version 1 found under the current key is marked 2. Unauthenticated "Invalid or
  // expired token" when the token is missing, unknown, revoked or expired.
  absl::StatusOr<UserRecord> UserForToken(absl::string_view token);

 private:
  // True when the user's token has expired (revocation included).
  bool Expired(const UserRecord& user) const;

  // Checks one usage record and stamps it with `at`.
  absl::StatusOr<UsageRecord> UsageFromRequest(const v1::RecordUsageRequest& request,
                                               absl::Time at) const;

  // Each public method that changes or reveals a key wraps one of these, so that every outcome,
  // failures included, leaves exactly one event.
  absl::Status DoPutKey(const v1::PutKeyRequest& request, v1::PutKeyResponse* response,
                        KeyEvent& event);
  absl::Status DoDeleteKey(const v1::DeleteKeyRequest& request, v1::DeleteKeyResponse* response,
                           KeyEvent& event);
  absl::Status DoRevokeToken(const v1::RevokeTokenRequest& request, KeyEvent& event);
  absl::Status DoDeleteUser(const v1::DeleteUserRequest& request, v1::DeleteUserResponse* response,
                            KeyEvent& event);
  absl::Status DoResolveKey(const v1::ResolveKeyRequest& request, v1::ResolveKeyResponse* response,
                            KeyEvent& event);
  // A new event of `action` stamped now.
  KeyEvent NewEvent(KeyAction action, absl::string_view provider = {}) const;
  // Sends `event` with `status` as its outcome to every sink.
  void Emit(KeyEvent& event, const absl::Status& status);

  std::vector<KeyEventSink*> sinks_;
  KeyStore& store_;
  const crypto::KeyringAead& keyring_;
  const TokenHasher& hasher_;
  const Clock& clock_;
  const VaultOptions options_;
};

}  // namespace byok::vault

#endif  // BYOK_SERVICES_VAULT_VAULT_CORE_H_
