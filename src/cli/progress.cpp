#include "cli/progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <string_view>
#include <utility>

namespace ferry {

namespace {

constexpr std::size_t kBarWidth = 30;
// A terminal repaints at most this often: redrawing per item would cost more
// than the work on fast replays.
constexpr std::chrono::milliseconds kTerminalInterval{100};

}  // namespace

Progress::Progress(std::FILE* out, std::string label, std::size_t total, bool terminal,
                   std::chrono::milliseconds plain_interval)
    : out_(out), label_(std::move(label)), total_(total), terminal_(terminal), plain_interval_(plain_interval) {}

Progress Progress::counting(std::FILE* out, std::string label, std::string unit, bool terminal,
                            std::chrono::milliseconds plain_interval) {
  Progress progress(out, std::move(label), 0, terminal, plain_interval);
  progress.unit_ = std::move(unit);
  return progress;
}

bool Progress::is_terminal(std::FILE* out) {
  const char* term = std::getenv("TERM");
  return ::isatty(::fileno(out)) == 1 && (term == nullptr || std::string_view(term) != "dumb");
}

std::string Progress::render(std::size_t width) const {
  if (!unit_.empty()) return label_ + ": " + std::to_string(done_) + " " + unit_;
  const std::size_t shown = std::min(done_, total_);
  const unsigned percent = total_ == 0 ? 100U : static_cast<unsigned>(shown * 100 / total_);
  const std::string counts = std::to_string(shown) + "/" + std::to_string(total_);
  if (!terminal_) return label_ + ": " + counts + " (" + std::to_string(percent) + "%)";
  const std::size_t filled = total_ == 0 ? width : shown * width / total_;
  return label_ + " [" + std::string(filled, '#') + std::string(width - filled, '.') + "] " + counts + " " +
         std::to_string(percent) + "%";
}

void Progress::advance(std::size_t by) {
  done_ += by;
  draw(false);
}

void Progress::set_done(std::size_t done) {
  done_ = done;
  draw(false);
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  draw(true);
}

void Progress::draw(bool final) {
  const auto now = std::chrono::steady_clock::now();
  const auto interval = terminal_ ? kTerminalInterval : plain_interval_;
  if (!final && last_draw_ != std::chrono::steady_clock::time_point{} && now - last_draw_ < interval) return;
  last_draw_ = now;
  const std::string line = render(kBarWidth);
  if (terminal_) {
    std::fprintf(out_, "\r%s%s", line.c_str(), final ? "\n" : "");
  } else {
    std::fprintf(out_, "%s\n", line.c_str());
  }
  std::fflush(out_);
}

}  // namespace ferry
