// The database commands. Each takes a validated plan (migration/plan.h), the
// connection settings and its options, reports through a Reporter, and
// returns the exit code of docs/contract.md section 7 (or throws dbmig::Failure /
// db::DbError, which app/ maps to exit codes in one place).
#pragma once

#include "core/failure.h"
#include "engine/options.h"
#include "engine/report.h"
#include "migration/plan.h"

namespace dbmig::engine {

// dbmig apply (contract section 6): the completion barrier. See apply.cpp.
ExitCode apply(const migration::Plan& plan, const ConnectionSettings& connection,
               const ApplyOptions& options, Reporter& reporter);

// dbmig status (contract section 7): current version, pending work, in-progress/failed
// steps, lease holder, drift, invalid indexes (PostgreSQL).
ExitCode status(const migration::Plan& plan, const ConnectionSettings& connection,
                const StatusOptions& options, Reporter& reporter);

// dbmig verify (contract section 7): runs every applied step's proof against the live
// database; superseded proofs are reported as such, not as failures.
ExitCode verify(const migration::Plan& plan, const ConnectionSettings& connection,
                Reporter& reporter);

}  // namespace dbmig::engine
