// How each tool's history table says what is applied (docs/import.md,
// "baseline"): one reader per tool, each returning the tool's versions as
// `dbmig import` wrote them into dbmig.json "imported_from".
#include "engine/baseline.h"

#include <algorithm>
#include <map>
#include <set>

#include "engine/inspect.h"
#include "engine/lease.h"
#include "engine/state.h"
#include "engine/superseded_proofs.h"
#include "migration/directory.h"
#include "migration/version_name.h"
#include "sql/quoting.h"
#include "sql/verify_query.h"

namespace dbmig::engine {
namespace {

using nlohmann::json;

[[noreturn]] void refuse(const std::string& message, const std::string& hint = {}) {
  throw Failure(ExitCode::usage_error, message, hint);
}

// Tool versions in Flyway's order (migration/version_name.h); plain numbers
// compare as numbers.
bool version_less(std::string_view a, std::string_view b) {
  return migration::flyway_version_less(migration::flyway_version_parts(a),
                                        migration::flyway_version_parts(b));
}

struct ToolHistory {
  std::set<std::string> applied;     // tool versions
  std::optional<std::string> up_to;  // every version <= this is applied (golang-migrate,
                                     // a Flyway BASELINE row)
};

class HistoryReader {
 public:
  HistoryReader(db::Connection& connection, std::string format, std::string table)
      : connection_(connection), format_(std::move(format)), table_(std::move(table)) {}

  ToolHistory read() {
    require_table();
    if (format_ == "golang-migrate") return golang_migrate();
    if (format_ == "dbmate") return single_column("dbmate");
    if (format_ == "diesel") return single_column("diesel");
    if (format_ == "prisma") return prisma();
    if (format_ == "flyway") return flyway();
    if (format_ == "goose") return goose();
    refuse("--from-tool: unknown format \"" + format_ + "\"",
           "one of: diesel, golang-migrate, dbmate, prisma, flyway, goose");
  }

 private:
  db::Result query(const std::string& sql) { return connection_.exec(sql); }

  void require_table() {
    const db::Result found =
        connection_.exec_params("SELECT pg_catalog.to_regclass($1) IS NOT NULL", {table_});
    if (!db::is_true(found.get(0, 0))) {
      refuse("the " + format_ + " history table " + table_ + " does not exist",
             "pass --history-table SCHEMA.NAME where the tool keeps it under another name");
    }
    const db::Result columns = connection_.exec_params(
        "SELECT attname FROM pg_catalog.pg_attribute WHERE attrelid OPERATOR(pg_catalog.=) "
        "pg_catalog.to_regclass($1) AND attnum > 0 AND NOT attisdropped",
        {table_});
    for (int row = 0; row < columns.rows(); ++row)
      columns_.insert(std::string(columns.get(row, 0)));
  }

  // golang-migrate and dbmate both default to schema_migrations: only
  // golang-migrate's has the dirty column.
  void require_columns(std::initializer_list<std::string_view> names, std::string_view tool) {
    for (std::string_view name : names) {
      if (columns_.contains(std::string(name))) continue;
      refuse(table_ + " has no column " + std::string(name) + ": it is not " + std::string(tool) +
                 "'s history table",
             "check --from-tool (dbmate and golang-migrate both default to schema_migrations)");
    }
  }

  ToolHistory golang_migrate() {
    require_columns({"version", "dirty"}, "golang-migrate");
    const db::Result rows = query("SELECT version::text, dirty FROM " + table_);
    ToolHistory history;
    if (rows.rows() == 0) return history;
    if (db::is_true(rows.get(0, 1))) {
      refuse(table_ + " is dirty at version " + std::string(rows.get(0, 0)),
             "golang-migrate failed in the middle of that version; fix the database and clear "
             "the dirty flag with `migrate force` first");
    }
    history.up_to = std::string(rows.get(0, 0));
    return history;
  }

