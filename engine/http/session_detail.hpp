#pragma once

// Internals shared by the session's translation units (downstream_session.cpp, forward.cpp).
#include "engine/http/downstream_session.hpp"

#include "engine/balancing/balancer.hpp"
#include "engine/core/traffic_capture.hpp"

#include <array>
#include <charconv>
#include <chrono>
#include <optional>
#include <string_view>

namespace gaetwae::engine::http {

namespace session_detail {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::size_t kInitialBuffer = 8 * 1024;
constexpr std::size_t kStreamBuffer = 64 * 1024;
constexpr std::size_t kMinRead = 4 * 1024;
constexpr std::size_t kLingerBytes = 256 * 1024;
constexpr milliseconds kLingerTime{1000};
constexpr std::string_view kCrlf = "\r\n";
constexpr std::string_view kLastChunk = "0\r\n\r\n";
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

// A fixed-capacity gather list Asio accepts as a ConstBufferSequence: one writev per batch.
class GatherList {
public:
    using value_type = asio::const_buffer;
    using const_iterator = const asio::const_buffer*;

    void push(asio::const_buffer buffer) {
        if (buffer.size() > 0) {
            m_items[m_count++] = buffer;
        }
    }
    void push(std::string_view text) { push(asio::const_buffer(text.data(), text.size())); }
    const_iterator begin() const { return m_items.data(); }
    const_iterator end() const { return m_items.data() + m_count; }
    bool empty() const { return m_count == 0; }

private:
    std::array<asio::const_buffer, BodySink::kMaxPieces + 4> m_items{};
    std::size_t m_count = 0;
};

// The "<hex size>\r\n" line that opens a chunk of `size` bytes, written into `storage`.
inline asio::const_buffer chunkSizeLine(std::array<char, 24>& storage, std::size_t size) {
    auto [end, error] = std::to_chars(storage.data(), storage.data() + 16, size, 16);
    *end++ = '\r';
    *end++ = '\n';
    return asio::const_buffer(storage.data(), static_cast<std::size_t>(end - storage.data()));
}

// Feeds the bytes buffered in `in` to `parser` until the message is done, more bytes are needed
// or the body sink is full (its pieces are views into `in`, valid until consume()). The bytes
// parsed, or nothing when the framing is malformed.
template <class Parser>
std::optional<std::size_t> parseBuffered(Parser& parser, const ByteBuffer& in) {
    boost::beast::error_code ec;
    std::size_t parsed = 0;
    while (!parser.is_done() && parsed < in.size()) {
        const std::size_t n = parser.put(asio::const_buffer(in.data() + parsed, in.size() - parsed), ec);
        if (ec == bhttp::error::need_more) {
            break;
        }
        if (ec) {
            return std::nullopt;
        }
        parsed += n;
        if (n == 0) {
            break; // the sink is full: the caller writes (or encodes) first
        }
    }
    return parsed;
}

inline double millisecondsSince(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

inline std::uint32_t headerLimit(std::uint64_t configured) {
    return static_cast<std::uint32_t>(std::min<std::uint64_t>(configured, 0xffffffffu));
}

// Header access for hashing strategies and rate limit keys, over the parsed request.
class RequestHeaders final : public balancing::HeaderLookup {
public:
    explicit RequestHeaders(const HeaderBlock& headers)
        : m_headers(headers) {}
    std::optional<std::string_view> header(std::string_view name) const override { return m_headers.get(name); }

private:
    const HeaderBlock& m_headers;
};

} // namespace session_detail

struct DownstreamSession::Exchange {
    bool parsed = false; // the request head parsed, so method and target are meaningful
    std::string_view requestId;
    std::string_view route;
    std::string_view pool;
    std::string_view instance;
    std::string_view error;
    int status = 0;
    std::uint64_t bytesIn = 0;
    std::uint64_t bytesOut = 0;
    session_detail::Clock::time_point upstreamStart{};
    double upstreamMs = -1;
    // When a 101 was relayed: the latency histograms measure up to here, not the tunnel's life.
    session_detail::Clock::time_point switchedAt{};
    int routeIndex = -1; // into the routing's stats blocks
    int poolIndex = -1;
    int instanceIndex = -1;
    std::uint32_t retries = 0;
    // A compressed response: its algorithm (model::CompressionAlgorithm) and the backend body
    // bytes that went into the coder (bytesOut counts what came out).
    int compressedWith = -1;
    std::uint64_t compressionIn = 0;
    // X-RateLimit-* lines for every response of a rate-limited route (the session's buffer).
    std::string_view rateLimitLines;
    // Routes with auth: the consumer, WWW-Authenticate lines of a 401, identity lines for upstream.
    std::string_view consumer;
    std::string_view authLines;
    std::string_view upstreamLines;
    // Chunked bodies recorded by a traffic capture: their size is filled in once relayed.
    core::CaptureTicket capture;
};

} // namespace gaetwae::engine::http
