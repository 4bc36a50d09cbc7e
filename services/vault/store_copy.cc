#include "services/vault/store_copy.h"

#include <filesystem>
#include <memory>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "services/vault/key_store_factory.h"
#include "services/vault/pg_connection.h"

namespace byok::vault {
namespace {

constexpr absl::Duration kCopyStatementTimeout = absl::Minutes(30);

bool SameUsers(const std::vector<UserRecord>& a, const std::vector<UserRecord>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].user_id != b[i].user_id || a[i].app_id != b[i].app_id ||
        a[i].token_hash != b[i].token_hash || a[i].token_hmac_version != b[i].token_hmac_version ||
        a[i].created_at != b[i].created_at || a[i].expires_at != b[i].expires_at) {
      return false;
    }
  }
  return true;
}

bool SameKeys(const std::vector<KeyRecord>& a, const std::vector<KeyRecord>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].user_id != b[i].user_id || a[i].provider != b[i].provider ||
        a[i].ciphertext != b[i].ciphertext || a[i].key_version != b[i].key_version ||
        a[i].base_url != b[i].base_url || a[i].created_at != b[i].created_at ||
        a[i].updated_at != b[i].updated_at) {
      return false;
    }
  }
  return true;
}

bool SameUsage(const std::vector<UsageRecord>& a, const std::vector<UsageRecord>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].user_id != b[i].user_id || a[i].app_id != b[i].app_id ||
        a[i].provider != b[i].provider || a[i].model != b[i].model || a[i].status != b[i].status ||
        a[i].latency_ms != b[i].latency_ms || a[i].input_tokens != b[i].input_tokens ||
        a[i].output_tokens != b[i].output_tokens || a[i].at != b[i].at) {
      return false;
    }
  }
  return true;
}

}  // namespace

absl::StatusOr<StoreCopyReport> CopyStore(KeyStore& from, KeyStore& to) {
  BYOK_ASSIGN_OR_RETURN(bool empty, to.Empty());
  if (!empty) {
    return absl::FailedPreconditionError(
        "the target already holds users, keys or usage records; copy only into an empty store "
        "(nothing was written)");
  }
  BYOK_ASSIGN_OR_RETURN(ImportData data, from.Export());
  BYOK_RETURN_IF_ERROR(to.Import(data));
  BYOK_ASSIGN_OR_RETURN(ImportData copied, to.Export());
  if (!SameUsers(data.users, copied.users) || !SameKeys(data.keys, copied.keys) ||
      !SameUsage(data.usage, copied.usage)) {
    return absl::DataLossError(
        "the target does not read back what was copied into it; do not use it (the source is "
        "unchanged)");
  }
  StoreCopyReport report;
  report.users = static_cast<int64_t>(data.users.size());
  report.keys = static_cast<int64_t>(data.keys.size());
  report.usage_records = static_cast<int64_t>(data.usage.size());
  return report;
}

absl::StatusOr<StoreCopyReport> CopyStoreAt(const std::string& from, const std::string& to) {
  if (from == to) return absl::InvalidArgumentError("--from and --to name the same store");
  // Opening a SQLite path creates the file: a source that is not there is a mistake, not an empty store.
  std::error_code error;
  if (!IsPostgresUrl(from) && !std::filesystem::exists(from, error)) {
    return absl::NotFoundError(absl::StrCat("there is no database file at ", from));
  }
  // A whole deployment is read and written in single statements and one transaction: far longer
  // than the vault's per-call bounds allow.
  PgKeyStore::Options pg;
  pg.pool_size = 1;
  pg.timeouts.statement = kCopyStatementTimeout;
  absl::StatusOr<std::unique_ptr<KeyStore>> source = OpenKeyStore(from, pg);
  if (!source.ok()) {
    return absl::Status(source.status().code(), absl::StrCat("cannot open the source (",
                                                             DescribeStoreLocation(from), "): ",
                                                             source.status().message()));
  }
  absl::StatusOr<std::unique_ptr<KeyStore>> target = OpenKeyStore(to, pg);
  if (!target.ok()) {
    return absl::Status(target.status().code(), absl::StrCat("cannot open the target (",
                                                             DescribeStoreLocation(to), "): ",
                                                             target.status().message()));
  }
  return CopyStore(**source, **target);
}

std::string DescribeCopy(const StoreCopyReport& report, const std::string& from,
                         const std::string& to) {
  return absl::StrCat("copied ", report.users, " users, ", report.keys, " keys (ciphertexts as stored) and ",
                      report.usage_records, " usage records from ", DescribeStoreLocation(from),
                      " to ", DescribeStoreLocation(to), "; every row read back and compared");
}

}  // namespace byok::vault