  ToolHistory single_column(std::string_view tool) {
    require_columns({"version"}, tool);
    if (tool == "dbmate" && columns_.contains("dirty")) {
      refuse(table_ + " has a dirty column: it is golang-migrate's history table, not dbmate's",
             "pass --from-tool golang-migrate");
    }
    const db::Result rows = query("SELECT version::text FROM " + table_);
    ToolHistory history;
    for (int row = 0; row < rows.rows(); ++row)
      history.applied.insert(std::string(rows.get(row, 0)));
    return history;
  }

  ToolHistory prisma() {
    require_columns({"migration_name", "finished_at", "rolled_back_at"}, "Prisma");
    const db::Result rows = query(
        "SELECT migration_name, finished_at IS NOT NULL, "
        "rolled_back_at IS NOT NULL FROM " +
        table_);
    ToolHistory history;
    for (int row = 0; row < rows.rows(); ++row) {
      const std::string name(rows.get(row, 0));
      if (db::is_true(rows.get(row, 2))) continue;  // rolled back
      if (!db::is_true(rows.get(row, 1))) {
        refuse("Prisma migration " + name + " is recorded neither finished nor rolled back",
               "it failed or is running; resolve it with `prisma migrate resolve` first");
      }
      history.applied.insert(name);
    }
    return history;
  }

  ToolHistory flyway() {
    require_columns({"version", "success", "type"}, "Flyway");
    const db::Result rows = query("SELECT version, success, type FROM " + table_ +
                                  " WHERE version IS NOT NULL ORDER BY installed_rank");
    ToolHistory history;
    for (int row = 0; row < rows.rows(); ++row) {
      const std::string version =
          migration::flyway_version_name(migration::flyway_version_parts(rows.get(row, 0)));
      if (!db::is_true(rows.get(row, 1))) {
        refuse("Flyway version " + version + " is recorded as failed",
               "repair it with `flyway repair` first");
      }
      if (rows.get(row, 2) == "BASELINE") {
        history.up_to = version;
      } else {
        history.applied.insert(version);
      }
    }
    return history;
  }

  ToolHistory goose() {
    require_columns({"version_id", "is_applied"}, "goose");
    const db::Result rows =
        query("SELECT version_id::text, is_applied FROM " + table_ + " ORDER BY id");
    std::map<std::string, bool> last;  // the latest row of each version wins
    for (int row = 0; row < rows.rows(); ++row) {
      last[std::string(rows.get(row, 0))] = db::is_true(rows.get(row, 1));
    }
    ToolHistory history;
    for (const auto& [version, applied] : last) {
      if (applied && version != "0") history.applied.insert(version);
    }
    return history;
  }

