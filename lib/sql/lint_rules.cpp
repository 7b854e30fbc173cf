#include "sql/lint_rules.h"

#include <algorithm>
#include <array>

namespace dbmig::sql {
namespace {

constexpr std::array kRules = {
    RuleInfo{rule::empty_step, RuleKind::step},
    RuleInfo{rule::comment_only_step, RuleKind::step},
    RuleInfo{rule::guarded_setting, RuleKind::step},
    RuleInfo{rule::psql_meta_command, RuleKind::step},
    RuleInfo{rule::copy_from_stdin, RuleKind::step},
    RuleInfo{rule::transaction_control, RuleKind::step},
    RuleInfo{rule::one_ddl_per_step, RuleKind::step},
    RuleInfo{rule::ddl_mixed_with_dml, RuleKind::step},
    RuleInfo{rule::non_transactional_not_alone, RuleKind::step},
    RuleInfo{rule::commit_in_code_block, RuleKind::step},
    RuleInfo{rule::unnamed_index, RuleKind::step},
    RuleInfo{rule::unnamed_constraint, RuleKind::step},
    RuleInfo{rule::missing_if_not_exists, RuleKind::step},
    RuleInfo{rule::cockroach_syntax, RuleKind::step},
    RuleInfo{rule::postgres_only_syntax, RuleKind::step},
    RuleInfo{rule::grammar_rejects, RuleKind::step},
    RuleInfo{rule::require_concurrent_index_creation, RuleKind::lock},
    RuleInfo{rule::require_concurrent_index_deletion, RuleKind::lock},
    RuleInfo{rule::require_concurrent_reindex, RuleKind::lock},
    RuleInfo{rule::constraint_missing_not_valid, RuleKind::lock},
    RuleInfo{rule::adding_foreign_key_constraint, RuleKind::lock},
    RuleInfo{rule::changing_column_type, RuleKind::lock},
    RuleInfo{rule::adding_field_with_default, RuleKind::lock},
    RuleInfo{rule::adding_not_nullable_field, RuleKind::lock},
    RuleInfo{rule::adding_required_field, RuleKind::lock},
    RuleInfo{rule::disallowed_unique_constraint, RuleKind::lock},
    RuleInfo{rule::adding_serial_primary_key_field, RuleKind::lock},
    RuleInfo{rule::renaming_column, RuleKind::lock},
    RuleInfo{rule::renaming_table, RuleKind::lock},
};

}  // namespace

std::span<const RuleInfo> all_rules() { return kRules; }

bool is_known_rule(std::string_view name) {
  return std::any_of(kRules.begin(), kRules.end(),
                     [&](const RuleInfo& info) { return info.name == name; });
}

}  // namespace dbmig::sql
