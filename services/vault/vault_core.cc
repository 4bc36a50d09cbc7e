#include "services/vault/vault_core.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/crypto/secret_bytes.h"
#include "common/grpc_status.h"
#include "common/logging.h"
#include "common/status.h"
#include "services/vault/call_context.h"
#include "common/providers/providers.h"
#include "services/vault/validation.h"
#include "services/vault/vault_metrics.h"

namespace byok::vault {
namespace {

constexpr char kLog[] = "vault";
constexpr size_t kMaxUserIdSize = 64;
// The status recorded for a request that got no response (or a broken one), as the original logs it.
constexpr int32_t kNoResponseStatus = 502;
// Rewrap reads rows in pages of this many.
constexpr int kRewrapPage = 100;

void SetTimestamp(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t ms = absl::ToUnixMillis(t);
  int64_t seconds = ms / 1000;
  int64_t millis = ms % 1000;
  if (millis < 0) {
    millis += 1000;
    seconds -= 1;
  }
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(millis * 1000000));
}

// ListAuditEvents' page token: the last id returned, versioned and base64url-encoded so clients
// treat it as opaque.
constexpr char kAuditPagePrefix[] = "audit-v1:";

std::string AuditPageToken(int64_t last_id) {
  return absl::WebSafeBase64Escape(absl::StrCat(kAuditPagePrefix, last_id));
}

absl::StatusOr<int64_t> ParseAuditPageToken(absl::string_view token) {
  const absl::Status malformed = absl::InvalidArgumentError("page_token is not a valid page token");
  // The longest valid token is the prefix and 19 digits, encoded.
  if (token.size() > 64) return malformed;
  std::string decoded;
  if (!absl::WebSafeBase64Unescape(token, &decoded)) return malformed;
  absl::string_view id_text = decoded;
  if (!absl::ConsumePrefix(&id_text, kAuditPagePrefix)) return malformed;
  int64_t id = 0;
  if (id_text.empty() || id_text.find_first_not_of("0123456789") != absl::string_view::npos ||
      !absl::SimpleAtoi(id_text, &id) || id <= 0) {
    return malformed;
  }
  return id;
}

// The wire form of an audit row.
void ToProto(const AuditRecord& record, v1::AuditEvent* out) {
  out->set_id(record.id);
  SetTimestamp(record.time, out->mutable_time());
  out->set_action(v1::AuditEvent::Action_IsValid(record.action)
                      ? static_cast<v1::AuditEvent::Action>(record.action)
                      : v1::AuditEvent::ACTION_UNSPECIFIED);
  out->set_user_id(record.user_id);
  out->set_provider(record.provider);
  out->set_caller(record.caller);
  out->set_request_id(record.request_id);
  out->set_outcome(record.outcome);
}

void AppendField(std::string& out, absl::string_view field) {
  // Length-prefixed, so no two different (user, provider, base URL) triples encode alike.
  absl::StrAppend(&out, field.size(), ":", field, ";");
}

}  // namespace

std::string KeyAssociatedData(absl::string_view user_id, absl::string_view provider,
                              absl::string_view base_url) {
  std::string aad = "byok-relay/provider-key/v1;";
  AppendField(aad, user_id);
  AppendField(aad, provider);
  AppendField(aad, base_url);
  return aad;
}

KeyEvent VaultCore::NewEvent(KeyAction action, absl::string_view provider) const {
  KeyEvent event;
  event.action = action;
  event.time = clock_.Now();
  event.provider = std::string(provider);
  // Who asked and for which request: the service's per-call context, or the vault's own job.
  if (const CallInfo* call = CurrentCall()) {
    event.caller = call->caller;
    event.request_id = call->request_id;
  } else {
    event.caller = kVaultCaller;
  }
  return event;
}

void VaultCore::Emit(KeyEvent& event, const absl::Status& status) {
  event.outcome = status.code();
  for (KeyEventSink* sink : sinks_) sink->OnKeyEvent(event);
}

