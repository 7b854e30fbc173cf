// dbmig new NAME (contract section 7): the next version directory of a numbered tree,
// "<N+1><sep>NAME/up.sql", N padded and separated as the tree's newest
// version is ("0007-x" -> "0008-NAME"; an empty tree starts at "0001-NAME"),
// with a comment header. Until its statement is written the step holds only
// comments, which dbmig reads as an empty step: the other commands refuse
// the directory (exit 2) and so remind the author to write it.
#pragma once

#include <expected>
#include <filesystem>
#include <string>
#include <string_view>

#include "core/diagnostic.h"

namespace dbmig::migration {

struct NewVersion {
  std::string name;            // the version directory's name, e.g. "0008-add-email"
  std::filesystem::path step;  // its up.sql
};

// Creates the next version under `root`. Refuses (a Diagnostic, nothing
// written): a NAME that is empty, longer than 100 bytes, or holds anything
// but ASCII letters, digits, '-', '_' and '.' (or starts with '-' or '.');
// a directory that is not valid (every problem of load_directory would be
// reported by other commands: the first is returned); a tree ordered by
// dbmig.json "versions" (the new directory must be listed there by hand);
// a version number that would overflow.
[[nodiscard]] std::expected<NewVersion, Diagnostic> create_next_version(
    const std::filesystem::path& root, std::string_view name);

}  // namespace dbmig::migration
