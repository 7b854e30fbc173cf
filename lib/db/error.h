// The one database error type. Every failed libpq call becomes a DbError
// carrying the SQLSTATE and the server's message, detail and hint, plus the
// statement that failed; callers ask predicates instead of matching codes.
#pragma once

#include <stdexcept>
#include <string>

namespace dbmig::db {

class DbError : public std::runtime_error {
 public:
  struct Fields {
    std::string sqlstate;   // five characters; "" when the server sent none
    std::string message;    // primary message (server's, or libpq's for client-side failures)
    std::string detail;
    std::string hint;
    std::string statement;  // the SQL that failed (never holds a password)
    // PG_DIAG_STATEMENT_POSITION: 1-based character (not byte) offset into
    // `statement` where the server saw the error; 0 when it sent none.
    int position = 0;
    bool connection_lost = false;  // the connection is unusable (broken, closed, not open)
    bool during_commit = false;    // the failing statement was a COMMIT
  };

  explicit DbError(Fields fields);

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
  Fields fields_;
};

}  // namespace dbmig::db
