// Flyway's version numbers (docs/import.md): the one normalisation that
// `dbmig import` uses to name a Flyway migration's version and `dbmig
// baseline --from-tool flyway` uses to read flyway_schema_history, so that
// both say "1.1" for V1.01_0.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dbmig::migration {

// True when `version` is a Flyway version: digit runs separated by single
// '.' or '_' ("1", "1.2_3"), none empty.
[[nodiscard]] bool is_flyway_version(std::string_view version);

// The parts of a Flyway version as Flyway compares them: split at '.' and
// '_', leading zeros dropped from each part ("007" -> "7", "000" -> "0"),
// trailing "0" parts dropped (1.0 is 1). Never fails: a text that is not a
// Flyway version (is_flyway_version) is split the same way, its parts kept
// as written apart from those zeros.
[[nodiscard]] std::vector<std::string> flyway_version_parts(std::string_view version);

// The parts joined with '.': "1.01_0" -> "1.1", the version as dbmig records it.
[[nodiscard]] std::string flyway_version_name(const std::vector<std::string>& parts);

// True when `a` comes before `b` in Flyway's order: part by part, each part
// compared as a number of any length (parts from flyway_version_parts).
[[nodiscard]] bool flyway_version_less(const std::vector<std::string>& a,
                                       const std::vector<std::string>& b);

}  // namespace dbmig::migration
