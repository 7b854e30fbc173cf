// The watch over a long step (issue 13, docs/apply.md "Long steps"): while a
// step runs longer than a few seconds, a thread of its own looks at what the
// step's backend does, on a connection of its own (the state connection may
// be busy on the apply thread), and reports it: the lock it waits for and
// who holds it (event "lock_wait"), or, for a step without a proof whose
// progress is reported anyway, that it is still running (event
// "step_running"). At most one report per repeat period. PostgreSQL only.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "db/connection.h"
#include "engine/lock_wait.h"
#include "engine/report.h"

namespace dbmig::engine {

// The step being watched, as the events name it.
struct WatchedStep {
  std::string version;
  int step = 1;
  std::string file;
  // The step reports its own progress (index builds): only lock waits are
  // reported, not "still running".
  bool reports_progress = false;
};

struct StepWatchTiming {
  std::chrono::milliseconds first{3000};    // a step running this long is looked at
  std::chrono::milliseconds poll{1000};     // how often it is looked at from then on
  std::chrono::milliseconds repeat{10000};  // at most one report per this period
};

class SlowStepWatch {
 public:
  // Watches the backend `step_pid`; opens a connection with `options` when
  // a step first runs longer than `timing.first`, and keeps it for later steps.
  SlowStepWatch(db::ConnectOptions options, Reporter& reporter, int step_pid,
                StepWatchTiming timing = {});
  SlowStepWatch(const SlowStepWatch&) = delete;
  SlowStepWatch& operator=(const SlowStepWatch&) = delete;
  ~SlowStepWatch();

  // Starts watching `step` (stopping any earlier watch).
  void start(WatchedStep step);
  // Stops watching and joins the thread; idempotent, never throws.
  void stop() noexcept;

  // Stops the watch when it goes out of scope.
  class Scope {
   public:
    explicit Scope(SlowStepWatch* watch) : watch_(watch) {}
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;
    ~Scope() {
      if (watch_) watch_->stop();
    }

   private:
    SlowStepWatch* watch_;
  };

 private:
  void run(const WatchedStep& step, std::chrono::steady_clock::time_point start);
  // Waits up to `period`; false when stop() was called.
  bool sleep(std::chrono::milliseconds period);
  void look(const WatchedStep& step, std::chrono::milliseconds elapsed);

  db::ConnectOptions options_;
  Reporter& reporter_;
  int step_pid_;
  StepWatchTiming timing_;
  std::unique_ptr<db::Connection> connection_;  // used by the watch thread only
  std::chrono::steady_clock::time_point last_report_{};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace dbmig::engine
