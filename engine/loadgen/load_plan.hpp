#pragma once

#include "shared/loadtest/plan.hpp"
#include "shared/loadtest/schedule.hpp"

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

using loadtest::parseSchedule;
using loadtest::RateStep;

// What a load test does. Closed model: every connection sends its next request as soon as the
// previous answer is in (like wrk). Open model: requests are due at the scheduled rate whatever
// the answers do; a request sent late because every connection was busy is measured from when
// it was due (coordinated-omission correction, like wrk2) as well as from when it was sent.
// Replay: like the open model, but each captured request is due at its own offset / speed.
struct LoadPlan {
    enum class Model { Closed, Open, Replay };

    Model model = Model::Closed;
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;
    std::string hostHeader; // default host:port
    unsigned connections = 10;
    unsigned threads = 1;
    std::chrono::milliseconds duration{10'000}; // closed model; open: the schedule's length
    std::vector<RateStep> schedule;             // open model
    std::vector<RequestTemplate> requests{RequestTemplate{}};
    std::vector<loadtest::ScheduleEntry> replay; // replay model, in offset order
    double speed = 1.0;                          // replay model: 2 = twice as fast
    std::chrono::milliseconds timeout{10'000}; // per request
    std::uint64_t seed = 1;

    std::chrono::milliseconds length() const; // how long the test runs
    double rateAt(std::chrono::milliseconds offset) const; // requests/s due at that offset (open)
    double dueIn(std::int64_t second) const; // requests due in that second of the run (open, replay)
};

// The runnable plan for a console/`--plan` test plan: reads body files and the replay file.
// False with a message naming the file and the problem.
bool buildLoadPlan(const loadtest::LoadTestPlan& spec, LoadPlan& out, std::string& error);

} // namespace gaetwae::engine::loadgen
