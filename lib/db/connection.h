// libpq, owned: move-only RAII handles for PGconn and PGresult. This folder is
// the only code in dbmig that includes <libpq-fe.h>. Every result is created
// and checked in one function, so an unchecked result cannot exist; errors
// become DbError (error.h).
#pragma once

#include <algorithm>
#include <chrono>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "db/error.h"

struct pg_conn;
struct pg_result;

namespace dbmig::db {

// A checked, successful result (tuples or command OK). Move-only.
class Result {
 public:
  Result() = default;
  [[nodiscard]] int rows() const;
  [[nodiscard]] int columns() const;
  // The number of the column named `name` (PQfnumber: exact, case
  // sensitive when quoted), or -1 when the result has no such column.
  [[nodiscard]] int column_index(std::string_view name) const;
  [[nodiscard]] bool is_null(int row, int column) const;
  // The value as text ("" for NULL). Precondition: row/column in range.
  [[nodiscard]] std::string_view get(int row, int column) const;
  // The value, or nullopt for NULL.
  [[nodiscard]] std::optional<std::string> get_optional(int row, int column) const;
  // True when the value is boolean true ("t" / "true"); false for anything
  // else, NULL included. Precondition: row/column in range.
  [[nodiscard]] bool get_bool(int row, int column) const;
  // Rows affected by INSERT/UPDATE/DELETE (PQcmdTuples), 0 when not applicable.
  [[nodiscard]] long affected_rows() const;
  // The command tag, e.g. "CREATE INDEX", "UPDATE 1".
  [[nodiscard]] std::string_view command_tag() const;

 private:
  friend class Connection;
  struct Deleter {
    void operator()(pg_result* result) const noexcept;
  };
  explicit Result(pg_result* result) : result_(result) {}
  std::unique_ptr<pg_result, Deleter> result_;
};

// How open() builds libpq's parameters (PQconnectdbParams, expand_dbname=1):
// connect_timeout and keepalives come first, so a value written in
// `conninfo` wins over them; application_name and client_encoding=UTF8 come
// after, so dbmig's wins; `options` is merged: the conninfo's own `options`
// value followed by dbmig's `-c name=value` startup options (which therefore
// win). Startup options survive RESET ALL and override what the role or
// database sets (ALTER ROLE ... SET), which a session-level SET would not.
//
// Every connection gets standard_conforming_strings=on. The other settings
// are chosen by the caller (state_session / step_session give dbmig's two
// kinds); those that exist only from a server version on
// (idle_session_timeout: PostgreSQL 14, transaction_timeout: 17) are sent
// only to a server that has them: open() learns the server's version from a
// first connection to `conninfo` (remembered for the process) and, when the
// version calls for such settings, sets them on that connection
// (keeps_session_settings) or connects again with them.
struct ConnectOptions {
  // A postgres:// URL or key=value conninfo; "" means libpq's own PG* defaults.
  std::string conninfo;
  std::string application_name = "dbmig";
  // When set, sent as the startup option idle_in_transaction_session_timeout.
  std::optional<std::chrono::milliseconds> idle_in_transaction_timeout;
  // When set, sent as the startup options lock_timeout / statement_timeout
  // (0 = none, whatever the role sets).
  std::optional<std::chrono::milliseconds> lock_timeout;
  std::optional<std::chrono::milliseconds> statement_timeout;
  // search_path=pg_catalog,pg_temp: dbmig's own SQL cannot be redirected to
  // objects another role planted.
  bool catalog_search_path = false;
  // idle_session_timeout=0 (PostgreSQL >= 14): a role's idle timeout cannot
  // end the session while dbmig waits on another connection.
  bool never_idle_out = false;
  // transaction_timeout=0 (PostgreSQL >= 17).
  bool no_transaction_timeout = false;
  // Nothing on this connection runs RESET ALL (dbmig's own SQL only): the
  // first connection to a server whose version is not known yet may get the
  // version-dependent settings with set_config instead of a reconnect.
  bool keeps_session_settings = false;
  std::chrono::seconds connect_timeout{10};  // libpq connect_timeout
  bool keepalives = true;                    // TCP keepalives (idle 10s, interval 5s, count 3)

  // The `-c name=value` settings open() sends to a server of
  // `server_version` (PQserverVersion), in order, without the conninfo's.
  [[nodiscard]] std::vector<std::string> startup_settings(int server_version) const;
};

// dbmig's state and heartbeat connections (and the read-only commands'):
// search_path=pg_catalog,pg_temp, idle_session_timeout=0,
// transaction_timeout=0, idle_in_transaction_session_timeout = 2/3 of
// `lease_ttl`, lock_timeout = 1/3 of it and statement_timeout = 2/3 of it
// (each at least 100 ms), so that neither a role's settings nor a stuck
// statement can outlive the lease. `catalog_search_path` false keeps the
// database's search_path (for a connection that must resolve the names a
// step wrote).
[[nodiscard]] ConnectOptions state_session(std::string conninfo,
                                           std::chrono::milliseconds lease_ttl,
                                           bool catalog_search_path = true);

// dbmig's step connection: the database's and role's search_path and
// statement_timeout (the documented policy: a statement_timeout the operator
// set bounds a concurrent build too, and a build it cancels is reported
// INVALID at once, docs/apply.md), lock_timeout=0 (transactional steps set
// their own with SET LOCAL), idle_session_timeout=0 and
// idle_in_transaction_session_timeout = 2/3 of `lease_ttl`.
[[nodiscard]] ConnectOptions step_session(std::string conninfo,
                                          std::chrono::milliseconds lease_ttl);

class Connection {
 public:
  // Connects. Throws DbError (connection_lost() true) when the server cannot
  // be reached or refuses; its message never holds a password. Server
  // notices (NOTICE, WARNING) are discarded, never printed to stderr.
  static Connection open(const ConnectOptions& options);

