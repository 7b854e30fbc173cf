// libpq, owned. Every PGresult is judged by `error_of` (through
// Connection::check, or exec_script's loop), which turns a failure into
// DbError; a successful one is wrapped in a Result. A COPY that dbmig cannot
// serve is ended so that the connection stays usable. The connection-lost
// decision is made in one place (`is_connection_lost`): the
// connection's status after the failure, or a SQLSTATE that means the server
// ended the session (class 08, 57P01..57P03), or a client-side error with no
// SQLSTATE on a broken connection.
#include "db/connection.h"

#include <libpq-fe.h>

#include <array>
#include <cctype>
#include <cstdlib>
#include <utility>

#include "core/text.h"

namespace dbmig::db {

struct Connection::CancelHandle {
  PGcancel* cancel = nullptr;
  explicit CancelHandle(PGcancel* handle) : cancel(handle) {}
  CancelHandle(const CancelHandle&) = delete;
  CancelHandle& operator=(const CancelHandle&) = delete;
  ~CancelHandle() {
    if (cancel != nullptr) PQfreeCancel(cancel);
  }
};

namespace {

std::string trim_message(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return std::string(text);
}

std::string field(const PGresult* result, int code) {
  const char* value = PQresultErrorField(result, code);
  return value == nullptr ? std::string() : std::string(value);
}

// COMMIT, END, COMMIT AND CHAIN...: the statement whose outcome is unknown
// when the connection breaks while it is in flight.
bool is_commit(std::string_view statement) {
  std::size_t begin = 0;
  while (begin < statement.size() && std::isspace(static_cast<unsigned char>(statement[begin]))) {
    ++begin;
  }
  std::size_t end = begin;
  while (end < statement.size() && std::isalpha(static_cast<unsigned char>(statement[end]))) {
    ++end;
  }
  const std::string word = ascii_lower(statement.substr(begin, end - begin));
  return word == "commit" || word == "end";
}

bool is_connection_lost(PGconn* conn, const std::string& sqlstate) {
  if (conn == nullptr || PQstatus(conn) != CONNECTION_OK) return true;
  if (sqlstate.starts_with("08")) return true;
  return sqlstate == "57P01" || sqlstate == "57P02" || sqlstate == "57P03";
}

DbError client_error(PGconn* conn, std::string_view statement) {
  DbError::Fields fields;
  fields.message = conn == nullptr ? std::string("connection is not open")
                                   : trim_message(PQerrorMessage(conn));
  fields.statement = std::string(statement);
  fields.connection_lost = is_connection_lost(conn, fields.sqlstate);
  fields.during_commit = is_commit(statement);
  return DbError(std::move(fields));
}

// The DbError that `result` reports, or nullopt when it succeeded. Does not
// take ownership of `result`.
std::optional<DbError> error_of(PGconn* conn, const PGresult* result, std::string_view statement) {
  if (result == nullptr) return client_error(conn, statement);
  DbError::Fields fields;
  switch (PQresultStatus(result)) {
    case PGRES_COMMAND_OK:
    case PGRES_TUPLES_OK:
    case PGRES_EMPTY_QUERY:
      return std::nullopt;
    case PGRES_COPY_IN:
    case PGRES_COPY_OUT:
    case PGRES_COPY_BOTH:
      fields.message = "COPY FROM STDIN / TO STDOUT is not supported";
      fields.statement = std::string(statement);
      return DbError(std::move(fields));
    default:
      break;
  }
  fields.sqlstate = field(result, PG_DIAG_SQLSTATE);
  fields.message = field(result, PG_DIAG_MESSAGE_PRIMARY);
  if (fields.message.empty()) fields.message = trim_message(PQresultErrorMessage(result));
  if (fields.message.empty()) {
    fields.message = std::string("unexpected result status ") + PQresStatus(PQresultStatus(result));
  }
  fields.detail = field(result, PG_DIAG_MESSAGE_DETAIL);
  fields.hint = field(result, PG_DIAG_MESSAGE_HINT);
  fields.position = std::atoi(field(result, PG_DIAG_STATEMENT_POSITION).c_str());
  fields.statement = std::string(statement);
  fields.connection_lost = is_connection_lost(conn, fields.sqlstate);
  fields.during_commit = is_commit(statement);
  return DbError(std::move(fields));
}

// Ends a COPY that dbmig cannot feed or read, so the connection stays usable:
// COPY FROM STDIN gets an immediate end-of-copy error, COPY TO STDOUT is read
// to its end and discarded.
void end_copy(PGconn* conn, const PGresult* result) {
  const ExecStatusType status = PQresultStatus(result);
  if (status == PGRES_COPY_IN) PQputCopyEnd(conn, "dbmig does not send COPY data");
  if (status == PGRES_COPY_OUT) {
    char* buffer = nullptr;
    while (PQgetCopyData(conn, &buffer, 0) > 0) PQfreemem(buffer);
  }
}

void drain(PGconn* conn) {
  while (PGresult* rest = PQgetResult(conn)) PQclear(rest);
}

// Everything after `options=` of a conninfo, or "" (the caller's own startup
// options, kept when dbmig adds its own).
std::string options_of(const std::string& conninfo) {
  if (conninfo.empty()) return {};
  char* error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(conninfo.c_str(), &error);
  if (parsed == nullptr) {
    DbError::Fields fields;
    fields.message = error == nullptr ? std::string("invalid connection string")
                                      : "invalid connection string: " + trim_message(error);
    fields.connection_lost = true;
    PQfreemem(error);
    throw DbError(std::move(fields));
  }
  std::string options;
  for (const PQconninfoOption* option = parsed; option->keyword != nullptr; ++option) {
    if (std::string_view(option->keyword) == "options" && option->val != nullptr) {
      options = option->val;
    }
  }
  PQconninfoFree(parsed);
  return options;
}

struct Parameters {
  std::vector<std::string> keywords;
  std::vector<std::string> values;
  void add(std::string keyword, std::string value) {
    keywords.push_back(std::move(keyword));
    values.push_back(std::move(value));
  }
};

Parameters connect_parameters(const ConnectOptions& options) {
  Parameters parameters;
  parameters.add("connect_timeout", std::to_string(options.connect_timeout.count()));
  parameters.add("keepalives", options.keepalives ? "1" : "0");
  if (options.keepalives) {
    parameters.add("keepalives_idle", "10");
    parameters.add("keepalives_interval", "5");
    parameters.add("keepalives_count", "3");
  }
  if (!options.conninfo.empty()) parameters.add("dbname", options.conninfo);
  parameters.add("application_name", options.application_name);
  std::string startup = options_of(options.conninfo);
  if (options.idle_in_transaction_timeout) {
    if (!startup.empty()) startup += ' ';
    startup += "-c idle_in_transaction_session_timeout=" +
               std::to_string(options.idle_in_transaction_timeout->count());
  }
  if (!startup.empty()) parameters.add("options", startup);
  return parameters;
}

}  // namespace

void Result::Deleter::operator()(pg_result* result) const noexcept { PQclear(result); }

int Result::rows() const { return result_ ? PQntuples(result_.get()) : 0; }

int Result::columns() const { return result_ ? PQnfields(result_.get()) : 0; }

bool Result::is_null(int row, int column) const {
  return PQgetisnull(result_.get(), row, column) != 0;
}

std::string_view Result::get(int row, int column) const {
  const char* value = PQgetvalue(result_.get(), row, column);
  return std::string_view(value, static_cast<std::size_t>(PQgetlength(result_.get(), row, column)));
}

std::optional<std::string> Result::get_optional(int row, int column) const {
  if (is_null(row, column)) return std::nullopt;
  return std::string(get(row, column));
}

long Result::affected_rows() const {
  if (!result_) return 0;
  const char* tuples = PQcmdTuples(result_.get());
  return tuples[0] == '\0' ? 0L : std::strtol(tuples, nullptr, 10);
}

std::string_view Result::command_tag() const {
  return result_ ? std::string_view(PQcmdStatus(result_.get())) : std::string_view();
}

void Connection::Deleter::operator()(pg_conn* conn) const noexcept { PQfinish(conn); }

Connection::Connection(Connection&&) noexcept = default;
Connection& Connection::operator=(Connection&&) noexcept = default;
Connection::~Connection() = default;

Connection Connection::open(const ConnectOptions& options) {
  const Parameters parameters = connect_parameters(options);
  std::vector<const char*> keywords;
  std::vector<const char*> values;
  for (std::size_t i = 0; i < parameters.keywords.size(); ++i) {
    keywords.push_back(parameters.keywords[i].c_str());
    values.push_back(parameters.values[i].c_str());
  }
  keywords.push_back(nullptr);
  values.push_back(nullptr);
  Connection connection;
  connection.conn_.reset(PQconnectdbParams(keywords.data(), values.data(), 1));
  if (!connection.conn_) throw client_error(nullptr, "");
  if (PQstatus(connection.conn_.get()) != CONNECTION_OK) {
    throw client_error(connection.conn_.get(), "");
  }
  PQsetNoticeProcessor(connection.conn_.get(), [](void*, const char*) {}, nullptr);
  connection.cancel_ = std::make_unique<CancelHandle>(PQgetCancel(connection.conn_.get()));
  return connection;
}

Result Connection::check(pg_conn* conn, pg_result* result, std::string_view statement) {
  if (auto error = error_of(conn, result, statement)) {
    if (result != nullptr) {
      end_copy(conn, result);
      PQclear(result);
      drain(conn);
    }
    throw *error;
  }
  return Result(result);
}

Result Connection::exec(std::string_view sql) {
  const std::string text(sql);
  PGresult* raw = conn_ ? PQexec(conn_.get(), text.c_str()) : nullptr;
  return check(conn_.get(), raw, sql);
}

Result Connection::exec_params(std::string_view sql,
                               std::initializer_list<std::optional<std::string>> params) {
  return exec_params(sql, std::vector<std::optional<std::string>>(params));
}

Result Connection::exec_params(std::string_view sql,
                               const std::vector<std::optional<std::string>>& params) {
  const std::string text(sql);
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& param : params) values.push_back(param ? param->c_str() : nullptr);
  PGresult* raw = conn_ ? PQexecParams(conn_.get(), text.c_str(), static_cast<int>(values.size()),
                                       nullptr, values.data(), nullptr, nullptr, 0)
                        : nullptr;
  return check(conn_.get(), raw, sql);
}

