#pragma once

#include "shared/model/diagnostics.hpp"
#include "shared/model/units.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace gaetwae::loadtest {

// A stretch of an open-model schedule: the rate goes linearly from `fromRps` to `toRps`
// (equal for a constant step).
struct RateStep {
    model::Duration duration{0};
    double fromRps = 0;
    double toRps = 0;

    bool operator==(const RateStep&) const = default;
};

// Parses "10s@200" (constant) and "30s@100-1000" (ramp) steps, comma separated; the error
// names the step and what is wrong with it.
bool parseSchedule(const std::string& text, std::vector<RateStep>& out, std::string& error);
std::string formatSchedule(const std::vector<RateStep>& steps);
model::Duration scheduleLength(const std::vector<RateStep>& steps);
// Requests/s due at `offset` into the schedule (linear within a ramp); 0 past its end.
double scheduleRateAt(const std::vector<RateStep>& steps, model::Duration offset);

// One kind of request in the mix, picked with probability weight / sum of weights. An empty
// path means the target URL's path.
struct RequestSpec {
    std::string method = "GET";
    std::string path;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string bodyFile;
    unsigned weight = 1;

    bool operator==(const RequestSpec&) const = default;
};

// What a run must achieve to pass; unset thresholds are not judged.
struct Slo {
    std::optional<double> p50Ms;
    std::optional<double> p99Ms;
    std::optional<double> p999Ms;
    std::optional<double> maxErrorRate; // fraction of requests, 0..1
    std::optional<double> minRps;       // achieved throughput over the run

    bool operator==(const Slo&) const = default;
    bool empty() const { return !p50Ms && !p99Ms && !p999Ms && !maxErrorRate && !minRps; }
};

// A load test as the console defines it and `gaetwae-load --plan FILE` runs it. The JSON form
// is canonical (sorted keys, every field written), so its hash identifies the plan:
//   {"name": "orders at 500/s", "target": "http://127.0.0.1:8080/api/orders", "route": "orders",
//    "model": "open", "connections": 32, "threads": 2, "schedule": "10s@100,30s@100-1000",
//    "timeout": "10s", "requests": [{"method": "GET", "path": "/api/orders", "weight": 3}, ...],
//    "slo": {"p99Ms": 50, "maxErrorRate": 0.01}}
// Closed model: `connections` send as fast as answers come, for `duration`. Open: requests due
// at the `schedule`'s rate. Replay: the captured schedule in `replayFile`, `speed` times faster.
struct LoadTestPlan {
    enum class Model { Closed, Open, Replay };

    std::string name;
    std::string target; // http://HOST:PORT[/PATH]
    std::string route;  // the gateway route it exercises (for the console's views; optional)
    Model model = Model::Closed;
    unsigned connections = 10;
    unsigned threads = 1;
    model::Duration duration{10'000};
    std::vector<RateStep> schedule;
    std::string replayFile;
    double speed = 1.0;
    model::Duration timeout{10'000};
    std::vector<RequestSpec> requests;
    Slo slo;

    bool operator==(const LoadTestPlan&) const = default;
    model::Duration length() const; // closed: duration; open: the schedule; replay: unknown (0)
    double rateAt(model::Duration offset) const; // open model: requests/s due at that offset
};

// "http://127.0.0.1:8080/api" -> host "127.0.0.1", port 8080, path "/api" ("localhost" is
// 127.0.0.1; no path is "/").
struct TargetUrl {
    std::string host;
    std::uint16_t port = 80;
    std::string path = "/";
};
std::optional<TargetUrl> parseTargetUrl(const std::string& url);

nlohmann::json toJson(const LoadTestPlan& plan);
// Decodes and validates the plan's shape and values (negative or zero rates, bad URL, ...);
// every problem is reported with its JSON pointer.
bool fromJson(const nlohmann::json& value, LoadTestPlan& out, model::Diagnostics& diagnostics);
// What only the file system can tell: the body files and replay file exist and can be read.
bool checkFiles(const LoadTestPlan& plan, model::Diagnostics& diagnostics);
// All diagnostics on one line each: "requests[0].bodyFile: cannot read /tmp/x (No such file...)".
std::string describe(const model::Diagnostics& diagnostics);

} // namespace gaetwae::loadtest
