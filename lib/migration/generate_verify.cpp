#include "migration/generate_verify.h"

#include <unistd.h>

#include <fstream>

#include "core/failure.h"
#include "migration/verify_file.h"

namespace dbmig::migration {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void fail(const fs::path& path, const std::string& what, const std::error_code& ec) {
  throw Failure(ExitCode::runtime_failure,
                "cannot " + what + " " + path.string() + (ec ? ": " + ec.message() : ""));
}

// Writes `content` to `path` through a hidden temporary file beside it
// (ignored by load_directory if a crash leaves it behind) and a rename, so
// that a reader never sees a half-written verify file.
void write_atomically(const fs::path& path, const std::string& content) {
  // Appended piecewise: `"." + std::string` trips GCC 12's false -Wrestrict
  // (GCC bug 105651) in Release builds.
  std::string temp_name = ".";
  temp_name += path.filename().string();
  temp_name += ".tmp-";
  temp_name += std::to_string(::getpid());
  const fs::path temp = path.parent_path() / temp_name;
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.close();
    if (!out) fail(temp, "write", {});
  }
  std::error_code ec;
  fs::rename(temp, path, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(temp, ignored);
    fail(path, "write", ec);
  }
}

void remove_file(const fs::path& path) {
  std::error_code ec;
  fs::remove(path, ec);
  if (ec) fail(path, "remove", ec);
}

void sync_step(const PlannedVersion& version, const PlannedStep& step,
               GenerateVerifyResult& result) {
  if (step.expected_verify) {
    if (step.actual_verify == step.expected_verify) return;
    const fs::path path =
        step.file.verify_path.value_or(version.path / (step.file.stem + ".verify.sql"));
    write_atomically(path, *step.expected_verify);
    result.written.push_back(path);
  } else if (step.actual_verify && step.file.verify_path) {
    if (is_generated_verify_file(*step.actual_verify)) {
      remove_file(*step.file.verify_path);
      result.removed.push_back(*step.file.verify_path);
    } else {
      result.kept.push_back(*step.file.verify_path);
    }
  }
}

}  // namespace

GenerateVerifyResult generate_verify(const Plan& plan) {
  GenerateVerifyResult result;
  for (const PlannedVersion& version : plan.versions) {
    for (const PlannedStep& step : version.steps) sync_step(version, step, result);
  }
  for (const fs::path& orphan : plan.generated_orphan_verify_files) {
    remove_file(orphan);
    result.removed.push_back(orphan);
  }
  return result;
}

}  // namespace dbmig::migration
