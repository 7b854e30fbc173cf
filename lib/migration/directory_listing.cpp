// Listing a migration directory: one open, getdents64 and close per
// directory, types from d_type (BENCHMARKS.md, issue 15: std::filesystem's
// directory_iterator cost an fstat and a 32 KiB buffer per directory, and a
// no-op apply lists every version directory).
#include "migration/directory_listing.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <optional>

#include "core/text.h"
#include "migration/directory.h"

namespace dbmig::migration::detail {
namespace {

namespace fs = std::filesystem;
using Diagnostics = std::vector<Diagnostic>;

constexpr std::string_view kSqlSuffix = ".sql";

bool is_hidden(std::string_view name) { return !name.empty() && name.front() == '.'; }

// `name` with every byte that breaks UTF-8 written as \xNN, so that it can
// be printed (and put into JSON) as it is on disk.
std::string printable_name(std::string_view name) {
  std::string out;
  while (!name.empty()) {
    const auto bad = first_invalid_utf8(name);
    const std::size_t good = bad.value_or(name.size());
    out.append(name.substr(0, good));
    if (!bad) break;
    static constexpr char kHex[] = "0123456789abcdef";
    const auto byte = static_cast<unsigned char>(name[good]);
    out += std::string("\\x") + kHex[byte >> 4] + kHex[byte & 0x0f];
    name.remove_prefix(good + 1);
  }
  return out;
}

fs::file_type type_of_mode(mode_t mode) {
  switch (mode & S_IFMT) {
    case S_IFDIR: return fs::file_type::directory;
    case S_IFREG: return fs::file_type::regular;
    case S_IFLNK: return fs::file_type::symlink;
    case S_IFIFO: return fs::file_type::fifo;
    case S_IFCHR: return fs::file_type::character;
    case S_IFBLK: return fs::file_type::block;
    case S_IFSOCK: return fs::file_type::socket;
    default: return fs::file_type::unknown;
  }
}

// The entry's own type (symlink for a link) from d_type; nullopt when the
// file system does not say (DT_UNKNOWN).
std::optional<fs::file_type> type_of_dirent(unsigned char d_type) {
  switch (d_type) {
    case DT_DIR: return fs::file_type::directory;
    case DT_REG: return fs::file_type::regular;
    case DT_LNK: return fs::file_type::symlink;
    case DT_FIFO: return fs::file_type::fifo;
    case DT_CHR: return fs::file_type::character;
    case DT_BLK: return fs::file_type::block;
    case DT_SOCK: return fs::file_type::socket;
    default: return std::nullopt;
  }
}

// An open directory, closed when it goes out of scope.
class DirectoryFd {
 public:
  explicit DirectoryFd(const fs::path& dir)
      : fd_(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {}
  DirectoryFd(const DirectoryFd&) = delete;
  DirectoryFd& operator=(const DirectoryFd&) = delete;
  ~DirectoryFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  [[nodiscard]] int get() const { return fd_; }

 private:
  int fd_;
};

// Completes an entry whose name was judged acceptable: its type from d_type,
// else (or for a link, what it points to) from fstatat. nullopt (with a
// diagnostic) for a link that leads nowhere or loops.
std::optional<Entry> typed_entry(int dir_fd, const fs::path& dir, std::string name,
                                 unsigned char d_type, Diagnostics& out) {
  Entry entry{std::move(name)};
  auto type = type_of_dirent(d_type);
  struct stat info {};
  if (!type) {
    if (::fstatat(dir_fd, entry.name.c_str(), &info, AT_SYMLINK_NOFOLLOW) != 0) {
      out.push_back(error_at(dir / entry.name, std::string("cannot read: ") + std::strerror(errno),
                             "make it readable, or remove it"));
      return std::nullopt;
    }
    type = type_of_mode(info.st_mode);
  }
  entry.type = *type;
  entry.is_symlink = entry.type == fs::file_type::symlink;
  if (entry.is_symlink) {
    if (::fstatat(dir_fd, entry.name.c_str(), &info, 0) != 0) {
      const bool loop = errno == ELOOP;
      out.push_back(error_at(
          dir / entry.name,
          loop ? "symbolic link loop" : std::string("cannot follow: ") + std::strerror(errno),
          loop ? "remove the link, or point it at a real directory or file"
               : "remove the link, or make its target readable"));
      return std::nullopt;
    }
    entry.type = type_of_mode(info.st_mode);
  }
  entry.is_directory = entry.type == fs::file_type::directory;
  entry.is_regular = entry.type == fs::file_type::regular;
  return entry;
}

// A version directory reached through a symbolic link is an error when it is
// another version's directory (the same device and inode): its steps would
// run a second time under another name. Costs one stat per version, paid
// only when some version is a link.
void report_linked_duplicates(const fs::path& root, const std::vector<Entry>& dirs,
                              Diagnostics& out) {
  if (std::none_of(dirs.begin(), dirs.end(), [](const Entry& e) { return e.is_symlink; })) return;
  std::map<std::pair<dev_t, ino_t>, std::string> seen;  // of the real directories first
  for (bool links : {false, true}) {
    for (const Entry& entry : dirs) {
      if (entry.is_symlink != links) continue;
      struct stat info {};
      if (::stat((root / entry.name).c_str(), &info) != 0) continue;
      const auto [at, fresh] = seen.emplace(std::make_pair(info.st_dev, info.st_ino), entry.name);
      if (fresh) continue;
      out.push_back(error_at(root / entry.name,
                             "version directory \"" + entry.name +
                                 "\" is a symbolic link to version \"" + at->second + "\"",
                             "a version runs once: give the new version its own directory "
                             "and files instead of a link"));
    }
  }
}

}  // namespace

Diagnostic error_at(const fs::path& file, std::string message, std::string hint) {
  Diagnostic d;
  d.file = file.string();
  d.message = std::move(message);
  d.hint = std::move(hint);
  return d;
}

std::string_view type_name(fs::file_type type) {
  switch (type) {
    case fs::file_type::directory: return "directory";
    case fs::file_type::fifo: return "FIFO";
    case fs::file_type::character: return "character device";
    case fs::file_type::block: return "block device";
    case fs::file_type::socket: return "socket";
    default: return "special file";
  }
}

std::vector<Entry> list_entries(const fs::path& dir, Diagnostics& out) {
  std::vector<Entry> entries;
  const DirectoryFd fd(dir);
  if (fd.get() < 0) {
    out.push_back(error_at(dir, std::string("cannot read directory: ") + std::strerror(errno)));
    return entries;
  }
  // A version directory's entries fit in one call; a root of 10,000
  // versions takes about 40.
  alignas(struct dirent64) char buffer[16384];
  for (;;) {
    const long got = ::syscall(SYS_getdents64, fd.get(), buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      out.push_back(error_at(dir, std::string("cannot read directory: ") + std::strerror(errno)));
      break;
    }
    if (got == 0) break;
    for (long at = 0; at < got;) {
      // getdents64(2) fills in glibc's struct dirent64 layout (which is
      // what readdir64 itself reads); d_name ends with a NUL within d_reclen.
      const auto* dirent = reinterpret_cast<const struct dirent64*>(buffer + at);
      at += dirent->d_reclen;
      const std::string_view name(dirent->d_name);
      if (is_hidden(name)) continue;  // also "." and ".."
      if (first_invalid_utf8(name)) {
        out.push_back(error_at(dir / printable_name(name), "file name is not valid UTF-8",
                               "rename it using UTF-8 characters only"));
        continue;
      }
      if (auto entry = typed_entry(fd.get(), dir, std::string(name), dirent->d_type, out)) {
        entries.push_back(std::move(*entry));
      }
    }
  }
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.name < b.name; });
  return entries;
}

std::vector<std::string> version_dirs(const fs::path& root, Diagnostics& out) {
  std::vector<Entry> entries;
  std::vector<std::string> dirs;
  for (Entry& entry : list_entries(root, out)) {
    if (entry.name == kSettingsFile) continue;  // read (and judged) by read_settings_file
    if (entry.is_directory) {
      dirs.push_back(entry.name);
      entries.push_back(std::move(entry));
    } else if (ascii_lower(entry.name).ends_with(kSqlSuffix)) {
      out.push_back(error_at(root / entry.name,
                             "\"" + entry.name + "\" is a SQL file outside any version directory",
                             "move it into a version directory (e.g. 0001-name/up.sql)"));
    }
  }
  report_linked_duplicates(root, entries, out);
  return dirs;
}

}  // namespace dbmig::migration::detail
