#pragma once

#include "shared/protocol/histogram.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace gaetwae::protocol {

// What happened during one interval (one second) for one route, pool or instance, or the whole
// gateway. Counts are deltas over the interval; gauges are values at its end.
struct TrafficStats {
    std::uint64_t requests = 0;
    std::array<std::uint64_t, 5> responses{}; // by class: 1xx .. 5xx
    std::map<std::string, std::uint64_t> errors; // gateway answers and upstream failures, by code
    std::uint64_t retries = 0;
    std::uint64_t bytesIn = 0;  // request bodies
    std::uint64_t bytesOut = 0; // response bodies
    std::int64_t activeRequests = 0; // gauge
    LatencyHistogram latency;   // whole request, at the gateway
    LatencyHistogram upstream;  // the part spent waiting on and reading from backends

    void merge(const TrafficStats& other); // adds counts; gauges add too (sum over parts)
    bool operator==(const TrafficStats&) const = default;
};

struct InstanceStats : TrafficStats {
    std::string pool;
    std::string id;
    std::uint32_t weight = 0;
    std::string state;   // enabled, draining, disabled
    bool healthy = true;
    bool ejected = false;
    std::string breaker; // closed, open, half_open
    double slowStart = 1.0;
    double latencyEwmaMs = 0;

    bool operator==(const InstanceStats&) const = default;
};

struct StatsFrame {
    std::int64_t timeMs = 0;     // end of the interval, milliseconds since the Unix epoch
    std::int64_t intervalMs = 1000;
    std::uint64_t configVersion = 0;
    std::int64_t activeConnections = 0; // gauge
    TrafficStats total;
    std::map<std::string, TrafficStats> routes;
    std::map<std::string, TrafficStats> pools;
    std::vector<InstanceStats> instances;

    bool operator==(const StatsFrame&) const = default;
};

nlohmann::json toJson(const TrafficStats& stats);
nlohmann::json toJson(const StatsFrame& frame);
bool fromJson(const nlohmann::json& value, TrafficStats& out, std::string* error = nullptr);
bool fromJson(const nlohmann::json& value, StatsFrame& out, std::string* error = nullptr);

} // namespace gaetwae::protocol
