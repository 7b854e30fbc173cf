// Temporary directory trees for tests: write a tree from a list of
// {relative path, content} rows; the tree is removed when the TempTree dies.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace dbmig::test {

struct FileRow {
  std::string path;     // relative to the tree root; a trailing '/' makes an empty directory
  std::string content;  // ignored for directories
};

class TempTree {
 public:
  // Creates a fresh, unique directory under the system temp dir and writes `rows`.
  explicit TempTree(const std::vector<FileRow>& rows = {});
  ~TempTree();
  TempTree(const TempTree&) = delete;
  TempTree& operator=(const TempTree&) = delete;

  [[nodiscard]] const std::filesystem::path& root() const { return root_; }
  // Writes (or overwrites) one file, creating parent directories.
  void write(const std::string& relative_path, const std::string& content) const;
  // The file's bytes; throws std::runtime_error when it cannot be read.
  [[nodiscard]] std::string read(const std::string& relative_path) const;

 private:
  std::filesystem::path root_;
};

}  // namespace dbmig::test
