#include "core/duration.h"

#include <charconv>
#include <cmath>

namespace dbmig {

std::expected<std::chrono::milliseconds, std::string> parse_duration(std::string_view text) {
  const std::string original(text);
  const auto bad = [&](const std::string& why) {
    return std::unexpected("invalid duration '" + original + "': " + why +
                           " (use a number with ms, s, m or h, e.g. 500ms, 30s, 5m)");
  };
  std::size_t digits = 0;
  while (digits < text.size() &&
         ((text[digits] >= '0' && text[digits] <= '9') || text[digits] == '.')) {
    ++digits;
  }
  if (digits == 0) return bad("expected a number");
  double value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + digits, value);
  if (ec != std::errc{} || ptr != text.data() + digits) return bad("expected a number");
  const std::string_view unit = text.substr(digits);
  double factor = 0;
  if (unit.empty() || unit == "s") {
    factor = 1000;
  } else if (unit == "ms") {
    factor = 1;
  } else if (unit == "m") {
    factor = 60'000;
  } else if (unit == "h") {
    factor = 3'600'000;
  } else {
    return bad("unknown unit '" + std::string(unit) + "'");
  }
  const double millis = value * factor;
  if (!std::isfinite(millis) || millis > 1e15) return bad("too large");
  return std::chrono::milliseconds(static_cast<long long>(std::llround(millis)));
}

std::string format_duration(std::chrono::milliseconds duration) {
  long long ms = duration.count();
  if (ms < 1000) return std::to_string(ms) + "ms";
  if (ms % 1000 != 0 && ms < 60'000) {
    return std::to_string(ms / 1000) + "." + std::to_string((ms % 1000) / 100) + "s";
  }
  const long long seconds = ms / 1000;
  if (seconds < 60) return std::to_string(seconds) + "s";
  if (seconds < 3600) {
    return std::to_string(seconds / 60) + "m" +
           (seconds % 60 != 0 ? std::to_string(seconds % 60) + "s" : "");
  }
  return std::to_string(seconds / 3600) + "h" +
         (seconds % 3600 / 60 != 0 ? std::to_string(seconds % 3600 / 60) + "m" : "");
}

}  // namespace dbmig
