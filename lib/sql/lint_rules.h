// Rule ids: the names under which dbmig reports a finding about a step
// (`path:line:col: warning: message [rule]`), and by which
// `-- dbmig:allow <rule>` and dbmig.json "lint.allow" silence a warning.
// docs/lint.md describes every rule. Lock rules use squawk's names where the
// rule is the same.
#pragma once

#include <span>
#include <string_view>

namespace dbmig::sql {

namespace rule {
// Section 4's step rules (analyze_step, classify_statement).
inline constexpr std::string_view empty_step = "empty-step";
inline constexpr std::string_view comment_only_step = "comment-only-step";
inline constexpr std::string_view guarded_setting = "guarded-setting";
inline constexpr std::string_view psql_meta_command = "psql-meta-command";
inline constexpr std::string_view copy_from_stdin = "copy-from-stdin";
inline constexpr std::string_view transaction_control = "transaction-control";
inline constexpr std::string_view one_ddl_per_step = "one-ddl-per-step";
inline constexpr std::string_view ddl_mixed_with_dml = "ddl-mixed-with-dml";
inline constexpr std::string_view non_transactional_not_alone = "non-transactional-not-alone";
inline constexpr std::string_view commit_in_code_block = "commit-in-code-block";
inline constexpr std::string_view unnamed_index = "unnamed-index";
inline constexpr std::string_view unnamed_constraint = "unnamed-constraint";
inline constexpr std::string_view missing_if_not_exists = "missing-if-not-exists";
inline constexpr std::string_view cockroach_syntax = "cockroach-syntax";
inline constexpr std::string_view postgres_only_syntax = "postgres-only-syntax";
inline constexpr std::string_view grammar_rejects = "grammar-rejects";
// The lock and compatibility rules of `dbmig lint` (lint.h).
inline constexpr std::string_view require_concurrent_index_creation =
    "require-concurrent-index-creation";
inline constexpr std::string_view require_concurrent_index_deletion =
    "require-concurrent-index-deletion";
inline constexpr std::string_view require_concurrent_reindex = "require-concurrent-reindex";
inline constexpr std::string_view constraint_missing_not_valid = "constraint-missing-not-valid";
inline constexpr std::string_view adding_foreign_key_constraint = "adding-foreign-key-constraint";
inline constexpr std::string_view changing_column_type = "changing-column-type";
inline constexpr std::string_view adding_field_with_default = "adding-field-with-default";
inline constexpr std::string_view adding_not_nullable_field = "adding-not-nullable-field";
inline constexpr std::string_view adding_required_field = "adding-required-field";
inline constexpr std::string_view disallowed_unique_constraint = "disallowed-unique-constraint";
inline constexpr std::string_view adding_serial_primary_key_field =
    "adding-serial-primary-key-field";
inline constexpr std::string_view renaming_column = "renaming-column";
inline constexpr std::string_view renaming_table = "renaming-table";
}  // namespace rule

// Where a rule is reported: step rules by every command that analyses a
// step (apply for the steps it runs, lint for all), lock rules by lint only.
enum class RuleKind { step, lock };

struct RuleInfo {
  std::string_view name;
  RuleKind kind;
};

// Every rule id, step rules first, in the order docs/lint.md lists them.
[[nodiscard]] std::span<const RuleInfo> all_rules();

// True when `name` is one of all_rules().
[[nodiscard]] bool is_known_rule(std::string_view name);

}  // namespace dbmig::sql