bool VaultCore::Expired(const UserRecord& user) const {
  // The original's rule: a token works while now <= expires_at (milliseconds).
  return user.expires_at.has_value() &&
         absl::ToUnixMillis(*user.expires_at) < absl::ToUnixMillis(clock_.Now());
}

absl::StatusOr<UserRecord> VaultCore::UserForToken(absl::string_view token) {
  // One message for every token failure (the original's phrase); the reason tells them apart. A
  // revoked token is one whose expiry was moved to its revocation: it reads as TOKEN_EXPIRED.
  const absl::Status invalid =
      WithReason(absl::UnauthenticatedError(kInvalidTokenMessage), reason::kTokenUnknown);
  const absl::Status expired =
      WithReason(absl::UnauthenticatedError(kInvalidTokenMessage), reason::kTokenExpired);
  if (token.empty()) {
    return WithReason(absl::UnauthenticatedError(kInvalidTokenMessage), reason::kTokenMissing);
  }
  if (!ValidateTokenShape(token).ok()) return invalid;
  BYOK_ASSIGN_OR_RETURN(std::string hash, hasher_.Hash(token));
  absl::StatusOr<UserRecord> user = TimedStoreCall("find_user", [&] { return store_.FindUserByTokenHash(hash); });
  if (user.ok()) {
    // The database matched on the hash; check again in constant time so no timing difference remains
    // anywhere a comparison happens in our code.
    if (!crypto::ConstantTimeEquals(hash, user->token_hash)) return invalid;
    if (Expired(*user)) return expired;
    if (user->token_hmac_version != UserRecord::kTokenHmacCurrent) {
      BYOK_RETURN_IF_ERROR(store_
                               .UpdateTokenHash(user->user_id, hash, hash,
                                                UserRecord::kTokenHmacCurrent)
                               .status());
      user->token_hmac_version = UserRecord::kTokenHmacCurrent;
    }
    return user;
  }
  if (!absl::IsNotFound(user.status())) return user.status();
  // Not under the current key: try the legacy ones (compat.md §10.3) and move a match to the current.
  BYOK_ASSIGN_OR_RETURN(std::vector<std::string> legacy, hasher_.LegacyHashes(token));
  for (const std::string& legacy_hash : legacy) {
    absl::StatusOr<UserRecord> old = store_.FindUserByTokenHash(legacy_hash);
    if (absl::IsNotFound(old.status())) continue;
    if (!old.ok()) return old.status();
    if (!crypto::ConstantTimeEquals(legacy_hash, old->token_hash)) return invalid;
    if (Expired(*old)) return expired;
    BYOK_RETURN_IF_ERROR(store_
                             .UpdateTokenHash(old->user_id, legacy_hash, hash,
                                              UserRecord::kTokenHmacCurrent)
                             .status());
    log::Info(kLog, "token of user %s moved to the current hashing key", old->user_id);
    old->token_hash = hash;
    old->token_hmac_version = UserRecord::kTokenHmacCurrent;
    return old;
  }
  return invalid;
}

absl::Status VaultCore::CreateUser(const v1::CreateUserRequest& request,
                                   v1::CreateUserResponse* response) {
  BYOK_RETURN_IF_ERROR(ValidateAppId(request.app_id()));
  BYOK_ASSIGN_OR_RETURN(std::string token, GenerateToken());
  UserRecord user;
  BYOK_ASSIGN_OR_RETURN(user.user_id, GenerateUserId());
  BYOK_ASSIGN_OR_RETURN(user.token_hash, hasher_.Hash(token));
  user.token_hmac_version = UserRecord::kTokenHmacCurrent;
  user.app_id = request.app_id();
  // Milliseconds, as stored and as the original reports expires_at.
  user.created_at = absl::FromUnixMillis(absl::ToUnixMillis(clock_.Now()));
  if (options_.token_lifetime > absl::ZeroDuration()) {
    user.expires_at = user.created_at + options_.token_lifetime;
  }
  KeyEvent event = NewEvent(v1::AuditEvent::ACTION_USER_CREATED);
  event.user_id = user.user_id;
  absl::Status stored = TimedStoreCall("create_user", [&] { return store_.CreateUser(user); });
  Emit(event, stored);
  BYOK_RETURN_IF_ERROR(stored);
  response->set_token(std::move(token));
  if (user.expires_at.has_value()) SetTimestamp(*user.expires_at, response->mutable_expires_at());
  log::Info(kLog, "created user %s for app %s", user.user_id, user.app_id);
  return absl::OkStatus();
}

