// The readers of the tools with one directory per version: prisma and
// diesel (docs/import.md).
#include <algorithm>

#include "importer/formats_detail.h"

namespace dbmig::importer::formats_detail {
void read_prisma(const fs::path& src, std::vector<SourceMigration>& out, Diagnostics& problems) {
  if (auto lock = read_bytes(src / "migration_lock.toml")) {
    const std::string provider = key_values(*lock)["provider"];
    if (provider != "postgresql" && provider != "postgres") {
      problems.push_back(problem(src / "migration_lock.toml",
                                 "provider \"" + provider + "\" is not PostgreSQL",
                                 "dbmig imports Prisma migrations for PostgreSQL only"));
      return;
    }
  }
  for (const std::string& name : entries(src, true)) {
    const fs::path file = src / name / "migration.sql";
    if (!fs::is_regular_file(file)) continue;
    auto text = read_bytes(file);
    if (!text) {
      problems.push_back(problem(file, "cannot read the file", ""));
      continue;
    }
    out.push_back(whole_file(name, name, name + "/migration.sql", std::move(*text),
                             RunMode::one_message, "Prisma sends the script as one message"));
  }
}

void read_diesel(const fs::path& src, std::vector<SourceMigration>& out, Diagnostics& problems) {
  std::map<std::string, std::string> seen;
  for (const std::string& name : entries(src, true)) {
    const fs::path file = src / name / "up.sql";
    if (!fs::is_regular_file(file)) continue;
    std::string version = name.substr(0, name.find('_'));
    std::erase(version, '-');
    if (auto [it, fresh] = seen.emplace(version, name); !fresh) {
      problems.push_back(problem(src / name, "version " + version + " is also " + it->second,
                                 "diesel records one row per version; rename one"));
      continue;
    }
    auto text = read_bytes(file);
    if (!text) {
      problems.push_back(problem(file, "cannot read the file", ""));
      continue;
    }
    RunMode mode = RunMode::transaction;
    std::string reason = "diesel runs each migration in a transaction";
    if (auto metadata = read_bytes(src / name / "metadata.toml")) {
      if (key_values(*metadata)["run_in_transaction"] == "false") {
        mode = RunMode::one_message;
        reason = "metadata.toml run_in_transaction = false (one message, no BEGIN)";
      }
    }
    out.push_back(whole_file(version, name, name + "/up.sql", std::move(*text), mode, reason));
  }
  std::stable_sort(out.begin(), out.end(), [](const SourceMigration& a, const SourceMigration& b) {
    return a.version < b.version;
  });
}

}  // namespace dbmig::importer::formats_detail
