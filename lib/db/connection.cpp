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

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>
#include <map>
#include <mutex>
#include <utility>

#include "core/text.h"
#include "db/redact.h"

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
  fields.message =
      conn == nullptr ? std::string("connection is not open") : trim_message(PQerrorMessage(conn));
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
    case PGRES_EMPTY_QUERY: return std::nullopt;
    case PGRES_COPY_IN:
    case PGRES_COPY_OUT:
    case PGRES_COPY_BOTH:
      fields.message = "COPY FROM STDIN / TO STDOUT is not supported";
      fields.statement = std::string(statement);
      return DbError(std::move(fields));
    default: break;
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
    throw without_connection_secrets(DbError(std::move(fields)), conninfo, nullptr);
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

constexpr int kIdleSessionTimeoutSince = 140000;  // PostgreSQL 14
constexpr int kTransactionTimeoutSince = 170000;  // PostgreSQL 17

std::string millis(std::chrono::milliseconds duration) { return std::to_string(duration.count()); }

Parameters connect_parameters(const ConnectOptions& options, int server_version) {
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
  parameters.add("client_encoding", "UTF8");
  std::string startup = options_of(options.conninfo);
  for (const std::string& setting : options.startup_settings(server_version)) {
    if (!startup.empty()) startup += ' ';
    startup += "-c " + setting;
  }
  parameters.add("options", startup);
  return parameters;
}

// The settings a server of `version` gets beyond those every version has.
std::vector<std::string> settings_missing(const ConnectOptions& options, int version) {
  const std::vector<std::string> everywhere = options.startup_settings(0);
  std::vector<std::string> missing;
  for (const std::string& setting : options.startup_settings(version)) {
    if (std::find(everywhere.begin(), everywhere.end(), setting) == everywhere.end()) {
      missing.push_back(setting);
    }
  }
  return missing;
}

// Whether `options` asks for a setting that only some server versions have.
bool depends_on_version(const ConnectOptions& options) {
  return options.never_idle_out || options.no_transaction_timeout;
}

// The server version each conninfo answered with, for the process: the
// version-dependent startup options are chosen from it.
class KnownVersions {
 public:
  int find(const std::string& conninfo) {
    std::lock_guard lock(mutex_);
    const auto found = versions_.find(conninfo);
    return found == versions_.end() ? 0 : found->second;
  }
  void remember(const std::string& conninfo, int version) {
    std::lock_guard lock(mutex_);
    versions_[conninfo] = version;
  }
  void forget(const std::string& conninfo) {
    std::lock_guard lock(mutex_);
    versions_.erase(conninfo);
  }

 private:
  std::mutex mutex_;
  std::map<std::string, int> versions_;
};

KnownVersions& known_versions() {
  static KnownVersions versions;
  return versions;
}

}  // namespace

void Result::Deleter::operator()(pg_result* result) const noexcept { PQclear(result); }

int Result::rows() const { return result_ ? PQntuples(result_.get()) : 0; }

int Result::columns() const { return result_ ? PQnfields(result_.get()) : 0; }

int Result::column_index(std::string_view name) const {
  if (!result_) return -1;
  const std::string quoted = "\"" + std::string(name) + "\"";
  return PQfnumber(result_.get(), quoted.c_str());
}

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

bool Result::get_bool(int row, int column) const {
  return !is_null(row, column) && is_true(get(row, column));
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

std::vector<std::string> ConnectOptions::startup_settings(int server_version) const {
  std::vector<std::string> settings{"standard_conforming_strings=on"};
  if (catalog_search_path) settings.emplace_back("search_path=pg_catalog,pg_temp");
  if (idle_in_transaction_timeout) {
    settings.push_back("idle_in_transaction_session_timeout=" +
                       millis(*idle_in_transaction_timeout));
  }
  if (lock_timeout) settings.push_back("lock_timeout=" + millis(*lock_timeout));
  if (statement_timeout) settings.push_back("statement_timeout=" + millis(*statement_timeout));
  if (never_idle_out && server_version >= kIdleSessionTimeoutSince) {
    settings.emplace_back("idle_session_timeout=0");
  }
  if (no_transaction_timeout && server_version >= kTransactionTimeoutSince) {
    settings.emplace_back("transaction_timeout=0");
  }
  return settings;
}

ConnectOptions state_session(std::string conninfo, std::chrono::milliseconds lease_ttl,
                             bool catalog_search_path) {
  const auto at_least = [](std::chrono::milliseconds value) {
    return std::max(value, std::chrono::milliseconds{100});
  };
  ConnectOptions options;
  options.conninfo = std::move(conninfo);
  options.catalog_search_path = catalog_search_path;
  options.idle_in_transaction_timeout = at_least(lease_ttl * 2 / 3);
  options.lock_timeout = at_least(lease_ttl / 3);
  options.statement_timeout = at_least(lease_ttl * 2 / 3);
  options.never_idle_out = true;
  options.no_transaction_timeout = true;
  options.keeps_session_settings = true;
  return options;
}

ConnectOptions step_session(std::string conninfo, std::chrono::milliseconds lease_ttl) {
  ConnectOptions options;
  options.conninfo = std::move(conninfo);
  options.idle_in_transaction_timeout = std::max(lease_ttl * 2 / 3, std::chrono::milliseconds{100});
  options.lock_timeout = std::chrono::milliseconds{0};
  options.never_idle_out = true;
  return options;
}

Connection Connection::connect(const ConnectOptions& options, int server_version) {
  const Parameters parameters = connect_parameters(options, server_version);
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
    throw without_connection_secrets(client_error(connection.conn_.get(), ""), options.conninfo,
                                     connection.conn_.get());
  }
  PQsetNoticeProcessor(
      connection.conn_.get(), [](void*, const char*) {}, nullptr);
  connection.cancel_ = std::make_unique<CancelHandle>(PQgetCancel(connection.conn_.get()));
  return connection;
}

