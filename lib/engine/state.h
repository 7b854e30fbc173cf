// dbmig's state tables (SPEC section 6, ENGINE_DESIGN.md): the singleton row
// "<schema>"."state" (last verified version + runner lease) and the step
// history "<schema>"."steps". This file owns their DDL, reading them, and the
// SQL text of every write; the fence that guards each write is the lease's
// (lease.h). Used by apply, status and verify.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "db/connection.h"

namespace dbmig::engine {

enum class StepState { started, applied, verified, failed };

// "started", "applied", "verified", "failed".
[[nodiscard]] std::string_view to_string(StepState state);
// The inverse of to_string; nullopt for anything else.
[[nodiscard]] std::optional<StepState> parse_step_state(std::string_view text);

// One row of the step history.
struct StepRecord {
  std::string version;  // directory name
  int step = 1;         // step number (1 for up.sql)
  std::string file;     // step file name, e.g. "up1.sql"
  std::string sha256;   // of the file as applied
  StepState state = StepState::started;
  bool transactional = true;
  std::optional<std::string> error;        // set when state is failed
  std::string started_at;                  // server timestamptz, as text
  std::optional<std::string> finished_at;  // server timestamptz, as text
  std::optional<std::int64_t> duration_ms;
  std::string runner;  // runner identity that wrote the row last
};

// The lease columns of the singleton row.
struct LeaseInfo {
  std::optional<std::string> owner;       // NULL = free
  std::optional<std::string> expires_at;  // server timestamptz, as text
  std::int64_t token = 0;                 // fencing token
  bool expired = false;                   // expires_at is before the server's now()
  // Held: an owner is set and the lease has not expired.
  [[nodiscard]] bool held() const { return owner.has_value() && !expired; }
};

// Everything dbmig keeps in the database.
struct DatabaseState {
  bool tables_exist = false;           // false: nothing was ever applied
  std::optional<std::string> version;  // last fully applied and verified version
  LeaseInfo lease;
  std::vector<StepRecord> steps;  // every history row, in no particular order

  // The history row of (version, step), or nullptr.
  [[nodiscard]] const StepRecord* find_step(std::string_view version, int step) const;
};

// What a step-history write records. Timestamps come from the server.
struct StepWrite {
  std::string version;
  int step = 1;
  std::string file;
  std::string sha256;
  StepState state = StepState::started;
  bool transactional = true;
  std::optional<std::string> error;
  std::optional<std::int64_t> duration_ms;  // set when the step finished (verified/failed)
  // Instead of duration_ms: the time since the current transaction began
  // (clock_timestamp() - now()), for a step run inside that transaction.
  bool duration_since_transaction_start = false;
  std::string runner;
};

// The state tables of one schema (default "dbmig"). Every identifier is
// quoted through sql::quote_identifier. Valid on PostgreSQL and CockroachDB.
class StateTables {
 public:
  explicit StateTables(std::string schema = "dbmig");

  [[nodiscard]] const std::string& schema() const { return schema_; }
  // "schema"."state" and "schema"."steps", quoted.
  [[nodiscard]] std::string state_table() const;
  [[nodiscard]] std::string steps_table() const;

  // The DDL script (schema, both tables, then the singleton row: on
  // CockroachDB a DDL may not follow a write in one transaction), without
  // BEGIN/COMMIT. Idempotent.
  [[nodiscard]] std::string create_script() const;

  // Reads the singleton row and the whole step history in one round trip.
  // Absent tables (or schema) give tables_exist = false and an empty state.
  // Throws db::DbError on any other failure.
  [[nodiscard]] DatabaseState read(db::Connection& connection) const;

  // Creates the tables when absent, in one transaction retried (bounded, with
  // backoff) on the errors concurrent creators raise (23505, 42P06, 42P07,
  // 40001). Safe for many runners at once on an empty database. Throws
  // db::DbError when it keeps failing. `connection` must be in autocommit.
  void ensure(db::Connection& connection) const;

  // SQL (no trailing ';') upserting one step-history row: started_at is set
  // to the server's now() when the row is (re)started, finished_at to
  // clock_timestamp() for verified/failed rows.
  [[nodiscard]] std::string write_step_sql(const StepWrite& write) const;
  // SQL (no trailing ';') recording `version` as the last verified version.
  [[nodiscard]] std::string advance_version_sql(std::string_view version) const;
  // The same as an assignment for Lease::fence_sql: "version = '...'".
  [[nodiscard]] static std::string advance_version_assignment(std::string_view version);

 private:
  std::string schema_;
};

}  // namespace dbmig::engine
