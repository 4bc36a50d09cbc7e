#include "apps/local_secret.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace byok::apps {
namespace {

constexpr char kFileName[] = "encryption.secret";
constexpr size_t kSecretBytes = 32;

bool IsHex64(const std::string& s) {
  if (s.size() != 2 * kSecretBytes) return false;
  for (char c : s) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

absl::StatusOr<std::string> ReadSecret(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return absl::NotFoundError(path);
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " is readable by other users; run: chmod 600 ", path));
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
  char buf[256];
  ssize_t n = ::read(fd, buf, sizeof(buf));
  ::close(fd);
  std::string text(buf, n > 0 ? static_cast<size_t>(n) : 0);
  OPENSSL_cleanse(buf, sizeof(buf));
  std::string trimmed(absl::StripAsciiWhitespace(text));
  OPENSSL_cleanse(text.data(), text.size());
  if (!IsHex64(trimmed)) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " does not hold a secret of 64 hex characters"));
  }
  return trimmed;
}

}  // namespace

std::string DataFolder(const std::string& db_path) {
  std::filesystem::path parent = std::filesystem::path(db_path).parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

absl::StatusOr<LocalSecret> LoadOrCreateSecret(const std::string& folder) {
  LocalSecret result;
  result.path = (std::filesystem::path(folder) / kFileName).string();
  auto existing = ReadSecret(result.path);
  if (existing.ok()) {
    result.hex = *std::move(existing);
    return result;
  }
  if (existing.status().code() != absl::StatusCode::kNotFound) return existing.status();

  std::error_code ec;
  std::filesystem::create_directories(folder, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("cannot create ", folder, ": ", ec.message()));
  ::chmod(folder.c_str(), 0700);

  unsigned char bytes[kSecretBytes];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    return absl::InternalError("the system random generator failed");
  }
  std::string hex = absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
  OPENSSL_cleanse(bytes, sizeof(bytes));
  // O_EXCL: two first starts at once cannot overwrite each other's secret.
  int fd = ::open(result.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return LoadOrCreateSecret(folder);
    return absl::UnavailableError(
        absl::StrCat("cannot create ", result.path, ": ", std::strerror(errno)));
  }
  std::string line = hex + "\n";
  bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  bool synced = ::fsync(fd) == 0;
  ::close(fd);
  OPENSSL_cleanse(line.data(), line.size());
  if (!written || !synced) {
    ::unlink(result.path.c_str());
    return absl::UnavailableError(absl::StrCat("cannot write ", result.path));
  }
  result.hex = std::move(hex);
  result.created = true;
  return result;
}

absl::StatusOr<LocalSecret> SecretForDatabase(const std::string& db_path) {
  const std::string folder = DataFolder(db_path);
  const std::string secret_path = (std::filesystem::path(folder) / kFileName).string();
  absl::StatusOr<std::string> existing = ReadSecret(secret_path);
  if (existing.ok()) {
    LocalSecret result;
    result.hex = *std::move(existing);
    result.path = secret_path;
    return result;
  }
  if (existing.status().code() != absl::StatusCode::kNotFound) return existing.status();
  std::error_code ec;
  const bool database_exists =
      (std::filesystem::is_regular_file(db_path, ec) && std::filesystem::file_size(db_path, ec) > 0) ||
      std::filesystem::exists(db_path + "-wal", ec);
  if (database_exists) {
    return absl::FailedPreconditionError(absl::StrCat(
        "DB_PATH ", db_path, " already holds a database, but ENCRYPTION_SECRET is not set and ",
        secret_path,
        " does not exist. Set ENCRYPTION_SECRET to the secret that database was written with (for an "
        "original byok-relay database: its ENCRYPTION_SECRET, ENCRYPTION_SALT and TOKEN_HMAC_SECRET); "
        "a generated secret could not decrypt its keys. Nothing was changed."));
  }
  return LoadOrCreateSecret(folder);
}

}  // namespace byok::apps
