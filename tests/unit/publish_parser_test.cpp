#include "ingest/publish_parser.hpp"

#include <gtest/gtest.h>

namespace ferry {
namespace {

TEST(PublishParser, KeepsDataBytesVerbatim) {
  auto parsed = parse_publish_body(R"({"type":"order.paid", "data" : {"a": 1.50, "b":[1, 2]}  , "id":"evt_1"})");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->type, "order.paid");
  EXPECT_EQ(parsed->data, R"({"a": 1.50, "b":[1, 2]})");
  EXPECT_EQ(parsed->id, "evt_1");
}

TEST(PublishParser, AcceptsScalarData) {
  auto parsed = parse_publish_body(R"({"type":"ping","data":12345678901234567890 })");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->data, "12345678901234567890");
  auto text = parse_publish_body(R"({"data":"a \"quoted\" text" ,"type":"ping"})");
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(text->data, R"("a \"quoted\" text")");
}

TEST(PublishParser, AcceptsIntegersBeyond64Bits) {
  auto parsed = parse_publish_body(R"({"type":"big","data":{"n":123456789012345678901234567890}})");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->data, R"({"n":123456789012345678901234567890})");
  EXPECT_FALSE(parse_publish_body(R"({"type":"big","data":{"n":123456789012345678901234567890,}})").ok());
}

TEST(PublishParser, ClearErrors) {
  struct Case {
    const char* body;
    ErrorCode code;
    const char* mentions;
  };
  const Case cases[] = {
      {"{", ErrorCode::bad_request, "JSON"},
      {R"({"type":"a","data":{"x":tru}})", ErrorCode::bad_request, "JSON"},
      {"[1,2]", ErrorCode::unprocessable, "object"},
      {R"({"data":{}})", ErrorCode::unprocessable, "\"type\""},
      {R"({"type":"a.b"})", ErrorCode::unprocessable, "\"data\""},
      {R"({"type":5,"data":{}})", ErrorCode::unprocessable, "\"type\""},
      {R"({"type":"a b","data":{}})", ErrorCode::unprocessable, "\"type\""},
      {R"({"type":"a","data":{},"id":7})", ErrorCode::unprocessable, "\"id\""},
      {R"({"type":"a","data":{},"id":""})", ErrorCode::unprocessable, "\"id\""},
  };
  for (const auto& test : cases) {
    auto parsed = parse_publish_body(test.body);
    ASSERT_FALSE(parsed.ok()) << test.body;
    EXPECT_EQ(parsed.error().code, test.code) << test.body;
    EXPECT_NE(parsed.error().message.find(test.mentions), std::string::npos) << parsed.error().message;
  }
}

TEST(PublishParser, BatchNamesTheFailingIndex) {
  auto ok = parse_batch_body(R"({"messages":[{"type":"a","data":1},{"type":"b","data":{},"idempotency_key":"k"}]})");
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  ASSERT_EQ(ok->size(), 2u);
  EXPECT_EQ((*ok)[1].idempotency_key, "k");
  auto bad = parse_batch_body(R"({"messages":[{"type":"a","data":1},{"type":"b"}]})");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("messages[1]"), std::string::npos);
  EXPECT_FALSE(parse_batch_body(R"({"messages":[]})").ok());
  EXPECT_FALSE(parse_batch_body(R"({"messages":{}})").ok());
  EXPECT_FALSE(parse_batch_body(R"({})").ok());
}

}  // namespace
}  // namespace ferry
