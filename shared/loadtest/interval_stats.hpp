#pragma once

#include "shared/protocol/histogram.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <map>
#include <string>

namespace gaetwae::loadtest {

// What a load generator saw in one second of a run (or in a whole run, for the total).
// Latencies are recorded at completion; `corrected` is measured from when each request was due
// (open and replay models), `uncorrected` from when it was actually sent (both equal in the
// closed model). gaetwae-load writes one per second as a JSON line; the console reads them.
struct IntervalStats {
    std::int64_t offsetMs = 0; // end of the interval, from the start of the run
    std::int64_t timeMs = 0;   // end of the interval, wall clock (from the JSON line)
    std::int64_t intervalMs = 1000;
    double targetRps = 0;      // open and replay models: requests due in this second
    std::uint64_t sent = 0;
    std::uint64_t completed = 0;
    std::array<std::uint64_t, 5> responses{};    // 1xx .. 5xx
    std::map<std::string, std::uint64_t> errors; // connect_failure, timeout, reset, protocol
    std::uint64_t bytesIn = 0;
    protocol::LatencyHistogram corrected;
    protocol::LatencyHistogram uncorrected;

    void merge(const IntervalStats& other);
    std::uint64_t failures() const; // transport errors plus 5xx answers
    bool operator==(const IntervalStats&) const = default;
};

// {"time", "interval", "target", "sent", "completed", "responses": {"1xx".."5xx"}, "errors",
//  "bytesIn", "latency" (corrected), "uncorrected"}; histograms as in the admin protocol.
// "time" is startedAtMs + offsetMs.
nlohmann::json toJson(const IntervalStats& stats, std::int64_t startedAtMs);
bool fromJson(const nlohmann::json& value, IntervalStats& out, std::string* error = nullptr);

} // namespace gaetwae::loadtest
