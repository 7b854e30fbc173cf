#include "engine/timestamp.h"

#include <cstdio>
#include <ctime>
#include <optional>

namespace dbmig::engine {
namespace {

// Reads `count` digits at `at` (advancing it); nullopt when they are not all digits.
std::optional<int> digits(std::string_view text, std::size_t& at, std::size_t count) {
  if (at + count > text.size()) return std::nullopt;
  int value = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const char c = text[at + i];
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  at += count;
  return value;
}

bool expect(std::string_view text, std::size_t& at, std::string_view any_of) {
  if (at >= text.size() || any_of.find(text[at]) == std::string_view::npos) return false;
  ++at;
  return true;
}

struct Parsed {
  std::tm tm{};
  int millis = 0;
  long offset_seconds = 0;  // east of UTC
};

std::optional<int> offset_part(std::string_view text, std::size_t& at) {
  if (at < text.size() && text[at] == ':') ++at;
  return digits(text, at, 2);
}

std::optional<Parsed> parse(std::string_view text) {
  Parsed parsed;
  std::size_t at = 0;
  const auto year = digits(text, at, 4);
  if (!year || !expect(text, at, "-")) return std::nullopt;
  const auto month = digits(text, at, 2);
  if (!month || !expect(text, at, "-")) return std::nullopt;
  const auto day = digits(text, at, 2);
  if (!day || !expect(text, at, " T")) return std::nullopt;
  const auto hour = digits(text, at, 2);
  if (!hour || !expect(text, at, ":")) return std::nullopt;
  const auto minute = digits(text, at, 2);
  if (!minute || !expect(text, at, ":")) return std::nullopt;
  const auto second = digits(text, at, 2);
  if (!second) return std::nullopt;
  if (at < text.size() && text[at] == '.') {
    ++at;
    int scale = 100;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
      parsed.millis += (text[at] - '0') * scale;
      scale /= 10;
      ++at;
    }
  }
  if (at < text.size() && text[at] == 'Z') {
    ++at;
  } else if (at < text.size() && (text[at] == '+' || text[at] == '-')) {
    const long sign = text[at] == '-' ? -1 : 1;
    ++at;
    const auto hours = digits(text, at, 2);
    if (!hours) return std::nullopt;
    long seconds = *hours * 3600L;
    if (at < text.size()) {
      const auto minutes = offset_part(text, at);
      if (!minutes) return std::nullopt;
      seconds += *minutes * 60L;
    }
    if (at < text.size()) {
      const auto extra = offset_part(text, at);
      if (!extra) return std::nullopt;
      seconds += *extra;
    }
    parsed.offset_seconds = sign * seconds;
  } else {
    return std::nullopt;
  }
  if (at != text.size()) return std::nullopt;
  parsed.tm.tm_year = *year - 1900;
  parsed.tm.tm_mon = *month - 1;
  parsed.tm.tm_mday = *day;
  parsed.tm.tm_hour = *hour;
  parsed.tm.tm_min = *minute;
  parsed.tm.tm_sec = *second;
  return parsed;
}

}  // namespace

std::string iso_utc(std::string_view server_text) {
  auto parsed = parse(server_text);
  if (!parsed) return std::string(server_text);
  const std::time_t utc = timegm(&parsed->tm) - parsed->offset_seconds;
  std::tm tm{};
  gmtime_r(&utc, &tm);
  char buffer[96];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, parsed->millis);
  return buffer;
}

}  // namespace dbmig::engine
