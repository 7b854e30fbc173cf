// Verification queries. Every query returns one row with one boolean column
// named `complete`, whatever the state of the database: a missing table or
// object gives false, never an error or zero rows (COALESCE / EXISTS).
//
// PostgreSQL: tables are resolved with pg_catalog.to_regclass, which returns
// NULL for a missing table, and the proof reads pg_index / pg_constraint.
// Every function and operator is schema-qualified (pg_catalog.f,
// OPERATOR(pg_catalog.=)): a proof can run under the search_path of the step
// it proves, and an operator another role planted in `public` (an exact
// match for oid = regclass, which pg_catalog lacks) must never be called.
//
// CockroachDB: an index is complete when it is *public*. The proof reads
// crdb_internal.table_indexes, which lists only public indexes: its generator
// walks the table descriptor with catalog.ForEachIndex(table,
// catalog.IndexOpts{NonPhysicalPrimaryIndex: true}, ...), i.e. without
// AddMutations/DropMutations, so an index still backfilling (a mutation) is
// not listed (cockroachdb/cockroach pkg/sql/crdb_internal.go,
// crdbInternalTableIndexesTable; cockroachdb/cockroach#34209: "At the moment,
// it just iterates through desc.Indexes"). The table is resolved with
// to_regclass (CockroachDB >= 22.1, cockroachdb/cockroach#78652), whose OID
// is the table's descriptor id. A constraint is proved by SHOW CONSTRAINTS'
// `validated` column, as docs/contract.md section 4 prescribes: a constraint being added
// sits on the descriptor in the `Validating` state (visible, not validated)
// until its validation job succeeds, and is dropped if it fails
// (cockroachdb/cockroach#34301, #34238), so `validated` alone tells complete
// from in progress. SHOW CONSTRAINTS fails (instead of returning false) when
// the table itself does not exist.
#include "sql/verify_query.h"

#include "sql/quoting.h"

