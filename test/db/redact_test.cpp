#include "db/redact.h"

#include <gtest/gtest.h>

#include "db/connection.h"
#include "support/secret_conninfos.h"

namespace dbmig::db {
namespace {

TEST(RedactPassword, HidesEveryPasswordSyntaxAndKeepsTheRest) {
  struct Row {
    std::string input;
    std::string expected;
  };
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
      {"postgres://h/db?application_name=a@b", "postgres://h/db?application_name=a@b"},
      {"postgres://h/db?bogus=hidden", "postgres://h/db?bogus=********"},
      {"postgresql://alice:pw@[::1/db", "postgresql://alice:********@[::1/db"},
      {"host=h password=secret dbname=d", "host=h password=******** dbname=d"},
      {"password=secret", "password=********"},
      {"host=h password='se cret' user=u", "host=h password=******** user=u"},
      {"host=h password = 'it\\'s' user=u", "host=h password = ******** user=u"},
      {"host=h password=a\\ b user=u", "host=h password=******** user=u"},
      {"host=h passwordx=hidden", "host=h passwordx=********"},
      {"host=h bogus=hidden", "host=h bogus=********"},
      {"host=h password=se cret", "host=h password=******** ********"},
      {"password secret host=h", "******** ******** host=h"},
      {"host=h 'password=secret'", "host=h 'password=********"},
      {"host=h password='unterminated", "host=h password=********"},
      {"host=h user=password", "host=h user=password"},
      {"host=h passfile=/p sslmode=require", "host=h passfile=/p sslmode=require"},
      {"dbname=postgres://u:pw@h/db", "dbname=postgres://u:********@h/db"},
      {"", ""},
      {"dbname=app", "dbname=app"},
  };
  for (const auto& row : rows) {
    EXPECT_EQ(redact_password(row.input), row.expected) << "input: " << row.input;
  }
}

TEST(RedactPassword, NeverShowsAnyPartOfThePasswordOfAnyConninfo) {
  for (const std::string& conninfo_template : test::secret_conninfo_templates()) {
    for (const std::string& separator : test::secret_separators()) {
      const std::string conninfo = test::secret_conninfo(conninfo_template, separator, 5432);
      EXPECT_FALSE(test::holds_secret(redact_password(conninfo)))
          << conninfo << " -> " << redact_password(conninfo);
    }
  }
}

TEST(ConninfoSecrets, FindsThePasswordInWellFormedAndMalformedStrings) {
  struct Row {
    std::string conninfo;
    std::vector<std::string> secrets;  // each must be among the result
  };
  const std::vector<Row> rows = {
      {"postgresql://alice:SECRET@[::1/db", {"SECRET"}},
      {"postgresql://alice:SECRET%zz@127.0.0.1/db", {"SECRET%zz"}},
      {"postgresql://alice:SE%40CRET@h/db", {"SE%40CRET", "SE@CRET"}},
      {"postgresql://alice:SECRET/MORE@h/db", {"SECRET/MORE", "SECRET", "MORE"}},
      {"postgresql://alice:SECRET@MORE@h/db", {"SECRET@MORE", "SECRET", "MORE"}},
      {"postgres://h/db?password=SECRET%zz&x=1", {"SECRET%zz"}},
      {"postgres://h/db?sslpassword=SECRET", {"SECRET"}},
      {"host=h password='SECRET", {"'SECRET", "SECRET"}},
      {"host=h password='SE\\'CRET' x=1", {"SE'CRET", "SE\\'CRET"}},
      {"host=h password=SECRET MORE host=x", {"SECRET", "MORE"}},
      {"password SECRET host=h", {"SECRET"}},
      {"host=h 'password=SECRET'", {"SECRET"}},
      {"host=h pasword=SECRET", {"SECRET"}},
      {"dbname=postgresql://a:SECRET@h/db", {"SECRET"}},
      {"  postgresql://a:SECRET@h/db", {"SECRET"}},
  };
  for (const Row& row : rows) {
    const std::vector<std::string> found = conninfo_secrets(row.conninfo);
    for (const std::string& secret : row.secrets) {
      EXPECT_NE(std::find(found.begin(), found.end(), secret), found.end())
          << row.conninfo << ": " << secret << " not found";
    }
  }
  for (const std::string conninfo :
       {"", "host=h dbname=d user=u", "postgres://u@h/db", "postgres://h/db?sslmode=require",
        "host=h passfile=/x", "postgres://u@h:5432/db?options=-c%20a%3Db"}) {
    EXPECT_TRUE(conninfo_secrets(conninfo).empty()) << conninfo;
    EXPECT_FALSE(conninfo_has_password(conninfo)) << conninfo;
  }
  EXPECT_TRUE(conninfo_has_password("postgres://u:p@h/db"));
  EXPECT_TRUE(conninfo_has_password("host=h password=p"));
  EXPECT_TRUE(conninfo_has_password("postgres://h/db?password=p"));
  EXPECT_TRUE(conninfo_has_password("password p host=h"));
  EXPECT_FALSE(conninfo_has_password("host=h bogus=1"));
  EXPECT_FALSE(conninfo_has_password("postgres://h/db?bogus=1"));
}

TEST(RedactStatement, HidesPasswordLiteralsAndConnectionStringPasswords) {
  struct Row {
    std::string sql;
    std::string expected;
  };
  const Row rows[] = {
      {"CREATE ROLE r LOGIN PASSWORD 'hunter2'", "CREATE ROLE r LOGIN PASSWORD '********'"},
      {"ALTER ROLE r WITH ENCRYPTED PASSWORD 'hun''ter2' VALID UNTIL 'infinity'",
       "ALTER ROLE r WITH ENCRYPTED PASSWORD '********' VALID UNTIL 'infinity'"},
      {"alter user r password E'hun\\'ter2'", "alter user r password '********'"},
      {"CREATE ROLE r PASSWORD $$hunter2$$", "CREATE ROLE r PASSWORD '********'"},
      {"CREATE ROLE r PASSWORD /* c */ 'hunter2'", "CREATE ROLE r PASSWORD /* c */ '********'"},
      {"CREATE ROLE r PASSWORD 'hunter2", "CREATE ROLE r PASSWORD '********'"},
      {"CREATE ROLE r PASSWORD hunter2", "CREATE ROLE r PASSWORD ********"},
      {"CREATE ROLE r PASSWORD NULL", "CREATE ROLE r PASSWORD NULL"},
      {"CREATE TABLE users (password text)", "CREATE TABLE users (password text)"},
      {"SELECT password FROM users", "SELECT password FROM users"},
      {"SELECT 'password' AS x", "SELECT 'password' AS x"},
      {"CREATE SUBSCRIPTION s CONNECTION 'host=h password=hunter2 dbname=d' PUBLICATION p",
       "CREATE SUBSCRIPTION s CONNECTION 'host=h password=******** dbname=d' PUBLICATION p"},
      {"SELECT dblink_connect('host=h password=''hun ter2'' dbname=d')",
       "SELECT dblink_connect('host=h password=******** dbname=d')"},
      {"SELECT dblink('postgresql://u:hunter2@h/db', 'SELECT 1')",
       "SELECT dblink('postgresql://u:********@h/db', 'SELECT 1')"},
      {"-- PASSWORD 'x'\nSELECT 1", "-- PASSWORD 'x'\nSELECT 1"},
      {"", ""},
  };
  for (const Row& row : rows) {
    EXPECT_EQ(redact_statement(row.sql), row.expected) << row.sql;
  }
}

TEST(StatementSecrets, NamesThePasswordInTheFormsAMessageQuotesIt) {
  const std::vector<std::string> found =
      statement_secrets("CREATE ROLE r PASSWORD 'hun''ter2'; SELECT 1");
  for (const std::string form : {"hun'ter2", "hun''ter2", "'hun''ter2'"}) {
    EXPECT_NE(std::find(found.begin(), found.end(), form), found.end()) << form;
  }
  EXPECT_TRUE(statement_secrets("SELECT 1; CREATE TABLE t (password text)").empty());
}

TEST(HideSecrets, MasksEverySecretAndEveryPasswordPatternLeft) {
  struct Row {
    std::string text;
    std::vector<std::string> secrets;
    std::string expected;
  };
  const std::vector<Row> rows = {
      {"invalid percent-encoded token: \"SECRET%zz\"",
       {"SECRET%zz"},
       "invalid percent-encoded token: \"********\""},
      {"a SECRET b SECRET", {"SECRET"}, "a ******** b ********"},
      {"a SECRETLONG b SECRET", {"SECRET", "SECRETLONG"}, "a ******** b ********"},
      {"conninfo: host=h password=x123 user=u", {}, "conninfo: host=h password=******** user=u"},
      {"PASSWORD = 'a b' rest", {}, "PASSWORD = ******** rest"},
      {"uri \"postgresql://u:x123@h/db\"", {}, "uri \"postgresql://u:********@h/db\""},
      {"nothing here", {"absent"}, "nothing here"},
      {"password authentication failed for user \"u\"",
       {},
       "password authentication failed for user \"u\""},
  };
  for (const Row& row : rows) {
    EXPECT_EQ(hide_secrets(row.text, row.secrets), row.expected) << row.text;
  }
}

}  // namespace
}  // namespace dbmig::db
