// Status helpers shared by every service: early-return macros and the one table that maps status codes
// onto HTTP statuses.
#ifndef BYOK_COMMON_STATUS_H_
#define BYOK_COMMON_STATUS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Returns from the enclosing function when `expr` (an absl::Status) is not OK.
#define BYOK_RETURN_IF_ERROR(expr)                 \
  do {                                             \
    if (absl::Status byok_status_ = (expr); !byok_status_.ok()) { \
      return byok_status_;                         \
    }                                              \
  } while (false)

#define BYOK_STATUS_CONCAT_INNER_(a, b) a##b
#define BYOK_STATUS_CONCAT_(a, b) BYOK_STATUS_CONCAT_INNER_(a, b)

// Evaluates `rexpr` (an absl::StatusOr<T>); returns its status when not OK, else moves its value into
// `lhs` (a declaration such as `auto x` or an existing variable).
#define BYOK_ASSIGN_OR_RETURN(lhs, rexpr) \
  BYOK_ASSIGN_OR_RETURN_IMPL_(BYOK_STATUS_CONCAT_(byok_statusor_, __LINE__), lhs, rexpr)
#define BYOK_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                \
  if (!statusor.ok()) {                                   \
    return std::move(statusor).status();                  \
  }                                                       \
  lhs = *std::move(statusor)

namespace byok {

// Returns the HTTP status that answers a request which failed with `code` (the REST API's error table).
int HttpStatusFromCode(absl::StatusCode code);

}  // namespace byok

#endif  // BYOK_COMMON_STATUS_H_
