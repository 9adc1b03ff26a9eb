// Early-return helpers for absl::Status and absl::StatusOr<T>.
// Debian 12's Abseil (20220623) predates Abseil's own macros, so flywheel has these.
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define FW_STATUS_CONCAT_INNER_(a, b) a##b
#define FW_STATUS_CONCAT_(a, b) FW_STATUS_CONCAT_INNER_(a, b)

// Returns the status from the enclosing function if `expr` is not OK.
#define RETURN_IF_ERROR(expr)                 \
  do {                                        \
    const ::absl::Status fw_status_ = (expr); \
    if (!fw_status_.ok()) return fw_status_;  \
  } while (0)

// ASSIGN_OR_RETURN(lhs, expr): evaluates a StatusOr expression; on error returns its status,
// otherwise moves the value into `lhs` (which may be a declaration, e.g. `auto x`).
#define ASSIGN_OR_RETURN(lhs, expr) \
  FW_ASSIGN_OR_RETURN_IMPL_(FW_STATUS_CONCAT_(fw_statusor_, __LINE__), lhs, expr)

#define FW_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                              \
  if (!statusor.ok()) return statusor.status();        \
  lhs = std::move(statusor).value()
