// The two SQL dialects dbmig reads and runs.
#pragma once

#include <optional>
#include <string_view>

namespace dbmig::sql {

enum class Dialect { postgres, cockroach };

// "postgres" or "cockroach".
[[nodiscard]] std::string_view to_string(Dialect dialect);

// Parses "postgres" / "cockroach" (exact, lower case); nullopt otherwise.
[[nodiscard]] std::optional<Dialect> parse_dialect(std::string_view text);

}  // namespace dbmig::sql
