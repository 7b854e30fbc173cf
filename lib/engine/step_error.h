// A database error raised by a step, turned into what an operator needs:
// the server's fields apart from the message, the step's statement that
// failed, and where in the step file the server saw the error. PostgreSQL
// reports the error position (PG_DIAG_STATEMENT_POSITION) as a 1-based
// character offset into the query text dbmig sent; dbmig sent either the
// step's file verbatim inside its own transaction script, or one statement
// of it, so the position maps back to a byte offset of the file.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/failure.h"
#include "db/error.h"
#include "migration/plan.h"

namespace dbmig::engine {

// The byte offset in `step_text` at which the server saw `error`: its
// position mapped through the query it was sent in (`error.fields().statement`,
// which holds `step_text` whole or one statement of it). nullopt when the
// server sent no position or it falls outside the step's own text.
[[nodiscard]] std::optional<std::size_t> error_offset_in_step(std::string_view step_text,
                                                              const db::DbError& error);

// The server's fields of `error` for `step`: sqlstate, detail, server hint,
// the failing statement (the step's statement at the error's offset, or the
// one statement sent; "" when neither is known) and "path:line:col" (column
// in bytes, as every dbmig diagnostic; "" without a position).
[[nodiscard]] ServerError server_error_of(const migration::PlannedStep& step,
                                          const db::DbError& error);

}  // namespace dbmig::engine
