// SIGINT/SIGTERM for long-running commands (docs/contract.md section 6: the lease is
// released on every exit dbmig controls). The handler only sets a flag; the
// engine polls it at safe points and, from a watcher thread (never from the
// handler), cancels the statement in progress.
#pragma once

namespace dbmig::engine {

// Installs handlers for SIGINT and SIGTERM (once per process; later calls do
// nothing). The first signal sets the interrupt flag; a second one restores
// the default action and re-raises, so an impatient operator can still kill
// the process.
void install_interrupt_handlers();

// True once SIGINT/SIGTERM arrived (or request_interrupt() was called).
[[nodiscard]] bool interrupt_requested() noexcept;

// Sets / clears the flag (tests; async-signal-safe).
void request_interrupt() noexcept;
void clear_interrupt() noexcept;

}  // namespace dbmig::engine
