// One time format in every output: server timestamps (timestamptz as text,
// in the session's TimeZone, DateStyle ISO) are shown as UTC
// "YYYY-MM-DDTHH:MM:SS.mmmZ", the format of utc_timestamp() (report.h).
#pragma once

#include <string>
#include <string_view>

namespace dbmig::engine {

// `server_text` ("2026-12-01 08:34:04.588123+00", "...+05:30", CockroachDB's
// "...+00:00") as "2026-12-01T08:34:04.588Z". Text in any other form
// (another DateStyle) is returned unchanged: never fails.
[[nodiscard]] std::string iso_utc(std::string_view server_text);

}  // namespace dbmig::engine
