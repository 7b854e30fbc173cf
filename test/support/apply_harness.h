// Helpers for engine tests: a migration tree in a temp dir turned into a
// Plan, apply() run with fast test options and its outcome captured (exit
// code, failure message, output), and one-value queries.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "core/failure.h"
#include "db/connection.h"
#include "engine/options.h"
#include "engine/report.h"
#include "migration/plan.h"
#include "support/file_tree.h"
#include "support/process.h"

namespace dbmig::test {

// A migration tree on disk and its plan. Fails the current test (gtest
// ADD_FAILURE) when the tree does not build; plan is then empty.
class MigrationTree {
 public:
  explicit MigrationTree(const std::vector<FileRow>& rows);
  [[nodiscard]] const migration::Plan& plan() const { return plan_; }
  [[nodiscard]] const TempTree& tree() const { return tree_; }
  // Rewrites one file and builds the plan again.
  void write(const std::string& relative_path, const std::string& content);

 private:
  void rebuild();
  TempTree tree_;
  migration::Plan plan_;
};

// Options for tests: short lease TTL, verify timeout of minutes (so that a
// fail-fast is visibly not a timeout), lease wait of 30 s.
[[nodiscard]] engine::ApplyOptions fast_apply_options();

struct ApplyOutcome {
  ExitCode code = ExitCode::ok;
  std::string message;  // Failure / DbError message; "" on success
  std::string hint;
  std::string out;  // the Reporter's stdout (text mode)
  std::string err;  // the Reporter's stderr
  std::chrono::milliseconds elapsed{0};

  // "exit N: message\n--- out ---\n..." for assertion messages.
  [[nodiscard]] std::string describe() const;
};

// Runs engine::apply in this thread and captures its outcome: a
// dbmig::Failure gives its code, a db::DbError exit 1.
[[nodiscard]] ApplyOutcome run_apply(const migration::Plan& plan, const std::string& conninfo,
                                     const engine::ApplyOptions& options = fast_apply_options(),
                                     const std::string& state_schema = "dbmig",
                                     const engine::OutputOptions& output = {});

// The first column of the first row of `sql` as text ("" when no row; "NULL"
// for NULL).
[[nodiscard]] std::string query_value(db::Connection& connection, const std::string& sql);

// Opens a connection to `conninfo` on the heap.
[[nodiscard]] std::unique_ptr<db::Connection> connect_to(const std::string& conninfo);

// Opens a REPEATABLE READ transaction on `connection` and takes its snapshot,
// so that a CREATE INDEX CONCURRENTLY started afterwards stays in "waiting for
// old snapshots" until the transaction ends.
void hold_snapshot(db::Connection& connection);

// `dbmig ARGUMENTS... --dir DIR` as a child process (DBMIG_EXECUTABLE), with
// the environment variables that could point it at another directory or
// server unset.
[[nodiscard]] ProcessOptions dbmig_command(const std::filesystem::path& dir,
                                           std::vector<std::string> arguments);

// `dbmig apply --db CONNINFO --lease-ttl 3s EXTRA...` (the shortest lease
// TTL allowed) over `dir`, as dbmig_command.
[[nodiscard]] ProcessOptions apply_command(const std::filesystem::path& dir,
                                           const std::string& conninfo,
                                           const std::vector<std::string>& extra = {});

// Writes `rows` into `tree`, then its verify files (`dbmig generate-verify`,
// within `bound`); fails the current test (gtest ADD_FAILURE) when that fails.
void write_tree_with_verify_files(TempTree& tree, const std::vector<FileRow>& rows,
                                  std::chrono::seconds bound);

// Calls `condition` every `every` until it returns true (then true) or
// `timeout` has passed (then false).
[[nodiscard]] bool eventually(const std::function<bool()>& condition,
                              std::chrono::milliseconds timeout, std::chrono::milliseconds every);

// The last non-empty line of `out` parsed as JSON: the document a command
// prints after any event lines. Throws nlohmann::json::exception when it is
// not JSON.
[[nodiscard]] nlohmann::json last_line_json(const std::string& out);

}  // namespace dbmig::test
