#include "engine/periodic_task.h"

namespace dbmig::engine {

void PeriodicTask::start(std::chrono::milliseconds interval, Task task) {
  stop();
  {
    std::lock_guard lock(mutex_);
    stopping_ = false;
  }
  thread_ = std::thread([this, interval, task = std::move(task)] { loop(interval, task); });
}

void PeriodicTask::stop() noexcept {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void PeriodicTask::loop(std::chrono::milliseconds interval, const Task& task) {
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, interval, [this] { return stopping_; })) {
    lock.unlock();
    const bool again = task();
    lock.lock();
    if (!again) return;
  }
}

}  // namespace dbmig::engine
