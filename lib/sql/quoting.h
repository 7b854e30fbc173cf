// The one place that quotes identifiers and literals in SQL that dbmig
// generates (verify queries, state-table statements).
#pragma once

#include <string>
#include <string_view>

namespace dbmig::sql {

// "name" with every " doubled. Always quotes, so case and keywords are kept.
[[nodiscard]] std::string quote_identifier(std::string_view name);

// 'text' with every ' doubled (standard_conforming_strings; valid on
// PostgreSQL and CockroachDB). Backslashes are not special.
[[nodiscard]] std::string quote_literal(std::string_view text);

// PostgreSQL's built-in operator `op` as ` OPERATOR(pg_catalog.op) ` (with
// the spaces around it), so that no search_path can redirect it to an
// operator another role created.
[[nodiscard]] std::string pg_operator(std::string_view op);

}  // namespace dbmig::sql
