// Fixture for tests that run the dbmig executable against this test's
// database: a migration tree in a temp dir, the commands over it, and an
// observer connection that polls what the runs did.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "db/connection.h"
#include "support/apply_harness.h"
#include "support/file_tree.h"
#include "support/pg_server.h"
#include "support/process.h"

namespace dbmig::test {

class DbmigProcessTest : public DatabaseTest {
 protected:
  void SetUp() override {
    DatabaseTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    observer_ = connect_to(conninfo());
  }

  // Writes the tree and its verify files (dbmig generate-verify).
  void write_tree(const std::vector<FileRow>& rows) {
    write_tree_with_verify_files(tree_, rows, std::chrono::seconds{60});
  }

  // dbmig ARGUMENTS... --dir <the tree>.
  [[nodiscard]] ProcessOptions options(std::vector<std::string> arguments) const {
    return dbmig_command(tree_.root(), std::move(arguments));
  }

  // dbmig apply --db <this test's database> with the shortest lease TTL allowed (3 s).
  [[nodiscard]] ProcessOptions apply_options(const std::vector<std::string>& extra = {}) const {
    return apply_command(tree_.root(), conninfo(), extra);
  }

  // The first column of the first row of `sql`, on the observer connection.
  std::string value(const std::string& sql) { return query_value(*observer_, sql); }

  // Polls `sql` until it returns "t" (true) or 20 s pass.
  bool eventually(const std::string& sql) {
    using std::chrono::milliseconds;
    return test::eventually([&] { return value(sql) == "t"; }, milliseconds{20000},
                            milliseconds{20});
  }

  TempTree tree_;
  std::unique_ptr<db::Connection> observer_;
};

}  // namespace dbmig::test