std::vector<Result> Connection::exec_script(std::string_view sql) {
  return exec_script(std::string(sql));
}

std::vector<Result> Connection::exec_script(const char* sql) {
  return exec_script(std::string_view(sql));
}

std::vector<Result> Connection::exec_script(const std::string& sql) {
  if (!conn_ || PQsendQuery(conn_.get(), sql.c_str()) == 0) throw client_error(conn_.get(), sql);
  std::vector<Result> results;
  std::optional<DbError> first_error;
  while (PGresult* raw = PQgetResult(conn_.get())) {
    if (auto error = error_of(conn_.get(), raw, sql)) {
      end_copy(conn_.get(), raw);
      PQclear(raw);
      if (!first_error) first_error = std::move(error);
      continue;
    }
    results.push_back(Result(raw));
  }
  if (first_error) throw *first_error;
  if (PQstatus(conn_.get()) != CONNECTION_OK) throw client_error(conn_.get(), sql);
  return results;
}

void Connection::cancel() noexcept {
  if (!cancel_ || cancel_->cancel == nullptr) return;
  std::array<char, 256> error{};
  PQcancel(cancel_->cancel, error.data(), static_cast<int>(error.size()));
}

bool Connection::ok() const { return conn_ && PQstatus(conn_.get()) == CONNECTION_OK; }

int Connection::server_version() const { return conn_ ? PQserverVersion(conn_.get()) : 0; }

int Connection::backend_pid() const { return conn_ ? PQbackendPID(conn_.get()) : 0; }

}  // namespace dbmig::db
