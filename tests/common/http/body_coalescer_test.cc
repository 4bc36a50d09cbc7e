#include "common/http/body_coalescer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace byok::http {
namespace {

using State = BodyCoalescer::State;

TEST(BodyCoalescer, FirstPieceLeavesAtOnce) {
  BodyCoalescer body(64);
  auto step = body.Offer("data: 1\n\n");
  ASSERT_TRUE(step.ok());
  ASSERT_TRUE(step->write.has_value());
  EXPECT_EQ(*step->write, "data: 1\n\n");
  EXPECT_TRUE(step->more);
  EXPECT_EQ(body.state(), State::kWriting);
}

TEST(BodyCoalescer, PiecesDuringAWriteLeaveTogetherInOrder) {
  BodyCoalescer body(1024);
  std::vector<std::string> writes;
  writes.push_back(*body.Offer("a")->write);
  for (const char* piece : {"b", "c", "d"}) {
    auto step = body.Offer(piece);
    ASSERT_TRUE(step.ok());
    EXPECT_FALSE(step->write.has_value()) << piece;
    EXPECT_TRUE(step->more) << piece;
  }
  EXPECT_EQ(body.held_bytes(), 3u);
  auto done = body.WriteDone();
  ASSERT_TRUE(done.ok());
  ASSERT_TRUE(done->write.has_value());
  writes.push_back(*done->write);
  EXPECT_EQ(body.state(), State::kWriting);
  auto idle = body.WriteDone();
  ASSERT_TRUE(idle.ok());
  EXPECT_FALSE(idle->write.has_value());
  EXPECT_EQ(body.state(), State::kIdle);
  // Four pieces, two writes, the same bytes in the same order.
  EXPECT_EQ(writes, (std::vector<std::string>{"a", "bcd"}));
  // Idle again: the next piece is not held back.
  EXPECT_EQ(*body.Offer("e")->write, "e");
}

TEST(BodyCoalescer, PausesTheProducerAtTheLimitAndResumesAfterTheWrite) {
  BodyCoalescer body(8);
  ASSERT_TRUE(body.Offer("first")->write.has_value());
  EXPECT_TRUE(body.Offer("1234")->more);
  auto full = body.Offer("5678");  // 8 bytes held: the limit
  ASSERT_TRUE(full.ok());
  EXPECT_FALSE(full->more);
  EXPECT_EQ(body.held_bytes(), 8u);
  auto done = body.WriteDone();
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(*done->write, "12345678");
  EXPECT_TRUE(done->more);  // the paused producer resumes
  EXPECT_EQ(body.held_bytes(), 0u);
  // A producer that was never paused is not told to resume twice.
  EXPECT_TRUE(body.Offer("x")->more);
  auto again = body.WriteDone();
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->more);
}

TEST(BodyCoalescer, RefusesImpossibleTransitions) {
  BodyCoalescer body(8);
  EXPECT_EQ(body.WriteDone().status().code(), absl::StatusCode::kFailedPrecondition);  // none in flight
  ASSERT_TRUE(body.Offer("a").ok());
  ASSERT_TRUE(body.Offer("b").ok());
  EXPECT_EQ(body.Close(), "b");
  EXPECT_EQ(body.state(), State::kClosed);
  EXPECT_EQ(body.Offer("c").status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(body.WriteDone().status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace byok::http
