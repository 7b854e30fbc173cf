#include "engine/wait_for_db.h"

#include <array>
#include <string_view>
#include <thread>

#include "core/duration.h"
#include "engine/server.h"

namespace dbmig::engine {

bool server_not_ready(const db::DbError& error) {
  if (error.sqlstate() == "57P03") return true;  // cannot_connect_now
  constexpr std::array<std::string_view, 6> kNotReady = {
      "Connection refused",
      "No such file or directory",  // the Unix socket does not exist yet
      "the database system is starting up",
      "the database system is in recovery mode",
      "the database system is not yet accepting connections",
      "the database system is not accepting connections",
  };
  const std::string& message = error.fields().message;
  for (const std::string_view part : kNotReady) {
    if (message.find(part) != std::string::npos) return true;
  }
  return false;
}

std::unique_ptr<db::Connection> open_connection_waiting(const db::ConnectOptions& options,
                                                        std::chrono::milliseconds wait,
                                                        Reporter& reporter) {
  using std::chrono::milliseconds;
  using std::chrono::steady_clock;
  const auto deadline = steady_clock::now() + wait;
  milliseconds interval{200};
  bool reported = false;
  while (true) {
    try {
      return std::make_unique<db::Connection>(db::Connection::open(options));
    } catch (const db::DbError& error) {
      const auto now = steady_clock::now();
      if (!server_not_ready(error) || now >= deadline) throw;
      if (!reported) {
        const std::string reason =
            error.fields().message.substr(0, error.fields().message.find('\n'));
        reporter.event("wait_for_db", {{"message", reason}, {"timeout_ms", wait.count()}},
                       "waiting up to " + format_duration(wait) +
                           " for the database to accept connections: " + reason);
        reported = true;
      }
      std::this_thread::sleep_for(
          std::min(interval, std::chrono::duration_cast<milliseconds>(deadline - now)));
      interval = std::min(interval * 2, milliseconds{1000});
    }
  }
}

}  // namespace dbmig::engine
