#include "db/error.h"

#include <utility>

#include "db/connection.h"
#include "db/redact.h"

namespace dbmig::db {
namespace {

DbError::Fields without_secrets(DbError::Fields fields, std::vector<std::string> secrets) {
  RedactedStatement statement = redact_statement_with_secrets(fields.statement);
  const bool statement_clean = secrets.empty();
  secrets.insert(secrets.end(), statement.secrets.begin(), statement.secrets.end());
  fields.message = hide_secrets(fields.message, secrets);
  fields.detail = hide_secrets(fields.detail, secrets);
  fields.hint = hide_secrets(fields.hint, secrets);
  fields.statement =
      statement_clean ? std::move(statement.text) : hide_secrets(statement.text, secrets);
  return fields;
}

std::string without_trailing_blanks(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return std::string(text);
}

bool mentions(std::string_view message, std::string_view part) {
  return message.find(part) != std::string_view::npos;
}

// The hint for what `message` says went wrong, whatever the connection
// string came from.
std::string cause_hint(std::string_view sqlstate, std::string_view message) {
  if (sqlstate == "28P01" || mentions(message, "password authentication failed") ||
      mentions(message, "no password supplied")) {
    return "the server refused the user's password: check the user and password (in the "
           "connection string, PGPASSWORD or ~/.pgpass)";
  }
  if (mentions(message, "no pg_hba.conf entry")) {
    return "the server's pg_hba.conf admits no such connection: check the user, database, host "
           "and sslmode, or ask the server's administrator";
  }
  if (mentions(message, "role \"") && mentions(message, "does not exist")) {
    return "no such user on the server: check the user name in the connection string (or PGUSER)";
  }
  if (sqlstate == "28000") {
    return "the server refused the connection for this user: check the user and the server's "
           "pg_hba.conf";
  }
  if (sqlstate == "3D000" ||
      (mentions(message, "database \"") && mentions(message, "does not exist"))) {
    return "no such database on the server: check the database name (create it first if it is new)";
  }
  if (mentions(message, "could not translate host name") ||
      mentions(message, "Name or service not known")) {
    return "the host name cannot be resolved: check the host in the connection string (or PGHOST)";
  }
  if (mentions(message, "Connection refused")) {
    return "nothing accepts connections there: check that the server is running and that the host "
           "and port are right";
  }
  if (mentions(message, "timeout expired")) {
    return "the server did not answer in time: check the host, the port and the network";
  }
  return "";
}

}  // namespace

DbError::DbError(Fields fields) : DbError(std::move(fields), {}) {}

DbError::DbError(Fields fields, const std::vector<std::string>& secrets)
    : DbError(AlreadyClean{}, without_secrets(std::move(fields), secrets)) {}

DbError::DbError(AlreadyClean, Fields fields)
    : std::runtime_error(fields.message), fields_(std::move(fields)) {}

bool DbError::is_retryable() const noexcept {
  const std::string& code = fields_.sqlstate;
  return code == "40001" || code == "40P01" || code == "55P03";
}

std::string connection_hint(std::string_view sqlstate, std::string_view message, bool defaults) {
  std::string cause = cause_hint(sqlstate, message);
  const bool connecting =
      mentions(message, "connection to server") || mentions(message, "could not translate");
  if (!defaults || !connecting) return cause;
  const std::string fallback =
      "no --db and no DATABASE_URL were given, so dbmig used libpq's defaults (PGHOST, PGPORT, "
      "PGUSER, PGDATABASE, else a local socket): pass --db URL, or set DATABASE_URL or the PG* "
      "variables";
  return cause.empty() ? fallback : cause + "; " + fallback;
}

ErrorDescription describe(const DbError& error, std::string_view conninfo) {
  const std::vector<std::string> secrets = conninfo_secrets(conninfo);
  const DbError::Fields& fields = error.fields();
  ErrorDescription description;
  description.message = hide_secrets(without_trailing_blanks(fields.message), secrets);
  description.sqlstate = fields.sqlstate;
  description.detail = hide_secrets(without_trailing_blanks(fields.detail), secrets);
  description.hint = hide_secrets(without_trailing_blanks(fields.hint), secrets);
  description.statement = hide_secrets(without_trailing_blanks(fields.statement), secrets);
  if (fields.connection_lost) {
    description.database =
        conninfo.empty() ? "libpq defaults (PGHOST, PGPORT, ...)" : redact_password(conninfo);
    if (description.hint.empty()) {
      description.hint = connection_hint(fields.sqlstate, fields.message, conninfo.empty());
    }
  }
  return description;
}

}  // namespace dbmig::db
