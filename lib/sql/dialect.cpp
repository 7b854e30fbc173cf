#include "sql/dialect.h"

namespace dbmig::sql {

std::string_view to_string(Dialect dialect) {
  return dialect == Dialect::postgres ? "postgres" : "cockroach";
}

std::optional<Dialect> parse_dialect(std::string_view text) {
  if (text == "postgres") return Dialect::postgres;
  if (text == "cockroach") return Dialect::cockroach;
  return std::nullopt;
}

}  // namespace dbmig::sql
