// dbmig baseline (docs/contract.md section 7): adopt a database that was migrated by
// other means. Records as applied, without running them, every version up to
// --to, or exactly the versions another tool's history table marks applied
// (--from-tool, mapped through dbmig.json "imported_from", which `dbmig
// import` writes), after every proof of those versions holds.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "core/failure.h"
#include "engine/options.h"
#include "engine/report.h"
#include "migration/plan.h"

namespace dbmig::engine {

struct BaselineOptions {
  std::optional<std::string> to;                      // --to VERSION
  std::optional<std::string> from_tool;               // --from-tool FORMAT (import's names)
  std::optional<std::string> history_table;           // --history-table SCHEMA.NAME
  std::chrono::milliseconds lock_timeout{60 * 1000};  // --lock-timeout: wait for the lease
};

// Refuses (Failure, usage_error) when: dbmig already recorded anything; the
// version or format is unknown; the directory was not imported from that
// tool; the history table is absent, dirty (golang-migrate), holds a failed
// or unfinished record (Flyway, Prisma) or a version the directory lacks;
// the recorded versions are not a prefix of the directory's order (names the
// first gap). Refuses with check_failed (exit 3) when a proof of a version to
// record does not hold (names it); proofs superseded by a later recorded
// version are skipped as `verify` skips them. Otherwise records every step
// of those versions `verified` and the last as the current version, in one
// fenced write under the lease, and lists the versions recorded unproved.
ExitCode baseline(const migration::Plan& plan, const ConnectionSettings& settings,
                  const BaselineOptions& options, Reporter& reporter);

}  // namespace dbmig::engine
