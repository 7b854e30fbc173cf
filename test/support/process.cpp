#include "support/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace dbmig::test {
namespace {

std::vector<std::string> child_environment(const ProcessOptions& options) {
  std::map<std::string, std::string> env;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string text(*entry);
    const std::size_t equals = text.find('=');
    if (equals != std::string::npos) env[text.substr(0, equals)] = text.substr(equals + 1);
  }
  for (const auto& name : options.unset_env) env.erase(name);
  for (const auto& [name, value] : options.env) env[name] = value;
  std::vector<std::string> out;
  for (const auto& [name, value] : env) out.push_back(name + "=" + value);
  return out;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& text : strings) out.push_back(text.data());
  out.push_back(nullptr);
  return out;
}

int open_or_throw(const std::filesystem::path& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0644);
  if (fd < 0)
    throw std::runtime_error("cannot open " + path.string() + ": " + std::strerror(errno));
  return fd;
}

}  // namespace

std::string ProcessResult::describe() const {
  std::ostringstream text;
  if (timed_out) {
    text << "timed out";
  } else if (signal != 0) {
    text << "signal " << signal;
  } else {
    text << "exit " << exit_code;
  }
  if (!err.empty()) text << "; stderr:\n" << err;
  return text.str();
}

std::filesystem::path make_temp_dir(const std::string& prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string pattern =
      std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/" + prefix + "-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("mkdtemp " + pattern + ": " + std::strerror(errno));
  }
  return pattern;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

Process Process::spawn(const ProcessOptions& options) {
  if (options.argv.empty()) throw std::runtime_error("Process::spawn: empty argv");
  Process process;
  process.temp_dir_ = make_temp_dir("dbmig-proc");
  process.stdout_path_ = options.stdout_path.value_or(process.temp_dir_ / "stdout");
  process.stderr_path_ = options.stderr_path.value_or(process.temp_dir_ / "stderr");
  std::filesystem::path stdin_path = "/dev/null";
  if (options.stdin_text) {
    stdin_path = process.temp_dir_ / "stdin";
    std::ofstream(stdin_path, std::ios::binary) << *options.stdin_text;
  }
  std::vector<std::string> argv_strings = options.argv;
  std::vector<std::string> env_strings = child_environment(options);
  std::vector<char*> argv = pointers(argv_strings);
  std::vector<char*> envp = pointers(env_strings);
  const int in = open_or_throw(stdin_path, O_RDONLY);
  const int out = open_or_throw(process.stdout_path_, O_WRONLY | O_CREAT | O_TRUNC);
  const int err = open_or_throw(process.stderr_path_, O_WRONLY | O_CREAT | O_TRUNC);
  const std::string cwd = options.cwd ? options.cwd->string() : std::string();
  const pid_t pid = ::fork();
  if (pid == 0) {  // child: async-signal-safe calls only
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) ::_exit(126);
    ::execvpe(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(in);
  ::close(out);
  ::close(err);
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  process.pid_ = pid;
  return process;
}

Process::Process(Process&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      reaped_(other.reaped_),
      result_(std::move(other.result_)),
      temp_dir_(std::exchange(other.temp_dir_, {})),
      stdout_path_(std::move(other.stdout_path_)),
      stderr_path_(std::move(other.stderr_path_)) {}

Process& Process::operator=(Process&& other) noexcept {
  if (this != &other) {
    Process doomed(std::move(*this));
    pid_ = std::exchange(other.pid_, -1);
    reaped_ = other.reaped_;
    result_ = std::move(other.result_);
    temp_dir_ = std::exchange(other.temp_dir_, {});
    stdout_path_ = std::move(other.stdout_path_);
    stderr_path_ = std::move(other.stderr_path_);
  }
  return *this;
}

Process::~Process() {
  if (pid_ > 0 && !reaped_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  if (!temp_dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(temp_dir_, ignored);
  }
}

void Process::kill(int signal) const {
  if (pid_ > 0 && !reaped_) ::kill(pid_, signal);
}

void Process::reap(int status) {
  reaped_ = true;
  if (WIFEXITED(status)) result_.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result_.signal = WTERMSIG(status);
}

bool Process::running() {
  if (pid_ <= 0 || reaped_) return false;
  int status = 0;
  const pid_t done = ::waitpid(pid_, &status, WNOHANG);
  if (done == pid_) reap(status);
  return done == 0;
}

ProcessResult Process::wait(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
      reap(status);
      result_.timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  result_.out = read_file(stdout_path_);
  result_.err = read_file(stderr_path_);
  return result_;
}

ProcessResult run_process(const ProcessOptions& options, std::chrono::milliseconds timeout) {
  return Process::spawn(options).wait(timeout);
}

}  // namespace dbmig::test
