// The exit codes of docs/contract.md section 7 and the one exception hierarchy that
// aborts a command. Expected problems in the input are values (Diagnostic,
// std::expected); a Failure is what stops a command, and app/ maps it to the
// documented exit code in one place.
#pragma once

#include <stdexcept>
#include <string>

namespace dbmig {

enum class ExitCode : int {
  ok = 0,
  runtime_failure = 1,  // SQL error, connection lost, lease lost, verification failed/timed out
  usage_error = 2,      // bad usage, invalid migration directory, unknown/newer database version
  check_failed = 3,  // missing/stale/spurious verify files, drift, pending work, incomplete changes
  lease_timeout = 4,  // the runner lease could not be had within --lock-timeout
};

// Thrown to stop a command. what() is the message printed after "dbmig: error: ".
class Failure : public std::runtime_error {
 public:
  Failure(ExitCode code, const std::string& message, std::string hint = {})
      : std::runtime_error(message), code_(code), hint_(std::move(hint)) {}
  [[nodiscard]] ExitCode code() const noexcept { return code_; }
  [[nodiscard]] const std::string& hint() const noexcept { return hint_; }

 private:
  ExitCode code_;
  std::string hint_;
};

// A Failure caused by the database while running a step: the server's
// fields are kept apart from the message (which does not repeat them), so
// that text and JSON output can show each in its own place.
struct ServerError {
  std::string sqlstate;
  std::string detail;
  std::string hint;       // the server's own HINT
  std::string statement;  // the step's statement that failed ("" when unknown)
  std::string location;   // "path:line:col" of the error in the step file ("" when unknown)
};

class DatabaseFailure : public Failure {
 public:
  DatabaseFailure(ExitCode code, const std::string& message, std::string hint, ServerError server)
      : Failure(code, message, std::move(hint)), server_(std::move(server)) {}
  [[nodiscard]] const ServerError& server() const noexcept { return server_; }

 private:
  ServerError server_;
};

}  // namespace dbmig
