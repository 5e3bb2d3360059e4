#include "gui/client/change_watch.hpp"

#include <algorithm>

namespace gaetwae::console {

WindowSummary summarize(const std::deque<protocol::StatsFrame>& frames, std::int64_t fromMs, std::int64_t toMs,
                        const std::string& pool) {
    WindowSummary out;
    for (const auto& frame : frames) {
        if (frame.timeMs <= fromMs || frame.timeMs > toMs) {
            continue;
        }
        const protocol::TrafficStats* stats = &frame.total;
        if (!pool.empty()) {
            const auto it = frame.pools.find(pool);
            if (it == frame.pools.end()) {
                continue;
            }
            stats = &it->second;
        }
        out.requests += stats->requests;
        out.errors += stats->responses[4];
        out.seconds += static_cast<double>(frame.intervalMs) / 1000.0;
        out.latency.merge(stats->latency);
    }
    return out;
}

bool ChangeComparison::looksWorse() const {
    if (after.requests < 20) {
        return false;
    }
    const bool errorsUp = after.errorRate() > before.errorRate() + 0.01;
    const bool slower = before.p99Ms() > 0 && after.p99Ms() > before.p99Ms() * 1.5;
    return errorsUp || slower;
}

ChangeComparison compareAround(const std::deque<protocol::StatsFrame>& frames, std::int64_t changeAtMs,
                               std::int64_t windowMs, const std::string& pool) {
    ChangeComparison out;
    const std::int64_t latest = frames.empty() ? changeAtMs : frames.back().timeMs;
    out.windowMs = std::clamp<std::int64_t>(latest - changeAtMs, 0, windowMs);
    out.before = summarize(frames, changeAtMs - windowMs, changeAtMs, pool);
    out.after = summarize(frames, changeAtMs, changeAtMs + out.windowMs, pool);
    return out;
}

} // namespace gaetwae::console
