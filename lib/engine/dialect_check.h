// The one check of the server's dialect against the directory's (contract section 7):
// apply, status and verify all say the same thing about a mismatch, it is
// said before any verify-file complaint, and its advice never rewrites a
// committed file (no generate-verify, no edit of dbmig.json): it names the
// option or the server that is wrong.
#pragma once

#include <optional>

#include "core/failure.h"
#include "db/connection.h"
#include "engine/options.h"
#include "migration/plan.h"
#include "sql/dialect.h"

namespace dbmig::engine {

// The mismatch between `plan` and a server speaking `server`, as a usage
// error (exit 2) with its message and hint; nullopt when they agree.
[[nodiscard]] std::optional<Failure> dialect_mismatch(const migration::Plan& plan,
                                                      sql::Dialect server);

// --dialect names another dialect than the directory is written for: the
// directory's verify files hold the other dialect's proofs. A usage error
// whose hint is to leave --dialect out; nullopt when --dialect agrees (or
// was not given).
[[nodiscard]] std::optional<Failure> dialect_override_problem(const migration::Plan& plan);

// Detects the server's dialect on `connection` and throws dialect_mismatch()
// when there is one. Throws db::DbError when the query fails.
void require_server_dialect(const migration::Plan& plan, db::Connection& connection);

// The same for a command that has not connected yet (apply, before it lists
// verify-file problems): connects read-only, and returns without a word when
// the server cannot be reached or queried (the caller's own complaint then
// stands).
void require_server_dialect_if_reachable(const migration::Plan& plan,
                                         const ConnectionSettings& settings);

}  // namespace dbmig::engine
