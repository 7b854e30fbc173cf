#include "engine/interrupt.h"

#include <atomic>
#include <csignal>
#include <mutex>

namespace dbmig::engine {
namespace {

std::atomic<bool> interrupted{false};
static_assert(std::atomic<bool>::is_always_lock_free);

extern "C" void on_interrupt_signal(int signal_number) {
  if (interrupted.exchange(true)) {
    std::signal(signal_number, SIG_DFL);
    std::raise(signal_number);
  }
}

}  // namespace

void install_interrupt_handlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction action {};
    action.sa_handler = on_interrupt_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
  });
}

bool interrupt_requested() noexcept { return interrupted.load(); }

void request_interrupt() noexcept { interrupted.store(true); }

void clear_interrupt() noexcept { interrupted.store(false); }

}  // namespace dbmig::engine
