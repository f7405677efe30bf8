#include "api/json_views.hpp"

#include <gtest/gtest.h>

namespace ferry {
namespace {

Message sample_message(std::string payload) {
  Message message;
  message.id = "msg_1";
  message.workspace_id = "ws \"quoted\"";
  message.type = "order.paid";
  message.payload = std::move(payload);
  message.created_at_ms = 1'700'000'000'000;
  message.flags = {"PASSIVE"};
  return message;
}

// The publish answer splices the payload in as stored; parsed back, it is
// the message's JSON view with "duplicate" and "deliveries".
TEST(PublishOutcomeText, IsTheMessageViewWithThePayloadAsPublished) {
  for (const std::string payload : {R"({"amount" : 1.50, "note":"é\u00e9", "nested":[1,{"a":null}]})", "[]", "7",
                                    R"("text")", "null"}) {
    PublishOutcome outcome;
    outcome.message = sample_message(payload);
    outcome.duplicate = true;
    outcome.deliveries_created = 3;
    const std::string text = publish_outcome_text(outcome);
    EXPECT_NE(text.find(payload), std::string::npos) << "payload not kept byte for byte: " << text;

    nlohmann::json expected = to_json(outcome.message);
    expected["duplicate"] = true;
    expected["deliveries"] = 3;
    EXPECT_EQ(nlohmann::json::parse(text), expected) << text;
  }
}

}  // namespace
}  // namespace ferry
