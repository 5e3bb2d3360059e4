#pragma once

#include <atomic>
#include <cstdint>
#include <utility>

namespace gaetwae::engine::health {

// Live state of one backend instance shared by every worker (relaxed atomics, no locks). It
// outlives config snapshots: an instance keeps its state across reloads as long as its pool and
// id stay, so counters do not reset when a weight changes.
struct InstanceState {
    std::atomic<std::int64_t> activeRequests{0};

    bool acceptsTraffic() const { return true; }
};

// RAII count of one request in flight on an instance.
class ActiveRequestGuard {
public:
    ActiveRequestGuard() = default;
    explicit ActiveRequestGuard(InstanceState& state)
        : m_state(&state) {
        m_state->activeRequests.fetch_add(1, std::memory_order_relaxed);
    }
    ActiveRequestGuard(const ActiveRequestGuard&) = delete;
    ActiveRequestGuard& operator=(const ActiveRequestGuard&) = delete;
    ActiveRequestGuard(ActiveRequestGuard&& other) noexcept
        : m_state(std::exchange(other.m_state, nullptr)) {}
    ActiveRequestGuard& operator=(ActiveRequestGuard&& other) noexcept {
        if (this != &other) {
            release();
            m_state = std::exchange(other.m_state, nullptr);
        }
        return *this;
    }
    ~ActiveRequestGuard() { release(); }

    void release() {
        if (m_state != nullptr) {
            m_state->activeRequests.fetch_sub(1, std::memory_order_relaxed);
            m_state = nullptr;
        }
    }

private:
    InstanceState* m_state = nullptr;
};

} // namespace gaetwae::engine::health
