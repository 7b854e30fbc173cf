// Running child processes from tests: the PostgreSQL harness runs initdb and
// pg_ctl with it, and engine tests run the dbmig binary (DBMIG_EXECUTABLE),
// several at once, and kill -9 them. Output always goes to files (never
// pipes), so a child that outlives the call (postgres started by pg_ctl) can
// never block on a full pipe, and a killed child's output is still readable.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace dbmig::test {

struct ProcessOptions {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH when it has no '/'
  // Added to (or replacing in) the parent's environment.
  std::vector<std::pair<std::string, std::string>> env;
  std::vector<std::string> unset_env;        // removed from the child's environment
  std::optional<std::filesystem::path> cwd;  // working directory of the child
  // Where stdout/stderr go; a fresh temp file each when unset (removed by the Process).
  std::optional<std::filesystem::path> stdout_path;
  std::optional<std::filesystem::path> stderr_path;
  std::optional<std::string> stdin_text;  // stdin is /dev/null when unset
};

struct ProcessResult {
  int exit_code = -1;      // exit status when exited normally, else -1
  int signal = 0;          // the terminating signal, 0 when exited normally
  bool timed_out = false;  // killed (SIGKILL) by wait() on timeout
  std::string out;         // everything written to stdout
  std::string err;         // everything written to stderr

  // "exit 3" / "signal 9" / "timed out", plus stderr: for failure messages.
  [[nodiscard]] std::string describe() const;
};

// A started child process. Move-only; the destructor kills (SIGKILL) and
// reaps a child that was not waited for, and removes its temp files.
class Process {
 public:
  // Starts the child. Throws std::runtime_error when it cannot be spawned.
  static Process spawn(const ProcessOptions& options);

  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process();

  [[nodiscard]] pid_t pid() const { return pid_; }
  // Sends `signal` to the child (no-op once reaped).
  void kill(int signal) const;
  // Waits up to `timeout` (SIGKILL and timed_out when exceeded), then returns
  // the status and the captured output. Idempotent.
  ProcessResult wait(std::chrono::milliseconds timeout = std::chrono::minutes(5));
  // True while the child has not exited (reaps it when it has).
  bool running();

 private:
  Process() = default;
  void reap(int status);
  pid_t pid_ = -1;
  bool reaped_ = false;
  ProcessResult result_;
  std::filesystem::path temp_dir_;
  std::filesystem::path stdout_path_;
  std::filesystem::path stderr_path_;
};

// spawn + wait.
ProcessResult run_process(const ProcessOptions& options,
                          std::chrono::milliseconds timeout = std::chrono::minutes(5));

// Creates a fresh directory under $TMPDIR (or /tmp) named prefix-XXXXXX.
// Throws std::runtime_error on failure.
std::filesystem::path make_temp_dir(const std::string& prefix);

// The whole content of a file ("" when it cannot be read).
std::string read_file(const std::filesystem::path& path);

}  // namespace dbmig::test
