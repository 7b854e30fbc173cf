// The secrets of a connection string (redact.h), and redact_password (connection.h).
//
// Conninfo syntaxes, as libpq reads them: a URL (postgres:// or
// postgresql://) whose password is the part of the userinfo after the first
// ':' or a `password` query parameter; and a key=value string whose values
// are bare words or single-quoted strings with backslash escapes. The parsers
// here never fail: libpq's PQconninfoParse rejects exactly the malformed
// strings whose error messages quote them, so these read what libpq would
// not, and where the input is ambiguous they err toward hiding more.
#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "db/connection.h"
#include "db/redact.h"
#include "db/redact_detail.h"

namespace dbmig::db {
namespace redact_detail {
namespace {

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

}  // namespace

std::size_t scheme_length(std::string_view text) {
  for (std::string_view scheme : {"postgresql://", "postgres://"}) {
    if (text.starts_with(scheme)) return scheme.size();
  }
  return 0;
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

}  // namespace redact_detail

using namespace redact_detail;

std::vector<std::string> conninfo_secrets(std::string_view conninfo) {
  return secrets_of(conninfo, SecretKeys::unknown_too);
}

bool conninfo_has_password(std::string_view conninfo) {
  return !secrets_of(conninfo, SecretKeys::password_only).empty();
}

std::string redact_password(std::string_view conninfo) {
  if (const std::size_t scheme = scheme_length(conninfo); scheme > 0) {
    return hide_secrets(redact_url(conninfo, scheme), conninfo_secrets(conninfo));
  }
  return hide_secrets(redact_key_value(conninfo), conninfo_secrets(conninfo));
}

}  // namespace dbmig::db
