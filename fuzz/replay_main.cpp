// The `main` of a fuzz target's replay executable (built without libFuzzer):
// runs LLVMFuzzerTestOneInput once over every file of the directories and
// files given on the command line, so that the committed seed corpus and
// every crash ever found run as a CTest test with any compiler.
//
// Usage: <target>_replay PATH...   (a directory stands for its files, recursively)
// Exit status: 0 when every input passed; 1 when a PATH is missing or holds
// no file; an invariant that breaks aborts the process.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "core/text.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

namespace fs = std::filesystem;

// The regular files of `path` (itself when it is a file), sorted.
std::vector<fs::path> inputs_of(const fs::path& path) {
  std::vector<fs::path> files;
  if (fs::is_regular_file(path)) {
    files.push_back(path);
  } else if (fs::is_directory(path)) {
    for (const auto& entry : fs::recursive_directory_iterator(path)) {
      if (entry.is_regular_file()) files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: " << argv[0] << " CORPUS_DIR_OR_FILE...\n";
    return 1;
  }
  std::size_t replayed = 0;
  for (int i = 1; i < argc; ++i) {
    const std::vector<fs::path> files = inputs_of(argv[i]);
    if (files.empty()) {
      std::cerr << argv[0] << ": no input file in " << argv[i] << "\n";
      return 1;
    }
    for (const fs::path& file : files) {
      std::cerr << "replay " << file.string() << "\n";
      const auto bytes = dbmig::read_file(file.string());
      if (!bytes) {
        std::cerr << argv[0] << ": cannot read " << file.string() << "\n";
        return 1;
      }
      LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes->data()), bytes->size());
      ++replayed;
    }
  }
  std::cout << argv[0] << ": " << replayed << " inputs passed\n";
  return 0;
}
