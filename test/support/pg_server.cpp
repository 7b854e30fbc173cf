#include "support/pg_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <mutex>
#include <stdexcept>

#include "support/process.h"

namespace dbmig::test {
namespace {

std::string server_user_when_root() {
  if (::geteuid() != 0) return {};
  return ::getpwnam("postgres") != nullptr ? "postgres" : "nobody";
}

void chown_tree(const std::filesystem::path& root, const std::string& user) {
  const passwd* entry = ::getpwnam(user.c_str());
  if (entry == nullptr) throw std::runtime_error("no such user: " + user);
  auto change = [&](const std::filesystem::path& path) {
    if (::chown(path.c_str(), entry->pw_uid, entry->pw_gid) != 0) {
      throw std::runtime_error("chown " + path.string() + " failed");
    }
  };
  change(root);
  for (const auto& item : std::filesystem::recursive_directory_iterator(root)) change(item.path());
}

std::string sanitized_test_name() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string raw = info == nullptr ? std::string("db")
                                    : std::string(info->test_suite_name()) + "_" + info->name();
  std::string out;
  for (char c : raw) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    if (c >= 'A' && c <= 'Z') {
      out += static_cast<char>(c - 'A' + 'a');
    } else {
      out += keep ? c : '_';
    }
  }
  return out;
}

std::string& server_error_storage() {
  static std::string error;
  return error;
}

}  // namespace

std::filesystem::path pg_bin_dir() {
  const char* configured = std::getenv("DBMIG_PG_BINDIR");
  if (configured != nullptr && *configured != '\0') return configured;
  return "/usr/lib/postgresql/15/bin";
}

int pg_bin_major() {
  static const int major = [] {
    ProcessOptions options;
    options.argv = {(pg_bin_dir() / "postgres").string(), "--version"};
    const ProcessResult result = run_process(options, std::chrono::seconds(30));
    // "postgres (PostgreSQL) 18.4" -- the first number after the closing parenthesis.
    const std::size_t number = result.out.find_first_of("0123456789", result.out.find(')'));
    if (result.exit_code != 0 || number == std::string::npos) return 0;
    return std::atoi(result.out.c_str() + number);
  }();
  return major;
}

int shared_server_version() {
  static const int version = [] {
    PgServer* server = shared_server();
    return server == nullptr ? 0 : server->connect().server_version();
  }();
  return version;
}

int pick_free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  ::close(fd);
  if (!ok) throw std::runtime_error("cannot bind a loopback port");
  return ntohs(address.sin_port);
}

bool running_in_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string_view(ci) == "true";
}

PgServer::PgServer(PgServerOptions options)
    : options_(std::move(options)), bin_dir_(pg_bin_dir()), run_as_(server_user_when_root()) {
  if (!std::filesystem::exists(bin_dir_ / "initdb")) {
    throw std::runtime_error("no initdb in " + bin_dir_.string() + " (set DBMIG_PG_BINDIR)");
  }
  root_ = make_temp_dir("dbmig-pg");
  data_dir_ = root_ / "data";
  try {
    init_cluster();
    // Another process (a parallel test shard) may take the picked port
    // before the server binds it: pick again a few times.
    for (int attempt = 1;; ++attempt) {
      port_ = pick_free_port();
      try {
        start();
        break;
      } catch (const std::exception&) {
        if (attempt == 3) throw;
      }
    }
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);
    throw;
  }
}

PgServer::~PgServer() {
  try {
    if (running_) stop(false);
  } catch (...) {  // a destructor never throws; the temp dir goes regardless
  }
  std::error_code ignored;
  std::filesystem::remove_all(root_, ignored);
}

std::vector<std::string> PgServer::as_server_user(std::vector<std::string> argv) const {
  if (run_as_.empty()) return argv;
  std::vector<std::string> wrapped = {"runuser", "-u", run_as_, "--"};
  wrapped.insert(wrapped.end(), argv.begin(), argv.end());
  return wrapped;
}