namespace dbmig::sql {
namespace {

constexpr std::size_t kPostgresMaxNameBytes = 63;

// `name` cut to at most `bytes` bytes without splitting a UTF-8 character.
std::string clip(std::string_view name, std::size_t bytes) {
  if (name.size() <= bytes) return std::string(name);
  while (bytes > 0 && (static_cast<unsigned char>(name[bytes]) & 0xC0) == 0x80) --bytes;
  return std::string(name.substr(0, bytes));
}

std::string pg_op(std::string_view op) { return pg_operator(op); }

std::string regclass(const QualifiedName& table) {
  return "pg_catalog.to_regclass(" + quote_literal(table.quoted()) + ")";
}

// The index as people name it: "schema"."idx" or "idx".
std::string index_label(const Change& change) {
  QualifiedName object = change.object;
  object.database.clear();
  return object.quoted();
}

std::string pg_index_row(const Change& change, std::string_view select) {
  return "SELECT " + std::string(select) +
         " FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid" + pg_op("=") +
         "i.indexrelid WHERE i.indrelid" + pg_op("=") + regclass(change.table) + " AND c.relname" +
         pg_op("=") + quote_literal(change.object.name);
}

std::string pg_create_index(const Change& change) {
  return "SELECT COALESCE((" +
         pg_index_row(change, "i.indisvalid AND i.indisready AND i.indislive") +
         "), false) AS complete";
}

std::string pg_create_index_on_only(const Change& change) {
  return "SELECT EXISTS (" + pg_index_row(change, "1") + ") AS complete";
}

// REINDEX CONCURRENTLY names its transient indexes <name>_ccnew[N] and
// <name>_ccold[N], clipping <name> so that the whole fits in 63 bytes.
std::string pg_leftover_condition(const std::string& name) {
  if (name.size() + std::string_view("_ccnew").size() <= kPostgresMaxNameBytes) {
    return "(pg_catalog.starts_with(o.relname, " + quote_literal(name + "_ccnew") +
           ") OR pg_catalog.starts_with(o.relname, " + quote_literal(name + "_ccold") + "))";
  }
  return "(pg_catalog.starts_with(o.relname, " + quote_literal(clip(name, 53)) + ") AND o.relname" +
         pg_op("~") + "'_cc(new|old)[0-9]*$')";
}

std::string pg_reindex_concurrently(const Change& change) {
  return "SELECT COALESCE((SELECT i.indisvalid AND i.indisready AND i.indislive AND NOT EXISTS "
         "(SELECT 1 FROM pg_catalog.pg_class o WHERE o.relnamespace" +
         pg_op("=") + "c.relnamespace AND o.oid" + pg_op("<>") + "c.oid AND " +
         pg_leftover_condition(change.object.name) +
         ") FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid" + pg_op("=") +
         "i.indexrelid WHERE c.oid" + pg_op("=") + regclass(change.object) +
         "), false) AS complete";
}

std::string pg_constraint(const Change& change) {
  return "SELECT COALESCE((SELECT con.convalidated FROM pg_catalog.pg_constraint con"
         " WHERE con.conrelid" +
         pg_op("=") + regclass(change.table) + " AND con.conname" + pg_op("=") +
         quote_literal(change.object.name) + "), false) AS complete";
}

std::string postgres_query(const Change& change) {
  switch (change.kind) {
    case ChangeKind::create_index: return pg_create_index(change);
    case ChangeKind::create_index_on_only: return pg_create_index_on_only(change);
    case ChangeKind::reindex_concurrently: return pg_reindex_concurrently(change);
    case ChangeKind::add_constraint:
    case ChangeKind::validate_constraint: return pg_constraint(change);
  }
  return pg_create_index(change);
}

// OID text as a literal cast to pg_catalog.oid; anything but digits is 0.
std::string oid_literal(std::string_view oid) {
  const bool digits = !oid.empty() && oid.size() <= 10 &&
                      oid.find_first_not_of("0123456789") == std::string_view::npos;
  return "CAST(" + quote_literal(digits ? oid : "0") + " AS pg_catalog.oid)";
}

std::string oid_or_zero(const std::string& expression) {
  return "COALESCE(" + expression + ", CAST(0 AS pg_catalog.oid))";
}

std::string table_oid_expression(const Change& change) {
  if (!change.table.name.empty()) {
    return oid_or_zero("CAST(" + regclass(change.table) + " AS pg_catalog.oid)");
  }
  return oid_or_zero("(SELECT i.indrelid FROM pg_catalog.pg_index i WHERE i.indexrelid" +
                     pg_op("=") + regclass(change.object) + ")");
}

std::string object_oid_expression(const Change& change) {
  switch (change.kind) {
    case ChangeKind::create_index:
    case ChangeKind::create_index_on_only:
      return oid_or_zero("(" + pg_index_row(change, "c.oid") + ")");
    case ChangeKind::reindex_concurrently:
      return oid_or_zero("CAST(" + regclass(change.object) + " AS pg_catalog.oid)");
    case ChangeKind::add_constraint:
    case ChangeKind::validate_constraint: break;
  }
  return oid_or_zero("(SELECT con.oid FROM pg_catalog.pg_constraint con WHERE con.conrelid" +
                     pg_op("=") + regclass(change.table) + " AND con.conname" + pg_op("=") +
                     quote_literal(change.object.name) + ")");
}

std::string crdb_table_indexes(const QualifiedName& table) {
  const std::string database = table.database.empty() ? "" : quote_identifier(table.database) + ".";
  return database + "crdb_internal.table_indexes";
}

std::string crdb_index(const Change& change) {
  std::string where = "index_name = " + quote_literal(change.object.name);
  if (!change.table.name.empty()) {
    where = "descriptor_id = " + regclass(change.table) + "::OID::INT8 AND " + where;
  }
  return "SELECT EXISTS (SELECT 1 FROM " + crdb_table_indexes(change.table) + " WHERE " + where +
         ") AS complete";
}

std::string crdb_constraint(const Change& change) {
  return "SELECT EXISTS (SELECT 1 FROM [SHOW CONSTRAINTS FROM " + change.table.quoted() +
         "] WHERE constraint_name = " + quote_literal(change.object.name) +
         " AND validated) AS complete";
}

// REINDEX and ON ONLY are PostgreSQL-only (classification reports them as
// errors on CockroachDB); their CockroachDB proof is the index being public.
std::string cockroach_query(const Change& change) {
  switch (change.kind) {
    case ChangeKind::add_constraint:
    case ChangeKind::validate_constraint: return crdb_constraint(change);
    case ChangeKind::create_index:
    case ChangeKind::create_index_on_only:
    case ChangeKind::reindex_concurrently: return crdb_index(change);
  }
  return crdb_index(change);
}

std::string describe_index(const Change& change, Dialect dialect) {
  const std::string index = "index " + index_label(change);
  switch (change.kind) {
    case ChangeKind::create_index_on_only:
      return index + " exists on " + change.table.quoted() +
             " (it stays invalid until every partition's index is attached)";
    case ChangeKind::reindex_concurrently:
      return index + " is valid after REINDEX CONCURRENTLY, with no _ccnew/_ccold leftovers";
    default: break;
  }
  if (dialect == Dialect::cockroach) {
    return index + " on " + change.table.quoted() + " is public (its backfill completed)";
  }
  return index + " on " + change.table.quoted() + " is valid, ready and live";
}

// `text` with its line breaks written as \n and \r. The description follows
// `--` in a verify file, and a line break (PostgreSQL ends a `--` comment at
// \n or \r) inside a quoted name would turn the rest of it into SQL.
std::string one_line(std::string_view text) {
  std::string line;
  for (const char c : text) {
    if (c == '\n') {
      line += "\\n";
    } else if (c == '\r') {
      line += "\\r";
    } else {
      line += c;
    }
  }
  return line;
}

}  // namespace

std::string describe_change(const Change& change, Dialect dialect) {
  if (change.kind == ChangeKind::add_constraint || change.kind == ChangeKind::validate_constraint) {
    return one_line("constraint " + quote_identifier(change.object.name) + " on " +
                    change.table.quoted() + " is validated");
  }
  return one_line(describe_index(change, dialect));
}

std::string verify_query(const Change& change, Dialect dialect) {
  return dialect == Dialect::postgres ? postgres_query(change) : cockroach_query(change);
}

std::string resolve_oids_expression(const Change& change) {
  return "pg_catalog.concat(" + table_oid_expression(change) + ", ':', " +
         object_oid_expression(change) + ")";
}

std::string resolve_oids_query(const Change& change) {
  return "SELECT " + resolve_oids_expression(change);
}

std::string format_oids(const std::vector<ObjectOids>& oids) {
  std::string text;
  for (const ObjectOids& pair : oids) {
    if (!text.empty()) text += ',';
    text += pair.table + ':' + pair.object;
  }
  return text;
}

std::optional<std::vector<ObjectOids>> parse_oids(std::string_view text) {
  std::vector<ObjectOids> oids;
  if (text.empty()) return oids;
  const auto is_number = [](std::string_view part) {
    return !part.empty() && part.find_first_not_of("0123456789") == std::string_view::npos;
  };
  while (true) {
    const std::size_t comma = text.find(',');
    const std::string_view pair = text.substr(0, comma);
    const std::size_t colon = pair.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    ObjectOids parsed{std::string(pair.substr(0, colon)), std::string(pair.substr(colon + 1))};
    if (!is_number(parsed.table) || !is_number(parsed.object)) return std::nullopt;
    oids.push_back(std::move(parsed));
    if (comma == std::string_view::npos) return oids;
    text.remove_prefix(comma + 1);
  }
}

std::string verify_query_by_oids(const Change& change, const ObjectOids& oids) {
  const std::string index = oid_literal(oids.object);
  const std::string table = oid_literal(oids.table);
  const std::string on_table = " AND i.indrelid" + pg_op("=") + table;
  switch (change.kind) {
    case ChangeKind::create_index:
      return "SELECT COALESCE((SELECT i.indisvalid AND i.indisready AND i.indislive FROM "
             "pg_catalog.pg_index i WHERE i.indexrelid" +
             pg_op("=") + index + on_table + "), false) AS complete";
    case ChangeKind::create_index_on_only:
      return "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_index i WHERE i.indexrelid" + pg_op("=") +
             index + on_table + ") AS complete";
    case ChangeKind::reindex_concurrently:
      return "SELECT COALESCE((SELECT i.indisvalid AND i.indisready AND i.indislive AND NOT "
             "EXISTS (SELECT 1 FROM pg_catalog.pg_class o WHERE o.relnamespace" +
             pg_op("=") + "c.relnamespace AND o.oid" + pg_op("<>") + "c.oid AND " +
             pg_leftover_condition(change.object.name) +
             ") FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid" + pg_op("=") +
             "i.indexrelid WHERE c.oid" + pg_op("=") + index + "), false) AS complete";
    case ChangeKind::add_constraint:
    case ChangeKind::validate_constraint: break;
  }
  return "SELECT COALESCE((SELECT con.convalidated FROM pg_catalog.pg_constraint con WHERE "
         "con.oid" +
         pg_op("=") + index + " AND con.conrelid" + pg_op("=") + table + "), false) AS complete";
}

}  // namespace dbmig::sql
