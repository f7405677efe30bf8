#pragma once

#include <csignal>

namespace ferry {

// The long-running commands (serve, listen) stop on SIGTERM or SIGINT. The
// signals are blocked before any thread starts, so every thread inherits the
// mask and only the main thread, waiting in wait(), ever takes them; SIGPIPE
// is ignored, a peer's closed socket being an error value, not a death.
class StopSignals {
 public:
  // Call before starting threads.
  StopSignals();
  // Blocks until one arrives; returns it.
  int wait() const;

 private:
  sigset_t set_{};
};

}  // namespace ferry