std::string PgServer::run_tool(std::vector<std::string> argv) const {
  ProcessOptions options;
  options.argv = as_server_user(std::move(argv));
  options.cwd = root_;
  options.env = {{"LC_ALL", "C"}};
  options.unset_env = {"PGDATA", "PGPORT", "PGHOST", "PGUSER", "PGDATABASE", "PGOPTIONS"};
  const ProcessResult result = run_process(options, std::chrono::minutes(2));
  if (result.exit_code != 0) {
    throw std::runtime_error(options.argv.front() + " " + options.argv.back() + ": " +
                             result.describe() + result.out);
  }
  return result.out;
}

void PgServer::init_cluster() {
  std::vector<std::string> argv = {(bin_dir_ / "initdb").string(),
                                   "-D",
                                   data_dir_.string(),
                                   "-U",
                                   "postgres",
                                   "--no-sync",
                                   "-E",
                                   "UTF8",
                                   "--locale=C"};
  if (options_.superuser_password.empty()) {
    argv.insert(argv.end(), {"-A", "trust"});
  } else {
    const auto password_file = root_ / "pwfile";
    std::ofstream(password_file) << options_.superuser_password << "\n";
    argv.insert(argv.end(), {"-A", "scram-sha-256", "--pwfile=" + password_file.string()});
  }
  if (!run_as_.empty()) chown_tree(root_, run_as_);
  run_tool(argv);
}

// fsync=off and full_page_writes=off are safe for tests that kill the server
// (the OS cache outlives it); synchronous_commit=off is not: an immediate
// shutdown then loses commits already acknowledged, which made the crash
// tests fail on PostgreSQL 18.
void PgServer::start() {
  std::string settings = "-h 127.0.0.1 -p " + std::to_string(port_) + " -k " + root_.string() +
                         " -c fsync=off -c full_page_writes=off"
                         " -c max_connections=200";
  for (const auto& setting : options_.settings) settings += " -c " + setting;
  run_tool({(bin_dir_ / "pg_ctl").string(), "-D", data_dir_.string(), "-l",
            (root_ / "server.log").string(), "-w", "-t", "60", "-o", settings, "start"});
  running_ = true;
}

void PgServer::stop(bool immediate) {
  run_tool({(bin_dir_ / "pg_ctl").string(), "-D", data_dir_.string(), "-w", "-t", "60", "-m",
            immediate ? "immediate" : "fast", "stop"});
  running_ = false;
}

void PgServer::restart(bool immediate) {
  stop(immediate);
  start();
}

std::string PgServer::conninfo(std::string_view dbname) const {
  std::string out = "host=127.0.0.1 port=" + std::to_string(port_) +
                    " user=postgres dbname=" + std::string(dbname);
  if (!options_.superuser_password.empty()) out += " password=" + options_.superuser_password;
  return out;
}

db::Connection PgServer::connect(std::string_view dbname) const {
  db::ConnectOptions options;
  options.conninfo = conninfo(dbname);
  options.application_name = "dbmig_test";
  return db::Connection::open(options);
}

void PgServer::exec(std::string_view sql, std::string_view dbname) const {
  connect(dbname).exec_script(sql);
}

std::string PgServer::create_database(std::string_view name) const {
  exec("CREATE DATABASE \"" + std::string(name) + "\"");
  return conninfo(name);
}

PgServer* shared_server() {
  static std::once_flag once;
  static std::unique_ptr<PgServer> server;
  std::call_once(once, [] {
    try {
      server = std::make_unique<PgServer>();
    } catch (const std::exception& error) {
      server_error_storage() = error.what();
    }
  });
  return server.get();
}

const std::string& shared_server_error() { return server_error_storage(); }

TestDatabase TestDatabase::create() {
  static std::atomic<int> counter{0};
  const std::string suffix = "_" + std::to_string(++counter);
  std::string name = "t_" + sanitized_test_name();
  if (name.size() + suffix.size() > 63) name.resize(63 - suffix.size());
  name += suffix;
  TestDatabase database;
  database.conninfo_ = shared_server()->create_database(name);
  database.name_ = std::move(name);
  return database;
}

db::Connection TestDatabase::connect() const {
  db::ConnectOptions options;
  options.conninfo = conninfo_;
  return db::Connection::open(options);
}

void DatabaseTest::SetUp() {
  DBMIG_REQUIRE_SERVER();
  database_ = TestDatabase::create();
}

}  // namespace dbmig::test
