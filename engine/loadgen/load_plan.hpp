#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace gaetwae::engine::loadgen {

// One kind of request in the mix; picked with probability weight / sum of weights.
struct RequestTemplate {
    std::string method = "GET";
    std::string target = "/";
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    unsigned weight = 1;
};

// A stretch of an open-model schedule: the rate goes linearly from `fromRps` to `toRps`
// (equal for a constant step).
struct RateStep {
    std::chrono::milliseconds duration{0};
    double fromRps = 0;
    double toRps = 0;
};

// What a load test does. Closed model: every connection sends its next request as soon as the
// previous answer is in (like wrk). Open model: requests are due at the scheduled rate whatever
// the answers do; a request sent late because every connection was busy is measured from when
// it was due (coordinated-omission correction, like wrk2) as well as from when it was sent.
struct LoadPlan {
    enum class Model { Closed, Open };

    Model model = Model::Closed;
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;
    std::string hostHeader; // default host:port
    unsigned connections = 10;
    unsigned threads = 1;
    std::chrono::milliseconds duration{10'000}; // closed model; open: the schedule's length
    std::vector<RateStep> schedule;             // open model
    std::vector<RequestTemplate> requests{RequestTemplate{}};
    std::chrono::milliseconds timeout{10'000}; // per request
    std::uint64_t seed = 1;

    std::chrono::milliseconds length() const; // how long the test runs
    double rateAt(std::chrono::milliseconds offset) const; // requests/s due at that offset (open)
};

// Parses "10s@200" (constant), "30s@100-1000" (ramp) steps, comma separated.
bool parseSchedule(const std::string& text, std::vector<RateStep>& out, std::string& error);

} // namespace gaetwae::engine::loadgen
