// Connection strings that hold a password, for the secrets tests (contract sections 7, 9):
// well-formed ones that fail (refused port) and the malformed ones libpq
// rejects and quotes in its message. Each password is kSecretHead +
// separator + kSecretTail; a test asserts that neither half appears in any
// output. Every string points at 127.0.0.1:<port> (or nowhere), loopback only.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace dbmig::test {

inline constexpr std::string_view kSecretHead = "Kq7Zx";
inline constexpr std::string_view kSecretTail = "Wm4Yv";

// Characters a password may hold that URL or key=value syntax treats
// specially (and "" for a plain one).
inline const std::vector<std::string>& secret_separators() {
  static const std::vector<std::string> separators = {
      "", " ", "'", "\"", "%zz", "%40", "@", "/", "?", "\\", "&", "=", ":", "''", "\\'", "#"};
  return separators;
}

// Templates: {PW} is the password, {PORT} a port nothing listens on.
inline const std::vector<std::string>& secret_conninfo_templates() {
  static const std::vector<std::string> templates = {
      "postgresql://alice:{PW}@127.0.0.1:{PORT}/db",
      "postgresql://alice:{PW}@[::1/db",
      "postgresql://alice:{PW}@[::1]x/db",
      "postgresql://alice:{PW}@127.0.0.1:{PORT},[::1/db",
      "postgresql://alice:{PW}@127.0.0.1:{PORT}/db?bogus=1",
      "postgresql://alice:{PW}@127.0.0.1:{PORT}/db?sslmode=bogus",
      "postgresql://alice:{PW}@127.0.0.1:notaport/db",
      "postgresql://alice:{PW}@127.0.0.1:{PORT}/d%zzb",
      "postgres://alice:{PW}@127.0.0.1:{PORT}/db?host=[::1",
      "postgres://127.0.0.1:{PORT}/db?password={PW}",
      "postgres://127.0.0.1:{PORT}/db?password={PW}&bogus=1",
      "postgres://127.0.0.1:{PORT}/db?sslpassword={PW}&sslmode=bogus",
      "host=127.0.0.1 port={PORT} user=alice password={PW} dbname=db",
      "host=127.0.0.1 port={PORT} password='{PW} dbname=db",
      "host=127.0.0.1 port={PORT} password='{PW}' bogus=1",
      "host=127.0.0.1 port={PORT} password={PW} bogus",
      "host=127.0.0.1 port={PORT} 'password={PW}'",
      "password {PW} host=127.0.0.1 port={PORT}",
      "host=127.0.0.1 port={PORT} password = {PW} sslmode=bogus",
      "host=127.0.0.1 port=notaport password={PW}",
      "host=127.0.0.1 port={PORT} pasword={PW}",
      "host=127.0.0.1 port={PORT} sslpassword={PW} sslmode=bogus",
      "host=127.0.0.1 port={PORT} password={PW}\\",
      "host=127.0.0.1 port={PORT} password={PW} options='-c x=y",
      "dbname=postgresql://alice:{PW}@127.0.0.1:{PORT}/db",
      " postgresql://alice:{PW}@[::1/db",
  };
  return templates;
}

inline std::string replaced(std::string text, std::string_view from, const std::string& to) {
  for (std::size_t at = text.find(from); at != std::string::npos;
       at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

// The template filled in with the password head + separator + tail.
inline std::string secret_conninfo(const std::string& conninfo_template,
                                   const std::string& separator, int port) {
  const std::string password = std::string(kSecretHead) + separator + std::string(kSecretTail);
  return replaced(replaced(conninfo_template, "{PW}", password), "{PORT}", std::to_string(port));
}

// True when `text` holds either half of the password.
inline bool holds_secret(std::string_view text) {
  return text.find(kSecretHead) != std::string_view::npos ||
         text.find(kSecretTail) != std::string_view::npos;
}

}  // namespace dbmig::test