absl::Status VaultCore::PutKey(const v1::PutKeyRequest& request, v1::PutKeyResponse* response) {
  KeyEvent event = NewEvent(v1::AuditEvent::ACTION_KEY_STORED, request.provider());
  absl::Status status = DoPutKey(request, response, event);
  // A dry run (validate_only) changes nothing: it is no event.
  if (!request.validate_only()) Emit(event, status);
  return status;
}

absl::Status VaultCore::DoPutKey(const v1::PutKeyRequest& request, v1::PutKeyResponse* response,
                                 KeyEvent& event) {
  // The original's order: token, provider, key.
  BYOK_ASSIGN_OR_RETURN(UserRecord user, UserForToken(request.token()));
  event.user_id = user.user_id;
  BYOK_RETURN_IF_ERROR(ValidateProvider(request.provider()));
  BYOK_ASSIGN_OR_RETURN(std::string plaintext, NormalizeKey(request.key()));
  absl::Cleanup wipe = [&plaintext] { crypto::WipeString(plaintext); };
  BYOK_RETURN_IF_ERROR(
      ValidateBaseUrl(request.provider(), request.base_url(), options_.allow_http_base_urls));
  if (request.validate_only()) {
    absl::StatusOr<KeyRecord> existing = store_.GetKey(user.user_id, request.provider());
    if (!existing.ok() && !absl::IsNotFound(existing.status())) return existing.status();
    response->set_provider(request.provider());
    response->set_replaced(existing.ok());
    return absl::OkStatus();
  }
  KeyRecord key;
  key.user_id = user.user_id;
  key.provider = request.provider();
  key.base_url = request.base_url();
  key.key_version = keyring_.primary_key_id();
  BYOK_ASSIGN_OR_RETURN(
      key.ciphertext,
      keyring_.Encrypt(plaintext, KeyAssociatedData(key.user_id, key.provider, key.base_url)));
  key.created_at = key.updated_at = clock_.Now();
  BYOK_ASSIGN_OR_RETURN(bool replaced, TimedStoreCall("put_key", [&] { return store_.PutKey(key); }));
  if (replaced) event.action = v1::AuditEvent::ACTION_KEY_ROTATED;
  response->set_provider(key.provider);
  response->set_replaced(replaced);
  log::Info(kLog, "%s key for user %s, provider %s", replaced ? "replaced" : "stored", user.user_id,
            key.provider);
  return absl::OkStatus();
}

absl::Status VaultCore::ListKeys(const v1::ListKeysRequest& request,
                                 v1::ListKeysResponse* response) {
  BYOK_ASSIGN_OR_RETURN(UserRecord user, UserForToken(request.token()));
  BYOK_ASSIGN_OR_RETURN(std::vector<KeyRecord> keys, TimedStoreCall("list_keys", [&] { return store_.ListKeys(user.user_id); }));
  for (const KeyRecord& k : keys) {
    v1::KeyInfo* info = response->add_keys();
    info->set_provider(k.provider);
    info->set_base_url(k.base_url);
    SetTimestamp(k.created_at, info->mutable_created_at());
    SetTimestamp(k.updated_at, info->mutable_updated_at());
  }
  return absl::OkStatus();
}

absl::Status VaultCore::DeleteKey(const v1::DeleteKeyRequest& request,
                                  v1::DeleteKeyResponse* response) {
  KeyEvent event = NewEvent(v1::AuditEvent::ACTION_KEY_DELETED, request.provider());
  absl::Status status = DoDeleteKey(request, response, event);
  Emit(event, status);
  return status;
}

