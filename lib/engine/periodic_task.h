// A thread that runs a callable every interval until it is stopped: the one
// shape of apply's three background threads (the lease heartbeat, the
// interrupt watcher, the progress monitor). stop() wakes the thread at once
// through a condition variable, so no caller waits out an interval.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace dbmig::engine {

// Owns at most one running thread; not copyable or movable (the thread
// refers to it). Destruction stops it.
class PeriodicTask {
 public:
  // The work of one interval; returns false to end the thread itself. It
  // runs on the task's thread without any lock held and must not throw.
  using Task = std::function<bool()>;

  PeriodicTask() = default;
  PeriodicTask(const PeriodicTask&) = delete;
  PeriodicTask& operator=(const PeriodicTask&) = delete;
  ~PeriodicTask() { stop(); }

  // Stops a running thread (stop()), then starts one that runs `task` one
  // `interval` after the start and every `interval` after each run, until
  // stop() or the task returns false.
  void start(std::chrono::milliseconds interval, Task task);

  // Wakes the thread, waits for a run in progress to finish, and joins it.
  // Harmless when nothing runs; never throws.
  void stop() noexcept;

 private:
  void loop(std::chrono::milliseconds interval, const Task& task);

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace dbmig::engine
