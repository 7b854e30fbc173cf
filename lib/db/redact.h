// Keeping secrets out of everything dbmig prints or records (contract sections 7, 9).
//
// A secret is found where it was written (a connection string, a statement's
// PASSWORD literal, PGPASSWORD, ~/.pgpass through libpq) by tolerant parsers
// that also read the malformed strings libpq rejects, then removed, in every
// form it may take in a message (as written, percent-decoded, unquoted,
// unescaped, with SQL quotes doubled), from every text of a DbError. On top
// of that, any `password=value` and `scheme://user:password@` left in a text
// is masked. The mask is kSecretMask.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "db/error.h"

struct pg_conn;

namespace dbmig::db {

inline constexpr std::string_view kSecretMask = "********";

// The passwords a postgres:// URL or key=value conninfo holds, each in the
// forms a message may quote it in. Never fails: on a malformed string it
// returns every part that may have been meant as a password (the value of
// any key that looks like `password` or `sslpassword`, the words after it
// that are not `key=value`, the URL's userinfo after ':' up to the first and
// the last '@', ?password= values). Empty when there is none.
[[nodiscard]] std::vector<std::string> conninfo_secrets(std::string_view conninfo);

// The passwords a SQL text holds: the literal (or word) after PASSWORD
// (CREATE/ALTER ROLE/USER ... [ENCRYPTED] PASSWORD '...'), and the passwords
// of connection strings inside string literals (dblink, CREATE SUBSCRIPTION
// ... CONNECTION '...password=...'). Tolerant of unterminated literals.
[[nodiscard]] std::vector<std::string> statement_secrets(std::string_view sql);

// `sql` with every literal after PASSWORD replaced by '********' and every
// secret of statement_secrets() masked: the text to print or record.
[[nodiscard]] std::string redact_statement(std::string_view sql);

// redact_statement() and statement_secrets() from one scan of `sql` (a
// failing 50 MB step is read once).
struct RedactedStatement {
  std::string text;
  std::vector<std::string> secrets;
};
[[nodiscard]] RedactedStatement redact_statement_with_secrets(std::string_view sql);

// `text` with every occurrence of each secret replaced by kSecretMask
// (longest first), then any `password = value` or `://user:password@` left
// masked too.
[[nodiscard]] std::string hide_secrets(std::string_view text,
                                       const std::vector<std::string>& secrets);

// True when `conninfo` holds a password (a URL's user:password@, a
// password= / sslpassword= value, a ?password= parameter, the word after a
// bare `password`); an unknown key's value does not count here.
[[nodiscard]] bool conninfo_has_password(std::string_view conninfo);

// `error` without the secrets of a failed connection attempt: those of
// `conninfo` (conninfo_secrets), $PGPASSWORD, and the password libpq read for
// `conn` (its conninfo, PGPASSWORD or the password file; `conn` may be null).
[[nodiscard]] DbError without_connection_secrets(const DbError& error, std::string_view conninfo,
                                                 const pg_conn* conn);

}  // namespace dbmig::db
