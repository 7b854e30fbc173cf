#include <gtest/gtest.h>

#include "db/connection.h"

namespace dbmig::db {
namespace {

TEST(RedactPassword, HidesEveryPasswordSyntaxAndKeepsTheRest) {
  struct Row { std::string input; std::string expected; };
  const Row rows[] = {
      {"postgres://u:secret@h/db", "postgres://u:********@h/db"},
      {"postgresql://u:secret@h:5432/db", "postgresql://u:********@h:5432/db"},
      {"postgres://u@h/db", "postgres://u@h/db"},
      {"postgres://h:5432/db", "postgres://h:5432/db"},
      {"postgres://u:p%40ss@h1:1,h2:2/db", "postgres://u:********@h1:1,h2:2/db"},
      {"postgres://u:a@b@h/db", "postgres://u:********@h/db"},
      {"postgres://h/db?password=x", "postgres://h/db?password=********"},
      {"postgres://h/db?sslmode=require&password=x&connect_timeout=3",
       "postgres://h/db?sslmode=require&password=********&connect_timeout=3"},
      {"postgres://u:s@h/db?password=x", "postgres://u:********@h/db?password=********"},
      {"host=h password=secret dbname=d", "host=h password=******** dbname=d"},
      {"password=secret", "password=********"},
      {"host=h password='se cret' user=u", "host=h password=******** user=u"},
      {"host=h password = 'it\\'s' user=u", "host=h password = ******** user=u"},
      {"host=h password=a\\ b user=u", "host=h password=******** user=u"},
      {"host=h passwordx=keep", "host=h passwordx=keep"},
      {"host=h user=password", "host=h user=password"},
      {"", ""},
      {"dbname=app", "dbname=app"},
  };
  for (const auto& row : rows) {
    EXPECT_EQ(redact_password(row.input), row.expected) << "input: " << row.input;
  }
}

TEST(RedactPassword, NeverLeavesTheSecretInTheOutput) {
  const std::string inputs[] = {
      "postgres://user:hunter2@host/db",        "host=x password=hunter2",
      "host=x password='hunter2 hunter2'",      "postgres://host/db?password=hunter2",
      "postgresql://user:hunter2@[::1]:5432/db", "password =hunter2 host=x",
  };
  for (const auto& input : inputs) {
    EXPECT_EQ(redact_password(input).find("hunter2"), std::string::npos) << "input: " << input;
  }
}

}  // namespace
}  // namespace dbmig::db
