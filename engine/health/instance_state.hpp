#pragma once

#include "engine/core/clock.hpp"
#include "engine/health/circuit_breaker.hpp"
#include "engine/health/latency_tracker.hpp"
#include "engine/health/outlier_detector.hpp"
#include "shared/model/pool_config.hpp"

#include <atomic>
#include <cstdint>
#include <string>
#include <utility>

namespace gaetwae::engine::health {

// Live state of one backend instance shared by every worker and the control thread (relaxed
// atomics; only breaker transitions take a short lock). It outlives config snapshots: an instance
// keeps its state across reloads as long as its pool and id stay.
struct InstanceState {
    InstanceState(std::string poolName, std::string instanceId, core::TimePoint now)
        : pool(std::move(poolName))
        , id(std::move(instanceId))
        , breaker(model::CircuitBreakerConfig{})
        , availableSinceNs(core::toNanos(now)) {}

    const std::string pool;
    const std::string id;

    std::atomic<model::InstanceState> adminState{model::InstanceState::Enabled};
    std::atomic<bool> healthy{true};       // active health checks (control thread)
    std::atomic<bool> ejected{false};      // passive outlier detection (control thread)
    std::atomic<std::uint32_t> ejections{0};
    OutlierCounters outlier;               // workers
    CircuitBreaker breaker;
    LatencyTracker latency;
    std::atomic<std::int64_t> availableSinceNs; // slow start begins here (start, rejoin)
    std::atomic<std::int64_t> activeRequests{0};
    std::atomic<std::int64_t> lastPickedNs{0};

    // Counters since start, for stats.
    std::atomic<std::uint64_t> requests{0};
    std::atomic<std::uint64_t> failures{0};

    // Up and allowed to take traffic from the balancer's point of view (breakers aside).
    bool up() const { return healthy.load(std::memory_order_relaxed) && !ejected.load(std::memory_order_relaxed); }
    bool enabled() const { return adminState.load(std::memory_order_relaxed) == model::InstanceState::Enabled; }
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
