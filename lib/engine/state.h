// dbmig's state tables (docs/contract.md section 6, docs/apply.md): the singleton row
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
#include "sql/verify_query.h"

namespace dbmig::engine {

// The version of the state tables' layout this dbmig writes. 1: the layout
// before the version existed (no schema_version column); 2: the step history
// records the OIDs its proofs are about and the statements committed; 3: it
// records the index whose build dbmig cancelled itself (SIGINT/SIGTERM).
inline constexpr int kStateSchemaVersion = 3;

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
  // The OIDs of the step's proofs, one per change in order; nullopt when the
  // row was recorded without them (before state schema 2, or not resolved).
  std::optional<std::vector<sql::ObjectOids>> object_oids;
  // Statements of a non-transactional step committed under the fence (the
  // first `progress` statements); 0 when none or unknown.
  int progress = 0;
  // The OID of the index whose concurrent build this step's runner cancelled
  // itself (SIGINT/SIGTERM), left INVALID; nullopt when none (or before
  // state schema 3). The next apply rebuilds that index without --repair.
  std::optional<std::string> cancelled_index_oid;
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
  int schema_version = 0;              // the tables' layout (0 when absent)
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
  // The proofs' OIDs: a "T:O,..." literal, or (object_oids_sql) an SQL
  // expression giving it, evaluated in the write's transaction. Neither:
  // the recorded OIDs are kept when the row is not restarted.
  std::optional<std::vector<sql::ObjectOids>> object_oids;
  std::optional<std::string> object_oids_sql;
  // Statements committed so far (non-transactional steps); nullopt keeps
  // the recorded count (0 when the row is restarted).
  std::optional<int> progress;
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

  // Reads the singleton row and the whole step history in one round trip,
  // whatever the layout's version (columns are found by name). Absent
  // tables (or schema) give tables_exist = false and an empty state. Throws
  // db::DbError on any other failure, and Failure(usage_error) naming the
  // version when the tables are newer than this dbmig knows.
  [[nodiscard]] DatabaseState read(db::Connection& connection) const;

  // The statements (each run alone, in autocommit; idempotent) that bring
  // tables of layout `from` to kStateSchemaVersion, and the write (to be
  // fenced) that records the new version. Empty when `from` is current.
  [[nodiscard]] std::vector<std::string> upgrade_statements(int from) const;
  [[nodiscard]] std::string record_schema_version_sql() const;

  // Creates the tables when absent, in one transaction retried (bounded, with
  // backoff) on the errors concurrent creators raise (23505, 42P06, 42P07,
  // 40001). Safe for many runners at once on an empty database. Throws
  // db::DbError when it keeps failing. `connection` must be in autocommit.
  void ensure(db::Connection& connection) const;

  // SQL (no trailing ';') upserting one step-history row: started_at is set
  // to the server's now() when the row is (re)started, finished_at to
  // clock_timestamp() for verified/failed rows. Every such write clears the
  // record of a cancelled build (record_cancelled_build_sql).
  [[nodiscard]] std::string write_step_sql(const StepWrite& write) const;
  // SQL (no trailing ';') recording that the first `statements` statements
  // of (version, step) committed.
  [[nodiscard]] std::string progress_sql(std::string_view version, int step, int statements) const;
  // SQL (no trailing ';') recording on (version, step)'s row that dbmig
  // cancelled its own build of the index `index_oid` (left INVALID), with
  // `message` as the row's error; the row's state is kept.
  [[nodiscard]] std::string record_cancelled_build_sql(std::string_view version, int step,
                                                       std::string_view index_oid,
                                                       std::string_view message) const;
  // SQL (no trailing ';') recording `version` as the last verified version.
  [[nodiscard]] std::string advance_version_sql(std::string_view version) const;
  // The same as an assignment for Lease::fence_sql: "version = '...'".
  [[nodiscard]] static std::string advance_version_assignment(std::string_view version);

 private:
  std::string schema_;
};

}  // namespace dbmig::engine
