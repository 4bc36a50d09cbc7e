// A Beast body type that keeps nothing: it counts bytes and SSE events and notes when the first body
// byte arrived, so a client can hold thousands of streams without buffering them.
#pragma once

#include <cstdint>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/optional.hpp>

namespace byok::bench {

// What a CountingBody saw of one response body.
struct BodyCounts {
  std::uint64_t bytes = 0;
  int events = 0;              // SSE events (blank-line separated)
  std::int64_t first_ns = 0;   // NowNs() when the first body byte was parsed; 0 before
  char last = 0;               // last byte seen, for a "\n\n" split across two reads

  // Counts the bytes of one piece.
  void Feed(const char* data, std::size_t size);
};

// Beast Body whose value is a BodyCounts (reading only).
struct CountingBody {
  using value_type = BodyCounts;

  // Parser-side body reader.
  class reader {
   public:
    template <bool isRequest, class Fields>
    reader(boost::beast::http::header<isRequest, Fields>&, value_type& body) : body_(body) {}

    void init(const boost::optional<std::uint64_t>&, boost::beast::error_code& ec) { ec = {}; }

    template <class ConstBufferSequence>
    std::size_t put(const ConstBufferSequence& buffers, boost::beast::error_code& ec) {
      ec = {};
      std::size_t total = 0;
      for (auto it = boost::asio::buffer_sequence_begin(buffers);
           it != boost::asio::buffer_sequence_end(buffers); ++it) {
        boost::asio::const_buffer b = *it;
        body_.Feed(static_cast<const char*>(b.data()), b.size());
        total += b.size();
      }
      return total;
    }

    void finish(boost::beast::error_code& ec) { ec = {}; }

   private:
    value_type& body_;
  };
};

}  // namespace byok::bench
