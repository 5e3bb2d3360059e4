#pragma once

#include "engine/health/outcome.hpp"
#include "shared/model/pool_config.hpp"

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

namespace gaetwae::engine::health {

// Passive outlier detection (Envoy style): consecutive failures of a kind eject an instance for a
// while. Workers count; the control thread decides (it alone knows how much of the pool is out and
// owns the timers). The counters are shared atomics, the decisions below are pure functions.
struct OutlierCounters {
    std::atomic<std::uint32_t> consecutive5xx{0};
    std::atomic<std::uint32_t> consecutiveGatewayFailures{0};
    std::atomic<std::uint32_t> consecutiveConnectFailures{0};

    // Counts an outcome; returns the reason ("5 consecutive connect failures") the moment a
    // detector reaches its threshold (exactly once per streak), otherwise nullopt.
    std::optional<std::string> record(Outcome outcome, const model::OutlierDetectionConfig& config);
    void reset();
};

// Ejection length for the n-th ejection (1-based): base * n, capped, with +-jitter. `jitter01`
// is uniform in [0, 1).
std::chrono::milliseconds ejectionTime(const model::OutlierDetectionConfig& config, std::uint32_t ejection,
                                       double jitter01);

// May one more of `poolSize` instances be ejected while `alreadyEjected` are out?
bool mayEject(std::size_t alreadyEjected, std::size_t poolSize, std::uint32_t maxEjectionPercent);

} // namespace gaetwae::engine::health
