#include "support/apply_harness.h"

#include <gtest/gtest.h>

#include <thread>

#include "db/error.h"
#include "engine/commands.h"
#include "engine/report.h"

namespace dbmig::test {

MigrationTree::MigrationTree(const std::vector<FileRow>& rows) : tree_(rows) { rebuild(); }

void MigrationTree::write(const std::string& relative_path, const std::string& content) {
  tree_.write(relative_path, content);
  rebuild();
}

void MigrationTree::rebuild() {
  auto plan = migration::build_plan(tree_.root(), {});
  if (!plan) {
    std::string problems;
    for (const Diagnostic& diagnostic : plan.error()) problems += diagnostic.format() + "\n";
    ADD_FAILURE() << "migration tree does not build:\n" << problems;
    plan_ = migration::Plan{};
    return;
  }
  plan_ = std::move(*plan);
}

engine::ApplyOptions fast_apply_options() {
  engine::ApplyOptions options;
  options.verify_timeout = std::chrono::minutes(3);
  options.lock_timeout = std::chrono::seconds(30);
  options.ddl_lock_timeout = std::chrono::seconds(5);
  options.lease_ttl = std::chrono::seconds(3);
  return options;
}

std::string ApplyOutcome::describe() const {
  return "exit " + std::to_string(static_cast<int>(code)) + ": " + message +
         (hint.empty() ? "" : "\n  hint: " + hint) + "\n--- out ---\n" + out + "--- err ---\n" +
         err;
}

ApplyOutcome run_apply(const migration::Plan& plan, const std::string& conninfo,
                       const engine::ApplyOptions& options, const std::string& state_schema,
                       const engine::OutputOptions& output) {
  std::ostringstream out;
  std::ostringstream err;
  engine::Reporter reporter(output, out, err);
  engine::ConnectionSettings settings{conninfo, state_schema};
  ApplyOutcome outcome;
  const auto start = std::chrono::steady_clock::now();
  try {
    outcome.code = engine::apply(plan, settings, options, reporter);
  } catch (const Failure& failure) {
    outcome.code = failure.code();
    outcome.message = failure.what();
    outcome.hint = failure.hint();
  } catch (const db::DbError& error) {
    outcome.code = ExitCode::runtime_failure;
    outcome.message = error.what();
  }
  outcome.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  outcome.out = out.str();
  outcome.err = err.str();
  return outcome;
}

std::string query_value(db::Connection& connection, const std::string& sql) {
  const db::Result result = connection.exec(sql);
  if (result.rows() == 0) return "";
  if (result.is_null(0, 0)) return "NULL";
  return std::string(result.get(0, 0));
}

std::unique_ptr<db::Connection> connect_to(const std::string& conninfo) {
  db::ConnectOptions options;
  options.conninfo = conninfo;
  options.application_name = "dbmig_test";
  return std::unique_ptr<db::Connection>(new db::Connection(db::Connection::open(options)));
}

void hold_snapshot(db::Connection& connection) {
  connection.exec("BEGIN ISOLATION LEVEL REPEATABLE READ");
  connection.exec("SELECT 1");
}

ProcessOptions dbmig_command(const std::filesystem::path& dir, std::vector<std::string> arguments) {
  ProcessOptions process;
  process.argv = {DBMIG_EXECUTABLE};
  for (std::string& argument : arguments) process.argv.push_back(std::move(argument));
  process.argv.insert(process.argv.end(), {"--dir", dir.string()});
  process.unset_env = {"DATABASE_URL", "DBMIG_DIR", "PGPASSWORD", "PGSERVICE", "PGPASSFILE"};
  return process;
}

ProcessOptions apply_command(const std::filesystem::path& dir, const std::string& conninfo,
                             const std::vector<std::string>& extra) {
  std::vector<std::string> arguments{"apply", "--db", conninfo, "--lease-ttl", "3s"};
  arguments.insert(arguments.end(), extra.begin(), extra.end());
  return dbmig_command(dir, std::move(arguments));
}

void write_tree_with_verify_files(TempTree& tree, const std::vector<FileRow>& rows,
                                  std::chrono::seconds bound) {
  for (const FileRow& row : rows) tree.write(row.path, row.content);
  const ProcessResult generated =
      run_process(dbmig_command(tree.root(), {"generate-verify"}), bound);
  EXPECT_EQ(generated.exit_code, 0) << generated.describe();
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds every) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(every);
  }
  return false;
}

nlohmann::json last_line_json(const std::string& out) {
  const std::size_t end = out.find_last_not_of('\n');
  const std::size_t begin = out.rfind('\n', end);
  return nlohmann::json::parse(out.substr(begin == std::string::npos ? 0 : begin + 1));
}

}  // namespace dbmig::test
