#include "db/error.h"

#include <utility>

namespace dbmig::db {

DbError::DbError(Fields fields) : std::runtime_error(fields.message), fields_(std::move(fields)) {}

bool DbError::is_retryable() const noexcept {
  const std::string& code = fields_.sqlstate;
  return code == "40001" || code == "40P01" || code == "55P03";
}

}  // namespace dbmig::db
