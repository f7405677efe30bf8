#include <gtest/gtest.h>

#include <set>

#include "core/duration.hpp"
#include "core/ids.hpp"
#include "core/time_format.hpp"

namespace ferry {
namespace {

using namespace std::chrono_literals;

TEST(Ids, AreUniqueAndSortByTime) {
  std::set<std::string> seen;
  std::string previous;
  for (UnixMillis t = 1'700'000'000'000; t < 1'700'000'000'000 + 2000; t += 1) {
    std::string id = new_id("msg", t);
    ASSERT_EQ(id.size(), 4u + 26u);
    ASSERT_TRUE(id.starts_with("msg_"));
    EXPECT_GT(id, previous);
    EXPECT_TRUE(seen.insert(id).second);
    previous = id;
  }
}

TEST(Ids, MadeWithinOneMillisecondSortInTheOrderMade) {
  const UnixMillis now = 1'800'000'000'000;
  std::string previous = new_id("msg", now);
  for (int i = 0; i < 5000; ++i) {
    std::string id = new_id("msg", now);
    ASSERT_GT(id, previous);
    ASSERT_EQ(id.substr(0, 14), previous.substr(0, 14));  // same millisecond (the first 10 digits)
    previous = id;
  }
}

TEST(TimeFormat, FormatsAndParsesRfc3339) {
  EXPECT_EQ(format_rfc3339(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339(1'763'892'000'123), "2025-11-23T10:00:00.123Z");
  EXPECT_EQ(parse_time("2025-11-23T10:00:00.123Z"), 1'763'892'000'123);
  EXPECT_EQ(parse_time("2025-11-23T11:00:00+01:00"), 1'763'892'000'000);
  EXPECT_EQ(parse_time("1763892000123"), 1'763'892'000'123);
  EXPECT_FALSE(parse_time("2025-13-01T00:00:00Z").has_value());
  EXPECT_FALSE(parse_time("yesterday").has_value());
  EXPECT_FALSE(parse_time("2025-11-23T10:00:00").has_value());
}

TEST(Duration, ParsesUnits) {
  EXPECT_EQ(parse_duration("250ms"), 250ms);
  EXPECT_EQ(parse_duration("5s"), 5s);
  EXPECT_EQ(parse_duration("1.5"), 1500ms);
  EXPECT_EQ(parse_duration("5m"), 5min);
  EXPECT_EQ(parse_duration("2h"), 2h);
  EXPECT_FALSE(parse_duration("5 parsecs").has_value());
  EXPECT_FALSE(parse_duration("").has_value());
  auto list = parse_duration_list("0s, 5s,5m");
  ASSERT_TRUE(list.has_value());
  EXPECT_EQ(*list, (std::vector<std::chrono::milliseconds>{0s, 5s, 5min}));
  EXPECT_FALSE(parse_duration_list("1s,,2s").has_value());
}

}  // namespace
}  // namespace ferry
