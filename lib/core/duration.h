// Durations on the command line: a number with `ms`, `s`, `m` or `h`; a bare
// number is seconds (docs/contract.md section 7).
#pragma once

#include <chrono>
#include <expected>
#include <string>
#include <string_view>

namespace dbmig {

// Parses "250ms", "5s", "1.5m", "2h", "30". Fails with a message for anything
// else (negative, empty, unknown unit, overflow).
[[nodiscard]] std::expected<std::chrono::milliseconds, std::string> parse_duration(
    std::string_view text);

// "250ms", "5s", "1m30s", "2h" -- for messages.
[[nodiscard]] std::string format_duration(std::chrono::milliseconds duration);

}  // namespace dbmig
