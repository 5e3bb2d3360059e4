#include "engine/loadgen/load_plan.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace gaetwae::engine::loadgen {

std::chrono::milliseconds LoadPlan::length() const {
    switch (model) {
    case Model::Closed:
        return duration;
    case Model::Open:
        return schedule.empty() ? duration : loadtest::scheduleLength(schedule);
    case Model::Replay:
        if (replay.empty()) {
            return std::chrono::milliseconds{0};
        }
        // Up to and including the millisecond the last request is due in.
        return std::chrono::milliseconds(
            static_cast<std::int64_t>(static_cast<double>(replay.back().offsetUs) / speed / 1000.0) + 1);
    }
    return duration;
}

double LoadPlan::rateAt(std::chrono::milliseconds offset) const {
    return loadtest::scheduleRateAt(schedule, offset);
}

double LoadPlan::dueIn(std::int64_t second) const {
    if (model == Model::Open) {
        return rateAt(std::chrono::milliseconds(second * 1000 + 500));
    }
    if (model == Model::Replay) {
        // Entries are in offset order: those due in [second, second + 1) at this speed.
        const double from = static_cast<double>(second) * 1e6 * speed;
        const double to = from + 1e6 * speed;
        const auto below = [](const loadtest::ScheduleEntry& e, double offset) { return static_cast<double>(e.offsetUs) < offset; };
        const auto first = std::lower_bound(replay.begin(), replay.end(), from, below);
        const auto last = std::lower_bound(first, replay.end(), to, below);
        return static_cast<double>(last - first);
    }
    return 0.0;
}

namespace {

bool readFile(const std::string& path, std::string& out, std::string& error) {
    std::ifstream file(path, std::ios::binary);
    if (!file) {
        error = "cannot read '" + path + "' (" + std::strerror(errno) + ")";
        return false;
    }
    std::ostringstream bytes;
    bytes << file.rdbuf();
    out = bytes.str();
    return true;
}

} // namespace

bool buildLoadPlan(const loadtest::LoadTestPlan& spec, LoadPlan& out, std::string& error) {
    const auto target = loadtest::parseTargetUrl(spec.target);
    if (!target) {
        error = "target: expected http://HOST:PORT/PATH, got '" + spec.target + "'";
        return false;
    }
    out = LoadPlan{};
    out.host = target->host;
    out.port = target->port;
    out.connections = spec.connections;
    out.threads = spec.threads;
    out.duration = spec.duration;
    out.timeout = spec.timeout;
    out.schedule = spec.schedule;
    out.speed = spec.speed;
    switch (spec.model) {
    case loadtest::LoadTestPlan::Model::Closed:
        out.model = LoadPlan::Model::Closed;
        break;
    case loadtest::LoadTestPlan::Model::Open:
        out.model = LoadPlan::Model::Open;
        break;
    case loadtest::LoadTestPlan::Model::Replay: {
        out.model = LoadPlan::Model::Replay;
        std::ifstream file(spec.replayFile);
        if (!file) {
            error = "replayFile: cannot read '" + spec.replayFile + "' (" + std::strerror(errno) + ")";
            return false;
        }
        std::string problem;
        if (!loadtest::readSchedule(file, out.replay, problem)) {
            error = "replayFile: " + spec.replayFile + ": " + problem;
            return false;
        }
        if (out.replay.empty()) {
            error = "replayFile: " + spec.replayFile + " holds no request";
            return false;
        }
        // The replay starts with the first captured request, not with the capture's quiet start.
        const auto first = out.replay.front().offsetUs;
        for (auto& entry : out.replay) {
            entry.offsetUs -= first;
        }
        break;
    }
    }
    out.requests.clear();
    for (std::size_t i = 0; i < spec.requests.size(); ++i) {
        const auto& r = spec.requests[i];
        RequestTemplate request;
        request.method = r.method;
        request.target = r.path.empty() ? target->path : r.path;
        request.headers = r.headers;
        request.weight = r.weight;
        if (!r.bodyFile.empty() && !readFile(r.bodyFile, request.body, error)) {
            error = "requests[" + std::to_string(i) + "].bodyFile: " + error;
            return false;
        }
        out.requests.push_back(std::move(request));
    }
    if (out.requests.empty()) {
        RequestTemplate request;
        request.target = target->path;
        out.requests.push_back(std::move(request));
    }
    return true;
}

} // namespace gaetwae::engine::loadgen