// A first connection to a conninfo whose server version is not known yet
// carries only the settings every version has; when its version has more of
// those asked for, they are set for the session on that same connection if
// nothing on it runs RESET ALL (keeps_session_settings), else a second
// connection carries them as startup options.
Connection Connection::open(const ConnectOptions& options) {
  if (!depends_on_version(options)) return connect(options, 0);
  KnownVersions& versions = known_versions();
  if (const int known = versions.find(options.conninfo); known != 0) {
    try {
      return connect(options, known);
    } catch (const DbError&) {
      versions.forget(options.conninfo);  // perhaps another server now: learn again next time
      throw;
    }
  }
  Connection first = connect(options, 0);
  const int version = first.server_version();
  versions.remember(options.conninfo, version);
  const std::vector<std::string> missing = settings_missing(options, version);
  if (missing.empty()) return first;
  if (options.keeps_session_settings && first.set_for_session(missing)) return first;
  return connect(options, version);
}

// One statement, extended protocol: set_config(name, value, false) for each
// `name=value`. False when the session ended meanwhile (a role's very short
// idle_session_timeout can end it before the statement arrives).
bool Connection::set_for_session(const std::vector<std::string>& settings) {
  std::string sql = "SELECT ";
  std::vector<std::optional<std::string>> params;
  for (const std::string& setting : settings) {
    const std::size_t equals = setting.find('=');
    if (!params.empty()) sql += ", ";
    sql += "pg_catalog.set_config($" + std::to_string(params.size() + 1) + ", $" +
           std::to_string(params.size() + 2) + ", false)";
    params.emplace_back(setting.substr(0, equals));
    params.emplace_back(setting.substr(equals + 1));
  }
  try {
    (void)exec_params(sql, params);
    return true;
  } catch (const DbError& error) {
    if (error.connection_lost()) return false;
    throw;
  }
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
  PGresult* raw =
      conn_ ? PQexecParams(conn_.get(), text.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0)
            : nullptr;
  return check(conn_.get(), raw, sql);
}

std::optional<std::string> Connection::query_value(
    std::string_view sql, const std::vector<std::optional<std::string>>& params) {
  const Result result = exec_params(sql, params);
  if (result.rows() == 0 || result.columns() == 0) return std::nullopt;
  return result.get_optional(0, 0);
}

bool Connection::query_bool(std::string_view sql,
                            const std::vector<std::optional<std::string>>& params) {
  const Result result = exec_params(sql, params);
  return result.rows() == 1 && result.columns() >= 1 && result.get_bool(0, 0);
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

bool is_true(std::string_view text) { return text == "t" || text == "true"; }

void rollback_quietly(Connection& connection) noexcept {
  try {
    connection.exec("ROLLBACK");
  } catch (const std::exception&) {
    // No transaction, or the connection is gone: the caller reports the first error.
  }
}

Transaction::Transaction(Connection& connection, std::string_view begin)
    : connection_(&connection) {
  connection.exec(begin);
}

Transaction Transaction::adopt(Connection& connection) noexcept { return Transaction(&connection); }

Transaction::Transaction(Transaction&& other) noexcept
    : connection_(std::exchange(other.connection_, nullptr)) {}

Transaction::~Transaction() { rollback(); }

void Transaction::commit() {
  Connection* connection = std::exchange(connection_, nullptr);
  if (connection != nullptr) connection->exec("COMMIT");
}

void Transaction::rollback() noexcept {
  Connection* connection = std::exchange(connection_, nullptr);
  if (connection != nullptr) rollback_quietly(*connection);
}

}  // namespace dbmig::db
