#pragma once
// The shared corpora: real migration histories of other projects, kept
// beside the repository in ../shared/corpora and never copied into it. A
// bare clone has none: a test that needs one then skips with the reason,
// except under CI (CI=true), where the corpus must be there and its absence
// fails the test.

#include <gtest/gtest.h>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "support/pg_server.h"

namespace dbmig::test {

// The directory of corpus `name` (e.g. "omicron-crdb"): under
// $DBMIG_CORPORA_DIR when that is set, else ../shared/corpora beside the
// source tree. nullopt when it is not a directory.
std::optional<std::filesystem::path> corpus_path(std::string_view name);

// Why corpus `name` is unavailable, for the skip or failure message.
std::string corpus_missing_reason(std::string_view name);

}  // namespace dbmig::test

// In a TEST body: declares `const std::filesystem::path var`, the directory
// of corpus `name`; when it is absent, skips the test with the reason, or
// fails it under CI=true.
#define DBMIG_REQUIRE_CORPUS(var, name)                         \
  const auto var##_or_none = ::dbmig::test::corpus_path(name);  \
  if (!var##_or_none) {                                         \
    if (::dbmig::test::running_in_ci()) {                       \
      FAIL() << ::dbmig::test::corpus_missing_reason(name);     \
    }                                                           \
    GTEST_SKIP() << ::dbmig::test::corpus_missing_reason(name); \
  }                                                             \
  const std::filesystem::path var = *var##_or_none
