// `dbmig generate-verify` (docs/contract.md section 5): bring the verify files on disk in
// line with the plan. The `--check` side (writing nothing) is
// check_verify_files() in plan.h.
#pragma once

#include <filesystem>
#include <vector>

#include "migration/plan.h"

namespace dbmig::migration {

struct GenerateVerifyResult {
  std::vector<std::filesystem::path>
      written;  // created or rewritten (missing or stale), plan order
  std::vector<std::filesystem::path> removed;  // dbmig-generated files no longer wanted
  // Unwanted verify files without dbmig's header: left in place for a person
  // to delete (check_verify_files keeps reporting them as spurious).
  std::vector<std::filesystem::path> kept;

  [[nodiscard]] bool changed_nothing() const { return written.empty() && removed.empty(); }
};

// Writes the expected content of every missing or stale verify file (each
// atomically: a temporary file beside it, then rename) and removes every
// dbmig-generated verify file that is no longer wanted, including generated
// orphans. Running it twice changes nothing the second time. Throws
// dbmig::Failure (runtime_failure) when a file cannot be written or removed.
[[nodiscard]] GenerateVerifyResult generate_verify(const Plan& plan);

}  // namespace dbmig::migration
