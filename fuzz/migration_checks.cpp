#include "fuzz/migration_checks.h"

#include <unistd.h>

#include <fstream>
#include <string>
#include <system_error>
#include <vector>

#include "core/diagnostic.h"
#include "core/text.h"
#include "fuzz/fuzz_check.h"
#include "migration/directory.h"
#include "migration/plan.h"

namespace dbmig::fuzz {
namespace {

namespace fs = std::filesystem;

bool is_under(const fs::path& root, const fs::path& path) {
  const std::string prefix = root.string() + "/";
  return path == root || path.string().starts_with(prefix);
}

// True when (line, column) is a position inside `text` (column may be one
// past the line's last byte, where an end-of-input error points).
bool is_position_in(std::string_view text, int line, int column) {
  std::size_t line_start = 0;
  for (int current = 1; current < line; ++current) {
    const std::size_t newline = text.find('\n', line_start);
    if (newline == std::string_view::npos) return false;
    line_start = newline + 1;
  }
  const std::size_t line_end = std::min(text.find('\n', line_start), text.size());
  return static_cast<std::size_t>(column) <= line_end - line_start + 1;
}

void check_diagnostic(const fs::path& root, const Diagnostic& diagnostic) {
  FUZZ_CHECK(!diagnostic.message.empty(), "diagnostic without message");
  FUZZ_CHECK(is_under(root, diagnostic.file), "diagnostic names a file outside the root");
  std::error_code error;
  FUZZ_CHECK(fs::exists(diagnostic.file, error), "diagnostic names a file that does not exist");
  FUZZ_CHECK(diagnostic.line >= 0 && diagnostic.column >= 0, "negative diagnostic position");
  if (diagnostic.line == 0) {
    FUZZ_CHECK(diagnostic.column == 0, "diagnostic with a column but no line");
    return;
  }
  FUZZ_CHECK(diagnostic.column > 0, "diagnostic with a line but no column");
  const auto text = read_file(diagnostic.file);
  FUZZ_CHECK(text.has_value(), "diagnostic with a position in a file that cannot be read");
  FUZZ_CHECK(is_position_in(*text, diagnostic.line, diagnostic.column),
             "diagnostic position beyond its file's text");
}

void check_diagnostics(const fs::path& root, const std::vector<Diagnostic>& diagnostics) {
  for (const Diagnostic& diagnostic : diagnostics) check_diagnostic(root, diagnostic);
}

void check_plan(const fs::path& root, const migration::Plan& plan) {
  check_diagnostics(root, plan.warnings);
  FUZZ_CHECK(!has_errors(plan.warnings), "a plan carries an error");
  for (const migration::PlannedVersion& version : plan.versions) {
    for (const migration::PlannedStep& step : version.steps) {
      const auto text = read_file(step.file.path.string());
      FUZZ_CHECK(text.has_value() && *text == step.text, "step text differs from the file");
      FUZZ_CHECK(step.sha256 == sha256_hex(step.text), "step sha256 is not that of its text");
    }
  }
  for (const migration::VerifyFileProblem& problem : migration::check_verify_files(plan)) {
    FUZZ_CHECK(is_under(root, problem.path), "verify file problem outside the root");
  }
}

}  // namespace

const fs::path& fresh_tree_root() {
  static const fs::path root = [] {
    std::string pattern = (fs::temp_directory_path() / "dbmig-fuzz-XXXXXX").string();
    FUZZ_CHECK(mkdtemp(pattern.data()) != nullptr, "cannot create a temp directory");
    return fs::path(pattern) / "tree";
  }();
  std::error_code error;
  fs::remove_all(root, error);
  fs::create_directory(root, error);
  FUZZ_CHECK(!error, "cannot create the tree root");
  return root;
}

void write_tree_file(const fs::path& root, const fs::path& relative, std::string_view content) {
  std::error_code error;
  const fs::path path = root / relative;
  fs::create_directories(path.parent_path(), error);
  if (error || fs::is_directory(path, error)) return;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
}

void check_migration_tree(const fs::path& root) {
  const auto directory = migration::load_directory(root);
  if (!directory) {
    check_diagnostics(root, directory.error());
    FUZZ_CHECK(has_errors(directory.error()), "load_directory fails without an error");
  }
  const auto plan = migration::build_plan(root, migration::PlanOptions{});
  FUZZ_CHECK(directory.has_value() || !plan.has_value(),
             "build_plan succeeds where load_directory fails");
  if (!plan) {
    check_diagnostics(root, plan.error());
    FUZZ_CHECK(has_errors(plan.error()), "build_plan fails without an error");
    return;
  }
  check_plan(root, *plan);
}

}  // namespace dbmig::fuzz
