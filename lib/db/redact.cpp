// Secrets out of every text (redact.h), and redact_password (connection.h).
//
// Conninfo syntaxes, as libpq reads them: a URL (postgres:// or
// postgresql://) whose password is the part of the userinfo after the first
// ':' or a `password` query parameter; and a key=value string whose values
// are bare words or single-quoted strings with backslash escapes. The parsers
// here never fail: libpq's PQconninfoParse rejects exactly the malformed
// strings whose error messages quote them, so these read what libpq would
// not, and where the input is ambiguous they err toward hiding more.
#include "db/redact.h"

#include <libpq-fe.h>
#include <strings.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "db/connection.h"

namespace dbmig::db {
namespace {

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

// Which keys hold secrets. In a connection string dbmig was given, any key
// libpq does not know may be a mistyped password (or a stray quote); in a
// statement's literal, which may be any text, only the password keys.
enum class SecretKeys { unknown_too, password_only };

// A key whose value is, or may have been meant as, a secret: password and
// sslpassword, and (`unknown_too`) any key libpq does not know.
bool is_secret_key(std::string_view key, SecretKeys rule = SecretKeys::unknown_too) {
  const std::string name = lower(key);
  if (rule == SecretKeys::unknown_too && !is_public_key(name)) return true;
  return name.find("pass") != std::string::npos && name != "passfile";
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
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

// The pieces of a password written with raw URL delimiters in it, which
// libpq cuts there and may quote one by one. Pieces shorter than
// kShortestPiece are left: masking every "a" of a message hides nothing.
constexpr std::size_t kShortestPiece = 3;

void add_pieces(std::vector<std::string>& secrets, std::string_view password) {
  constexpr std::string_view kDelimiters = "@/?#:,&=[] ";
  std::size_t begin = 0;
  while (begin <= password.size()) {
    const std::size_t end = std::min(password.find_first_of(kDelimiters, begin), password.size());
    if (end - begin >= kShortestPiece) add_forms(secrets, password.substr(begin, end - begin));
    begin = end + 1;
  }
}

// --- key=value ---------------------------------------------------------

struct Token {
  std::size_t begin = 0;        // the key (or the malformed word)
  std::size_t value_begin = 0;  // == value_end when there is no '='
  std::size_t value_end = 0;
  bool has_equals = false;
};

// Length of the value starting at `text[begin]`: a quoted string (with
// backslash escapes, to its end when unterminated) or a bare word up to
// whitespace.
std::size_t value_length(std::string_view text, std::size_t begin) {
  std::size_t i = begin;
  if (i < text.size() && text[i] == '\'') {
    ++i;
    while (i < text.size() && text[i] != '\'') i += text[i] == '\\' ? 2 : 1;
    return std::min(i + 1, text.size()) - begin;
  }
  while (i < text.size() && !is_space(text[i])) i += text[i] == '\\' ? 2 : 1;
  return std::min(i, text.size()) - begin;
}

std::vector<Token> key_value_tokens(std::string_view text) {
  std::vector<Token> tokens;
  std::size_t i = 0;
  while (i < text.size()) {
    if (is_space(text[i])) {
      ++i;
      continue;
    }
    Token token;
    token.begin = i;
    std::size_t key_end = i;
    while (key_end < text.size() && text[key_end] != '=' && !is_space(text[key_end])) ++key_end;
    std::size_t equals = key_end;
    while (equals < text.size() && is_space(text[equals])) ++equals;
    if (equals >= text.size() || text[equals] != '=') {  // a word without '='
      token.value_begin = token.value_end = key_end;
      tokens.push_back(token);
      i = key_end;
      continue;
    }
    token.has_equals = true;
    std::size_t value = equals + 1;
    while (value < text.size() && is_space(text[value])) ++value;
    token.value_begin = value;
    token.value_end = value + value_length(text, value);
    tokens.push_back(token);
    i = token.value_end;
  }
  return tokens;
}

std::string_view key_of(std::string_view text, const Token& token) {
  std::size_t end = token.begin;
  while (end < text.size() && text[end] != '=' && !is_space(text[end])) ++end;
  return text.substr(token.begin, end - token.begin);
}

std::string_view value_of(std::string_view text, const Token& token) {
  return text.substr(token.value_begin, token.value_end - token.value_begin);
}

void key_value_secrets(std::string_view text, SecretKeys rule, std::vector<std::string>& secrets);
void url_secrets(std::string_view url, std::size_t after_scheme, SecretKeys rule,
                 std::vector<std::string>& secrets);

std::size_t scheme_length(std::string_view text) {
  for (std::string_view scheme : {"postgresql://", "postgres://"}) {
    if (text.starts_with(scheme)) return scheme.size();
  }
  return 0;
}

void key_value_secrets(std::string_view text, SecretKeys rule, std::vector<std::string>& secrets) {
  bool after_secret = false;    // the words that follow may be the rest of a password
  bool after_bare_key = false;  // the previous word was a secret key without '='
  for (const Token& token : key_value_tokens(text)) {
    const std::string_view key = key_of(text, token);
    const std::string_view value = value_of(text, token);
    const bool bare_value = after_bare_key;
    if (bare_value) {  // "password Kq7=Zx": the whole word was meant as the value
      add_forms(secrets, text.substr(token.begin, token.value_end - token.begin));
      add_forms(secrets, key);
      add_forms(secrets, value);
    }
    after_bare_key = !token.has_equals && !bare_value && is_secret_key(key, rule);
    if (!token.has_equals) {
      if (after_secret) add_forms(secrets, key);
      after_secret = after_secret || is_secret_key(key, rule);
      continue;
    }
    after_secret = is_secret_key(key, rule);
    if (after_secret) {
      add_forms(secrets, value);
    } else if (lower(key) == "dbname" && scheme_length(value) > 0) {
      // A space in the URL's password ends the value: read on to the end.
      const std::string_view rest = text.substr(token.value_begin);
      url_secrets(rest, scheme_length(rest), rule, secrets);
    }
  }
}

// --- URL ---------------------------------------------------------------

void query_secrets(std::string_view query, SecretKeys rule, std::vector<std::string>& secrets) {
  bool after_secret = false;
  std::size_t begin = 0;
  while (begin <= query.size()) {
    std::size_t end = std::min(query.find('&', begin), query.size());
    const std::string_view pair = query.substr(begin, end - begin);
    const std::size_t equals = pair.find('=');
    const std::string_view key = pair.substr(0, std::min(equals, pair.size()));
    if (equals == std::string_view::npos) {
      if (after_secret) add_forms(secrets, pair);  // "password=Kq7&Zx": the rest of it
    } else {
      after_secret = is_secret_key(percent_decoded(key), rule);
      if (after_secret) {
        add_forms(secrets, pair.substr(equals + 1));
        add_pieces(secrets, pair.substr(equals + 1));
      }
    }
    if (end == query.size()) break;
    begin = end + 1;
  }
}

void url_secrets(std::string_view url, std::size_t after_scheme, SecretKeys rule,
                 std::vector<std::string>& secrets) {
  const std::string_view rest = url.substr(after_scheme);
  const std::size_t colon = rest.find(':');
  const std::size_t first_at = rest.find('@');
  const std::size_t last_at = rest.rfind('@');
  if (colon != std::string_view::npos && first_at != std::string_view::npos && colon < first_at) {
    add_forms(secrets, rest.substr(colon + 1, first_at - colon - 1));
    const std::string_view longest = rest.substr(colon + 1, last_at - colon - 1);
    add_forms(secrets, longest);
    add_pieces(secrets, longest);
  }
  const std::size_t question = rest.find('?');
  if (question != std::string_view::npos) query_secrets(rest.substr(question + 1), rule, secrets);
}

// --- display (redact_password) ------------------------------------------

std::string redact_query(std::string_view query) {
  std::string out;
  bool after_secret = false;
  std::size_t begin = 0;
  while (begin <= query.size()) {
    std::size_t end = std::min(query.find('&', begin), query.size());
    const std::string_view pair = query.substr(begin, end - begin);
    const std::size_t equals = pair.find('=');
    const std::string key = percent_decoded(pair.substr(0, std::min(equals, pair.size())));
    if (equals == std::string_view::npos) {
      out += after_secret ? kSecretMask : pair;
    } else if (!is_public_key(key)) {
      after_secret = true;
      out += pair.substr(0, equals + 1);
      out += kSecretMask;
    } else {
      after_secret = false;
      out += pair;
    }
    if (end == query.size()) break;
    out += '&';
    begin = end + 1;
  }
  return out;
}

std::string redact_url(std::string_view url, std::size_t after_scheme) {
  // libpq: the userinfo is what precedes an '@' met before the first '/'.
  const std::size_t slash = std::min(url.find('/', after_scheme), url.size());
  const std::size_t at = url.substr(0, slash).rfind('@');
  const std::size_t colon = url.find(':', after_scheme);
  std::string out;
  std::size_t host = after_scheme;
  if (at != std::string_view::npos && at >= after_scheme && colon < at) {
    out += url.substr(0, colon + 1);
    out += kSecretMask;
    host = at;
  } else {
    out += url.substr(0, after_scheme);
  }
  const std::size_t query = std::min(url.find('?', std::max(host, slash)), url.size());
  out += url.substr(host, query - host);
  if (query < url.size()) out += '?' + redact_query(url.substr(query + 1));
  return out;
}

// Public keys as written; any other key's value, and any word that is not
// key=value, masked.
std::string redact_key_value(std::string_view text) {
  std::string out;
  std::size_t copied = 0;
  bool after_bare_key = false;
  for (const Token& token : key_value_tokens(text)) {
    out += text.substr(copied, token.begin - copied);
    const std::string_view key = key_of(text, token);
    const std::string_view value = value_of(text, token);
    const bool bare_value = after_bare_key;
    after_bare_key = !token.has_equals && !bare_value && is_secret_key(key);
    if (!token.has_equals || bare_value) {
      out += kSecretMask;
    } else if (is_public_key(key)) {
      out += text.substr(token.begin, token.value_begin - token.begin);
      out +=
          scheme_length(value) > 0 ? redact_url(value, scheme_length(value)) : std::string(value);
    } else {
      out += text.substr(token.begin, token.value_begin - token.begin);
      out += kSecretMask;
    }
    copied = token.value_end;
  }
  out += text.substr(std::min(copied, text.size()));
  return out;
}

// --- patterns left in free text -------------------------------------------

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

// --- SQL ----------------------------------------------------------------

enum class SqlKind { word, literal, other };

// A token of a SQL text, by position only (a failing 50 MB step is scanned
// without copying it): a literal's content is [content_begin, content_end),
// decoded by literal_content().
struct SqlToken {
  SqlKind kind = SqlKind::other;
  std::size_t begin = 0;
  std::size_t end = 0;
  std::size_t content_begin = 0;
  std::size_t content_end = 0;
  bool quoted = false;   // '...' ('' doubles a quote), else $tag$...$tag$
  bool escapes = false;  // E'...': backslash escapes too
};

std::size_t skip_comment(std::string_view sql, std::size_t i) {
  if (sql.substr(i, 2) == "--") {
    const std::size_t end = sql.find('\n', i);
    return end == std::string_view::npos ? sql.size() : end + 1;
  }
  int depth = 0;
  while (i < sql.size()) {
    if (sql.substr(i, 2) == "/*") {
      ++depth;
      i += 2;
    } else if (sql.substr(i, 2) == "*/") {
      i += 2;
      if (--depth == 0) return i;
    } else {
      ++i;
    }
  }
  return sql.size();
}

// A quoted literal whose quote is at `quote`; to the end when unterminated.
SqlToken quoted_literal(std::string_view sql, std::size_t begin, std::size_t quote, bool escapes) {
  SqlToken token{SqlKind::literal, begin, sql.size(), quote + 1, sql.size(), true, escapes};
  std::size_t i = quote + 1;
  while (i < sql.size()) {
    if ((escapes && sql[i] == '\\') ||
        (sql[i] == '\'' && i + 1 < sql.size() && sql[i + 1] == '\'')) {
      i += 2;
    } else if (sql[i] == '\'') {
      token.content_end = i;
      token.end = i + 1;
      return token;
    } else {
      ++i;
    }
  }
  return token;
}

// $tag$ ... $tag$ from `begin`, or nullopt when `begin` starts no tag.
std::optional<SqlToken> dollar_literal(std::string_view sql, std::size_t begin) {
  std::size_t i = begin + 1;
  while (i < sql.size() && is_word_char(sql[i]) && sql[i] != '$') ++i;
  if (i >= sql.size() || sql[i] != '$') return std::nullopt;
  const std::string_view tag = sql.substr(begin, i + 1 - begin);
  const std::size_t close = sql.find(tag, i + 1);
  SqlToken token{SqlKind::literal, begin, sql.size(), i + 1, sql.size(), false, false};
  if (close != std::string_view::npos) {
    token.content_end = close;
    token.end = close + tag.size();
  }
  return token;
}

std::string literal_content(std::string_view sql, const SqlToken& token) {
  const std::string_view raw =
      sql.substr(token.content_begin, token.content_end - token.content_begin);
  if (!token.quoted) return std::string(raw);
  std::string content;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if ((token.escapes && raw[i] == '\\') || (raw[i] == '\'' && i + 1 < raw.size())) ++i;
    if (i < raw.size()) content += raw[i];
  }
  return content;
}

// The token that starts at `i` (not a space or comment).
SqlToken token_at(std::string_view sql, std::size_t i) {
  const char c = sql[i];
  if (c == '\'') return quoted_literal(sql, i, i, false);
  if ((c == 'e' || c == 'E') && i + 1 < sql.size() && sql[i + 1] == '\'') {
    return quoted_literal(sql, i, i + 1, true);
  }
  if (c == '$') {
    if (auto literal = dollar_literal(sql, i)) return *literal;
  }
  if (c == '"') {
    const std::size_t close = sql.find('"', i + 1);
    return {SqlKind::other, i, close == std::string_view::npos ? sql.size() : close + 1};
  }
  if (is_word_char(c)) {
    std::size_t end = i;
    while (end < sql.size() && is_word_char(sql[end])) ++end;
    return {SqlKind::word, i, end};
  }
  return {SqlKind::other, i, i + 1};
}

bool is_word(std::string_view sql, const SqlToken& token, std::string_view lower_word) {
  if (token.kind != SqlKind::word || token.end - token.begin != lower_word.size()) return false;
  return strncasecmp(sql.data() + token.begin, lower_word.data(), lower_word.size()) == 0;
}

// What a statement scan found: the spans after PASSWORD that hold a
// password (literal or bare word) and every secret in the forms to mask.
struct PasswordSpan {
  std::size_t begin = 0;
  std::size_t end = 0;
  bool literal = false;
};

struct StatementScan {
  std::vector<PasswordSpan> spans;
  std::vector<std::string> secrets;
};

StatementScan scan_statement(std::string_view sql);

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

// Without these a text holds no secret dbmig can find: the cheap test that
// spares a 50 MB step's failure from being tokenized.
bool looks_like_connection_string(std::string_view text) {
  return contains_folded(text, "password") || text.find("://") != std::string_view::npos;
}

std::vector<std::string> secrets_of(std::string_view conninfo, SecretKeys rule) {
  std::vector<std::string> secrets;
  std::size_t begin = 0;
  while (begin < conninfo.size() && is_space(conninfo[begin])) ++begin;
  const std::string_view text = conninfo.substr(begin);
  if (const std::size_t scheme = scheme_length(text); scheme > 0) {
    url_secrets(text, scheme, rule, secrets);
  } else {
    key_value_secrets(text, rule, secrets);
  }
  return secrets;
}

// One pass over `sql`: a PASSWORD followed by a literal (or, in a statement
// naming a ROLE, USER or GROUP, by a bare word other than NULL), and every
// literal that holds a connection string.
StatementScan scan_statement(std::string_view sql) {
  StatementScan scan;
  if (!looks_like_connection_string(sql)) return scan;
  bool after_password = false;
  bool role_statement = false;
  std::size_t i = 0;
  while (i < sql.size()) {
    if (is_space(sql[i])) {
      ++i;
      continue;
    }
    if (sql.substr(i, 2) == "--" || sql.substr(i, 2) == "/*") {
      i = skip_comment(sql, i);
      continue;
    }
    const SqlToken token = token_at(sql, i);
    const std::string_view raw = sql.substr(token.begin, token.end - token.begin);
    if (after_password && token.kind == SqlKind::literal) {
      scan.spans.push_back({token.begin, token.end, true});
      add_forms(scan.secrets, literal_content(sql, token));
      add_forms(scan.secrets, raw);
    } else if (after_password && token.kind == SqlKind::word && role_statement &&
               !is_word(sql, token, "null")) {
      scan.spans.push_back({token.begin, token.end, false});
      add_forms(scan.secrets, raw);
    }
    after_password = is_word(sql, token, "password");
    if (is_word(sql, token, "role") || is_word(sql, token, "user") ||
        is_word(sql, token, "group")) {
      role_statement = true;
    }
    if (token.kind == SqlKind::other && raw == ";") role_statement = false;
    if (token.kind == SqlKind::literal && looks_like_connection_string(raw)) {
      const std::string content = literal_content(sql, token);
      for (const std::string& secret : secrets_of(content, SecretKeys::password_only)) {
        add_forms(scan.secrets, secret);
      }
      // A connection string anywhere inside a longer text.
      for (std::size_t at = content.find("postgres"); at != std::string::npos;
           at = content.find("postgres", at + 1)) {
        for (const std::string& secret :
             secrets_of(std::string_view(content).substr(at), SecretKeys::password_only)) {
          add_forms(scan.secrets, secret);
        }
      }
    }
    i = std::max(token.end, i + 1);
  }
  return scan;
}

}  // namespace

std::vector<std::string> conninfo_secrets(std::string_view conninfo) {
  return secrets_of(conninfo, SecretKeys::unknown_too);
}

bool conninfo_has_password(std::string_view conninfo) {
  return !secrets_of(conninfo, SecretKeys::password_only).empty();
}

std::vector<std::string> statement_secrets(std::string_view sql) {
  return scan_statement(sql).secrets;
}

RedactedStatement redact_statement_with_secrets(std::string_view sql) {
  StatementScan scan = scan_statement(sql);
  if (scan.spans.empty() && scan.secrets.empty()) return {std::string(sql), {}};
  std::string out;
  std::size_t copied = 0;
  for (const PasswordSpan& span : scan.spans) {
    out += sql.substr(copied, span.begin - copied);
    out += span.literal ? "'" + std::string(kSecretMask) + "'" : std::string(kSecretMask);
    copied = span.end;
  }
  out += sql.substr(std::min(copied, sql.size()));
  return {hide_secrets(out, scan.secrets), std::move(scan.secrets)};
}

std::string redact_statement(std::string_view sql) {
  return redact_statement_with_secrets(sql).text;
}

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

std::string redact_password(std::string_view conninfo) {
  if (const std::size_t scheme = scheme_length(conninfo); scheme > 0) {
    return hide_secrets(redact_url(conninfo, scheme), conninfo_secrets(conninfo));
  }
  return hide_secrets(redact_key_value(conninfo), conninfo_secrets(conninfo));
}

}  // namespace dbmig::db
