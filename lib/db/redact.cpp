// Secrets out of every text (redact.h): the forms a secret may take in a
// message, masking them, and the patterns masked in any free text. The
// parsers that find secrets are redact_conninfo.cpp (connection strings) and
// redact_sql.cpp (statements).
#include "db/redact.h"

#include <libpq-fe.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "db/redact_detail.h"

namespace dbmig::db {
namespace redact_detail {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string without_backslashes(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size()) ++i;
    out += text[i];
  }
  return out;
}

std::string replaced_all(std::string text, std::string_view from, std::string_view to) {
  if (from.empty()) return text;
  for (std::size_t at = text.find(from); at != std::string::npos;
       at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

// Secrets this short are masked only where they stand alone (not inside a
// word): a one-letter password must not turn every "s" of a message into
// the mask, which would hide nothing anyway.
constexpr std::size_t kShortSecret = 4;

bool stands_alone(std::string_view text, std::size_t at, std::size_t length) {
  const bool alone_before = at == 0 || !is_word_char(text[at - 1]);
  const bool alone_after = at + length >= text.size() || !is_word_char(text[at + length]);
  return alone_before && alone_after;
}

// The pieces of a password written with raw URL delimiters in it, which
// libpq cuts there and may quote one by one. Pieces shorter than
// kShortestPiece are left: masking every "a" of a message hides nothing.
constexpr std::size_t kShortestPiece = 3;

// True when `text` holds `lower_word` in any case. memchr on its first
// letter: this runs over every failing statement, a 50 MB step included.
bool contains_folded(std::string_view text, std::string_view lower_word) {
  const char first[2] = {lower_word[0], static_cast<char>(std::toupper(lower_word[0]))};
  for (const char letter : first) {
    const char* at = text.data();
    const char* const end = text.data() + text.size();
    while (at < end) {
      const void* found = std::memchr(at, letter, static_cast<std::size_t>(end - at));
      if (found == nullptr) break;
      at = static_cast<const char*>(found);
      if (static_cast<std::size_t>(end - at) >= lower_word.size() &&
          strncasecmp(at, lower_word.data(), lower_word.size()) == 0) {
        return true;
      }
      ++at;
    }
  }
  return false;
}

// Masks the value after every `password` + optional spaces + '=' (any case,
// sslpassword included): a quoted value to its closing quote, else up to
// whitespace or a delimiter.
std::string mask_password_assignments(std::string text) {
  const std::string folded = lower(text);
  std::string out;
  std::size_t copied = 0;
  for (std::size_t at = folded.find("password"); at != std::string::npos;
       at = folded.find("password", at + 1)) {
    std::size_t i = at + 8;
    while (i < text.size() && is_space(text[i])) ++i;
    if (i >= text.size() || text[i] != '=' || i < copied) continue;
    ++i;
    while (i < text.size() && is_space(text[i])) ++i;
    std::size_t end = i;
    if (end < text.size() && (text[end] == '\'' || text[end] == '"')) {
      const char quote = text[end];
      while (end < text.size() && text[end] == quote) ++end;
      while (end < text.size() && text[end] != quote) end += text[end] == '\\' ? 2 : 1;
      while (end < text.size() && text[end] == quote) ++end;
    } else {
      while (end < text.size() && !is_space(text[end]) &&
             std::string_view("'\"&;,)").find(text[end]) == std::string_view::npos) {
        ++end;
      }
    }
    end = std::min(end, text.size());
    if (end == i) continue;
    out += text.substr(copied, i - copied);
    out += kSecretMask;
    copied = end;
  }
  out += text.substr(std::min(copied, text.size()));
  return out;
}

// Masks the password of every `://user:password@` (a URL quoted in a message).
std::string mask_url_passwords(std::string text) {
  std::size_t from = 0;
  for (std::size_t at = text.find("://", from); at != std::string::npos;
       at = text.find("://", from)) {
    std::size_t end = at + 3;
    while (end < text.size() && !is_space(text[end]) && text[end] != '"' && text[end] != '\'') {
      ++end;
    }
    const std::size_t user_end = text.find(':', at + 3);
    const std::size_t last_at = text.rfind('@', end == 0 ? 0 : end - 1);
    if (user_end != std::string::npos && last_at != std::string::npos && last_at > user_end &&
        last_at < end && text.substr(user_end + 1, last_at - user_end - 1) != kSecretMask) {
      text.replace(user_end + 1, last_at - user_end - 1, kSecretMask);
      end = user_end + 1 + kSecretMask.size();
    }
    from = end;
  }
  return text;
}

}  // namespace

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

bool is_word_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '$';
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// libpq keywords whose values are not secret, shown as written.
bool is_public_key(std::string_view key) {
  static constexpr std::string_view kKeys[] = {"host",
                                               "hostaddr",
                                               "port",
                                               "dbname",
                                               "user",
                                               "options",
                                               "application_name",
                                               "fallback_application_name",
                                               "connect_timeout",
                                               "client_encoding",
                                               "keepalives",
                                               "keepalives_idle",
                                               "keepalives_interval",
                                               "keepalives_count",
                                               "tcp_user_timeout",
                                               "replication",
                                               "gssencmode",
                                               "sslmode",
                                               "requiressl",
                                               "sslcompression",
                                               "sslcert",
                                               "sslkey",
                                               "sslrootcert",
                                               "sslcrl",
                                               "sslcrldir",
                                               "sslsni",
                                               "requirepeer",
                                               "ssl_min_protocol_version",
                                               "ssl_max_protocol_version",
                                               "krbsrvname",
                                               "gsslib",
                                               "gssdelegation",
                                               "service",
                                               "target_session_attrs",
                                               "load_balance_hosts",
                                               "passfile",
                                               "channel_binding",
                                               "require_auth",
                                               "sslcertmode",
                                               "sslnegotiation",
                                               "sslkeylogfile",
                                               "min_protocol_version",
                                               "max_protocol_version"};
  return std::find(std::begin(kKeys), std::end(kKeys), key) != std::end(kKeys);
}

// A key whose value is, or may have been meant as, a secret: password and
// sslpassword, and (`unknown_too`) any key libpq does not know.
bool is_secret_key(std::string_view key, SecretKeys rule) {
  const std::string name = lower(key);
  if (rule == SecretKeys::unknown_too && !is_public_key(name)) return true;
  return name.find("pass") != std::string::npos && name != "passfile";
}

// %XX decoded where XX is hex; anything else kept as written.
std::string percent_decoded(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      const int high = hex_value(text[i + 1]);
      const int low = hex_value(text[i + 2]);
      if (high >= 0 && low >= 0) {
        out += static_cast<char>(high * 16 + low);
        i += 2;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

std::string masked(std::string text, std::string_view secret) {
  if (secret.size() >= kShortSecret) return replaced_all(std::move(text), secret, kSecretMask);
  for (std::size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at)) {
    if (stands_alone(text, at, secret.size())) {
      text.replace(at, secret.size(), kSecretMask);
      at += kSecretMask.size();
    } else {
      at += 1;
    }
  }
  return text;
}

// Every form in which `secret` may appear in a message or statement.
void add_forms(std::vector<std::string>& secrets, std::string_view secret) {
  std::string trimmed(secret);
  while (!trimmed.empty() && (trimmed.front() == '\'' || trimmed.front() == '"')) {
    trimmed.erase(0, 1);
  }
  while (!trimmed.empty() && (trimmed.back() == '\'' || trimmed.back() == '"')) trimmed.pop_back();
  for (const std::string& form :
       {std::string(secret), trimmed, without_backslashes(trimmed), percent_decoded(trimmed),
        replaced_all(std::string(secret), "'", "''"), replaced_all(trimmed, "'", "''"),
        replaced_all(trimmed, "\\", "\\\\")}) {
    if (!form.empty() && std::find(secrets.begin(), secrets.end(), form) == secrets.end()) {
      secrets.push_back(form);
    }
  }
}

void add_pieces(std::vector<std::string>& secrets, std::string_view password) {
  constexpr std::string_view kDelimiters = "@/?#:,&=[] ";
  std::size_t begin = 0;
  while (begin <= password.size()) {
    const std::size_t end = std::min(password.find_first_of(kDelimiters, begin), password.size());
    if (end - begin >= kShortestPiece) add_forms(secrets, password.substr(begin, end - begin));
    begin = end + 1;
  }
}

// Without these a text holds no secret dbmig can find: the cheap test that
// spares a 50 MB step's failure from being tokenized.
bool looks_like_connection_string(std::string_view text) {
  return contains_folded(text, "password") || text.find("://") != std::string_view::npos;
}

}  // namespace redact_detail

using namespace redact_detail;

std::string hide_secrets(std::string_view text, const std::vector<std::string>& secrets) {
  if (secrets.empty() && !looks_like_connection_string(text)) return std::string(text);
  std::vector<std::string> ordered = secrets;
  std::sort(ordered.begin(), ordered.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  std::string out(text);
  for (const std::string& secret : ordered) {
    if (secret.empty() || secret == kSecretMask) continue;
    out = masked(std::move(out), secret);
  }
  return mask_url_passwords(mask_password_assignments(std::move(out)));
}

DbError without_connection_secrets(const DbError& error, std::string_view conninfo,
                                   const pg_conn* conn) {
  std::vector<std::string> secrets = conninfo_secrets(conninfo);
  if (const char* environment = std::getenv("PGPASSWORD")) add_forms(secrets, environment);
  if (conn != nullptr) {
    PGconn* connection = const_cast<PGconn*>(conn);
    if (const char* used = PQpass(connection); used != nullptr) add_forms(secrets, used);
    if (PQconninfoOption* options = PQconninfo(connection)) {
      for (const PQconninfoOption* option = options; option->keyword != nullptr; ++option) {
        if (option->dispchar != nullptr && option->dispchar[0] == '*' && option->val != nullptr) {
          add_forms(secrets, option->val);
        }
      }
      PQconninfoFree(options);
    }
  }
  return DbError(error.fields(), secrets);
}

}  // namespace dbmig::db
