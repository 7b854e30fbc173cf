// The state tables. Reads are one round trip (a two-statement script); the
// DDL runs only when a read finds the tables absent, so the up-to-date path
// never takes a DDL lock. Concurrent creators collide on the catalogs' unique
// indexes (23505) or on "already exists" (42P06/42P07): the loser rolls back,
// waits a little and tries again, and then finds everything in place.
#include "engine/state.h"

#include <array>
#include <chrono>
#include <random>
#include <thread>

#include "core/failure.h"
#include "sql/quoting.h"

namespace dbmig::engine {
namespace {

using sql::quote_literal;

constexpr std::array kStateNames{"started", "applied", "verified", "failed"};

std::optional<std::int64_t> optional_int(const db::Result& result, int row, int column) {
  if (result.is_null(row, column)) return std::nullopt;
  return std::stoll(std::string(result.get(row, column)));
}

// The step history's columns by name (the layout's version decides which
// exist: a column a version lacks is -1).
struct StepColumns {
  int version, step, file, sha256, state, transactional, error, started_at, finished_at,
      duration_ms, runner, object_oids, progress, cancelled_index_oid;
  explicit StepColumns(const db::Result& r)
      : version(r.column_index("version")),
        step(r.column_index("step")),
        file(r.column_index("file")),
        sha256(r.column_index("sha256")),
        state(r.column_index("state")),
        transactional(r.column_index("transactional")),
        error(r.column_index("error")),
        started_at(r.column_index("started_at")),
        finished_at(r.column_index("finished_at")),
        duration_ms(r.column_index("duration_ms")),
        runner(r.column_index("runner")),
        object_oids(r.column_index("object_oids")),
        progress(r.column_index("progress")),
        cancelled_index_oid(r.column_index("cancelled_index_oid")) {}
};

StepRecord read_step_row(const db::Result& result, const StepColumns& c, int row) {
  StepRecord record;
  record.version = result.get(row, c.version);
  record.step = static_cast<int>(std::stol(std::string(result.get(row, c.step))));
  record.file = result.get(row, c.file);
  record.sha256 = result.get(row, c.sha256);
  record.state = parse_step_state(result.get(row, c.state)).value_or(StepState::failed);
  record.transactional = result.get_bool(row, c.transactional);
  record.error = result.get_optional(row, c.error);
  record.started_at = result.get(row, c.started_at);
  record.finished_at = result.get_optional(row, c.finished_at);
  record.duration_ms = optional_int(result, row, c.duration_ms);
  record.runner = result.get(row, c.runner);
  if (c.object_oids >= 0 && !result.is_null(row, c.object_oids)) {
    record.object_oids = sql::parse_oids(result.get(row, c.object_oids));
  }
  if (c.progress >= 0) {
    record.progress = static_cast<int>(optional_int(result, row, c.progress).value_or(0));
  }
  if (c.cancelled_index_oid >= 0) {
    record.cancelled_index_oid = result.get_optional(row, c.cancelled_index_oid);
  }
  return record;
}

// The version the singleton row records: 1 when the column is absent (the
// layout before versions) or NULL.
int schema_version_of(const db::Result& singleton) {
  const int column = singleton.column_index("schema_version");
  if (column < 0 || singleton.rows() != 1 || singleton.is_null(0, column)) return 1;
  return static_cast<int>(std::stol(std::string(singleton.get(0, column))));
}

[[noreturn]] void refuse_newer_schema(const std::string& table, int version) {
  throw Failure(ExitCode::usage_error,
                "the state tables " + table + " are of layout version " + std::to_string(version) +
                    ", newer than this dbmig knows (up to " + std::to_string(kStateSchemaVersion) +
                    ")",
                "use a dbmig that knows state schema version " + std::to_string(version) +
                    " (the release that upgraded them, or newer)");
}

// 42P01 undefined_table, 3F000 invalid_schema_name.
bool means_tables_absent(const db::DbError& error) {
  return error.sqlstate() == "42P01" || error.sqlstate() == "3F000";
}

// Errors that two runners creating the tables at once can raise.
bool is_creation_race(const db::DbError& error) {
  const std::string& code = error.sqlstate();
  return code == "23505" || code == "42P06" || code == "42P07" || error.is_retryable();
}

std::string optional_literal(const std::optional<std::string>& value) {
  return value ? quote_literal(*value) : "NULL";
}

std::string oids_sql(const StepWrite& write) {
  if (write.object_oids_sql) return *write.object_oids_sql;
  return write.object_oids ? quote_literal(sql::format_oids(*write.object_oids)) : "NULL";
}

std::string duration_sql(const StepWrite& write) {
  if (write.duration_since_transaction_start) {
    return "CAST(EXTRACT(EPOCH FROM (pg_catalog.clock_timestamp() - pg_catalog.now())) * 1000 AS "
           "BIGINT)";
  }
  return write.duration_ms ? std::to_string(*write.duration_ms) : "NULL";
}

}  // namespace

std::string_view to_string(StepState state) { return kStateNames[static_cast<std::size_t>(state)]; }

std::optional<StepState> parse_step_state(std::string_view text) {
  for (std::size_t i = 0; i < kStateNames.size(); ++i) {
    if (text == kStateNames[i]) return static_cast<StepState>(i);
  }
  return std::nullopt;
}

const StepRecord* DatabaseState::find_step(std::string_view version_name, int step) const {
  for (const StepRecord& record : steps) {
    if (record.version == version_name && record.step == step) return &record;
  }
  return nullptr;
}

StateTables::StateTables(std::string schema) : schema_(std::move(schema)) {}

std::string StateTables::state_table() const {
  return sql::quote_identifier(schema_) + ".\"state\"";
}

std::string StateTables::steps_table() const {
  return sql::quote_identifier(schema_) + ".\"steps\"";
}

std::string StateTables::create_script() const {
  return "CREATE SCHEMA IF NOT EXISTS " + sql::quote_identifier(schema_) +
         ";\n"
         "CREATE TABLE IF NOT EXISTS " +
         state_table() +
         " (\n"
         "  id INT NOT NULL PRIMARY KEY CHECK (id = 1),\n"
         "  version TEXT,\n"
         "  lease_owner TEXT,\n"
         "  lease_expires_at TIMESTAMPTZ,\n"
         "  lease_token BIGINT NOT NULL DEFAULT 0,\n"
         "  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),\n"
         "  schema_version INT\n"
         ");\n"
         "CREATE TABLE IF NOT EXISTS " +
         steps_table() +
         " (\n"
         "  version TEXT NOT NULL,\n"
         "  step INT NOT NULL,\n"
         "  file TEXT NOT NULL,\n"
         "  sha256 TEXT NOT NULL,\n"
         "  state TEXT NOT NULL CHECK (state IN ('started', 'applied', 'verified', 'failed')),\n"
         "  transactional BOOL NOT NULL,\n"
         "  error TEXT,\n"
         "  started_at TIMESTAMPTZ NOT NULL DEFAULT now(),\n"
         "  finished_at TIMESTAMPTZ,\n"
         "  duration_ms BIGINT,\n"
         "  runner TEXT NOT NULL,\n"
         "  object_oids TEXT,\n"
         "  progress INT,\n"
         "  cancelled_index_oid TEXT,\n"
         "  PRIMARY KEY (version, step)\n"
         ");\n"
         "INSERT INTO " +
         state_table() + " (id, schema_version) VALUES (1, " + std::to_string(kStateSchemaVersion) +
         ") ON CONFLICT DO NOTHING";
}

std::vector<std::string> StateTables::upgrade_statements(int from) const {
  if (from >= kStateSchemaVersion) return {};
  return {"ALTER TABLE " + state_table() + " ADD COLUMN IF NOT EXISTS schema_version INT",
          "ALTER TABLE " + steps_table() + " ADD COLUMN IF NOT EXISTS object_oids TEXT",
          "ALTER TABLE " + steps_table() + " ADD COLUMN IF NOT EXISTS progress INT",
          "ALTER TABLE " + steps_table() + " ADD COLUMN IF NOT EXISTS cancelled_index_oid TEXT"};
}

std::string StateTables::record_schema_version_sql() const {
  return "UPDATE " + state_table() +
         " SET schema_version = " + std::to_string(kStateSchemaVersion) + " WHERE id = 1";
}

DatabaseState StateTables::read(db::Connection& connection) const {
  const std::string script =
      "SELECT s.*, COALESCE(s.lease_expires_at < pg_catalog.now(), false) AS dbmig_expired"
      " FROM " +
      state_table() +
      " s WHERE id = 1;\n"
      "SELECT * FROM " +
      steps_table();
  std::vector<db::Result> results;
  try {
    results = connection.exec_script(script);
  } catch (const db::DbError& error) {
    if (means_tables_absent(error)) return DatabaseState{};
    throw;
  }
  DatabaseState state;
  state.tables_exist = true;
  const db::Result& singleton = results.at(0);
  state.schema_version = schema_version_of(singleton);
  if (state.schema_version > kStateSchemaVersion) {
    refuse_newer_schema(state_table(), state.schema_version);
  }
  if (singleton.rows() == 1) {
    state.version = singleton.get_optional(0, singleton.column_index("version"));
    state.lease.owner = singleton.get_optional(0, singleton.column_index("lease_owner"));
    state.lease.expires_at = singleton.get_optional(0, singleton.column_index("lease_expires_at"));
    state.lease.token =
        optional_int(singleton, 0, singleton.column_index("lease_token")).value_or(0);
    state.lease.expired = singleton.get_bool(0, singleton.column_index("dbmig_expired"));
  }
  const db::Result& steps = results.at(1);
  const StepColumns columns(steps);
  for (int row = 0; row < steps.rows(); ++row) {
    state.steps.push_back(read_step_row(steps, columns, row));
  }
  return state;
}

void StateTables::ensure(db::Connection& connection) const {
  constexpr int kAttempts = 10;
  const std::string script = "BEGIN;\n" + create_script() + ";\nCOMMIT";
  std::mt19937 random(std::random_device{}());
  for (int attempt = 1;; ++attempt) {
    db::Transaction transaction = db::Transaction::adopt(connection);
    try {
      connection.exec_script(script);
      return;
    } catch (const db::DbError& error) {
      transaction.rollback();
      if (!is_creation_race(error) || attempt == kAttempts) throw;
    }
    std::uniform_int_distribution<int> jitter(10, 40 * attempt);
    std::this_thread::sleep_for(std::chrono::milliseconds(jitter(random)));
  }
}

std::string StateTables::write_step_sql(const StepWrite& write) const {
  const bool finished = write.state == StepState::verified || write.state == StepState::failed;
  const bool restarts = write.state == StepState::started || write.transactional;
  std::string sql = "INSERT INTO " + steps_table() +
                    " (version, step, file, sha256, state, transactional, error, started_at,"
                    " finished_at, duration_ms, runner, object_oids, progress) VALUES (" +
                    quote_literal(write.version) + ", " + std::to_string(write.step) + ", " +
                    quote_literal(write.file) + ", " + quote_literal(write.sha256) + ", " +
                    quote_literal(to_string(write.state)) + ", " +
                    (write.transactional ? "true" : "false") + ", " +
                    optional_literal(write.error) + ", pg_catalog.now(), " +
                    (finished ? "pg_catalog.clock_timestamp()" : "NULL") + ", " +
                    duration_sql(write) + ", " + quote_literal(write.runner) + ", " +
                    oids_sql(write) + ", " + std::to_string(write.progress.value_or(0)) +
                    ") ON CONFLICT (version, step) DO UPDATE SET file = excluded.file,"
                    " sha256 = excluded.sha256, state = excluded.state,"
                    " transactional = excluded.transactional, error = excluded.error,"
                    " finished_at = excluded.finished_at, duration_ms = excluded.duration_ms,"
                    " runner = excluded.runner, cancelled_index_oid = NULL";
  if (restarts) sql += ", started_at = excluded.started_at";
  if (restarts || write.object_oids || write.object_oids_sql) {
    sql += ", object_oids = excluded.object_oids";
  }
  if (restarts || write.progress) sql += ", progress = excluded.progress";
  return sql;
}

std::string StateTables::progress_sql(std::string_view version, int step, int statements) const {
  return "UPDATE " + steps_table() + " SET progress = " + std::to_string(statements) +
         " WHERE version = " + quote_literal(version) + " AND step = " + std::to_string(step);
}

std::string StateTables::record_cancelled_build_sql(std::string_view version, int step,
                                                    std::string_view index_oid,
                                                    std::string_view message) const {
  return "UPDATE " + steps_table() + " SET cancelled_index_oid = " + quote_literal(index_oid) +
         ", error = " + quote_literal(message) + " WHERE version = " + quote_literal(version) +
         " AND step = " + std::to_string(step);
}

std::string StateTables::advance_version_sql(std::string_view version) const {
  return "UPDATE " + state_table() + " SET " + advance_version_assignment(version) +
         ", updated_at = now() WHERE id = 1";
}

std::string StateTables::advance_version_assignment(std::string_view version) {
  return "version = " + quote_literal(version);
}

}  // namespace dbmig::engine
