#include "engine/dialect_check.h"

#include <string>

#include "engine/inspect.h"
#include "engine/server.h"

namespace dbmig::engine {
namespace {

std::string name(sql::Dialect dialect) { return std::string(sql::to_string(dialect)); }

}  // namespace

std::optional<Failure> dialect_mismatch(const migration::Plan& plan, sql::Dialect server) {
  if (server == plan.dialect) return std::nullopt;
  const std::string message = "dialect mismatch: the server speaks " + name(server) + " but " +
                              (plan.dialect != plan.directory_dialect
                                   ? "--dialect says " + name(plan.dialect)
                                   : plan.root.string() + " is written for " + name(plan.dialect));
  if (plan.directory_dialect == server) {
    return Failure(ExitCode::usage_error, message,
                   "leave out --dialect " + name(plan.dialect) + ": " + plan.root.string() +
                       " is written for " + name(server) + ", like the server; nothing was done");
  }
  return Failure(ExitCode::usage_error, message,
                 "point --db at a " + name(plan.dialect) +
                     " server: the steps and verify files of " + plan.root.string() +
                     " are written for " + name(plan.dialect) + "; nothing was done");
}

std::optional<Failure> dialect_override_problem(const migration::Plan& plan) {
  if (plan.dialect == plan.directory_dialect) return std::nullopt;
  return Failure(ExitCode::usage_error,
                 "dialect mismatch: --dialect says " + name(plan.dialect) + " but " +
                     plan.root.string() + " is written for " + name(plan.directory_dialect) +
                     " (its verify files hold " + name(plan.directory_dialect) + " proofs)",
                 "leave out --dialect " + name(plan.dialect) +
                     ": its verify files are current for " + name(plan.directory_dialect) +
                     "; nothing was done");
}

void require_server_dialect(const migration::Plan& plan, db::Connection& connection) {
  if (auto mismatch = dialect_mismatch(plan, detect_dialect(connection))) throw *mismatch;
}

void require_server_dialect_if_reachable(const migration::Plan& plan,
                                         const ConnectionSettings& settings) {
  std::optional<sql::Dialect> server;
  try {
    db::Connection connection = connect_for_reading(settings, true);
    server = detect_dialect(connection);
  } catch (const db::DbError&) {
    return;  // unreachable: the caller's own complaint stands
  }
  if (auto mismatch = dialect_mismatch(plan, *server)) throw *mismatch;
}

}  // namespace dbmig::engine
