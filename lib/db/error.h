// The one database error type. Every failed libpq call becomes a DbError
// carrying the SQLSTATE and the server's message, detail and hint, plus the
// statement that failed; callers ask predicates instead of matching codes.
// A DbError holds no secret: its constructor removes them (redact.h), so
// whatever reads its fields (rendering, the engine recording a step's
// error) can print them. describe() is the one way to render it.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace dbmig::db {

class DbError : public std::runtime_error {
 public:
  struct Fields {
    std::string sqlstate;  // five characters; "" when the server sent none
    std::string message;   // primary message (server's, or libpq's for client-side failures)
    std::string detail;
    std::string hint;
    std::string statement;  // the SQL that failed (never holds a password)
    // PG_DIAG_STATEMENT_POSITION: 1-based character (not byte) offset into
    // `statement` where the server saw the error; 0 when it sent none.
    int position = 0;
    bool connection_lost = false;  // the connection is unusable (broken, closed, not open)
    bool during_commit = false;    // the failing statement was a COMMIT
  };

  // `fields` with the statement's passwords (redact_statement) masked in the
  // statement, and every form of them (statement_secrets) masked in the
  // message, detail and hint.
  explicit DbError(Fields fields);
  // The same, also masking every one of `secrets` (a connection's password).
  DbError(Fields fields, const std::vector<std::string>& secrets);

  [[nodiscard]] const Fields& fields() const noexcept { return fields_; }
  [[nodiscard]] const std::string& sqlstate() const noexcept { return fields_.sqlstate; }

  // 40001 (serialization failure), 40P01 (deadlock), 55P03 (lock not available).
  [[nodiscard]] bool is_retryable() const noexcept;
  // The connection is gone: reconnect before anything else.
  [[nodiscard]] bool connection_lost() const noexcept { return fields_.connection_lost; }
  // The connection was lost while COMMIT was in flight: it may or may not
  // have committed, the caller must re-read state.
  [[nodiscard]] bool outcome_unknown() const noexcept {
    return fields_.connection_lost && fields_.during_commit;
  }

 private:
  struct AlreadyClean {};  // the fields hold no secret any more
  DbError(AlreadyClean, Fields fields);
  Fields fields_;
};

// What an operator reads about a DbError, the same in text and JSON output:
// the fields without libpq's trailing newline, a hint of what to do next
// (the server's, else dbmig's for a failed connection), and for a lost
// connection the database it was for (password masked).
struct ErrorDescription {
  std::string message;
  std::string sqlstate;
  std::string detail;
  std::string hint;
  std::string statement;
  std::string database;  // "" unless the connection failed or was lost
};

// `conninfo` is the connection string dbmig was given ("" = none: libpq's
// PG* defaults). Its secrets are masked again in every field.
[[nodiscard]] ErrorDescription describe(const DbError& error, std::string_view conninfo);

// dbmig's hint for a connection failure (`message` as libpq or the server
// wrote it), naming what to check; "" when nothing specific is known.
// `defaults`: no connection string was given, libpq used its PG* defaults.
[[nodiscard]] std::string connection_hint(std::string_view sqlstate, std::string_view message,
                                          bool defaults);

}  // namespace dbmig::db
