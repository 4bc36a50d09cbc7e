// RelayMany: many relayed requests over one stream, each answered as its own Relay call would be,
// each paced by its caller's credit (a request without credit stalls alone), each cancellable on its
// own, all of them cancelled with the stream. Real byok-vaultd and byok-relayd, the fake provider.
#include <grpcpp/client_context.h>
#include <signal.h>
#include <sqlite3.h>

#include <map>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/grpc_status.h"
#include "gtest/gtest.h"
#include "tests/relay/relay_daemons.h"

namespace byok::relay::testing {
namespace {

using Stream = grpc::ClientReaderWriter<v1::RelayManyRequest, v1::RelayManyResponse>;

// One request's answer as read from the stream.
struct Answer {
  bool has_head = false;
  v1::ResponseHead head;
  std::string body;
  bool ended = false;
  v1::RelayEnd end;
  bool usage_stored = false;  // named in a usage_stored list
};

class RelayManyTest : public RelayDaemonsTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(StartWithVault());
    auto token = vault().CreateUserWithKey("openai", "sk-many-0123456789abcdef");
    ASSERT_TRUE(token.ok()) << token.status();
    token_ = *token;
  }

  std::unique_ptr<Stream> Open(grpc::ClientContext& context) {
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    return relay().stub().RelayMany(&context);
  }

  v1::RelayRequest Chat(const std::string& model, bool stream) const {
    return MakeRequest(token_, "openai", "v1/chat/completions",
                       absl::StrCat(R"({"model":")", model, R"(","stream":)", stream ? "true" : "false",
                                    R"(,"messages":[]})"));
  }

  static v1::RelayFrame Start(uint64_t id, v1::RelayRequest request, uint32_t credit = 1 << 20,
                              bool end_before_usage = false) {
    v1::RelayFrame frame;
    frame.set_id(id);
    *frame.mutable_start() = std::move(request);
    frame.set_credit(credit);
    frame.set_end_before_usage(end_before_usage);
    return frame;
  }

  // Reads one message into `answers`; false when the stream ended.
  static bool ReadInto(Stream& stream, std::map<uint64_t, Answer>& answers, bool* drain = nullptr) {
    v1::RelayManyResponse message;
    if (!stream.Read(&message)) return false;
    if (drain != nullptr && message.drain()) *drain = true;
    for (const v1::RelayReply& reply : message.replies()) {
      Answer& a = answers[reply.id()];
      EXPECT_FALSE(a.ended) << "a frame after the end of request " << reply.id();
      if (reply.has_response()) {
        if (reply.response().has_head()) {
          EXPECT_FALSE(a.has_head) << "a second head for request " << reply.id();
          a.has_head = true;
          a.head = reply.response().head();
        }
        a.body += reply.response().body();
      }
      if (reply.has_end()) {
        a.ended = true;
        a.end = reply.end();
      }
    }
    for (uint64_t id : message.usage_stored()) {
      Answer& a = answers[id];
      EXPECT_TRUE(a.ended && a.end.usage_pending()) << "usage_stored for request " << id
                                                     << " before an end that said usage_pending";
      EXPECT_FALSE(a.usage_stored) << "usage_stored twice for request " << id;
      a.usage_stored = true;
    }
    return true;
  }

  // Reads until request `id` has its head, or its end (with `until_end`), or the stream ends.
  static void ReadUntil(Stream& stream, std::map<uint64_t, Answer>& answers, uint64_t id, bool until_end,
                        bool* drain = nullptr) {
    while (!(until_end ? answers[id].ended : answers[id].has_head) && ReadInto(stream, answers, drain)) {
    }
  }

  static int Ended(const std::map<uint64_t, Answer>& answers) {
    int n = 0;
    for (const auto& [id, a] : answers) n += a.ended ? 1 : 0;
    return n;
  }

  std::string token_;
};