  // Defined in connection.cpp, where CancelHandle is complete. A moved-from
  // Connection is closed: ok() is false and every statement throws.
  Connection(Connection&&) noexcept;
  Connection& operator=(Connection&&) noexcept;
  ~Connection();

  // Runs one statement with the extended protocol (no parameters) and
  // returns its result: the server refuses a text it would read as several
  // commands (42601), so what runs is one statement. Throws DbError on any
  // failure (connection_lost() when the connection broke or was never open;
  // during_commit when `sql` is COMMIT/END). COPY FROM STDIN / TO STDOUT is
  // not supported: DbError, the copy ended, the connection still usable.
  Result exec(std::string_view sql);

  // Runs one statement with $1..$n text parameters (nullopt = NULL).
  Result exec_params(std::string_view sql,
                     std::initializer_list<std::optional<std::string>> params);
  Result exec_params(std::string_view sql, const std::vector<std::optional<std::string>>& params);

  // The first column of the first row of `sql` ($1..$n parameters), or
  // nullopt when there is no row or the value is NULL. Throws DbError.
  std::optional<std::string> query_value(
      std::string_view sql, const std::vector<std::optional<std::string>>& params = {});
  // True when `sql` returns one row whose first column is boolean true;
  // false for false, NULL or no row. Throws DbError.
  bool query_bool(std::string_view sql, const std::vector<std::optional<std::string>>& params = {});

  // Sends `sql` (possibly several statements) as ONE simple-protocol Query
  // message and returns every statement's result in order. On an error it
  // drains the connection and throws DbError; `fields().statement` holds the
  // whole message. One round trip. The std::string and const char* overloads
  // send the caller's NUL-terminated text without copying it (a 50 MB step
  // would otherwise be held twice, BENCHMARKS.md).
  std::vector<Result> exec_script(std::string_view sql);
  std::vector<Result> exec_script(const std::string& sql);
  std::vector<Result> exec_script(const char* sql);

  // Asks the server to cancel the statement in progress (PQcancel). Safe to
  // call from another thread; never throws.
  void cancel() noexcept;

  // True while the connection is usable.
  [[nodiscard]] bool ok() const;
  // Server version as PostgreSQL reports it (e.g. 150004), read at connect.
  [[nodiscard]] int server_version() const;
  // The backend's process id (pg_backend_pid on PostgreSQL).
  [[nodiscard]] int backend_pid() const;

 private:
  struct Deleter {
    void operator()(pg_conn* conn) const noexcept;
  };
  Connection() = default;
  // One PQconnectdbParams with the settings for a server of `server_version`.
  static Connection connect(const ConnectOptions& options, int server_version);
  // Sets each `name=value` for the session in one statement; false when the
  // session ended before it ran.
  bool set_for_session(const std::vector<std::string>& settings);
  // The one place a single-statement result is judged: a Result, or DbError
  // thrown (the PGresult freed, a pending COPY ended, the connection drained).
  static Result check(pg_conn* conn, pg_result* result, std::string_view statement);
  std::unique_ptr<pg_conn, Deleter> conn_;
  struct CancelHandle;
  std::unique_ptr<CancelHandle> cancel_;  // PGcancel, created at connect
};

// True for a boolean's text as the server sends it ("t", or "true").
[[nodiscard]] bool is_true(std::string_view text);

// ROLLBACK on `connection`, ignoring every error (no transaction open, the
// connection gone): for paths where the first error is the one to report.
void rollback_quietly(Connection& connection) noexcept;

// A transaction on a connection, rolled back quietly when the guard leaves
// scope without commit() (an exception, an early return). Move-only.
class Transaction {
 public:
  // Sends `begin` (BEGIN, or BEGIN ISOLATION LEVEL ...). Throws DbError.
  explicit Transaction(Connection& connection, std::string_view begin = "BEGIN");
  // Guards a transaction the caller opens itself in the same message as its
  // first statements (one round trip: "BEGIN; ..." through exec_script).
  [[nodiscard]] static Transaction adopt(Connection& connection) noexcept;
  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();

  // COMMIT. Throws DbError (outcome_unknown() when the connection broke
  // while COMMIT was in flight); the guard then no longer rolls back.
  void commit();
  // ROLLBACK now, quietly; the guard is done.
  void rollback() noexcept;

 private:
  explicit Transaction(Connection* connection) noexcept : connection_(connection) {}
  Connection* connection_;  // nullptr once committed or rolled back
};

// `conninfo` with any password replaced by "********": works for URLs
// (postgres://user:secret@host) and key=value strings (password=secret).
[[nodiscard]] std::string redact_password(std::string_view conninfo);

}  // namespace dbmig::db
