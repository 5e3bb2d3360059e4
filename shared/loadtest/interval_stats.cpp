#include "shared/loadtest/interval_stats.hpp"

namespace gaetwae::loadtest {

void IntervalStats::merge(const IntervalStats& other) {
    sent += other.sent;
    completed += other.completed;
    for (std::size_t i = 0; i < responses.size(); ++i) {
        responses[i] += other.responses[i];
    }
    for (const auto& [cause, count] : other.errors) {
        errors[cause] += count;
    }
    bytesIn += other.bytesIn;
    corrected.merge(other.corrected);
    uncorrected.merge(other.uncorrected);
}

std::uint64_t IntervalStats::failures() const {
    std::uint64_t out = responses[4];
    for (const auto& [cause, count] : errors) {
        out += count;
    }
    return out;
}

nlohmann::json toJson(const IntervalStats& stats, std::int64_t startedAtMs) {
    nlohmann::json out = nlohmann::json::object();
    out["time"] = startedAtMs + stats.offsetMs;
    out["interval"] = stats.intervalMs;
    out["target"] = stats.targetRps;
    out["sent"] = stats.sent;
    out["completed"] = stats.completed;
    nlohmann::json classes = nlohmann::json::object();
    for (std::size_t i = 0; i < stats.responses.size(); ++i) {
        classes[std::to_string(i + 1) + "xx"] = stats.responses[i];
    }
    out["responses"] = std::move(classes);
    out["errors"] = stats.errors;
    out["bytesIn"] = stats.bytesIn;
    out["latency"] = stats.corrected.toJson();
    out["uncorrected"] = stats.uncorrected.toJson();
    return out;
}

bool fromJson(const nlohmann::json& value, IntervalStats& out, std::string* error) {
    const auto fail = [&](const std::string& message) {
        if (error != nullptr) {
            *error = message;
        }
        return false;
    };
    if (!value.is_object()) {
        return fail("expected an object");
    }
    try {
        IntervalStats s;
        s.timeMs = value.at("time").get<std::int64_t>();
        s.intervalMs = value.value("interval", std::int64_t{1000});
        s.targetRps = value.value("target", 0.0);
        s.sent = value.value("sent", std::uint64_t{0});
        s.completed = value.value("completed", std::uint64_t{0});
        if (const auto it = value.find("responses"); it != value.end()) {
            for (std::size_t i = 0; i < s.responses.size(); ++i) {
                s.responses[i] = it->value(std::to_string(i + 1) + "xx", std::uint64_t{0});
            }
        }
        if (const auto it = value.find("errors"); it != value.end()) {
            s.errors = it->get<std::map<std::string, std::uint64_t>>();
        }
        s.bytesIn = value.value("bytesIn", std::uint64_t{0});
        std::string problem;
        if (!protocol::LatencyHistogram::fromJson(value.at("latency"), s.corrected, &problem) ||
            !protocol::LatencyHistogram::fromJson(value.at("uncorrected"), s.uncorrected, &problem)) {
            return fail("latency: " + problem);
        }
        out = std::move(s);
        return true;
    } catch (const nlohmann::json::exception& e) {
        return fail(e.what());
    }
}

} // namespace gaetwae::loadtest
