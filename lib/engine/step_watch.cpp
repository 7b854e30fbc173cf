#include "engine/step_watch.h"

#include "core/duration.h"

namespace dbmig::engine {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

SlowStepWatch::SlowStepWatch(db::ConnectOptions options, Reporter& reporter, int step_pid,
                             StepWatchTiming timing)
    : options_(std::move(options)), reporter_(reporter), step_pid_(step_pid), timing_(timing) {}

SlowStepWatch::~SlowStepWatch() { stop(); }

void SlowStepWatch::start(WatchedStep step) {
  stop();
  {
    std::lock_guard lock(mutex_);
    stopping_ = false;
  }
  last_report_ = {};
  thread_ = std::thread(
      [this, step = std::move(step), start = steady_clock::now()] { run(step, start); });
}

void SlowStepWatch::stop() noexcept {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool SlowStepWatch::sleep(milliseconds period) {
  std::unique_lock lock(mutex_);
  return !wake_.wait_for(lock, period, [this] { return stopping_; });
}

void SlowStepWatch::run(const WatchedStep& step, steady_clock::time_point start) {
  if (!sleep(timing_.first)) return;
  do {
    try {
      if (!connection_ || !connection_->ok()) {
        connection_ = std::make_unique<db::Connection>(db::Connection::open(options_));
      }
      look(step, std::chrono::duration_cast<milliseconds>(steady_clock::now() - start));
    } catch (const std::exception&) {
      connection_.reset();  // informational only: tried again at the next poll
    }
  } while (sleep(timing_.poll));
}

void SlowStepWatch::look(const WatchedStep& step, milliseconds elapsed) {
  const auto now = steady_clock::now();
  if (last_report_ != steady_clock::time_point{} && now - last_report_ < timing_.repeat) return;
  const BackendActivity activity = read_backend_activity(*connection_, step_pid_);
  const std::string label = step.version + "/" + step.file;
  nlohmann::json fields = {{"version", step.version},
                           {"step", step.step},
                           {"file", step.file},
                           {"pid", step_pid_},
                           {"elapsed_ms", elapsed.count()}};
  if (activity.lock) {
    const LockWait& wait = *activity.lock;
    fields["wait_event"] = activity.wait_event;
    fields["locktype"] = wait.locktype;
    fields["mode"] = wait.mode;
    fields["relation"] = wait.relation.empty() ? nlohmann::json() : nlohmann::json(wait.relation);
    fields["holders"] = holders_json(wait.holders);
    reporter_.notice(
        "lock_wait", fields,
        label + ": running " + format_duration(elapsed) + ", " + describe_lock_wait(wait));
    last_report_ = now;
    return;
  }
  if (step.reports_progress || activity.state != "active") return;
  fields["wait_event_type"] = activity.wait_event_type;
  fields["wait_event"] = activity.wait_event;
  std::string text = label + ": still running after " + format_duration(elapsed);
  if (!activity.wait_event_type.empty()) {
    text += " (waiting on " + activity.wait_event_type + ":" + activity.wait_event + ")";
  }
  reporter_.event("step_running", fields, text);
  last_report_ = now;
}

}  // namespace dbmig::engine
