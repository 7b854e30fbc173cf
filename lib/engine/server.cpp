// Catalog and progress queries. All run in autocommit on a connection with no
// open transaction, so that they never hold back a concurrent index build.
#include "engine/server.h"

#include <array>

#include "core/failure.h"
#include "sql/quoting.h"

namespace dbmig::engine {
namespace {

// The name as regclass text: "schema"."name", or "name" when unqualified
// (resolved through the search_path, as the step's own statement was).
std::string regclass_text(const sql::QualifiedName& name) {
  std::string text;
  if (!name.schema.empty()) text = sql::quote_identifier(name.schema) + ".";
  return text + sql::quote_identifier(name.name);
}

std::int64_t to_int(std::string_view text) {
  return text.empty() ? 0 : std::stoll(std::string(text));
}

}  // namespace

sql::Dialect detect_dialect(db::Connection& connection) {
  const db::Result result = connection.exec("SELECT pg_catalog.version()");
  const std::string_view version = result.rows() == 1 ? result.get(0, 0) : "";
  return version.find("CockroachDB") != std::string_view::npos ? sql::Dialect::cockroach
                                                               : sql::Dialect::postgres;
}

sql::ObjectOids resolve_change(db::Connection& connection, const sql::Change& change) {
  const std::string text = connection.query_value(sql::resolve_oids_query(change)).value_or("");
  const auto parsed = sql::parse_oids(text);
  if (!parsed || parsed->size() != 1) return {};
  return parsed->front();
}

std::string index_on_table(db::Connection& connection, const std::string& table_oid,
                           const std::string& index_name) {
  const std::string eq = sql::pg_operator("=");
  return connection
      .query_value("SELECT c.oid FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid" +
                       eq + "i.indexrelid WHERE i.indrelid" + eq +
                       "CAST($1 AS pg_catalog.oid) AND c.relname" + eq + "$2",
                   {table_oid, index_name})
      .value_or("0");
}

namespace {

// The IndexState of the first row of a look-up that selects the index's
// OID, its table's OID, indisvalid, indisready and indislive, in that order.
IndexState index_state_of(const db::Result& result) {
  IndexState state;
  state.oid = result.get(0, 0);
  state.table_oid = result.get(0, 1);
  state.valid = result.get_bool(0, 2);
  state.ready = result.get_bool(0, 3);
  state.live = result.get_bool(0, 4);
  return state;
}

}  // namespace

std::optional<IndexState> find_index(db::Connection& connection, const sql::ObjectOids& oids) {
  if (oids.object == "0") return std::nullopt;
  const std::string eq = sql::pg_operator("=");
  const db::Result result = connection.exec_params(
      "SELECT i.indexrelid, i.indrelid, i.indisvalid, i.indisready, i.indislive"
      " FROM pg_catalog.pg_index i WHERE i.indexrelid" +
          eq + "CAST($1 AS pg_catalog.oid) AND i.indrelid" + eq + "CAST($2 AS pg_catalog.oid)",
      {oids.object, oids.table});
  if (result.rows() == 0) return std::nullopt;
  return index_state_of(result);
}

std::optional<IndexBuild> find_index_build(db::Connection& connection, const sql::ObjectOids& oids,
                                           const std::optional<IndexState>& index) {
  const bool hidden_counts = index.has_value() && !index->valid;
  const std::string eq = sql::pg_operator("=");
  const std::string zero = "CAST(0 AS pg_catalog.oid)";
  const db::Result result = connection.exec_params(
      "SELECT p.pid, p.relid IS NULL, COALESCE(p.phase, ''), COALESCE(p.blocks_done, 0),"
      " COALESCE(p.blocks_total, 0), COALESCE(p.tuples_done, 0), COALESCE(p.tuples_total, 0)"
      " FROM pg_catalog.pg_stat_progress_create_index p WHERE p.datid" +
          eq + "(SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname" + eq +
          "pg_catalog.current_database()) AND p.pid" + sql::pg_operator("<>") +
          "pg_catalog.pg_backend_pid() AND ((p.index_relid" + eq +
          "CAST($1 AS pg_catalog.oid) AND p.index_relid" + sql::pg_operator("<>") + zero +
          ") OR (p.relid" + eq + "CAST($2 AS pg_catalog.oid) AND p.relid" + sql::pg_operator("<>") +
          zero + " AND COALESCE(p.index_relid, " + zero + ")" + eq + zero +
          ") OR (p.relid IS NULL AND CAST($3 AS pg_catalog.bool)))"
          " ORDER BY p.relid IS NULL LIMIT 1",
      {index ? index->oid : oids.object, oids.table,
       std::optional<std::string>(hidden_counts ? "true" : "false")});
  if (result.rows() == 0) return std::nullopt;
  IndexBuild build;
  build.pid = static_cast<int>(to_int(result.get(0, 0)));
  build.hidden = result.get_bool(0, 1);
  build.phase = result.get(0, 2);
  build.blocks_done = to_int(result.get(0, 3));
  build.blocks_total = to_int(result.get(0, 4));
  build.tuples_done = to_int(result.get(0, 5));
  build.tuples_total = to_int(result.get(0, 6));
  return build;
}

std::optional<std::string> drop_index_by_oid(db::Connection& connection,
                                             const std::string& index_oid) {
  const std::string eq = sql::pg_operator("=");
  const std::string by_oid = " WHERE c.oid" + eq + "CAST($1 AS pg_catalog.oid)";
  auto name = connection.query_value(
      "SELECT pg_catalog.quote_ident(n.nspname) OPERATOR(pg_catalog.||) '.' "
      "OPERATOR(pg_catalog.||) pg_catalog.quote_ident(c.relname) FROM pg_catalog.pg_class c JOIN "
      "pg_catalog.pg_namespace n ON n.oid" +
          eq + "c.relnamespace" + by_oid,
      {index_oid});
  if (!name) return std::nullopt;
  connection.exec("DROP INDEX CONCURRENTLY IF EXISTS " + *name);
  if (connection.query_value("SELECT 1 FROM pg_catalog.pg_class c" + by_oid, {index_oid})) {
    throw Failure(ExitCode::runtime_failure,
                  "--repair dropped " + *name + " but the index with OID " + index_oid +
                      " still exists (it was renamed meanwhile)",
                  "run dbmig apply --repair again");
  }
  return name;
}

std::optional<IndexState> find_index(db::Connection& connection, const sql::Change& change) {
  const bool by_table = !change.table.name.empty();
  const std::string eq = sql::pg_operator("=");
  const std::string where = (by_table ? "i.indrelid" : "c.oid") + eq +
                            "pg_catalog.to_regclass($1) AND c.relname" + eq + "$2";
  sql::QualifiedName index_name = change.object;
  if (index_name.schema.empty()) index_name.schema = change.table.schema;
  const db::Result result = connection.exec_params(
      "SELECT c.oid, i.indrelid, i.indisvalid, i.indisready, i.indislive"
      " FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid" +
          eq + "i.indexrelid WHERE " + where,
      {by_table ? regclass_text(change.table) : regclass_text(index_name), change.object.name});
  if (result.rows() == 0) return std::nullopt;
  return index_state_of(result);
}

std::optional<IndexBuild> find_index_build(db::Connection& connection, const sql::Change& change,
                                           const std::optional<IndexState>& index) {
  const bool hidden_counts = index.has_value() && !index->valid;
  const std::string eq = sql::pg_operator("=");
  const db::Result result = connection.exec_params(
      "SELECT p.pid, p.relid IS NULL, COALESCE(p.phase, ''), COALESCE(p.blocks_done, 0),"
      " COALESCE(p.blocks_total, 0), COALESCE(p.tuples_done, 0), COALESCE(p.tuples_total, 0)"
      " FROM pg_catalog.pg_stat_progress_create_index p WHERE p.datid" +
          eq + "(SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname" + eq +
          "pg_catalog.current_database()) AND p.pid" + sql::pg_operator("<>") +
          "pg_catalog.pg_backend_pid() AND ((p.index_relid" + eq +
          "CAST($1 AS pg_catalog.oid)) OR (p.relid" + eq +
          "pg_catalog.to_regclass($2) AND COALESCE(p.index_relid, CAST(0 AS pg_catalog.oid))" + eq +
          "CAST(0 AS pg_catalog.oid)) OR (p.relid IS NULL AND CAST($3 AS pg_catalog.bool)))"
          " ORDER BY p.relid IS NULL LIMIT 1",
      {index ? std::optional<std::string>(index->oid) : std::optional<std::string>("0"),
       change.table.name.empty() ? std::nullopt
                                 : std::optional<std::string>(regclass_text(change.table)),
       std::optional<std::string>(hidden_counts ? "true" : "false")});
  if (result.rows() == 0) return std::nullopt;
  IndexBuild build;
  build.pid = static_cast<int>(to_int(result.get(0, 0)));
  build.hidden = result.get_bool(0, 1);
  build.phase = result.get(0, 2);
  build.blocks_done = to_int(result.get(0, 3));
  build.blocks_total = to_int(result.get(0, 4));
  build.tuples_done = to_int(result.get(0, 5));
  build.tuples_total = to_int(result.get(0, 6));
  return build;
}

bool backend_in_transaction(db::Connection& connection, int pid) {
  return connection.query_bool("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_locks l WHERE l.pid" +
                                   sql::pg_operator("=") +
                                   "CAST($1 AS pg_catalog.int4) AND l.locktype" +
                                   sql::pg_operator("=") + "'virtualxid' AND l.granted)",
                               {std::to_string(pid)});
}

std::string describe_build(const IndexBuild& build) {
  if (build.hidden) {
    return "index build in progress (backend " + std::to_string(build.pid) +
           "; details need pg_read_all_stats)";
  }
  std::string text = build.phase.empty() ? "index build in progress" : build.phase;
  if (build.blocks_total > 0) {
    text +=
        ", blocks " + std::to_string(build.blocks_done) + "/" + std::to_string(build.blocks_total);
  }
  if (build.tuples_total > 0) {
    text +=
        ", tuples " + std::to_string(build.tuples_done) + "/" + std::to_string(build.tuples_total);
  }
  return text + " (backend " + std::to_string(build.pid) + ")";
}

void drop_index_concurrently(db::Connection& connection, const sql::Change& change) {
  sql::QualifiedName index_name = change.object;
  if (index_name.schema.empty()) index_name.schema = change.table.schema;
  connection.exec("DROP INDEX CONCURRENTLY IF EXISTS " + regclass_text(index_name));
}

bool SchemaChangeJob::failed() const {
  constexpr std::array kFailed{"failed", "reverting", "revert-failed", "canceled",
                               "cancel-requested"};
  for (const char* name : kFailed) {
    if (status == name) return true;
  }
  return false;
}

std::string schema_change_job_query() {
  return "SELECT job_id::STRING, status, fraction_completed, COALESCE(error, '')"
         " FROM crdb_internal.jobs WHERE job_type IN ('SCHEMA CHANGE', 'NEW SCHEMA CHANGE')"
         " AND strpos(description, $1) > 0"
         " AND CAST(created AS TIMESTAMPTZ) >= CAST($2 AS TIMESTAMPTZ)"
         " ORDER BY created DESC LIMIT 1";
}

std::optional<SchemaChangeJob> find_schema_change_job(db::Connection& connection,
                                                      const sql::Change& change,
                                                      const std::string& since) {
  const db::Result result =
      connection.exec_params(schema_change_job_query(), {change.object.name, since});
  if (result.rows() == 0) return std::nullopt;
  SchemaChangeJob job;
  job.id = result.get(0, 0);
  job.status = result.get(0, 1);
  if (!result.is_null(0, 2)) job.fraction_completed = std::stod(std::string(result.get(0, 2)));
  job.error = result.get(0, 3);
  return job;
}

}  // namespace dbmig::engine
