#include "support/file_tree.h"

#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace dbmig::test {

namespace fs = std::filesystem;

TempTree::TempTree(const std::vector<FileRow>& rows) {
  static std::atomic<int> counter{0};
  root_ = fs::temp_directory_path() /
          ("dbmig-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  fs::remove_all(root_);
  fs::create_directories(root_);
  for (const FileRow& row : rows) {
    if (row.path.ends_with('/')) {
      fs::create_directories(root_ / row.path);
    } else {
      write(row.path, row.content);
    }
  }
}

TempTree::~TempTree() {
  std::error_code ec;
  fs::remove_all(root_, ec);
}

void TempTree::write(const std::string& relative_path, const std::string& content) const {
  const fs::path path = root_ / relative_path;
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::string TempTree::read(const std::string& relative_path) const {
  std::ifstream in(root_ / relative_path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + (root_ / relative_path).string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace dbmig::test
