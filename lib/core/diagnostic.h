// Diagnostics: the one shape in which dbmig reports a problem in its input.
//
// A Diagnostic names a file and (where one exists) a 1-based line and column,
// says what is wrong and how to fix it. Every layer that reads input returns
// Diagnostics as values; only app/ prints them.
#pragma once

#include <string>
#include <vector>

namespace dbmig {

enum class Severity { error, warning };

struct Diagnostic {
  Severity severity = Severity::error;
  std::string file;     // path as given by the user, "" when not about a file
  int line = 0;         // 1-based; 0 when there is no position
  int column = 0;       // 1-based, counted in bytes; 0 when there is no position
  std::string message;  // what is wrong, one sentence, no trailing period
  std::string hint;     // how to fix it; may be empty
  std::string rule;     // the rule id ("renaming-column", docs/lint.md); "" when none

  // "file:line:col: error: message [rule]" (position parts and rule omitted
  // when absent), followed by "\n  hint: ..." when there is a hint.
  [[nodiscard]] std::string format() const;
};

// True when any diagnostic is an error (not only warnings).
[[nodiscard]] bool has_errors(const std::vector<Diagnostic>& diagnostics);

// A 1-based line/column position computed from a byte offset.
struct TextPosition {
  int line = 1;
  int column = 1;
};

// Position of byte `offset` in `text` (offset may equal text.size()).
// Lines are separated by '\n'; columns count bytes from 1.
[[nodiscard]] TextPosition position_at(std::string_view text, std::size_t offset);

}  // namespace dbmig
