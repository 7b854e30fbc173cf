#include "engine/step_error.h"

#include <algorithm>

#include "db/redact.h"

namespace dbmig::engine {
namespace {

// Byte offset of the `position`-th (1-based) UTF-8 character of `text`, or
// nullopt when the text is shorter.
std::optional<std::size_t> byte_offset_of_character(std::string_view text, int position) {
  if (position < 1) return std::nullopt;
  int characters = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if ((byte & 0xC0) == 0x80) continue;  // a continuation byte
    if (++characters == position) return i;
  }
  return std::nullopt;
}

struct LineColumn {
  int line = 1;
  int column = 1;
};

LineColumn line_column(std::string_view text, std::size_t offset) {
  LineColumn position;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++position.line;
      position.column = 1;
    } else {
      ++position.column;
    }
  }
  return position;
}

}  // namespace

std::optional<std::size_t> error_offset_in_step(std::string_view step_text,
                                                const db::DbError& error) {
  const std::string& sent = error.fields().statement;
  const auto in_sent = byte_offset_of_character(sent, error.fields().position);
  if (!in_sent || step_text.empty()) return std::nullopt;
  if (const std::size_t start = sent.find(step_text); start != std::string::npos) {
    if (*in_sent < start || *in_sent >= start + step_text.size()) return std::nullopt;
    return *in_sent - start;
  }
  if (const std::size_t start = step_text.find(sent); start != std::string_view::npos) {
    return start + *in_sent;
  }
  return std::nullopt;
}

ServerError server_error_of(const migration::PlannedStep& step, const db::DbError& error) {
  ServerError server;
  server.sqlstate = error.sqlstate();
  server.detail = error.fields().detail;
  server.hint = error.fields().hint;
  const std::string& sent = error.fields().statement;
  const auto& statements = step.analysis.statements;
  if (const auto offset = error_offset_in_step(step.text, error)) {
    const LineColumn at = line_column(step.text, *offset);
    server.location =
        step.file.path.string() + ":" + std::to_string(at.line) + ":" + std::to_string(at.column);
    const auto statement = std::find_if(statements.begin(), statements.end(), [&](const auto& s) {
      return *offset >= s.begin && *offset <= s.end;
    });
    // The step's own bytes: a password in them is masked (contract section 9).
    if (statement != statements.end()) {
      server.statement = db::redact_statement(statement->text(step.text));
    }
  }
  if (server.statement.empty() && sent.find(step.text) == std::string::npos &&
      std::any_of(statements.begin(), statements.end(),
                  [&](const auto& s) { return s.text(step.text) == sent; })) {
    server.statement = sent;
  }
  return server;
}

}  // namespace dbmig::engine
