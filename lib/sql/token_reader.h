// Reading a statement by its words, and the one identifier folding.
//
// TokenReader holds one statement's scanner tokens (scanner.h) without its
// comments and answers the questions every reader of leading words asks:
// is token i the word `create`, the punctuation `(`, a name? Classification
// (classify.h) and supersession (supersession.h) both read names through
// it, so a name reads the same in a statement that makes a proof and in a
// later one that drops or renames its object.
//
// The scanner gives each token's extent (libpg_query's pg_query_scan);
// what it does not give, and this file does, is the folding PostgreSQL's
// parser applies to an identifier's text:
// - unquoted: ASCII lower-cased (the server's downcase_identifier in UTF-8);
// - "quoted": the quotes removed and "" unescaped;
// - U&"...": as quoted, then \XXXX, \+XXXXXX and a doubled escape decoded,
//   with the escape character of a following UESCAPE 'c' (a malformed escape
//   keeps the body as written: the server would reject the statement);
// - on PostgreSQL only, the result cut to 63 bytes (NAMEDATALEN - 1) on a
//   UTF-8 character boundary, as the server's truncate_identifier does.
//   CockroachDB does not truncate names.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sql/dialect.h"
#include "sql/splitter.h"

namespace dbmig::sql {

// A possibly schema-qualified name, folded as the server folds it (see
// above). `schema` is empty when the name was not qualified. (A CockroachDB
// three-part name db.schema.t keeps `database` too.)
struct QualifiedName {
  std::string database;
  std::string schema;
  std::string name;

  // The name as SQL: every part quoted, e.g. "public"."Users".
  [[nodiscard]] std::string quoted() const;
  friend bool operator==(const QualifiedName&, const QualifiedName&) = default;
};

// The name PostgreSQL stores for the identifier spelled `text` (an unquoted
// word, a "quoted" identifier or a U&"..." identifier whose escape character
// is `escape`), in `dialect`: folded and, on PostgreSQL, cut to 63 bytes.
// Never fails.
[[nodiscard]] std::string fold_identifier(std::string_view text, char escape, Dialect dialect);

// One statement's tokens without comments, read by position.
class TokenReader {
 public:
  // Keeps `source` (the whole step file) by reference: it must outlive the
  // reader. Names are folded for `dialect`.
  TokenReader(const Statement& statement, std::string_view source, Dialect dialect);

  // The number of tokens (comments excluded).
  [[nodiscard]] std::size_t size() const { return tokens_.size(); }
  // Token i; i must be < size().
  [[nodiscard]] const Token& at(std::size_t i) const { return tokens_[i]; }
  // The step file the tokens point into.
  [[nodiscard]] std::string_view source() const { return source_; }
  // The dialect names are folded for.
  [[nodiscard]] Dialect dialect() const { return dialect_; }
  // The bytes of token i (i < size()).
  [[nodiscard]] std::string_view text(std::size_t i) const { return tokens_[i].text(source_); }
  // Byte offset of token i in the file; past the end, the end of the last token.
  [[nodiscard]] std::size_t offset(std::size_t i) const;

  // True when token i is the keyword or unquoted identifier `lower` (lower case).
  [[nodiscard]] bool word(std::size_t i, std::string_view lower) const;
  // True when the tokens starting at i are exactly the words `lowers`.
  [[nodiscard]] bool words(std::size_t i, std::initializer_list<std::string_view> lowers) const;
  // True when token i is the single-character punctuation `c`.
  [[nodiscard]] bool punct(std::size_t i, char c) const;
  // True when token i is the operator spelled `op`.
  [[nodiscard]] bool op(std::size_t i, std::string_view op) const;
  // True when token i can be a name: an identifier or a keyword.
  [[nodiscard]] bool name_at(std::size_t i) const;
  // Index one past the `)` or `]` matching the opener at i (size() if none).
  [[nodiscard]] std::size_t skip_group(std::size_t i) const;

  // The whole spelling of the identifier token i: libpg_query reports a
  // U&"..." identifier as the single byte `U`, so its extent is recovered here.
  [[nodiscard]] std::string_view identifier_text(std::size_t i) const;
  // The folded name at token i (name_at(i) must hold), with an optional
  // following UESCAPE 'c' clause, and the index after them.
  [[nodiscard]] std::pair<std::string, std::size_t> identifier(std::size_t i) const;
  // A dotted name of one to three parts at i and the index after it;
  // nullopt when i holds no name. A `.` not followed by a name ends the
  // name before the `.`.
  [[nodiscard]] std::optional<std::pair<QualifiedName, std::size_t>> qualified_name(
      std::size_t i) const;

 private:
  std::string_view source_;
  Dialect dialect_;
  std::vector<Token> tokens_;
};

}  // namespace dbmig::sql
