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

#include "sql/quoting.h"

namespace dbmig::engine {
namespace {

using sql::quote_literal;

constexpr std::array kStateNames{"started", "applied", "verified", "failed"};

bool is_true(std::string_view text) { return text == "t" || text == "true"; }

std::optional<std::int64_t> optional_int(const db::Result& result, int row, int column) {
  if (result.is_null(row, column)) return std::nullopt;
  return std::stoll(std::string(result.get(row, column)));
}

StepRecord read_step_row(const db::Result& result, int row) {
  StepRecord record;
  record.version = result.get(row, 0);
  record.step = static_cast<int>(std::stol(std::string(result.get(row, 1))));
  record.file = result.get(row, 2);
  record.sha256 = result.get(row, 3);
  record.state = parse_step_state(result.get(row, 4)).value_or(StepState::failed);
  record.transactional = is_true(result.get(row, 5));
  record.error = result.get_optional(row, 6);
  record.started_at = result.get(row, 7);
  record.finished_at = result.get_optional(row, 8);
  record.duration_ms = optional_int(result, row, 9);
  record.runner = result.get(row, 10);
  return record;
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

void rollback_quietly(db::Connection& connection) {
  try {
    connection.exec("ROLLBACK");
  } catch (const db::DbError&) {
    // Nothing to roll back, or the connection is gone: the caller rethrows.
  }
}

std::string optional_literal(const std::optional<std::string>& value) {
  return value ? quote_literal(*value) : "NULL";
}

std::string duration_sql(const StepWrite& write) {
  if (write.duration_since_transaction_start) {
    return "CAST(EXTRACT(EPOCH FROM (clock_timestamp() - now())) * 1000 AS BIGINT)";
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
         "  updated_at TIMESTAMPTZ NOT NULL DEFAULT now()\n"
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
         "  PRIMARY KEY (version, step)\n"
         ");\n"
         "INSERT INTO " +
         state_table() + " (id) VALUES (1) ON CONFLICT DO NOTHING";
}

DatabaseState StateTables::read(db::Connection& connection) const {
  const std::string script =
      "SELECT version, lease_owner, lease_expires_at, lease_token,"
      " COALESCE(lease_expires_at < now(), false) FROM " +
      state_table() +
      " WHERE id = 1;\n"
      "SELECT version, step, file, sha256, state, transactional, error, started_at,"
      " finished_at, duration_ms, runner FROM " +
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
  if (singleton.rows() == 1) {
    state.version = singleton.get_optional(0, 0);
    state.lease.owner = singleton.get_optional(0, 1);
    state.lease.expires_at = singleton.get_optional(0, 2);
    state.lease.token = optional_int(singleton, 0, 3).value_or(0);
    state.lease.expired = is_true(singleton.get(0, 4));
  }
  const db::Result& steps = results.at(1);
  for (int row = 0; row < steps.rows(); ++row) state.steps.push_back(read_step_row(steps, row));
  return state;
}

void StateTables::ensure(db::Connection& connection) const {
  constexpr int kAttempts = 10;
  const std::string script = "BEGIN;\n" + create_script() + ";\nCOMMIT";
  std::mt19937 random(std::random_device{}());
  for (int attempt = 1;; ++attempt) {
    try {
      connection.exec_script(script);
      return;
    } catch (const db::DbError& error) {
      rollback_quietly(connection);
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
                    " finished_at, duration_ms, runner) VALUES (" +
                    quote_literal(write.version) + ", " + std::to_string(write.step) + ", " +
                    quote_literal(write.file) + ", " + quote_literal(write.sha256) + ", " +
                    quote_literal(to_string(write.state)) + ", " +
                    (write.transactional ? "true" : "false") + ", " +
                    optional_literal(write.error) + ", now(), " +
                    (finished ? "clock_timestamp()" : "NULL") + ", " + duration_sql(write) + ", " +
                    quote_literal(write.runner) +
                    ") ON CONFLICT (version, step) DO UPDATE SET file = excluded.file,"
                    " sha256 = excluded.sha256, state = excluded.state,"
                    " transactional = excluded.transactional, error = excluded.error,"
                    " finished_at = excluded.finished_at, duration_ms = excluded.duration_ms,"
                    " runner = excluded.runner";
  if (restarts) sql += ", started_at = excluded.started_at";
  return sql;
}

std::string StateTables::advance_version_sql(std::string_view version) const {
  return "UPDATE " + state_table() + " SET " + advance_version_assignment(version) +
         ", updated_at = now() WHERE id = 1";
}

std::string StateTables::advance_version_assignment(std::string_view version) {
  return "version = " + quote_literal(version);
}

}  // namespace dbmig::engine
