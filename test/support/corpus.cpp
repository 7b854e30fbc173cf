#include "support/corpus.h"

#include <cstdlib>

namespace dbmig::test {
namespace {

std::filesystem::path corpora_root() {
  if (const char* dir = std::getenv("DBMIG_CORPORA_DIR"); dir != nullptr && *dir != '\0') {
    return dir;
  }
  return std::filesystem::path(DBMIG_SHARED_DIR) / "corpora";
}

}  // namespace

std::optional<std::filesystem::path> corpus_path(std::string_view name) {
  std::filesystem::path path = corpora_root() / name;
  std::error_code error;
  if (!std::filesystem::is_directory(path, error)) return std::nullopt;
  return path;
}

std::string corpus_missing_reason(std::string_view name) {
  return "corpus " + std::string(name) + " not found at " + (corpora_root() / name).string() +
         " (the shared corpora live beside the repository in ../shared/corpora, or set "
         "DBMIG_CORPORA_DIR; a bare clone has none)";
}

}  // namespace dbmig::test