absl::Status VaultCore::DoDeleteKey(const v1::DeleteKeyRequest& request,
                                    v1::DeleteKeyResponse* response, KeyEvent& event) {
  BYOK_ASSIGN_OR_RETURN(UserRecord user, UserForToken(request.token()));
  event.user_id = user.user_id;
  // As the original: any provider string succeeds; only a known one can have a row.
  bool deleted = false;
  if (providers::IsKnownProvider(request.provider())) {
    BYOK_ASSIGN_OR_RETURN(deleted, store_.DeleteKey(user.user_id, request.provider()));
  }
  response->set_deleted(deleted);
  return absl::OkStatus();
}

absl::Status VaultCore::RevokeToken(const v1::RevokeTokenRequest& request,
                                    v1::RevokeTokenResponse* /*response*/) {
  KeyEvent event = NewEvent(v1::AuditEvent::ACTION_TOKEN_REVOKED);
  absl::Status status = DoRevokeToken(request, event);
  Emit(event, status);
  return status;
}

absl::Status VaultCore::DoRevokeToken(const v1::RevokeTokenRequest& request, KeyEvent& event) {
  BYOK_ASSIGN_OR_RETURN(UserRecord user, UserForToken(request.token()));
  event.user_id = user.user_id;
  // The original's revocation: the expiry moves to 1 ms in the past.
  BYOK_RETURN_IF_ERROR(store_.SetExpiry(user.user_id, clock_.Now() - absl::Milliseconds(1)));
  log::Info(kLog, "revoked the token of user %s", user.user_id);
  return absl::OkStatus();
}

absl::Status VaultCore::DeleteUser(const v1::DeleteUserRequest& request,
                                   v1::DeleteUserResponse* response) {
  KeyEvent event = NewEvent(v1::AuditEvent::ACTION_USER_DELETED);
  absl::Status status = DoDeleteUser(request, response, event);
  Emit(event, status);
  return status;
}

absl::Status VaultCore::DoDeleteUser(const v1::DeleteUserRequest& request,
                                     v1::DeleteUserResponse* response, KeyEvent& event) {
  BYOK_ASSIGN_OR_RETURN(UserRecord user, UserForToken(request.token()));
  event.user_id = user.user_id;
  absl::StatusOr<int64_t> keys = store_.DeleteUser(user.user_id);
  if (absl::IsNotFound(keys.status())) {
    return WithReason(absl::UnauthenticatedError(kInvalidTokenMessage), reason::kTokenUnknown);
  }
  if (!keys.ok()) return keys.status();
  response->set_keys_deleted(static_cast<int32_t>(*keys));
  log::Info(kLog, "deleted user %s with %d keys", user.user_id, *keys);
  return absl::OkStatus();
}

absl::Status VaultCore::Authenticate(const v1::AuthenticateRequest& request,
                                     v1::AuthenticateResponse* response) {
  BYOK_ASSIGN_OR_RETURN(UserRecord user, UserForToken(request.token()));
  response->set_user_id(user.user_id);
  response->set_app_id(user.app_id);
  if (user.expires_at.has_value()) SetTimestamp(*user.expires_at, response->mutable_expires_at());
  return absl::OkStatus();
}

absl::Status VaultCore::ResolveKey(const v1::ResolveKeyRequest& request,
                                   v1::ResolveKeyResponse* response) {
  KeyEvent event = NewEvent(v1::AuditEvent::ACTION_KEY_RESOLVED, request.provider());
  absl::Status status = DoResolveKey(request, response, event);
  Emit(event, status);
  return status;
}

