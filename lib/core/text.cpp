#include "core/text.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <compare>
#include <cstring>
#include <memory>

namespace dbmig {

namespace {

// OpenSSL 3's EVP_Digest(..., EVP_sha256(), ...) looks the algorithm up
// (EVP_MD_fetch, under a lock) and allocates a context on every call: about
// 18,000 instructions per step file, more than hashing a typical step
// (callgrind, BENCHMARKS.md issue 15). The algorithm is fetched once per
// process, a context kept per thread.
struct DigestContext {
  std::unique_ptr<EVP_MD, decltype(&EVP_MD_free)> md{EVP_MD_fetch(nullptr, "SHA256", nullptr),
                                                     &EVP_MD_free};
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context{EVP_MD_CTX_new(),
                                                                  &EVP_MD_CTX_free};
};

}  // namespace

std::string sha256_hex(std::string_view bytes) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  thread_local DigestContext sha256;
  if (!sha256.md || !sha256.context ||
      EVP_DigestInit_ex(sha256.context.get(), sha256.md.get(), nullptr) != 1 ||
      EVP_DigestUpdate(sha256.context.get(), bytes.data(), bytes.size()) != 1 ||
      EVP_DigestFinal_ex(sha256.context.get(), digest.data(), &length) != 1) {
    // Without a usable context (out of memory): the one-shot call.
    EVP_Digest(bytes.data(), bytes.size(), digest.data(), &length, EVP_sha256(), nullptr);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(static_cast<std::size_t>(length) * 2);
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0x0f];
  }
  return out;
}

std::optional<std::size_t> first_invalid_utf8(std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    const unsigned char c = s[i];
    if (c == 0) return i;
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    unsigned char lo = 0x80;
    unsigned char hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return i;
    }
    if (i + len > n) return i;
    if (s[i + 1] < lo || s[i + 1] > hi) return i;
    for (std::size_t k = 2; k < len; ++k) {
      if (s[i + k] < 0x80 || s[i + k] > 0xBF) return i;
    }
    i += len;
  }
  return std::nullopt;
}

std::string ascii_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Sizes the buffer from fstat first, so that a large step costs one buffer
// of its size (growing by doubling cost up to twice that, BENCHMARKS.md), then
// reads until EOF: a file that grows meanwhile, or one whose size fstat does
// not know (/proc), is still read to its end (a file that grew past its
// fstat size fills the spare byte, so the loop reads on). POSIX calls rather
// than std::ifstream: open, fstat, read and close only (ifstream added two
// lseeks per file, and a validation of 1000 steps reads ~1350 files).
//
// O_NONBLOCK, then fstat on the open descriptor: a FIFO put where a file was
// (even after the directory was listed) is refused instead of blocking the
// open or the read forever, and what is judged is what was opened.
std::expected<std::string, std::string> read_regular_file(const std::string& path,
                                                          FileIdentity* identity) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return std::unexpected(std::string(std::strerror(errno)));
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    const std::string what = std::strerror(errno);
    ::close(fd);
    return std::unexpected(what);
  }
  if (!S_ISREG(info.st_mode)) {
    ::close(fd);
    return std::unexpected("not a regular file (" + std::string(file_type_name(info.st_mode)) +
                           ")");
  }
  if (identity != nullptr) *identity = {info.st_dev, info.st_ino};
  std::string content;
  // One byte more than the size, so that the read that sees EOF needs no growth.
  content.resize(info.st_size > 0 ? static_cast<std::size_t>(info.st_size) + 1 : 65536);
  std::size_t used = 0;
  for (;;) {
    if (used == content.size()) content.resize(content.size() * 2);
    const ssize_t got = ::read(fd, content.data() + used, content.size() - used);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      const std::string what = std::strerror(errno);
      ::close(fd);
      return std::unexpected(what);
    }
    if (got == 0) break;
    used += static_cast<std::size_t>(got);
    // A short read after every byte fstat counted is the end of a regular
    // file: the read that would return 0 is saved (one system call per
    // step file, BENCHMARKS.md issue 15). Sizes fstat does not know (0, as
    // in /proc) are still read until a read returns 0.
    if (info.st_size > 0 && used < content.size() &&
        used >= static_cast<std::size_t>(info.st_size)) {
      break;
    }
  }
  ::close(fd);
  content.resize(used);
  return content;
}

std::optional<std::string> read_file(const std::string& path) {
  auto content = read_regular_file(path);
  if (!content) return std::nullopt;
  return std::move(*content);
}

std::string_view file_type_name(unsigned mode) {
  switch (mode & S_IFMT) {
    case S_IFREG: return "regular file";
    case S_IFDIR: return "directory";
    case S_IFIFO: return "FIFO";
    case S_IFCHR: return "character device";
    case S_IFBLK: return "block device";
    case S_IFSOCK: return "socket";
    case S_IFLNK: return "symbolic link";
    default: return "special file";
  }
}

}  // namespace dbmig
