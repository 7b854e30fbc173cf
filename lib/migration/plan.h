// The plan: a validated migration directory with every step read, hashed,
// split, classified and linted, and the verify file each step should have.
// This is what `apply`, `status`, `verify` and `generate-verify` work from;
// it is built once per command, before any database is touched.
#pragma once

#include <expected>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/diagnostic.h"
#include "core/text.h"
#include "migration/directory.h"
#include "sql/step_lint.h"

namespace dbmig::migration {

struct PlannedStep {
  StepFile file;
  // The file's bytes, as they will be sent. Empty while `text_released`.
  std::string text;
  std::string sha256;     // lower-case hex of text
  FileIdentity identity;  // device and inode of the file that was read
  // false until the step is analysed (PlanOptions::defer_analysis): then
  // analysis is empty and neither verify field is set.
  bool analysed = false;
  // PlanOptions::defer_analysis: the text was dropped once hashed, so that
  // memory does not grow with the history's bytes; analyse_steps reads the
  // file again, and refuses it unless it still has `sha256` and `identity`.
  bool text_released = false;
  sql::StepAnalysis analysis;
  // The step rules' warnings (contract section 4) not silenced by `-- dbmig:allow` or
  // dbmig.json "lint.allow": apply reports them for the steps it runs, lint
  // for every step; other commands stay quiet about them.
  std::vector<Diagnostic> warnings;
  std::optional<std::string> expected_verify;  // wanted content of <stem>.verify.sql
  std::optional<std::string> actual_verify;    // content on disk, when the file exists
};

struct PlannedVersion {
  std::string name;
  std::optional<std::int64_t> number;
  std::filesystem::path path;  // the version directory
  bool multi_ddl_allowed = false;
  std::vector<std::string> lint_allowed;  // rules dbmig.json "lint.allow" silences here
  std::vector<PlannedStep> steps;
};

struct Plan {
  std::filesystem::path root;
  sql::Dialect dialect = sql::Dialect::postgres;
  // The dialect the directory itself is written for (dbmig.json, else
  // postgres): differs from `dialect` when --dialect overrides it.
  sql::Dialect directory_dialect = sql::Dialect::postgres;
  std::vector<PlannedVersion> versions;  // oldest first
  // Every warning of every step, in version order: the union of the steps'
  // `warnings` (errors make build_plan fail).
  std::vector<Diagnostic> warnings;
  // Orphan `<stem>.verify.sql` files (no `<stem>.sql`) that carry dbmig's
  // header: not an error, but spurious (generate-verify removes them).
  // Orphans without the header make build_plan fail.
  std::vector<std::filesystem::path> generated_orphan_verify_files;

  // Index in `versions` of the version named `name` (directory name, or N
  // alone in numbered trees); nullopt when unknown.
  [[nodiscard]] std::optional<std::size_t> find_version(std::string_view name) const;

  // Directory name -> index in `versions`, filled by build_plan so that
  // find_version costs O(1) per call (the engine calls it once per recorded
  // step: quadratic in the history otherwise). A name it does not hold is
  // looked for in `versions` (a plan put together by hand).
  std::unordered_map<std::string, std::size_t> version_index;
};

struct PlanOptions {
  std::optional<sql::Dialect> dialect;  // --dialect; else dbmig.json; else postgres
  // Read, check (UTF-8, byte-order mark, regular file, one file per step) and
  // hash every step, but analyse none and read no verify file:
  // analyse_steps() does that later for the steps that need it (contract section 7:
  // apply and status skip steps recorded verified with the same sha256).
  // The steps' texts are not kept (PlannedStep::text_released).
  bool defer_analysis = false;
};

// Loads the directory and reads every step. Fails with every error found
// (directory problems, unreadable or non-UTF-8 files, lexical errors, step
// rule errors), warnings included, each with file:line:col. On success the
// warnings are in the plan and, each, in its PlannedStep.
[[nodiscard]] std::expected<Plan, std::vector<Diagnostic>> build_plan(
    const std::filesystem::path& root, const PlanOptions& options);

// Analyses every step of `plan` not analysed yet for which `wanted` is true
// (split, classify, lint, expected and actual verify file), versions side by
// side; a released text is read again first, and a file that no longer has
// the bytes (sha256) or the identity it was planned with is an error.
// Returns every diagnostic found, errors and warnings, in version and step
// order; the plan is usable only when none is an error.
[[nodiscard]] std::vector<Diagnostic> analyse_steps(
    Plan& plan, const std::function<bool(const PlannedVersion&, const PlannedStep&)>& wanted);

// Verify-file problems for `generate-verify --check` and `apply`.
struct VerifyFileProblem {
  // outdated: written by an older dbmig (older format) for the same step
  // bytes; a warning in apply and status, a problem only for
  // generate-verify --check (contract section 5).
  enum class Kind { missing, stale, spurious, outdated } kind;
  std::filesystem::path path;
};

// Missing, stale (content differs from what dbmig would generate) or spurious
// verify files of the plan's analysed steps, in version/step order (a version's orphans after
// its steps). Spurious means a verify file exists where none is wanted: a
// dbmig-generated orphan, or a file beside a step without verifiable change,
// whether it carries dbmig's header or not (no proof is wanted there, so
// --check flags it; generate-verify removes only generated files and leaves
// hand-written ones for a person to delete).
[[nodiscard]] std::vector<VerifyFileProblem> check_verify_files(const Plan& plan);

// A finding of `step` as a Diagnostic at its file:line:col.
[[nodiscard]] Diagnostic step_diagnostic(const PlannedStep& step, const sql::Finding& finding);

}  // namespace dbmig::migration