absl::Status VaultCore::DoResolveKey(const v1::ResolveKeyRequest& request,
                                     v1::ResolveKeyResponse* response, KeyEvent& event) {
  BYOK_ASSIGN_OR_RETURN(UserRecord user, UserForToken(request.token()));
  event.user_id = user.user_id;
  BYOK_RETURN_IF_ERROR(ValidateProvider(request.provider()));
  absl::StatusOr<KeyRecord> key =
      TimedStoreCall("get_key", [&] { return store_.GetKey(user.user_id, request.provider()); });
  if (absl::IsNotFound(key.status())) {
    return WithReason(
        absl::NotFoundError(absl::StrCat("no key stored for provider ", request.provider())),
        reason::kKeyNotFound);
  }
  if (!key.ok()) return key.status();
  absl::StatusOr<std::string> plain =
      keyring_.Decrypt(key->ciphertext, KeyAssociatedData(key->user_id, key->provider, key->base_url));
  if (!plain.ok()) {
    if (VaultMetrics* m = VaultMetrics::Get()) m->DecryptFailed();
    log::Warn(kLog, "stored key of user %s, provider %s does not decrypt: %s", user.user_id,
              key->provider, plain.status().message());
    return WithReason(absl::DataLossError(absl::StrCat(
                          "the stored ", key->provider,
                          " key could not be decrypted (a tampered row, or written under a secret "
                          "that is no longer configured); store the key again")),
                      reason::kKeyUndecryptable);
  }
  response->set_key(*plain);
  crypto::WipeString(*plain);
  response->set_base_url(key->base_url);
  response->set_user_id(user.user_id);
  response->set_app_id(user.app_id);
  if (user.expires_at.has_value()) {
    SetTimestamp(*user.expires_at, response->mutable_token_expires_at());
  }
  return absl::OkStatus();
}

absl::StatusOr<UsageRecord> VaultCore::UsageFromRequest(const v1::RecordUsageRequest& request,
                                                          absl::Time at) const {
  if (request.user_id().empty() || request.user_id().size() > kMaxUserIdSize) {
    return absl::InvalidArgumentError("user_id must be 1 to 64 characters");
  }
  BYOK_RETURN_IF_ERROR(ValidateProvider(request.provider()));
  if (request.status() < 0 || request.status() > 999) {
    return absl::InvalidArgumentError("status must be 0 to 999");
  }
  if (request.latency_ms() < 0 || request.input_tokens() < 0 || request.output_tokens() < 0) {
    return absl::InvalidArgumentError("latency_ms and token counts must not be negative");
  }
  UsageRecord usage;
  usage.user_id = request.user_id();
  usage.provider = request.provider();
  usage.model = RecordedModel(request.model());
  // The original logs 502 for a request that got no response or a broken one.
  const bool success = request.status() >= 200 && request.status() < 300;
  usage.status = request.status() == 0 || (success && request.error()) ? kNoResponseStatus
                                                                        : request.status();
  usage.latency_ms = request.latency_ms();
  usage.input_tokens = request.input_tokens();
  usage.output_tokens = request.output_tokens();
  usage.at = at;
  return usage;
}

absl::Status VaultCore::RecordUsage(const v1::RecordUsageRequest& request,
                                    v1::RecordUsageResponse* /*response*/) {
  BYOK_ASSIGN_OR_RETURN(UsageRecord usage, UsageFromRequest(request, clock_.Now()));
  absl::Status status = store_.RecordUsage(usage);
  if (absl::IsNotFound(status)) return absl::NotFoundError("unknown user_id");
  return status;
}

absl::StatusOr<std::vector<UsageRecord>> VaultCore::CheckUsageBatch(
    const v1::RecordUsageBatchRequest& request) const {
  if (request.records_size() < 1 || request.records_size() > kMaxUsageBatch) {
    return absl::InvalidArgumentError(
        absl::StrCat("records must hold 1 to ", kMaxUsageBatch, " usage records"));
  }
  // The time of arrival stands for the time of each request: the relay sends within a second.
  const absl::Time now = clock_.Now();
  std::vector<UsageRecord> records;
  records.reserve(request.records_size());
  for (int i = 0; i < request.records_size(); ++i) {
    absl::StatusOr<UsageRecord> usage = UsageFromRequest(request.records(i), now);
    if (!usage.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("records[", i, "]: ", usage.status().message()));
    }
    records.push_back(*std::move(usage));
  }
  return records;
}

absl::StatusOr<std::vector<int64_t>> VaultCore::StoreUsageBatches(
    absl::Span<const absl::Span<const UsageRecord>> batches) {
  return TimedStoreCall("record_usage", [&] { return store_.RecordUsageBatches(batches); });
}

