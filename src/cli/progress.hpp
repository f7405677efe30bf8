#pragma once

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <string>

namespace ferry {

// Progress of long CLI work (replays, imports). On a terminal it redraws one
// bar in place; otherwise (a log, a pipe, CI) it writes a plain line at most
// every `plain_interval`, and always the last one, so logs stay readable.
class Progress {
 public:
  Progress(std::FILE* out, std::string label, std::size_t total, bool terminal,
           std::chrono::milliseconds plain_interval = std::chrono::seconds(2));
  // Work whose size is not known up front: a running count of `unit`s
  // ("copy: 12000 messages") instead of a bar.
  static Progress counting(std::FILE* out, std::string label, std::string unit, bool terminal,
                           std::chrono::milliseconds plain_interval = std::chrono::seconds(2));
  // A terminal when `out` is one and TERM is not "dumb".
  static bool is_terminal(std::FILE* out);

  void advance(std::size_t by = 1);
  // Sets the count done so far (for work that reports totals, not steps).
  void set_done(std::size_t done);
  // Ends the bar's line (terminal) or writes the final plain line.
  void finish();

  // The text of one update: "replay [#####.....] 5/10 50%" on a terminal,
  // "replay: 5/10 (50%)" otherwise. Exposed for tests.
  std::string render(std::size_t width) const;

 private:
  void draw(bool final);

  std::FILE* out_;
  std::string label_;
  std::size_t total_;
  std::string unit_;  // non-empty: counting, total_ unused
  std::size_t done_ = 0;
  bool terminal_;
  bool finished_ = false;
  std::chrono::milliseconds plain_interval_;
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace ferry
