#pragma once

#include "shared/protocol/stats.hpp"

#include <cstdint>
#include <deque>
#include <string>

namespace gaetwae::console {

// Traffic over a window of frames, for one scope: the whole gateway (pool empty) or one pool.
struct WindowSummary {
    std::uint64_t requests = 0;
    std::uint64_t errors = 0; // 5xx answers
    double seconds = 0;
    protocol::LatencyHistogram latency;

    double errorRate() const { return requests == 0 ? 0.0 : static_cast<double>(errors) / static_cast<double>(requests); }
    double requestsPerSecond() const { return seconds <= 0 ? 0.0 : static_cast<double>(requests) / seconds; }
    double p99Ms() const { return latency.empty() ? 0.0 : static_cast<double>(latency.percentile(0.99)) / 1000.0; }
};

// Sums the frames whose interval ends in (fromMs, toMs].
WindowSummary summarize(const std::deque<protocol::StatsFrame>& frames, std::int64_t fromMs, std::int64_t toMs,
                        const std::string& pool = {});

// The watch after a change: the same length of time before and after it, so an operator sees
// at once whether error rate or p99 moved. `window` is capped by what has elapsed since.
struct ChangeComparison {
    WindowSummary before;
    WindowSummary after;
    std::int64_t windowMs = 0;

    // A change "looks worse" when the error rate grows by more than a point or p99 by more than
    // half, on enough traffic to tell (at least 20 requests after).
    bool looksWorse() const;
};
ChangeComparison compareAround(const std::deque<protocol::StatsFrame>& frames, std::int64_t changeAtMs,
                               std::int64_t windowMs, const std::string& pool = {});

} // namespace gaetwae::console