absl::Status VaultCore::RecordUsageBatch(const v1::RecordUsageBatchRequest& request,
                                         v1::RecordUsageBatchResponse* response) {
  BYOK_ASSIGN_OR_RETURN(std::vector<UsageRecord> records, CheckUsageBatch(request));
  const absl::Span<const UsageRecord> one[] = {records};
  BYOK_ASSIGN_OR_RETURN(std::vector<int64_t> stored, StoreUsageBatches(one));
  response->set_recorded(static_cast<int32_t>(stored.front()));
  return absl::OkStatus();
}

absl::Status VaultCore::GetStats(const v1::GetStatsRequest& request,
                                 v1::GetStatsResponse* response) {
  StatsScope scope;
  switch (request.scope_case()) {
    case v1::GetStatsRequest::kToken: {
      BYOK_ASSIGN_OR_RETURN(UserRecord user, UserForToken(request.token()));
      scope = {StatsScope::Kind::kUser, user.user_id};
      break;
    }
    case v1::GetStatsRequest::kAppId:
      BYOK_RETURN_IF_ERROR(ValidateAppId(request.app_id()));
      scope = {StatsScope::Kind::kApp, request.app_id()};
      break;
    default:
      return absl::InvalidArgumentError("either token or app_id is required");
  }
  BYOK_ASSIGN_OR_RETURN(UsageStats stats, TimedStoreCall("get_stats", [&] { return store_.GetStats(scope, clock_.Now()); }));
  response->set_total_requests(stats.total_requests);
  response->set_total_errors(stats.total_errors);
  response->set_requests_last_7_days(stats.requests_last_7_days);
  response->set_requests_last_30_days(stats.requests_last_30_days);
  response->set_input_tokens(stats.input_tokens);
  response->set_output_tokens(stats.output_tokens);
  response->set_users(stats.users);
  for (const UsageStats::Provider& p : stats.providers) {
    v1::ProviderStats* out = response->add_providers();
    out->set_provider(p.provider);
    out->set_requests(p.requests);
    out->set_errors(p.errors);
    out->set_avg_latency_ms(p.avg_latency_ms);
    out->set_input_tokens(p.input_tokens);
    out->set_output_tokens(p.output_tokens);
  }
  for (const UsageStats::Model& m : stats.top_models) {
    v1::ModelStats* out = response->add_top_models();
    out->set_model(m.model);
    out->set_requests(m.requests);
    out->set_input_tokens(m.input_tokens);
    out->set_output_tokens(m.output_tokens);
  }
  if (stats.last_request.has_value()) {
    SetTimestamp(*stats.last_request, response->mutable_last_request());
  }
  for (const UsageStats::Day& d : stats.daily) {
    v1::DailyStats* out = response->add_daily();
    out->set_day(d.day);
    out->set_provider(d.provider);
    out->set_requests(d.requests);
    out->set_errors(d.errors);
    out->set_input_tokens(d.input_tokens);
    out->set_output_tokens(d.output_tokens);
  }
  return absl::OkStatus();
}

