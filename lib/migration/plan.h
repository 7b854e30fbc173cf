// The plan: a validated migration directory with every step read, hashed,
// split, classified and linted, and the verify file each step should have.
// This is what `apply`, `status`, `verify` and `generate-verify` work from;
// it is built once per command, before any database is touched.
#pragma once

#include <expected>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/diagnostic.h"
#include "migration/directory.h"
#include "sql/step_lint.h"

namespace dbmig::migration {

struct PlannedStep {
  StepFile file;
  std::string text;     // the file's bytes, as they will be sent
  std::string sha256;   // lower-case hex of text
  sql::StepAnalysis analysis;
  std::optional<std::string> expected_verify;  // wanted content of <stem>.verify.sql
  std::optional<std::string> actual_verify;    // content on disk, when the file exists
};

struct PlannedVersion {
  std::string name;
  std::optional<std::int64_t> number;
  std::filesystem::path path;  // the version directory
  bool multi_ddl_allowed = false;
  std::vector<PlannedStep> steps;
};

struct Plan {
  std::filesystem::path root;
  sql::Dialect dialect = sql::Dialect::postgres;
  // The dialect the directory itself is written for (dbmig.json, else
  // postgres): differs from `dialect` when --dialect overrides it.
  sql::Dialect directory_dialect = sql::Dialect::postgres;
  std::vector<PlannedVersion> versions;  // oldest first
  std::vector<Diagnostic> warnings;      // lint warnings (errors make build_plan fail)
  // Orphan `<stem>.verify.sql` files (no `<stem>.sql`) that carry dbmig's
  // header: not an error, but spurious (generate-verify removes them).
  // Orphans without the header make build_plan fail.
  std::vector<std::filesystem::path> generated_orphan_verify_files;

  // Index in `versions` of the version named `name` (directory name, or N
  // alone in numbered trees); nullopt when unknown.
  [[nodiscard]] std::optional<std::size_t> find_version(std::string_view name) const;
};

struct PlanOptions {
  std::optional<sql::Dialect> dialect;  // --dialect; else dbmig.json; else postgres
};

// Loads the directory and reads every step. Fails with every error found
// (directory problems, unreadable or non-UTF-8 files, lexical errors, lint
// errors), warnings included, each with file:line:col.
[[nodiscard]] std::expected<Plan, std::vector<Diagnostic>> build_plan(
    const std::filesystem::path& root, const PlanOptions& options);

// Verify-file problems for `generate-verify --check` and `apply`.
struct VerifyFileProblem {
  enum class Kind { missing, stale, spurious } kind;
  std::filesystem::path path;
};

// Missing, stale (content differs from what dbmig would generate) or spurious
// verify files of the plan, in version/step order (a version's orphans after
// its steps). Spurious means a verify file exists where none is wanted: a
// dbmig-generated orphan, or a file beside a step without verifiable change,
// whether it carries dbmig's header or not (no proof is wanted there, so
// --check flags it; generate-verify removes only generated files and leaves
// hand-written ones for a person to delete).
[[nodiscard]] std::vector<VerifyFileProblem> check_verify_files(const Plan& plan);

}  // namespace dbmig::migration
