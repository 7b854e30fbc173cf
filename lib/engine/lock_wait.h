// What a step's backend waits on (PostgreSQL), for the lines apply prints
// while a step runs long (issue 13, docs/apply.md "Long steps"): the lock it
// waits for (pg_locks), who holds it (pg_blocking_pids), each holder's query
// (redacted: never a password), state and age. Another role's query and
// age are hidden from a role without pg_read_all_stats: a holder is then
// shown with what is visible and marked hidden.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "db/connection.h"

namespace dbmig::engine {

// The most of a holder's query a line shows (after redaction and collapsing
// whitespace); longer ones end in "...".
inline constexpr std::size_t kShownQueryChars = 120;

// A backend holding (or queued ahead for) the lock the step waits for.
struct LockHolder {
  int pid = 0;
  std::string user;     // its role ("" when unknown)
  bool hidden = false;  // its query, state and age are hidden (no pg_read_all_stats)
  std::string state;    // "idle in transaction", "active", ... ("" when hidden)
  std::string query;    // shown_query() of its current or last query ("" when hidden)
  std::optional<std::int64_t> age_ms;  // since its transaction (else query) began
};

// The lock a backend waits for.
struct LockWait {
  std::string locktype;  // pg_locks.locktype: "relation", "transactionid", "virtualxid", ...
  std::string mode;      // "AccessExclusiveLock", ... ("" when not found in pg_locks)
  std::string relation;  // the relation's qualified name; "" when the lock is not on one
  std::vector<LockHolder> holders;  // pg_blocking_pids, in pid order
};

// What the backend is doing, from pg_stat_activity.
struct BackendActivity {
  std::string state;            // "active", "idle", ... ("" when the backend is gone)
  std::string wait_event_type;  // "" when not waiting
  std::string wait_event;
  std::optional<LockWait> lock;  // set when wait_event_type is "Lock"
};

// Reads what backend `pid` does and, when it waits for a lock, that lock and
// its holders. The connection's search_path should be pg_catalog's only
// (relation names are then schema-qualified). Throws db::DbError.
[[nodiscard]] BackendActivity read_backend_activity(db::Connection& connection, int pid);

// A query as a line may show it: passwords masked (db::redact_statement),
// runs of whitespace as one space, at most kShownQueryChars characters
// (cut at a UTF-8 character boundary, then "...").
[[nodiscard]] std::string shown_query(std::string_view query);

// "waiting for a ShareLock on public.t, held by pid 41 (alice, idle in
// transaction for 12s): LOCK TABLE t" -- the text of a lock wait.
[[nodiscard]] std::string describe_lock_wait(const LockWait& wait);

// The holders as JSON: [{pid, user, hidden, state, query, age_ms}, ...]
// (state, query and age_ms null when hidden or unknown).
[[nodiscard]] nlohmann::json holders_json(const std::vector<LockHolder>& holders);

}  // namespace dbmig::engine