absl::Status VaultCore::Rewrap(const v1::RewrapRequest& request, v1::RewrapResponse* response) {
  if (request.batch_size() < 0) return absl::InvalidArgumentError("batch_size must not be negative");
  const int batch =
      request.batch_size() == 0 ? kDefaultRewrapBatch : std::min(request.batch_size(), kMaxRewrapBatch);
  // Rows that fail to decrypt are skipped (the cursor moves past them), so one bad row cannot stall
  // rotation; the scan is still bounded per call.
  const int scan_limit = 4 * batch;
  const uint32_t primary = keyring_.primary_key_id();
  int64_t rewrapped = 0, failed = 0, scanned = 0;
  std::string after_user, after_provider;
  while (rewrapped < batch && scanned < scan_limit) {
    BYOK_ASSIGN_OR_RETURN(std::vector<KeyRecord> page,
                          store_.KeysNotUnderVersion(primary, after_user, after_provider, kRewrapPage));
    if (page.empty()) break;
    for (const KeyRecord& k : page) {
      if (rewrapped >= batch) break;
      ++scanned;
      after_user = k.user_id;
      after_provider = k.provider;
      const std::string aad = KeyAssociatedData(k.user_id, k.provider, k.base_url);
      absl::StatusOr<std::string> plain = keyring_.Decrypt(k.ciphertext, aad);
      if (!plain.ok()) {
        ++failed;
        if (VaultMetrics* m = VaultMetrics::Get()) m->DecryptFailed();
        log::Warn(kLog, "rewrap: key of user %s, provider %s (version %08x) does not decrypt",
                  k.user_id, k.provider, k.key_version);
        continue;
      }
      absl::StatusOr<std::string> ciphertext = keyring_.Encrypt(*plain, aad);
      crypto::WipeString(*plain);
      if (!ciphertext.ok()) return ciphertext.status();
      BYOK_ASSIGN_OR_RETURN(bool replaced, store_.ReplaceCiphertext(k.user_id, k.provider,
                                                                    k.ciphertext, *ciphertext, primary));
      // A row replaced or deleted meanwhile is already current or gone: nothing to count.
      if (replaced) {
        ++rewrapped;
        KeyEvent event = NewEvent(v1::AuditEvent::ACTION_KEY_REWRAPPED, k.provider);
        event.user_id = k.user_id;
        Emit(event, absl::OkStatus());
      }
    }
  }
  BYOK_ASSIGN_OR_RETURN(int64_t remaining, store_.CountKeysNotUnderVersion(primary));
  response->set_rewrapped(rewrapped);
  response->set_remaining(remaining);
  response->set_failed(failed);
  if (rewrapped > 0 || failed > 0) {
    log::Info(kLog, "rewrap: %d rows re-encrypted, %d remaining, %d failed", rewrapped, remaining,
              failed);
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> VaultCore::PurgeExpiredUsers() {
  BYOK_ASSIGN_OR_RETURN(int64_t purged, store_.PurgeUsers(clock_.Now()));
  if (purged > 0) {
    log::Info(kLog, "purged %d revoked or expired users", purged);
    // The store says how many, not whom: one event with no user stands for the purge (the change
    // feed turns it into a reset; every purged token had already stopped working).
    KeyEvent event = NewEvent(v1::AuditEvent::ACTION_USER_PURGED);
    Emit(event, absl::OkStatus());
  }
  return purged;
}

absl::StatusOr<int64_t> VaultCore::PurgeOldAuditEvents() {
  if (options_.audit_retention <= absl::ZeroDuration()) return 0;
  BYOK_ASSIGN_OR_RETURN(int64_t purged,
                        store_.PurgeAuditEvents(clock_.Now() - options_.audit_retention));
  if (purged > 0) log::Info(kLog, "purged %d audit events past their retention", purged);
  return purged;
}

absl::Status VaultCore::ListAuditEvents(const v1::ListAuditEventsRequest& request,
                                        v1::ListAuditEventsResponse* response) {
  if (request.page_size() < 0) return absl::InvalidArgumentError("page_size must not be negative");
  if (request.user_id().size() > kMaxUserIdSize) {
    return absl::InvalidArgumentError("user_id must be at most 64 characters");
  }
  const int page = request.page_size() == 0 ? kDefaultAuditPage
                                            : std::min(request.page_size(), kMaxAuditPage);
  AuditQuery query;
  if (!request.page_token().empty()) {
    BYOK_ASSIGN_OR_RETURN(query.after_id, ParseAuditPageToken(request.page_token()));
  }
  query.user_id = request.user_id();
  query.limit = page + 1;  // one more than the page says whether another page follows
  BYOK_ASSIGN_OR_RETURN(std::vector<AuditRecord> rows,
                        TimedStoreCall("list_audit_events", [&] { return store_.ListAuditEvents(query); }));
  const bool more = static_cast<int>(rows.size()) > page;
  if (more) rows.resize(page);
  for (const AuditRecord& row : rows) ToProto(row, response->add_events());
  if (more) response->set_next_page_token(AuditPageToken(rows.back().id));
  return absl::OkStatus();
}

}  // namespace byok::vault
