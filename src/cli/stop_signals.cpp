#include "cli/stop_signals.hpp"

#include <pthread.h>

namespace ferry {

StopSignals::StopSignals() {
  sigemptyset(&set_);
  sigaddset(&set_, SIGTERM);
  sigaddset(&set_, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set_, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

int StopSignals::wait() const {
  int received = 0;
  sigwait(&set_, &received);
  return received;
}

}  // namespace ferry
