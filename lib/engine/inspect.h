// What the read-only commands (status, verify) share: connecting, and how
// steps and verify-file problems are named (the comparison of plan and
// recorded state itself is compare.h).
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "core/diagnostic.h"
#include "db/connection.h"
#include "engine/options.h"
#include "engine/state.h"
#include "migration/plan.h"

namespace dbmig::engine {

// Opens one connection (db::state_session: application_name dbmig, dbmig's
// timeouts; search_path=pg_catalog,pg_temp when `catalog_search_path`, else
// the database's, to resolve the names a step wrote). Throws db::DbError
// when the server cannot be reached; the message never holds a password.
[[nodiscard]] db::Connection connect_for_reading(const ConnectionSettings& settings,
                                                 bool catalog_search_path);

// contract section 7: the steps `apply` and `status` analyse: every step except those
// recorded `verified` with the sha256 the file has now (those were analysed
// when they ran). The predicate holds its own index of `state`'s history.
[[nodiscard]] std::function<bool(const migration::PlannedVersion&, const migration::PlannedStep&)>
steps_to_analyse(const DatabaseState& state);

// "missing", "stale", "spurious" or "outdated".
[[nodiscard]] std::string_view to_string(migration::VerifyFileProblem::Kind kind);

// "<version>/<file>", how steps are named in every listing.
[[nodiscard]] std::string step_label(std::string_view version, std::string_view file);

// `path` relative to the plan's root when it lies below it.
[[nodiscard]] std::string relative_path(const migration::Plan& plan,
                                        const std::filesystem::path& path);

}  // namespace dbmig::engine
