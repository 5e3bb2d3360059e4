#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include <time.h>

namespace gaetwae::engine::core {

using SteadyClock = std::chrono::steady_clock;
using TimePoint = SteadyClock::time_point;
using Nanoseconds = std::chrono::nanoseconds;

// Monotonic time, injected wherever a decision depends on time (balancing, health, breakers,
// retries) so tests drive it by hand instead of sleeping.
class Clock {
public:
    virtual ~Clock() = default;
    virtual TimePoint now() const = 0;
};

// The coarse monotonic clock: a few milliseconds of resolution, same epoch as steady_clock, and
// no TSC read. Every decision it serves (breaker timeouts, slow start, probes, ejections) is
// measured in milliseconds or more; latency samples use steady_clock directly.
class SystemClock final : public Clock {
public:
    TimePoint now() const override {
        timespec ts{};
        ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
        return TimePoint(std::chrono::duration_cast<SteadyClock::duration>(std::chrono::seconds(ts.tv_sec) +
                                                                          std::chrono::nanoseconds(ts.tv_nsec)));
    }
};

// A clock that only moves when told to. Thread-safe.
class ManualClock final : public Clock {
public:
    explicit ManualClock(TimePoint start = TimePoint(std::chrono::hours(1)))
        : m_ns(start.time_since_epoch().count()) {}

    TimePoint now() const override { return TimePoint(Nanoseconds(m_ns.load(std::memory_order_acquire))); }
    void advance(Nanoseconds by) { m_ns.fetch_add(by.count(), std::memory_order_acq_rel); }
    void set(TimePoint t) { m_ns.store(t.time_since_epoch().count(), std::memory_order_release); }

private:
    std::atomic<std::int64_t> m_ns;
};

// Time points as plain integers, for atomics shared between workers.
inline std::int64_t toNanos(TimePoint t) {
    return t.time_since_epoch().count();
}
inline TimePoint fromNanos(std::int64_t ns) {
    return TimePoint(Nanoseconds(ns));
}

} // namespace gaetwae::engine::core
