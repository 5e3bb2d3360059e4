#pragma once

#include "engine/core/clock.hpp"
#include "shared/model/pool_config.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string_view>

namespace gaetwae::engine::health {

enum class BreakerState : std::uint8_t { Closed, Open, HalfOpen };
std::string_view toString(BreakerState state);

struct BreakerTransition {
    BreakerState from;
    BreakerState to;
    core::TimePoint openUntil{}; // when moving to Open
};

// The circuit breaker as a pure state machine: no clock, lock or randomness of its own (time and
// jitter come in as arguments).
//   Closed   -> Open      after `consecutiveFailures` failures in a row, or an error ratio over the
//                         sliding window (with a minimum number of requests)
//   Open     -> HalfOpen  once the open timeout has passed (it doubles on each repeated trip, with
//                         jitter, up to the maximum)
//   HalfOpen -> Closed    after `successThreshold` successful probes
//   HalfOpen -> Open      on any failure
// While half-open at most `halfOpenRequests` probes are admitted.
class BreakerMachine {
public:
    explicit BreakerMachine(const model::CircuitBreakerConfig& config);

    // May a request go out at `now`? Admitting a half-open probe consumes one probe slot.
    bool tryAcquire(core::TimePoint now, std::optional<BreakerTransition>& transition);
    // Would tryAcquire() admit one now (without consuming anything)?
    bool wouldAdmit(core::TimePoint now) const;
    // The outcome of an admitted request. `jitter` is uniform in [0, 1).
    void record(bool success, core::TimePoint now, double jitter, std::optional<BreakerTransition>& transition);
    // A request admitted as a probe never ran (e.g. abandoned before sending): give the slot back.
    void release();

    BreakerState state() const { return m_state; }
    core::TimePoint openUntil() const { return m_openUntil; }
    std::uint32_t trips() const { return m_trips; }
    std::uint32_t halfOpenAdmitted() const { return m_halfOpenAdmitted; }

private:
    static constexpr std::size_t kBuckets = 10;
    struct Bucket {
        std::int64_t slot = -1;
        std::uint32_t requests = 0;
        std::uint32_t failures = 0;
    };

    void trip(core::TimePoint now, double jitter, std::optional<BreakerTransition>& transition);
    void countInWindow(bool success, core::TimePoint now);
    bool ratioExceeded(core::TimePoint now) const;

    model::CircuitBreakerConfig m_config;
    BreakerState m_state = BreakerState::Closed;
    std::uint32_t m_consecutiveFailures = 0;
    std::uint32_t m_trips = 0; // consecutive trips without closing again
    std::uint32_t m_halfOpenAdmitted = 0;
    std::uint32_t m_halfOpenSuccesses = 0;
    core::TimePoint m_openUntil{};
    std::array<Bucket, kBuckets> m_buckets{};
};

// A BreakerMachine shared by all workers: a short lock around each transition, and the current
// state mirrored in an atomic so balancers read it without locking. With the breaker closed a
// success costs no lock at all.
class CircuitBreaker {
public:
    explicit CircuitBreaker(const model::CircuitBreakerConfig& config);

    void reconfigure(const model::CircuitBreakerConfig& config);
    bool enabled() const { return m_enabled.load(std::memory_order_relaxed); }
    BreakerState state() const { return m_state.load(std::memory_order_relaxed); }
    bool wouldAdmit(core::TimePoint now) const;

    bool tryAcquire(core::TimePoint now, std::optional<BreakerTransition>& transition);
    void record(bool success, core::TimePoint now, double jitter, std::optional<BreakerTransition>& transition);
    void release();

    std::uint32_t trips() const;

private:
    mutable std::mutex m_mutex;
    BreakerMachine m_machine;
    std::atomic<BreakerState> m_state{BreakerState::Closed};
    std::atomic<bool> m_enabled{true};
    std::atomic<bool> m_clean{true}; // closed with no failure streak and no ratio tracking
    bool m_tracksRatio = false;
};

} // namespace gaetwae::engine::health
