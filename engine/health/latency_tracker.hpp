#pragma once

#include "engine/core/clock.hpp"

#include <atomic>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdint>

namespace gaetwae::engine::health {

// Response-time averages of one instance, shared by all workers (lossy relaxed atomics: a rare
// lost update among concurrent writers is harmless for a moving average).
//  - peak EWMA (Finagle/Linkerd): jumps to any slower sample at once, decays slowly otherwise,
//    so a slowing instance is avoided immediately;
//  - plain EWMA, for dynamic_score.
// Both decay with the time since the previous sample: w = exp(-dt / tau).
class LatencyTracker {
public:
    void record(double sampleMs, core::TimePoint now, std::chrono::milliseconds tau) {
        const std::int64_t nowNs = core::toNanos(now);
        const std::int64_t lastNs = m_updatedNs.exchange(nowNs, std::memory_order_relaxed);
        const double peak = load(m_peakMs);
        const double average = load(m_averageMs);
        if (lastNs == 0) {
            store(m_peakMs, sampleMs);
            store(m_averageMs, sampleMs);
            return;
        }
        const double dt = static_cast<double>(nowNs - lastNs) / 1e6;
        const double w = std::exp(-std::max(0.0, dt) / static_cast<double>(std::max<std::int64_t>(1, tau.count())));
        store(m_peakMs, sampleMs > peak ? sampleMs : peak * w + sampleMs * (1 - w));
        store(m_averageMs, average * w + sampleMs * (1 - w));
    }

    bool hasSamples() const { return m_updatedNs.load(std::memory_order_relaxed) != 0; }
    double peakEwmaMs() const { return load(m_peakMs); }
    double averageMs() const { return load(m_averageMs); }
    core::TimePoint updatedAt() const { return core::fromNanos(m_updatedNs.load(std::memory_order_relaxed)); }

    // `value` moved toward `poolMean` the longer the instance has gone without samples, so an
    // instance that was slow once is tried again eventually instead of being starved forever.
    static double decayedToward(double value, double poolMean, core::TimePoint updatedAt, core::TimePoint now,
                                std::chrono::milliseconds tau) {
        const double idleMs = std::chrono::duration<double, std::milli>(now - updatedAt).count();
        const double keep = std::exp(-std::max(0.0, idleMs) / static_cast<double>(std::max<std::int64_t>(1, tau.count())));
        return poolMean + (value - poolMean) * keep;
    }

private:
    static double load(const std::atomic<std::uint64_t>& bits) {
        return std::bit_cast<double>(bits.load(std::memory_order_relaxed));
    }
    static void store(std::atomic<std::uint64_t>& bits, double value) {
        bits.store(std::bit_cast<std::uint64_t>(value), std::memory_order_relaxed);
    }

    std::atomic<std::uint64_t> m_peakMs{0};
    std::atomic<std::uint64_t> m_averageMs{0};
    std::atomic<std::int64_t> m_updatedNs{0};
};

} // namespace gaetwae::engine::health
