// When dbmig interrupts its own step (SIGINT/SIGTERM, contract section 6 "Failure"): the
// message names the step and any index whose concurrent build the cancel left
// INVALID; that index's OID is recorded in the step's row, and the next apply
// rebuilds exactly that index (same OID, same table, same name) without
// --repair. Any other INVALID index still needs --repair.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/failure.h"
#include "db/connection.h"
#include "engine/lease.h"
#include "engine/server.h"
#include "engine/state.h"
#include "migration/plan.h"
#include "sql/verify_query.h"

namespace dbmig::engine {

// An index a cancelled CREATE INDEX CONCURRENTLY left INVALID.
struct CancelledBuild {
  std::string index;  // quoted, as the step names it
  std::string table;  // quoted, as the step names it
  std::string index_oid;
};

// The Failure(runtime_failure) of an interrupted run: "interrupted" alone
// when `step_label` is empty (no step was running), else naming the step
// and, when set, the index `build` left INVALID; the hint says what the next
// apply does about it.
[[nodiscard]] Failure interrupted_failure(std::string_view step_label,
                                          const std::optional<CancelledBuild>& build);

// PostgreSQL: the INVALID index (if any) of a CREATE INDEX change made by
// `statement` of `step`, looked up by the OIDs in `targets` (one per change
// of the step, as apply resolved them right after the statement). Throws
// db::DbError.
[[nodiscard]] std::optional<CancelledBuild> find_cancelled_build(
    db::Connection& connection, const migration::PlannedStep& step, const sql::Statement& statement,
    const std::vector<std::optional<sql::ObjectOids>>& targets);

// Called when SIGINT/SIGTERM cancelled `statement` of `step`: records (fenced
// by `lease`) the index the cancel left INVALID in the step's row, then
// throws interrupted_failure(). A failure to record only costs the
// exemption from --repair (the message says so); it never hides the
// interruption.
[[noreturn]] void stop_interrupted_statement(
    db::Connection& state, Lease& lease, const StateTables& tables,
    const migration::PlannedVersion& version, const migration::PlannedStep& step,
    const sql::Statement& statement, const std::vector<std::optional<sql::ObjectOids>>& targets);

// Whether the INVALID index `index` is the one dbmig cancelled itself:
// `recorded_oid` (the step row's cancelled_index_oid) is its OID, and the
// step's index and table, resolved by name now (`by_name`), are that same
// index on that same table. Such an index is dropped and rebuilt without
// --repair.
[[nodiscard]] bool is_own_cancelled_build(const std::optional<std::string>& recorded_oid,
                                          const IndexState& index, const sql::ObjectOids& by_name);

}  // namespace dbmig::engine