  db::Connection& connection_;
  std::string format_;
  std::string table_;
  std::set<std::string> columns_;
};

std::string default_history_table(std::string_view format) {
  if (format == "diesel") return "__diesel_schema_migrations";
  if (format == "prisma") return "_prisma_migrations";
  if (format == "flyway") return "flyway_schema_history";
  if (format == "goose") return "goose_db_version";
  return "schema_migrations";
}

// "SCHEMA.NAME" or "NAME" as a quoted, qualified name.
std::string quoted_table(std::string_view text) {
  const std::size_t dot = text.find('.');
  if (dot == std::string_view::npos) return sql::quote_identifier(text);
  return sql::quote_identifier(text.substr(0, dot)) + "." +
         sql::quote_identifier(text.substr(dot + 1));
}

// How many of the plan's versions, in order, the tool's history covers;
// refuses a history that is not a prefix of the directory's order.
std::size_t recorded_prefix(const migration::Plan& plan, const migration::ImportedFrom& map,
                            const ToolHistory& history, const std::string& format) {
  std::set<std::string> directories;
  std::set<std::string> known;
  for (const auto& [tool_version, directory] : map.versions) {
    known.insert(tool_version);
    const bool applied = history.applied.contains(tool_version) ||
                         (history.up_to && !version_less(*history.up_to, tool_version));
    if (applied) directories.insert(directory);
  }
  for (const std::string& version : history.applied) {
    if (!known.contains(version)) {
      std::string message = "the " + format + " history records version ";
      message += version;
      message += ", which the directory's \"imported_from\" map does not contain";
      refuse(message, "import the tree the database was migrated from, or baseline with --to");
    }
  }
  std::size_t count = 0;
  while (count < plan.versions.size() && directories.contains(plan.versions[count].name)) ++count;
  if (count != directories.size()) {
    refuse("the " + format + " history is not a prefix of the directory's order: " +
               plan.versions[count].name + " is not applied but a later version is",
           "apply the missing version with the tool first (it allowed out-of-order "
           "application), or baseline with --to");
  }
  return count;
}

struct ProofOutcome {
  std::size_t proved = 0;
  std::size_t superseded = 0;
  std::vector<std::string> unproved;  // versions with no proof that ran
  // PostgreSQL: per step (version, step number), its changes' OIDs resolved
  // under the database's search_path, the one the proofs ran under (contract section 9).
  std::map<std::pair<std::string, int>, std::vector<sql::ObjectOids>> oids;
};

// "T:O" of `change`'s objects now (0 for a name that resolves to nothing).
sql::ObjectOids resolve_oids(db::Connection& connection, const sql::Change& change) {
  const auto text = connection.query_value(sql::resolve_oids_query(change));
  const auto parsed = text ? sql::parse_oids(*text) : std::nullopt;
  return parsed && parsed->size() == 1 ? parsed->front() : sql::ObjectOids{};
}

ProofOutcome check_proofs(const migration::Plan& plan, std::size_t count,
                          db::Connection& connection) {
  std::vector<StepRef> steps;
  for (std::size_t v = 0; v < count; ++v) {
    for (const migration::PlannedStep& step : plan.versions[v].steps) {
      steps.push_back({&plan.versions[v], &step});
    }
  }
  ProofOutcome outcome;
  std::set<std::string> proved_versions;
  for (std::size_t index = 0; index < steps.size(); ++index) {
    if (plan.dialect == sql::Dialect::postgres) {
      auto& oids = outcome.oids[{steps[index].version->name, steps[index].step->file.number}];
      for (const sql::Change& change : steps[index].step->analysis.changes) {
        oids.push_back(resolve_oids(connection, change));
      }
    }
    for (const sql::Change& change : steps[index].step->analysis.changes) {
      if (superseding_step(steps, index, change)) {
        ++outcome.superseded;
        continue;
      }
      const db::Result result = connection.exec(sql::verify_query(change, plan.dialect));
      if (result.rows() != 1 || !db::is_true(result.get(0, 0))) {
        throw Failure(
            ExitCode::check_failed,
            "baseline refused: " +
                step_label(steps[index].version->name, steps[index].step->file.file_name) + ": " +
                sql::describe_change(change, plan.dialect) + " does not hold",
            "the database is not at that version; nothing was recorded");
      }
      ++outcome.proved;
      proved_versions.insert(steps[index].version->name);
    }
  }
  for (std::size_t v = 0; v < count; ++v) {
    if (!proved_versions.contains(plan.versions[v].name)) {
      outcome.unproved.push_back(plan.versions[v].name);
    }
  }
  return outcome;
}

std::size_t versions_to_record(const migration::Plan& plan, const BaselineOptions& options,
                               db::Connection& connection) {
  if (options.to) {
    const auto index = plan.find_version(*options.to);
    if (!index) refuse("--to: unknown version \"" + *options.to + "\"");
    return *index + 1;
  }
  const auto dir = migration::load_directory(plan.root);
  if (!dir || !dir->settings.imported_from) {
    refuse("--from-tool: the directory has no \"imported_from\" in dbmig.json",
           "import the tool's tree with dbmig import, or baseline with --to");
  }
  const migration::ImportedFrom& map = *dir->settings.imported_from;
  if (map.format != *options.from_tool) {
    refuse("--from-tool " + *options.from_tool + ": the directory was imported from " + map.format);
  }
  const std::string table = quoted_table(
      options.history_table.value_or("public." + default_history_table(*options.from_tool)));
  const ToolHistory history = HistoryReader(connection, *options.from_tool, table).read();
  return recorded_prefix(plan, map, history, *options.from_tool);
}

std::optional<std::vector<sql::ObjectOids>> oids_of(const ProofOutcome& proofs,
                                                    const std::string& version, int step) {
  const auto found = proofs.oids.find({version, step});
  if (found == proofs.oids.end()) return std::nullopt;
  return found->second;
}

void record(const migration::Plan& plan, std::size_t count, const ProofOutcome& proofs,
            const ConnectionSettings& settings, const BaselineOptions& options) {
  // The state tables are written as apply writes them: on a connection whose
  // search_path is pg_catalog only (contract section 9).
  db::Connection connection = connect_for_reading(settings, plan.dialect == sql::Dialect::postgres);
  const StateTables tables(settings.state_schema);
  tables.ensure(connection);
  Lease lease(connection, tables,
              {.owner = make_runner_identity(),
               .ttl = std::chrono::seconds(15),
               .wait = options.lock_timeout},
              [](const LeaseInfo&) {});
  const DatabaseState state = tables.read(connection);
  if (state.version || !state.steps.empty()) {
    lease.release(connection);
    refuse("dbmig has already recorded migrations in this database",
           "baseline adopts a database dbmig never ran on; use dbmig apply");
  }
  std::vector<std::string> statements;
  for (std::size_t v = 0; v < count; ++v) {
    for (const migration::PlannedStep& step : plan.versions[v].steps) {
      statements.push_back(tables.write_step_sql(
          {.version = plan.versions[v].name,
           .step = step.file.number,
           .file = step.file.file_name,
           .sha256 = step.sha256,
           .state = StepState::verified,
           .transactional = step.analysis.transactional,
           .error = std::nullopt,
           .duration_ms = 0,
           .duration_since_transaction_start = false,
           .runner = lease.owner(),
           .object_oids = oids_of(proofs, plan.versions[v].name, step.file.number),
           .object_oids_sql = std::nullopt,
           .progress = std::nullopt}));
    }
  }
  statements.push_back(tables.advance_version_sql(plan.versions[count - 1].name));
  fenced_write(connection, lease, statements);
  lease.release(connection);
}

}  // namespace

ExitCode baseline(const migration::Plan& plan, const ConnectionSettings& settings,
                  const BaselineOptions& options, Reporter& reporter) {
  if (options.to.has_value() == options.from_tool.has_value()) {
    refuse("baseline needs exactly one of --to VERSION and --from-tool FORMAT");
  }
  db::Connection connection = connect_for_reading(settings, false);
  const DatabaseState before = StateTables(settings.state_schema).read(connection);
  if (before.version || !before.steps.empty()) {
    refuse("dbmig has already recorded migrations in this database",
           "baseline adopts a database dbmig never ran on; use dbmig apply");
  }
  const std::size_t count = versions_to_record(plan, options, connection);
  if (count == 0) refuse("the tool's history records no version: nothing to baseline");
  const ProofOutcome proofs = check_proofs(plan, count, connection);
  record(plan, count, proofs, settings, options);

  json recorded = json::array();
  std::string text;
  for (std::size_t v = 0; v < count; ++v) {
    recorded.push_back(plan.versions[v].name);
    text += "recorded " + plan.versions[v].name + "\n";
  }
  for (const std::string& version : proofs.unproved) {
    text += "recorded without proof: " + version + " (no change of it can be proved)\n";
  }
  text += "baseline at " + plan.versions[count - 1].name + ": " + std::to_string(count) +
          " versions, " + std::to_string(proofs.proved) + " proofs held, " +
          std::to_string(proofs.superseded) + " superseded, " +
          std::to_string(proofs.unproved.size()) + " versions unproved\n";
  reporter.result({{"command", "baseline"},
                   {"current_version", plan.versions[count - 1].name},
                   {"recorded", recorded},
                   {"recorded_unproved", proofs.unproved},
                   {"proofs", {{"held", proofs.proved}, {"superseded", proofs.superseded}}},
                   {"error", nullptr},
                   {"exit_code", 0}},
                  text);
  return ExitCode::ok;
}

}  // namespace dbmig::engine
