#include "core/event_type_name.hpp"

#include <gtest/gtest.h>

namespace ferry {
namespace {

TEST(EventTypeName, Validation) {
  EXPECT_TRUE(is_valid_event_type_name("delivery.opened"));
  EXPECT_TRUE(is_valid_event_type_name("customer.subscription.created"));
  EXPECT_TRUE(is_valid_event_type_name("ping"));
  EXPECT_TRUE(is_valid_event_type_name("channel_delivery_status"));
  EXPECT_FALSE(is_valid_event_type_name(""));
  EXPECT_FALSE(is_valid_event_type_name(".a"));
  EXPECT_FALSE(is_valid_event_type_name("a..b"));
  EXPECT_FALSE(is_valid_event_type_name("a."));
  EXPECT_FALSE(is_valid_event_type_name("a b"));
  EXPECT_FALSE(is_valid_event_type_name("a.*"));
  EXPECT_FALSE(is_valid_event_type_name(std::string(129, 'a')));
}

TEST(TypeFilter, ExactWildcardAndEverything) {
  EXPECT_TRUE(type_filter_matches("*", "anything.at.all"));
  EXPECT_TRUE(type_filter_matches("delivery.opened", "delivery.opened"));
  EXPECT_FALSE(type_filter_matches("delivery.opened", "delivery.clicked"));
  EXPECT_TRUE(type_filter_matches("delivery.*", "delivery.opened"));
  EXPECT_TRUE(type_filter_matches("delivery.*", "delivery.sms.opened"));
  EXPECT_FALSE(type_filter_matches("delivery.*", "delivery"));
  EXPECT_FALSE(type_filter_matches("delivery.*", "deliveryx.opened"));
  EXPECT_FALSE(type_filter_matches("delivery.*", "contact.created"));
  EXPECT_TRUE(is_valid_type_filter("*"));
  EXPECT_TRUE(is_valid_type_filter("customer.subscription.*"));
  EXPECT_FALSE(is_valid_type_filter("*.created"));
  EXPECT_FALSE(is_valid_type_filter("delivery.**"));
}

}  // namespace
}  // namespace ferry
