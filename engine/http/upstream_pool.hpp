#pragma once

#include "engine/http/byte_buffer.hpp"
#include "engine/net/asio.hpp"
#include "engine/net/stream.hpp"
#include "engine/net/tls_context.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

namespace gaetwae::engine::http {

// A keep-alive connection to one backend instance, owned by one worker.
struct UpstreamConnection {
    explicit UpstreamConnection(asio::io_context& io)
        : socket(io)
        , buffer(kInitialBuffer) {}

    static constexpr std::size_t kInitialBuffer = 16 * 1024;

    // The pool's TLS context this connection was made with (nullptr: plain); a connection is
    // reused only for the same context. Declared first: it outlives the stream.
    std::shared_ptr<net::TlsClientContext> tls;
    net::Stream socket;
    ByteBuffer buffer; // response bytes; empty whenever the connection is idle
    tcp::endpoint endpoint;
    std::uint64_t requests = 0;
    std::chrono::steady_clock::time_point idleSince;
    std::uint64_t idleGeneration = 0; // bumped when taken, so a stale close-watch is ignored
    bool watched = false;             // a close-watch read is pending
    char watchByte = 0;               // target of the close-watch read
};
using UpstreamConnectionPtr = std::shared_ptr<UpstreamConnection>;

struct EndpointHash {
    std::size_t operator()(const tcp::endpoint& endpoint) const noexcept;
};

// Per-worker idle connections by backend endpoint, most recently used first (older ones then
// age out). Worker thread only.
//
// Dead connections: a connection idle longer than a short grace period is watched (a pending
// read), so when a backend closes it, it leaves the pool at once instead of failing a request.
// Busy connections are reused long before the grace period ends and are not watched at all:
// watching costs a syscall per request. For those, callers that cannot safely repeat a request
// ask takeIdle() to verify the connection first (one MSG_PEEK); idempotent requests rely on the
// retry on a fresh connection instead.
class UpstreamPool {
public:
    explicit UpstreamPool(asio::io_context& io);
    ~UpstreamPool();
    UpstreamPool(const UpstreamPool&) = delete;
    UpstreamPool& operator=(const UpstreamPool&) = delete;

    // Limits from the current config; applied to connections parked from now on.
    void configure(std::uint32_t maxIdlePerEndpoint, std::chrono::milliseconds idleTimeout);

    // The most recently parked connection to `endpoint`, or nullptr. With `verify`, a connection
    // that was not being watched is checked for a close first (and dropped if closed).
    UpstreamConnectionPtr takeIdle(const tcp::endpoint& endpoint, bool verify);
    // Parks a connection whose last response completed cleanly; closes it when over the cap.
    void release(UpstreamConnectionPtr connection);
    void closeAll();

    std::size_t idleCount() const;
    std::uint64_t connectionsOpened() const { return m_opened; }
    void countOpened() {
        ++m_opened;
        if (m_openedTotal != nullptr) {
            m_openedTotal->fetch_add(1, std::memory_order_relaxed);
        }
    }
    void countInto(std::atomic<std::uint64_t>* total) { m_openedTotal = total; }

private:
    void watch(const UpstreamConnectionPtr& connection);
    void drop(const UpstreamConnection* connection);
    void scheduleSweep();
    void sweep();

    asio::io_context& m_io;
    std::unordered_map<tcp::endpoint, std::vector<UpstreamConnectionPtr>, EndpointHash> m_idle;
    std::uint32_t m_maxIdlePerEndpoint = 32;
    std::chrono::milliseconds m_idleTimeout{30'000};
    SteadyTimer m_sweepTimer;
    bool m_sweepScheduled = false;
    std::uint64_t m_opened = 0;
    std::atomic<std::uint64_t>* m_openedTotal = nullptr;
    std::shared_ptr<UpstreamPool*> m_alive;
};

} // namespace gaetwae::engine::http