TEST_F(RelayManyTest, RequestsOnOneStreamAreEachAnsweredAsTheirOwnRelayCall) {
  // What separate Relay calls answer, for comparison.
  const RelayResult json = RunRelay(relay().stub(), Chat("gpt-4o-mini", false));
  const RelayResult sse = RunRelay(relay().stub(), Chat("fake-slow-5-1", true));
  ASSERT_TRUE(json.status.ok()) << json.status.error_message();
  ASSERT_TRUE(sse.status.ok()) << sse.status.error_message();

  grpc::ClientContext context;
  std::unique_ptr<Stream> stream = Open(context);
  // Twelve requests in two messages, interleaved kinds, then failures of two kinds.
  constexpr int kRequests = 12;
  for (int batch = 0; batch < 2; ++batch) {
    v1::RelayManyRequest message;
    for (int i = 0; i < kRequests / 2; ++i) {
      const uint64_t id = static_cast<uint64_t>(batch * kRequests / 2 + i + 1);
      *message.add_frames() = Start(id, id % 2 == 0 ? Chat("gpt-4o-mini", false) : Chat("fake-slow-5-1", true));
    }
    ASSERT_TRUE(stream->Write(message));
  }
  v1::RelayManyRequest failures;
  v1::RelayRequest bad_token = Chat("gpt-4o-mini", false);
  bad_token.set_token("not-a-token");
  *failures.add_frames() = Start(100, bad_token);
  v1::RelayRequest bad_provider = Chat("gpt-4o-mini", false);
  bad_provider.set_provider("nope");
  *failures.add_frames() = Start(101, bad_provider);
  ASSERT_TRUE(stream->Write(failures));

  std::map<uint64_t, Answer> answers;
  while (Ended(answers) < kRequests + 2 && ReadInto(*stream, answers)) {
  }
  ASSERT_EQ(Ended(answers), kRequests + 2);
  for (uint64_t id = 1; id <= kRequests; ++id) {
    const Answer& a = answers[id];
    const RelayResult& want = id % 2 == 0 ? json : sse;
    EXPECT_EQ(a.end.code(), 0) << id << ": " << a.end.message();
    ASSERT_TRUE(a.has_head) << id;
    EXPECT_EQ(a.head.status(), 200);
    EXPECT_EQ(a.head.has_content_length(), want.head.has_content_length()) << id;
    if (id % 2 == 0) {
      EXPECT_EQ(a.body.size(), want.body.size()) << id;  // the same completion (its ids differ)
    } else {
      EXPECT_EQ(a.body, want.body) << id;
    }
  }
  // Failures end as a Relay call's would: code, message, and the ErrorInfo in the details.
  const grpc::Status unknown(static_cast<grpc::StatusCode>(answers[100].end.code()), answers[100].end.message(),
                             answers[100].end.details());
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(ReasonOf(FromGrpcStatus(unknown)), reason::kTokenUnknown);
  EXPECT_FALSE(answers[100].has_head);
  EXPECT_EQ(answers[101].end.code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(answers[101].end.message(), "Unsupported provider: nope");

  // The caller half-closes: the stream finishes cleanly.
  ASSERT_TRUE(stream->WritesDone());
  v1::RelayManyResponse rest;
  EXPECT_FALSE(stream->Read(&rest));
  EXPECT_TRUE(stream->Finish().ok());
}

// A request started with end_before_usage ends as soon as its answer is complete, saying
// usage_pending, and usage_stored names it once its usage record is stored; a request without it ends
// only once its record is stored (as a Relay call does: relay_usage_wait_test). Shown with the vault's
// database held by another writer, so no record can be stored until the test lets it.
TEST_F(RelayManyTest, AnEndBeforeUsageLeavesAtOnceAndUsageStoredFollowsTheRecord) {
  // The key lookup writes to the database too: the relay must keep the key before the lock is taken.
  ASSERT_TRUE(KeepKeyInRelay(vault(), relay().stub(), Chat("gpt-4o-mini", false)).ok());
  const absl::StatusOr<int64_t> before = vault().TotalRequests(token_);
  ASSERT_TRUE(before.ok()) << before.status();

  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(vault().database_path().c_str(), &raw), SQLITE_OK);
  std::unique_ptr<sqlite3, decltype(&sqlite3_close)> db(raw, &sqlite3_close);
  ASSERT_EQ(sqlite3_exec(db.get(), "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);

  grpc::ClientContext context;
  std::unique_ptr<Stream> stream = Open(context);
  v1::RelayManyRequest message;
  *message.add_frames() = Start(1, Chat("gpt-4o-mini", false), 1 << 20, /*end_before_usage=*/true);
  *message.add_frames() = Start(2, Chat("fake-slow-5-1", true), 1 << 20, /*end_before_usage=*/true);
  *message.add_frames() = Start(3, Chat("gpt-4o-mini", false));  // its end waits for its record
  ASSERT_TRUE(stream->Write(message));

  std::map<uint64_t, Answer> answers;
  while (!(answers[1].ended && answers[2].ended) && ReadInto(*stream, answers)) {
  }
  for (uint64_t id : {1, 2}) {
    ASSERT_TRUE(answers[id].ended) << id;
    EXPECT_EQ(answers[id].end.code(), 0) << id << ": " << answers[id].end.message();
    EXPECT_TRUE(answers[id].end.usage_pending()) << id << ": its end came after its record was stored";
    EXPECT_FALSE(answers[id].usage_stored) << id;
    EXPECT_FALSE(answers[id].body.empty()) << id;
  }
  EXPECT_FALSE(answers[3].ended) << "a request without end_before_usage ended before its record was stored";

  ASSERT_EQ(sqlite3_exec(db.get(), "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);
  while (!(answers[1].usage_stored && answers[2].usage_stored && answers[3].ended) &&
         ReadInto(*stream, answers)) {
  }
  EXPECT_TRUE(answers[1].usage_stored);
  EXPECT_TRUE(answers[2].usage_stored);
  ASSERT_TRUE(answers[3].ended);
  EXPECT_EQ(answers[3].end.code(), 0) << answers[3].end.message();
  EXPECT_FALSE(answers[3].end.usage_pending());
  EXPECT_FALSE(answers[3].usage_stored);

  // Every record is stored now: the three on the stream with the calls before it.
  EXPECT_EQ(vault().TotalRequests(token_).value_or(-1), *before + 3);

  // The stream finishes once half-closed: nothing is owed any more.
  ASSERT_TRUE(stream->WritesDone());
  v1::RelayManyResponse rest;
  while (stream->Read(&rest)) {
  }
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(RelayManyTest, ARequestWithoutCreditStallsAloneAndResumesWithCredit) {
  grpc::ClientContext context;
  std::unique_ptr<Stream> stream = Open(context);
  // 20,000 events (about 3 MB) with 16 KiB of credit.
  constexpr uint32_t kCredit = 16 * 1024;
  v1::RelayManyRequest first;
  *first.add_frames() = Start(1, Chat("fake-slow-20000-0", true), kCredit);
  ASSERT_TRUE(stream->Write(first));

  std::map<uint64_t, Answer> answers;
  // While request 1 waits for credit, request 2 on the same stream is answered in full.
  absl::SleepFor(absl::Milliseconds(300));
  v1::RelayManyRequest second;
  *second.add_frames() = Start(2, Chat("fake-slow-3-1", true));
  ASSERT_TRUE(stream->Write(second));
  ReadUntil(*stream, answers, 2, /*until_end=*/true);
  ASSERT_TRUE(answers[2].ended);
  EXPECT_EQ(answers[2].end.code(), 0);
  EXPECT_FALSE(answers[1].ended);
  // Request 1 got its credit's worth and at most one piece past it (a piece may overdraw; the relay
  // holds at most 64 KiB while it waits).
  EXPECT_GT(answers[1].body.size(), 0u);
  EXPECT_LE(answers[1].body.size(), kCredit + 64 * 1024);
  const size_t stalled_at = answers[1].body.size();

  // Credit as the bytes come: every event arrives, in order, then the end.
  size_t granted = kCredit;
  while (!answers[1].ended) {
    while (answers[1].body.size() + kCredit > granted) {
      v1::RelayManyRequest more;
      v1::RelayFrame* frame = more.add_frames();
      frame->set_id(1);
      frame->set_credit(kCredit);
      granted += kCredit;
      ASSERT_TRUE(stream->Write(more));
    }
    ASSERT_TRUE(ReadInto(*stream, answers));
  }
  EXPECT_EQ(answers[1].end.code(), 0) << answers[1].end.message();
  EXPECT_GT(answers[1].body.size(), stalled_at + 2 * 1024 * 1024);
  size_t events = 0;
  for (size_t pos = 0; (pos = answers[1].body.find("data: ", pos)) != std::string::npos; pos += 6) ++events;
  EXPECT_EQ(events, 20000u + 2);  // and the finishing chunk, and "data: [DONE]"
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(RelayManyTest, ACancelledRequestClosesItsProviderConnectionAndTheStreamGoesOn) {
  grpc::ClientContext context;
  std::unique_ptr<Stream> stream = Open(context);
  v1::RelayManyRequest start;
  *start.add_frames() = Start(7, Chat("fake-hold", true));
  ASSERT_TRUE(stream->Write(start));
  std::map<uint64_t, Answer> answers;
  ReadUntil(*stream, answers, 7, /*until_end=*/false);
  ASSERT_TRUE(answers[7].has_head);

  const absl::Time left = absl::Now();
  v1::RelayManyRequest cancel;
  cancel.add_frames()->set_id(7);
  cancel.mutable_frames(0)->set_cancel(true);
  ASSERT_TRUE(stream->Write(cancel));
  std::optional<absl::Time> closed = fake().WaitForClientClosed(absl::Seconds(5));
  ASSERT_TRUE(closed.has_value());
  EXPECT_LT(*closed - left, absl::Milliseconds(500));

  // The stream still carries requests.
  v1::RelayManyRequest next;
  *next.add_frames() = Start(8, Chat("gpt-4o-mini", false));
  ASSERT_TRUE(stream->Write(next));
  ReadUntil(*stream, answers, 8, /*until_end=*/true);
  EXPECT_EQ(answers[8].end.code(), 0);
  EXPECT_EQ(answers[8].head.status(), 200);
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(RelayManyTest, CancellingTheStreamCancelsEveryRequestOnIt) {
  grpc::ClientContext context;
  std::unique_ptr<Stream> stream = Open(context);
  v1::RelayManyRequest start;
  *start.add_frames() = Start(1, Chat("fake-hold", true));
  *start.add_frames() = Start(2, Chat("fake-hold", true));
  ASSERT_TRUE(stream->Write(start));
  ASSERT_TRUE(fake().WaitForStreamsStarted(2, absl::Seconds(5)));
  context.TryCancel();
  EXPECT_TRUE(fake().WaitForClientClosed(absl::Seconds(5)).has_value());
  EXPECT_TRUE(fake().WaitForClientClosed(absl::Seconds(5)).has_value());
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(RelayManyTest, AStoppingRelayAsksItsCallersToDrainAndFinishesTheirRequests) {
  grpc::ClientContext context;
  std::unique_ptr<Stream> stream = Open(context);
  v1::RelayManyRequest start;
  *start.add_frames() = Start(1, Chat("fake-slow-10-100", true));  // about a second
  ASSERT_TRUE(stream->Write(start));
  std::map<uint64_t, Answer> answers;
  ReadUntil(*stream, answers, 1, /*until_end=*/false);
  ASSERT_TRUE(answers[1].has_head);

  ::kill(relay().process().pid(), SIGTERM);
  bool drain = false;
  ReadUntil(*stream, answers, 1, /*until_end=*/true, &drain);
  EXPECT_TRUE(drain);
  ASSERT_TRUE(answers[1].ended) << relay().process().Output();
  EXPECT_EQ(answers[1].end.code(), 0) << answers[1].end.message();
  EXPECT_TRUE(answers[1].body.find("data: [DONE]") != std::string::npos);
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
}

}  // namespace
}  // namespace byok::relay::testing
