// libpq, owned: move-only RAII handles for PGconn and PGresult. This folder is
// the only code in dbmig that includes <libpq-fe.h>. Every result is created
// and checked in one function, so an unchecked result cannot exist; errors
// become DbError (error.h).
#pragma once

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
  [[nodiscard]] bool is_null(int row, int column) const;
  // The value as text ("" for NULL). Precondition: row/column in range.
  [[nodiscard]] std::string_view get(int row, int column) const;
  // The value, or nullopt for NULL.
  [[nodiscard]] std::optional<std::string> get_optional(int row, int column) const;
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
// `conninfo` wins over them; application_name comes after, so dbmig's name
// wins; `options` is merged: the conninfo's own `options` value followed by
// `-c idle_in_transaction_session_timeout=<ms>` (which therefore wins).
struct ConnectOptions {
  // A postgres:// URL or key=value conninfo; "" means libpq's own PG* defaults.
  std::string conninfo;
  std::string application_name = "dbmig";
  // When set, sent as the startup option idle_in_transaction_session_timeout.
  std::optional<std::chrono::milliseconds> idle_in_transaction_timeout;
  std::chrono::seconds connect_timeout{10};  // libpq connect_timeout
  bool keepalives = true;                    // TCP keepalives (idle 10s, interval 5s, count 3)
};

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

  // Runs one statement with the simple protocol and returns its result.
  // Throws DbError on any failure (connection_lost() when the connection
  // broke or was never open; during_commit when `sql` is COMMIT/END).
  // COPY FROM STDIN / TO STDOUT is not supported: DbError, the copy ended,
  // the connection still usable.
  Result exec(std::string_view sql);

  // Runs one statement with $1..$n text parameters (nullopt = NULL).
  Result exec_params(std::string_view sql,
                     std::initializer_list<std::optional<std::string>> params);
  Result exec_params(std::string_view sql, const std::vector<std::optional<std::string>>& params);

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
  // The one place a single-statement result is judged: a Result, or DbError
  // thrown (the PGresult freed, a pending COPY ended, the connection drained).
  static Result check(pg_conn* conn, pg_result* result, std::string_view statement);
  std::unique_ptr<pg_conn, Deleter> conn_;
  struct CancelHandle;
  std::unique_ptr<CancelHandle> cancel_;  // PGcancel, created at connect
};

// `conninfo` with any password replaced by "********": works for URLs
// (postgres://user:secret@host) and key=value strings (password=secret).
[[nodiscard]] std::string redact_password(std::string_view conninfo);

}  // namespace dbmig::db
