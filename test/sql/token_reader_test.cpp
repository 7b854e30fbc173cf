#include "sql/token_reader.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sql/scanner.h"

namespace dbmig::sql {
namespace {

struct FoldRow {
  std::string text;  // an identifier as written
  char escape;       // its UESCAPE character
  std::string postgres;
  std::string cockroach;
};

// `text` in double quotes (appended piecewise: g++ 12 -O2 reports a false
// -Wstringop-overread for `"\"" + text + "\""` here).
std::string in_quotes(std::string_view text) {
  std::string out(1, '"');
  out.append(text);
  out.push_back('"');
  return out;
}

TEST(FoldIdentifier, FoldsAsTheServerStoresTheName) {
  const std::string seventy(70, 'x');
  const std::vector<FoldRow> rows = {
      {"Users", '\\', "users", "users"},
      {"\"Users\"", '\\', "Users", "Users"},
      {"\"a\"\"b\"", '\\', "a\"b", "a\"b"},
      {"U&\"d\\0061t\\+000061\"", '\\', "data", "data"},
      {"u&\"d\\0061ta\"", '\\', "data", "data"},
      {"U&\"d!0061ta\"", '!', "data", "data"},
      {"U&\"a\\\\b\"", '\\', "a\\b", "a\\b"},
      {"U&\"\\00e9\"", '\\', "\u00e9", "\u00e9"},
      {"U&\"bad\\zz\"", '\\', "bad\\zz", "bad\\zz"},  // malformed: kept as written
      {seventy, '\\', seventy.substr(0, 63), seventy},
      {in_quotes(seventy), '\\', seventy.substr(0, 63), seventy},
      // 62 bytes and a 2-byte character: the cut does not split it.
      {in_quotes(std::string(62, 'b') + "\u00e9"), '\\', std::string(62, 'b'),
       std::string(62, 'b') + "\u00e9"},
      // 61 bytes and a 2-byte character fit exactly.
      {in_quotes(std::string(61, 'b') + "\u00e9z"), '\\', std::string(61, 'b') + "\u00e9",
       std::string(61, 'b') + "\u00e9z"},
  };
  for (const FoldRow& row : rows) {
    EXPECT_EQ(fold_identifier(row.text, row.escape, Dialect::postgres), row.postgres) << row.text;
    EXPECT_EQ(fold_identifier(row.text, row.escape, Dialect::cockroach), row.cockroach) << row.text;
  }
}

Statement statement_of(std::string_view source) {
  auto tokens = scan(source);
  EXPECT_TRUE(tokens.has_value()) << source;
  Statement statement;
  statement.end = source.size();
  if (tokens) statement.tokens = *tokens;
  return statement;
}

struct NameRow {
  std::string source;  // a name first, then whatever follows it
  QualifiedName name;
  std::size_t after;  // index of the first token after the name
};

TEST(TokenReader, ReadsQualifiedNamesWithUnicodeEscapes) {
  const std::vector<NameRow> rows = {
      {"a", {"", "", "a"}, 1},
      {"S.T x", {"", "s", "t"}, 3},
      {"d.s.t.u", {"d", "s", "t"}, 5},
      {"a. /* c */ b", {"", "a", "b"}, 3},
      {"U&\"!0041\" UESCAPE '!'.b", {"", "A", "b"}, 5},
      {"s.U&\"\\0042\" ON", {"", "s", "B"}, 3},
      {"a.(", {"", "", "a"}, 1},
  };
  for (const NameRow& row : rows) {
    const TokenReader reader(statement_of(row.source), row.source, Dialect::postgres);
    const auto name = reader.qualified_name(0);
    ASSERT_TRUE(name.has_value()) << row.source;
    EXPECT_EQ(name->first, row.name) << row.source;
    EXPECT_EQ(name->second, row.after) << row.source;
  }
}

}  // namespace
}  // namespace dbmig::sql
