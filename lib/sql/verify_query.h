// The verification query of a Change (SPEC sections 4 and 5): one SELECT that
// returns exactly one row with one boolean column, true when the change is
// complete. Pure string generation; every identifier and literal quoted.
#pragma once

#include <string>

#include "sql/classify.h"

namespace dbmig::sql {

// One line (no newline, no "--") saying what the query proves, e.g.
// `index "public"."users_email_idx" on "public"."users" is valid, ready and live`.
[[nodiscard]] std::string describe_change(const Change& change, Dialect dialect);

// The SELECT proving `change` for `dialect`, without a trailing `;`.
// Deterministic: the same change always gives the same bytes.
[[nodiscard]] std::string verify_query(const Change& change, Dialect dialect);

}  // namespace dbmig::sql
