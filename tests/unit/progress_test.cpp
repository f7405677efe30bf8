#include "cli/progress.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace ferry {
namespace {

// Everything a Progress wrote, through a memory stream.
class Captured {
 public:
  Captured() : file_(open_memstream(&data_, &size_)) {}
  ~Captured() {
    if (file_ != nullptr) std::fclose(file_);
    std::free(data_);
  }
  Captured(const Captured&) = delete;
  Captured& operator=(const Captured&) = delete;
  std::FILE* file() { return file_; }
  std::string text() {
    std::fflush(file_);
    return std::string(data_, size_);
  }

 private:
  char* data_ = nullptr;
  std::size_t size_ = 0;
  std::FILE* file_;
};

TEST(Progress, TerminalBarFillsInProportion) {
  Captured out;
  Progress progress(out.file(), "replay", 10, /*terminal=*/true);
  EXPECT_EQ(progress.render(10), "replay [..........] 0/10 0%");
  for (int i = 0; i < 5; ++i) progress.advance();
  EXPECT_EQ(progress.render(10), "replay [#####.....] 5/10 50%");
  progress.advance(5);
  EXPECT_EQ(progress.render(10), "replay [##########] 10/10 100%");
  progress.finish();
  const std::string text = out.text();
  // Redrawn in place, and the line ended once at the finish.
  EXPECT_EQ(text.front(), '\r');
  EXPECT_EQ(text.back(), '\n');
  EXPECT_EQ(text.find('\n'), text.size() - 1);
  EXPECT_NE(text.rfind("10/10 100%"), std::string::npos);
}

TEST(Progress, PlainLinesAreThrottledButTheLastIsAlwaysWritten) {
  Captured out;
  Progress progress(out.file(), "replay", 1000, /*terminal=*/false, std::chrono::hours(1));
  for (int i = 0; i < 1000; ++i) progress.advance();
  progress.finish();
  progress.finish();  // idempotent
  EXPECT_EQ(out.text(), "replay: 1/1000 (0%)\nreplay: 1000/1000 (100%)\n");
}

TEST(Progress, NothingToDoIsComplete) {
  Captured out;
  Progress progress(out.file(), "import", 0, /*terminal=*/false);
  progress.finish();
  EXPECT_EQ(out.text(), "import: 0/0 (100%)\n");
  Progress bar(out.file(), "import", 0, /*terminal=*/true);
  EXPECT_EQ(bar.render(4), "import [####] 0/0 100%");
}

TEST(Progress, OverrunIsShownAsComplete) {
  Captured out;
  Progress progress(out.file(), "replay", 2, /*terminal=*/true);
  progress.advance(5);
  EXPECT_EQ(progress.render(4), "replay [####] 2/2 100%");
}

TEST(Progress, CountingShowsTheCountWithoutABar) {
  Captured out;
  auto progress = Progress::counting(out.file(), "store copy", "messages", /*terminal=*/true);
  progress.set_done(12000);
  EXPECT_EQ(progress.render(10), "store copy: 12000 messages");
  progress.finish();
  EXPECT_EQ(out.text(), "\rstore copy: 12000 messages\rstore copy: 12000 messages\n");
}

}  // namespace
}  // namespace ferry
