// What the server knows about a schema change while dbmig waits on it:
// the dialect it speaks, and for a step's index (PostgreSQL) whether it
// exists, is valid, and is still being built (pg_stat_progress_create_index),
// or (CockroachDB) the state of the schema-change job. These are the runtime
// signals that tell "in progress" from "failed" (docs/contract.md sections 4, 6).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "db/connection.h"
#include "sql/classify.h"
#include "sql/dialect.h"
#include "sql/verify_query.h"

namespace dbmig::engine {

// The server's dialect: `SELECT version()` mentioning CockroachDB means
// cockroach, anything else postgres. Throws db::DbError.
[[nodiscard]] sql::Dialect detect_dialect(db::Connection& connection);

// A PostgreSQL index as pg_index records it.
struct IndexState {
  std::string oid;        // the index's pg_class oid, as text
  std::string table_oid;  // indrelid
  bool valid = false;     // indisvalid
  bool ready = false;     // indisready
  bool live = false;      // indislive
  [[nodiscard]] bool usable() const { return valid && ready && live; }
};

// The index `change.object` on `change.table` (found by the table's regclass
// and the index's relname, so an index of that name on another table does not
// count); nullopt when absent. Throws db::DbError.
[[nodiscard]] std::optional<IndexState> find_index(db::Connection& connection,
                                                   const sql::Change& change);

// PostgreSQL: `change`'s table and index/constraint resolved to OIDs under
// the connection's search_path (sql::resolve_oids_query). Throws db::DbError.
[[nodiscard]] sql::ObjectOids resolve_change(db::Connection& connection, const sql::Change& change);

// The OID of the index named `index_name` on the table whose OID is
// `table_oid` (a name in the table's own schema: no search_path involved);
// "0" when there is none yet. Throws db::DbError.
[[nodiscard]] std::string index_on_table(db::Connection& connection, const std::string& table_oid,
                                         const std::string& index_name);

// The index `oids.object` on the table `oids.table`; nullopt when that OID
// is no longer an index of that table. Needs no search_path. Throws
// db::DbError.
[[nodiscard]] std::optional<IndexState> find_index(db::Connection& connection,
                                                   const sql::ObjectOids& oids);

// A running CREATE INDEX / REINDEX as pg_stat_progress_create_index shows it.
struct IndexBuild {
  int pid = 0;
  bool hidden = false;  // the row's details are hidden (no pg_read_all_stats)
  std::string phase;    // "" when hidden
  std::int64_t blocks_done = 0, blocks_total = 0, tuples_done = 0, tuples_total = 0;
};

// The build running for `change`'s index in the current database: a progress
// row whose index_relid is the index's oid (when it exists), or whose relid is
// the change's table with no index oid yet, or a hidden row (relid NULL) in
// the current database, which counts as this build while the index exists
// and is not valid. nullopt when none. Throws db::DbError.
[[nodiscard]] std::optional<IndexBuild> find_index_build(db::Connection& connection,
                                                         const sql::Change& change,
                                                         const std::optional<IndexState>& index);
// The same for the objects `oids` names: a progress row whose index_relid
// is the index's OID, or whose relid is the table's OID with no index OID
// yet, or a hidden row while `index` exists and is not valid.
[[nodiscard]] std::optional<IndexBuild> find_index_build(db::Connection& connection,
                                                         const sql::ObjectOids& oids,
                                                         const std::optional<IndexState>& index);

// Whether backend `pid` is inside a transaction (holds its virtual
// transaction ID lock). A concurrent build leaves
// pg_stat_progress_create_index before the transaction that marks its index
// valid commits: while its backend is still in that transaction, the build
// is not over. Throws db::DbError.
[[nodiscard]] bool backend_in_transaction(db::Connection& connection, int pid);

// "building index: 1200/5000 blocks" -- a progress line for `build`.
[[nodiscard]] std::string describe_build(const IndexBuild& build);

// DROP INDEX CONCURRENTLY IF EXISTS "schema"."index" (autocommit; the
// connection must have no open transaction). Throws db::DbError.
void drop_index_concurrently(db::Connection& connection, const sql::Change& change);

// --repair's drop (contract section 9): turns `index_oid` into its qualified name (on
// `connection`, whose search_path must be pg_catalog's only), runs DROP
// INDEX CONCURRENTLY IF EXISTS on that name at once, then confirms that the
// OID is gone. Returns the name dropped; nullopt when the OID was already
// gone. Throws db::DbError, and Failure(runtime_failure) when the OID still
// exists afterwards. The window between the look-up and the drop is
// written in docs/apply.md.
std::optional<std::string> drop_index_by_oid(db::Connection& connection,
                                             const std::string& index_oid);

// The latest CockroachDB schema-change job mentioning `change.object`.
struct SchemaChangeJob {
  std::string id;
  std::string status;  // "running", "succeeded", "failed", "reverting", ...
  std::optional<double> fraction_completed;
  std::string error;
  // The job failed or is rolling back: the change will never complete.
  [[nodiscard]] bool failed() const;
};

// The CockroachDB query for the newest schema change job (legacy "SCHEMA
// CHANGE" or declarative "NEW SCHEMA CHANGE") whose description contains the
// object's name ($1) and that was created at or after $2. `created` is
// TIMESTAMP in older versions and TIMESTAMPTZ in newer ones: cast.
[[nodiscard]] std::string schema_change_job_query();

// Runs schema_change_job_query(); nullopt when there is no such job.
// `since` is a server timestamp (text). Throws db::DbError.
[[nodiscard]] std::optional<SchemaChangeJob> find_schema_change_job(db::Connection& connection,
                                                                    const sql::Change& change,
                                                                    const std::string& since);

}  // namespace dbmig::engine
