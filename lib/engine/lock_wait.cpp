#include "engine/lock_wait.h"

#include "core/duration.h"
#include "db/redact.h"
#include "sql/quoting.h"

namespace dbmig::engine {
namespace {

// pg_stat_activity's query text for a backend of another role that the
// reading role may not see.
constexpr std::string_view kHiddenQuery = "<insufficient privilege>";

std::string activity_sql() {
  const std::string eq = sql::pg_operator("=");
  return "SELECT COALESCE(a.state, ''), COALESCE(a.wait_event_type, ''),"
         " COALESCE(a.wait_event, ''), COALESCE(l.locktype, ''), COALESCE(l.mode, ''),"
         " COALESCE(CAST(CAST(l.relation AS pg_catalog.regclass) AS pg_catalog.text), '')"
         " FROM pg_catalog.pg_stat_activity a LEFT JOIN LATERAL (SELECT k.locktype, k.mode,"
         " k.relation FROM pg_catalog.pg_locks k WHERE k.pid" +
         eq + "a.pid AND NOT k.granted LIMIT 1) l ON true WHERE a.pid" + eq +
         "CAST($1 AS pg_catalog.int4)";
}

std::string holders_sql() {
  const std::string eq = sql::pg_operator("=");
  return "SELECT b.pid, COALESCE(CAST(a.usename AS pg_catalog.text), ''),"
         " (a.pid IS NULL OR a.query" +
         eq + "'" + std::string(kHiddenQuery) +
         "'), COALESCE(a.state, ''), COALESCE(a.query, ''),"
         " CAST(EXTRACT(EPOCH FROM (pg_catalog.now()" +
         sql::pg_operator("-") + "COALESCE(a.xact_start, a.query_start)))" + sql::pg_operator("*") +
         "1000 AS pg_catalog.int8)"
         " FROM pg_catalog.unnest(pg_catalog.pg_blocking_pids(CAST($1 AS pg_catalog.int4)))"
         " AS b(pid) LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid" +
         eq + "b.pid ORDER BY b.pid";
}

std::vector<LockHolder> read_holders(db::Connection& connection, int pid) {
  const db::Result result = connection.exec_params(holders_sql(), {std::to_string(pid)});
  std::vector<LockHolder> holders;
  for (int row = 0; row < result.rows(); ++row) {
    LockHolder holder;
    holder.pid = std::stoi(std::string(result.get(row, 0)));
    holder.user = result.get(row, 1);
    holder.hidden = result.get_bool(row, 2);
    if (!holder.hidden) {
      holder.state = result.get(row, 3);
      holder.query = shown_query(result.get(row, 4));
      if (!result.is_null(row, 5)) holder.age_ms = std::stoll(std::string(result.get(row, 5)));
    }
    holders.push_back(std::move(holder));
  }
  return holders;
}

std::string describe_holder(const LockHolder& holder) {
  std::string text = "pid " + std::to_string(holder.pid) + " (";
  if (!holder.user.empty()) text += holder.user + ", ";
  if (holder.hidden) {
    return text + "query and age hidden: they need pg_read_all_stats)";
  }
  text += holder.state.empty() ? "state unknown" : holder.state;
  if (holder.age_ms) text += " for " + format_duration(std::chrono::milliseconds{*holder.age_ms});
  text += ")";
  return holder.query.empty() ? text : text + ": " + holder.query;
}

// The start of `text` of at most `limit` bytes that does not cut a UTF-8
// character.
std::string_view utf8_prefix(std::string_view text, std::size_t limit) {
  if (text.size() <= limit) return text;
  std::size_t end = limit;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

}  // namespace

BackendActivity read_backend_activity(db::Connection& connection, int pid) {
  const db::Result result = connection.exec_params(activity_sql(), {std::to_string(pid)});
  BackendActivity activity;
  if (result.rows() == 0) return activity;
  activity.state = result.get(0, 0);
  activity.wait_event_type = result.get(0, 1);
  activity.wait_event = result.get(0, 2);
  if (activity.wait_event_type != "Lock") return activity;
  LockWait wait;
  wait.locktype = result.get(0, 3);
  if (wait.locktype.empty()) wait.locktype = activity.wait_event;
  wait.mode = result.get(0, 4);
  wait.relation = result.get(0, 5);
  wait.holders = read_holders(connection, pid);
  activity.lock = std::move(wait);
  return activity;
}

std::string shown_query(std::string_view query) {
  const std::string redacted = db::redact_statement(query);
  std::string collapsed;
  collapsed.reserve(redacted.size());
  for (const char c : redacted) {
    const bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
    if (!space) {
      collapsed += c;
    } else if (!collapsed.empty() && collapsed.back() != ' ') {
      collapsed += ' ';
    }
  }
  while (!collapsed.empty() && collapsed.back() == ' ') collapsed.pop_back();
  if (collapsed.size() <= kShownQueryChars) return collapsed;
  return std::string(utf8_prefix(collapsed, kShownQueryChars)) + "...";
}

std::string describe_lock_wait(const LockWait& wait) {
  std::string text = "waiting for ";
  const bool vowel =
      !wait.mode.empty() && std::string_view("AEIOU").find(wait.mode[0]) != std::string_view::npos;
  text += wait.mode.empty() ? "a lock" : (vowel ? "an " : "a ") + wait.mode;
  text += wait.relation.empty() ? " (" + wait.locktype + ")" : " on " + wait.relation;
  if (wait.holders.empty()) return text + "; no blocking backend is visible";
  text += ", held by ";
  for (std::size_t i = 0; i < wait.holders.size(); ++i) {
    if (i > 0) text += "; and by ";
    text += describe_holder(wait.holders[i]);
  }
  return text;
}

nlohmann::json holders_json(const std::vector<LockHolder>& holders) {
  nlohmann::json list = nlohmann::json::array();
  for (const LockHolder& holder : holders) {
    list.push_back({{"pid", holder.pid},
                    {"user", holder.user},
                    {"hidden", holder.hidden},
                    {"state", holder.hidden ? nlohmann::json() : nlohmann::json(holder.state)},
                    {"query", holder.hidden ? nlohmann::json() : nlohmann::json(holder.query)},
                    {"age_ms", holder.age_ms ? nlohmann::json(*holder.age_ms) : nlohmann::json()}});
  }
  return list;
}

}  // namespace dbmig::engine
