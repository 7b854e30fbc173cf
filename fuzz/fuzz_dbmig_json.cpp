// Fuzz target: dbmig.json. The input is the content of dbmig.json in a tree
// that otherwise holds two valid versions (numbered), so that the settings
// -- dialect, listed versions, multi_ddl_allowed_through -- decide the
// outcome. load_directory() and build_plan() must hold the invariants of
// migration_checks.h; in particular a JSON error points into the file.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz/migration_checks.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view settings(reinterpret_cast<const char*>(data), size);
  const std::filesystem::path& root = dbmig::fuzz::fresh_tree_root();
  dbmig::fuzz::write_tree_file(root, "0001-create-t/up.sql",
                               "CREATE TABLE t (id int PRIMARY KEY);\n");
  dbmig::fuzz::write_tree_file(root, "0002-index-t/up1.sql", "ALTER TABLE t ADD COLUMN v int;\n");
  dbmig::fuzz::write_tree_file(root, "0002-index-t/up2-danger-non-transactional.sql",
                               "CREATE INDEX CONCURRENTLY t_v_idx ON t (v);\n");
  dbmig::fuzz::write_tree_file(root, "dbmig.json", settings);
  dbmig::fuzz::check_migration_tree(root);
  return 0;
}
