#pragma once

#include "engine/metrics/stats_block.hpp"
#include "engine/net/asio.hpp"
#include "shared/protocol/stats.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace gaetwae::engine::metrics {

// Totals since start, summed over workers: what one collection returns.
struct Cumulative {
    protocol::TrafficStats total;
    std::map<std::string, protocol::TrafficStats> routes;
    std::map<std::string, protocol::TrafficStats> pools;
    std::map<std::pair<std::string, std::string>, protocol::TrafficStats> instances;
    std::map<std::pair<std::string, std::string>, std::unordered_map<std::uint32_t, std::uint64_t>> methodStatus;
    std::map<std::string, CompressionTotals> compression; // by route, for /metrics only
};

// `now - before` for counts and histograms (a counter that went backwards, because its route was
// removed and added again, counts from zero); gauges are taken from `now`.
protocol::TrafficStats delta(const protocol::TrafficStats& now, const protocol::TrafficStats* before);

// Once a second on the control thread: collects cumulative totals, turns them into a one-second
// StatsFrame (the `decorate` callback adds gauges and live instance state), keeps the last
// `keep` of them for stats.history and hands each to subscribers.
class StatsAggregator {
public:
    using Collect = std::function<Cumulative()>;
    using Decorate = std::function<void(protocol::StatsFrame&)>;
    using Listener = std::function<void(const protocol::StatsFrame&)>;

    StatsAggregator(asio::io_context& control, std::chrono::milliseconds keep = std::chrono::minutes(15));
    ~StatsAggregator();

    void start(Collect collect, Decorate decorate);
    void stop();

    // Thread-safe.
    std::vector<protocol::StatsFrame> history(std::int64_t sinceMs) const;
    Cumulative cumulative() const; // as of the latest frame
    std::uint64_t subscribe(Listener listener);
    void unsubscribe(std::uint64_t id);

    // One collection right now (the timer does this every second).
    void tick();

private:
    void schedule();

    asio::io_context& m_control;
    std::chrono::milliseconds m_keep;
    SteadyTimer m_timer;
    Collect m_collect;
    Decorate m_decorate;
    bool m_running = false;
    std::chrono::steady_clock::time_point m_last;

    mutable std::mutex m_mutex;
    Cumulative m_previous;
    std::deque<protocol::StatsFrame> m_frames;
    mutable std::shared_mutex m_listenersMutex; // shared while calling, exclusive to change
    std::map<std::uint64_t, Listener> m_listeners;
    std::uint64_t m_nextListener = 1;
};

} // namespace gaetwae::engine::metrics
