// What `cmake --install` puts in place beside the binary: the man page
// (docs/dbmig.1) and the bash completion (completions/dbmig.bash), and that
// both describe every command and option the binary's --help lists.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <sstream>

#include "support/cli_run.h"
#include "support/process.h"

namespace dbmig {
namespace {

using test::contains;
using test::ProcessResult;

const std::vector<std::string> kCommands = {"apply", "status", "verify", "generate-verify", "new"};

// The --options of `dbmig <command> --help` (without --help itself).
std::set<std::string> help_options(const std::string& command) {
  const ProcessResult help = test::run_dbmig({command, "--help"});
  EXPECT_EQ(help.exit_code, 0) << help.describe();
  std::set<std::string> options;
  std::istringstream words(help.out);
  for (std::string word; words >> word;) {
    if (!word.starts_with("--")) continue;
    word = word.substr(0, word.find_first_of(",:[ "));
    if (word != "--help") options.insert(word);
  }
  EXPECT_FALSE(options.empty()) << help.out;
  return options;
}

// The words bash completion offers after `dbmig <command> --`.
std::set<std::string> completed_options(const std::string& command) {
  const std::string script = "source " + std::string(DBMIG_SOURCE_DIR) +
                             "/completions/dbmig.bash; COMP_WORDS=(dbmig " + command +
                             " --); COMP_CWORD=2; _dbmig; printf '%s\\n' \"${COMPREPLY[@]}\"";
  test::ProcessOptions options;
  options.argv = {"bash", "-c", script};
  const ProcessResult result = test::run_process(options);
  EXPECT_EQ(result.exit_code, 0) << result.describe();
  std::set<std::string> words;
  std::istringstream lines(result.out);
  for (std::string line; std::getline(lines, line);) words.insert(line);
  return words;
}

TEST(Install, TheManPageDescribesEveryCommandAndOption) {
  const std::string page = test::read_file(std::string(DBMIG_SOURCE_DIR) + "/docs/dbmig.1");
  ASSERT_FALSE(page.empty());
  for (const std::string& command : kCommands) {
    std::string escaped;
    for (const char c : command) escaped += c == '-' ? std::string("\\-") : std::string(1, c);
    EXPECT_TRUE(contains(page, ".B dbmig " + escaped)) << command;
    for (const std::string& option : help_options(command)) {
      std::string roff;
      for (const char c : option) roff += c == '-' ? std::string("\\-") : std::string(1, c);
      EXPECT_TRUE(contains(page, roff)) << command << " " << option << " is not in dbmig.1";
    }
  }
}

TEST(Install, BashCompletionOffersExactlyTheOptionsOfEachCommand) {
  for (const std::string& command : kCommands) {
    std::set<std::string> expected = help_options(command);
    expected.insert("--help");
    EXPECT_EQ(completed_options(command), expected) << command;
  }
}

TEST(Install, CmakeInstallPutsTheBinaryManPageAndCompletionInPlace) {
  const std::filesystem::path prefix = test::make_temp_dir("dbmig-install");
  test::ProcessOptions options;
  options.argv = {"cmake", "--install", DBMIG_BINARY_DIR, "--prefix", prefix.string()};
  const ProcessResult installed = test::run_process(options);
  ASSERT_EQ(installed.exit_code, 0) << installed.describe();
  for (const char* path :
       {"bin/dbmig", "share/man/man1/dbmig.1", "share/bash-completion/completions/dbmig"}) {
    EXPECT_TRUE(std::filesystem::is_regular_file(prefix / path)) << path << "\n" << installed.out;
  }
  test::ProcessOptions version;
  version.argv = {(prefix / "bin/dbmig").string(), "--version"};
  EXPECT_EQ(test::run_process(version).out, "dbmig 0.1.0\n");
  std::filesystem::remove_all(prefix);
}

}  // namespace
}  // namespace dbmig
