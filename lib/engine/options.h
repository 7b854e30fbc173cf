// Options of the database commands, as parsed by app/ and used by the engine.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

namespace dbmig::engine {

using std::chrono::milliseconds;

struct DatabaseState;

// Called once the recorded state is read, before anything is written: where
// app/ analyses the steps the plan left unanalysed (migration::PlanOptions::
// defer_analysis) and stops the command on their errors (may throw Failure).
using StateReadHook = std::function<void(const DatabaseState&)>;

struct ConnectionSettings {
  std::string conninfo;                // --db / DATABASE_URL; "" = libpq's PG* defaults
  std::string state_schema = "dbmig";  // --state-schema
};

struct ApplyOptions {
  std::optional<std::string> to;  // --to VERSION (directory name, or N in numbered trees)
  bool dry_run = false;           // --dry-run: print the plan, touch nothing
  bool repair = false;            // --repair: drop the step's INVALID index, re-run the step
  bool allow_drift = false;       // --allow-drift
  milliseconds verify_timeout{30 * 60 * 1000};  // --verify-timeout
  milliseconds lock_timeout{60 * 1000};         // --lock-timeout: wait for the lease
  milliseconds ddl_lock_timeout{5 * 1000};      // --ddl-lock-timeout: SET LOCAL lock_timeout
  milliseconds lease_ttl{15 * 1000};            // --lease-ttl
  StateReadHook on_state_read{};                // see StateReadHook
  milliseconds wait_for_db{0};  // --wait-for-db: retry connecting for so long (0: do not)
};

struct StatusOptions {
  bool exit_code = false;         // --exit-code: 3 when anything is pending, failed or drifted
  StateReadHook on_state_read{};  // see StateReadHook
  bool history = false;           // --history: also list the applied versions
};

}  // namespace dbmig::engine
