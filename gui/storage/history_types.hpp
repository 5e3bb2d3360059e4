#pragma once

#include "shared/protocol/stats.hpp"

#include <cstdint>
#include <string>
#include <string_view>

// The values the history store returns. Times are milliseconds since the Unix epoch and, like
// StatsFrame::timeMs, mark the END of the interval a value covers.
namespace gaetwae::console {

// What a series describes. Names: "" for Total, the route or pool name, "pool/instance".
enum class Scope { Total = 0, Route = 1, Pool = 2, Instance = 3 };

std::string_view toString(Scope scope); // "total", "route", "pool", "instance"

// An instance's state as last seen in an interval (Instance scope only; defaults elsewhere).
struct InstanceState {
    std::uint32_t weight = 0;
    std::string state; // enabled, draining, disabled
    bool healthy = true;
    bool ejected = false;
    std::string breaker; // closed, open, half_open
    double slowStart = 1.0;
    double latencyEwmaMs = 0;

    bool operator==(const InstanceState&) const = default;
};

// One stored second, one minute rollup, or several of them aggregated into a step. Aggregation
// (rollups and read steps alike) sums counts and intervalMs, merges histograms, keeps the MAX
// of the activeRequests gauge and the LAST instance state. intervalMs is the time actually
// covered by data, so rate = requests * 1000 / intervalMs stays right across gaps.
struct SeriesPoint {
    std::int64_t timeMs = 0;
    std::int64_t intervalMs = 0;
    protocol::TrafficStats traffic;
    InstanceState instance;

    bool operator==(const SeriesPoint&) const = default;
};

// Engine-wide values per interval: activeConnections is a gauge (max when aggregated),
// configVersion the last one seen.
struct EnginePoint {
    std::int64_t timeMs = 0;
    std::int64_t intervalMs = 0;
    std::int64_t activeConnections = 0;
    std::uint64_t configVersion = 0;

    bool operator==(const EnginePoint&) const = default;
};

// What is stored for an engine: firstMs the oldest time (a second, or the end of the oldest minute
// rollup), lastMs the newest frame's time.
struct TimeRange {
    std::int64_t firstMs = 0;
    std::int64_t lastMs = 0;

    bool operator==(const TimeRange&) const = default;
};

enum class HistogramKind { Latency, Upstream };

} // namespace gaetwae::console
