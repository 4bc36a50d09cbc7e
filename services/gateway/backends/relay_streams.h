// Relayed requests over a few long-lived RelayMany streams to the relay, instead of a Relay call each:
// a request costs a frame on an open stream (no call of its own to set up, no per-call state held
// by gRPC for a stream's whole life), and frames that are ready together leave in one message.
//
// Per request, the gateway grants the relay credit in body bytes (kFirstCredit at the start) and
// gives back what the browser took (at least kCreditReturnBytes at a time), so a slow browser stalls
// its own request only and the gateway holds at most about kFirstCredit of it.
//
// Requests are placed over the streams in turn. A stream is retired (no new requests; it half-closes
// once its requests ended) when it is older than max_age, so that new streams spread over the relay
// replicas gRPC's round_robin knows then, and when the relay asks (`drain`: it is shutting down). A
// stream that fails ends each of its requests with its status (UNAVAILABLE when the relay went away).
//
// A request's end does not wait for its usage record to be stored (end_before_usage, unless the options
// say otherwise): the relay says when it is, and usage_fence() holds reads of the statistics until then
// (usage_fence.h).
//
// A stream sends its frames only once the relay's headers came. A relay older than RelayMany answers
// UNIMPLEMENTED without them: the stream's requests, never sent, go as Relay calls of their own, and so
// do new ones for max_age (mixed versions during a rolling upgrade keep working). A stream that fails
// otherwise before the headers came sends its requests as calls too (they were never sent either).
#ifndef BYOK_SERVICES_GATEWAY_BACKENDS_RELAY_STREAMS_H_
#define BYOK_SERVICES_GATEWAY_BACKENDS_RELAY_STREAMS_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "byok/relay/v1/relay.grpc.pb.h"
#include "common/request_context.h"
#include "services/gateway/backends/relay_transport.h"
#include "services/gateway/backends/usage_fence.h"

namespace byok::gateway {

class CallRegistry;
class RelayStream;

class RelayStreams {
 public:
  // Body bytes a request may have on its way before the browser took any.
  static constexpr uint32_t kFirstCredit = 64 * 1024;
  // Credit is given back once at least this much was taken (a 50-event stream needs none).
  static constexpr uint32_t kCreditReturnBytes = 32 * 1024;

  struct Options {
    int streams = 4;                            // streams requests are spread over
    absl::Duration max_age = absl::Seconds(60);  // a stream takes no new requests after this
    bool end_before_usage = true;                // requests end before their usage record is stored
  };

  // `stub` and `registry` outlive this; streams register there (shutdown cancels them).
  RelayStreams(byok::relay::v1::Relay::Stub* stub, CallRegistry* registry, Options options);
  ~RelayStreams();

  // Starts `request` (with `trace`'s ids, when set) on a stream; `receiver` hears its answer once
  // the transport's Read is called, and must stay until its OnEnd.
  std::shared_ptr<RelayTransport> Start(byok::relay::v1::RelayRequest request, const trace::RequestContext* trace,
                                        RelayReceiver* receiver);

  // Usage records of ended requests that the relay has not stored yet.
  UsageFence& usage_fence() { return fence_; }

 private:
  friend class RelayStream;
  // A relay answered RelayMany with UNIMPLEMENTED (older than RelayMany): requests go as Relay calls
  // of their own for max_age, then a stream is tried again.
  void RelayManyUnsupported();

  byok::relay::v1::Relay::Stub* const stub_;
  CallRegistry* const registry_;
  const Options options_;
  UsageFence fence_;
  absl::Mutex mu_;
  std::vector<std::shared_ptr<RelayStream>> slots_ ABSL_GUARDED_BY(mu_);
  size_t next_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time calls_until_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace byok::gateway

#endif  // BYOK_SERVICES_GATEWAY_BACKENDS_RELAY_STREAMS_H_
