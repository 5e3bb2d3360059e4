#pragma once

#include "engine/core/ip_connection_counter.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <utility>

namespace gaetwae::engine::core {

// The few counters every worker touches. Relaxed atomics; the condition variable is only used
// while draining, so the hot path never locks.
struct EngineShared {
    std::atomic<std::int64_t> connections{0};
    std::atomic<std::int64_t> maxConnections{10'000};
    std::atomic<bool> draining{false};
    std::atomic<std::uint64_t> upstreamConnectionsOpened{0};
    // limits.max_connections_per_ip (0: unlimited) and the connections it refused at accept.
    std::atomic<std::uint32_t> maxConnectionsPerIp{256};
    std::atomic<std::uint64_t> connectionsRefusedPerIp{0};
    IpConnectionCounter perIp;

    std::mutex drainMutex;
    std::condition_variable drainCondition;

    void connectionOpened() { connections.fetch_add(1, std::memory_order_relaxed); }
    void connectionClosed() {
        if (connections.fetch_sub(1, std::memory_order_acq_rel) == 1 && draining.load(std::memory_order_acquire)) {
            std::lock_guard lock(drainMutex);
            drainCondition.notify_all();
        }
    }
};

// One counted client connection, claimed the moment it is accepted (so the accept loop sees it
// before deciding whether to accept another) and released when the session ends.
class ConnectionSlot {
public:
    explicit ConnectionSlot(EngineShared& shared)
        : m_shared(&shared) {
        m_shared->connectionOpened();
    }
    ConnectionSlot(ConnectionSlot&& other) noexcept
        : m_shared(std::exchange(other.m_shared, nullptr)) {}
    ConnectionSlot& operator=(ConnectionSlot&&) = delete;
    ConnectionSlot(const ConnectionSlot&) = delete;
    ConnectionSlot& operator=(const ConnectionSlot&) = delete;
    ~ConnectionSlot() {
        if (m_shared != nullptr) {
            m_shared->connectionClosed();
        }
    }

private:
    EngineShared* m_shared;
};

} // namespace gaetwae::engine::core
