#include "shared/loadtest/plan.hpp"

#include "shared/model/http_token.hpp"
#include "shared/model/json_reader.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

namespace gaetwae::loadtest {

namespace {

constexpr std::array<std::pair<std::string_view, LoadTestPlan::Model>, 3> kModels{{
    {"closed", LoadTestPlan::Model::Closed},
    {"open", LoadTestPlan::Model::Open},
    {"replay", LoadTestPlan::Model::Replay},
}};

std::string_view modelName(LoadTestPlan::Model m) {
    for (const auto& [name, value] : kModels) {
        if (value == m) {
            return name;
        }
    }
    return "closed";
}

// A rate: a plain non-negative decimal number of requests per second.
std::optional<double> parseRate(std::string_view text) {
    double out = 0;
    const auto* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, out);
    if (ec != std::errc() || ptr != end || !std::isfinite(out)) {
        return std::nullopt;
    }
    return out;
}

std::string formatRate(double rps) {
    std::ostringstream out;
    out << rps;
    return out.str();
}

} // namespace

bool parseSchedule(const std::string& text, std::vector<RateStep>& out, std::string& error) {
    out.clear();
    std::string_view rest(text);
    while (!rest.empty()) {
        const auto comma = rest.find(',');
        std::string_view item = rest.substr(0, comma);
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
        while (!item.empty() && item.front() == ' ') {
            item.remove_prefix(1);
        }
        const std::string quoted = "'" + std::string(item) + "'";
        const auto at = item.find('@');
        if (at == std::string_view::npos) {
            error = quoted + ": expected DURATION@RATE or DURATION@FROM-TO, e.g. 10s@200 or 30s@100-1000";
            return false;
        }
        const auto duration = model::parseDuration(item.substr(0, at));
        if (!duration || duration->count() <= 0) {
            error = quoted + ": the duration must be positive, such as 500ms, 10s or 2m";
            return false;
        }
        RateStep step;
        step.duration = *duration;
        const std::string_view rates = item.substr(at + 1);
        if (!rates.empty() && rates.front() == '-') {
            error = quoted + ": a rate cannot be negative";
            return false;
        }
        const auto dash = rates.find('-', 1);
        const auto from = parseRate(rates.substr(0, dash));
        const auto to = parseRate(dash == std::string_view::npos ? rates.substr(0, dash) : rates.substr(dash + 1));
        if (!from || !to) {
            error = quoted + ": the rate must be a number of requests per second, or FROM-TO for a ramp";
            return false;
        }
        if (*from < 0 || *to < 0) {
            error = quoted + ": a rate cannot be negative";
            return false;
        }
        if (*from > 1e7 || *to > 1e7) {
            error = quoted + ": at most 10000000 requests per second";
            return false;
        }
        step.fromRps = *from;
        step.toRps = *to;
        out.push_back(step);
    }
    if (out.empty()) {
        error = "the schedule is empty";
        return false;
    }
    if (std::all_of(out.begin(), out.end(), [](const RateStep& s) { return s.fromRps == 0 && s.toRps == 0; })) {
        error = "every step has a rate of 0: nothing would be sent";
        return false;
    }
    return true;
}

std::string formatSchedule(const std::vector<RateStep>& steps) {
    std::string out;
    for (const auto& step : steps) {
        out += out.empty() ? "" : ",";
        out += model::formatDuration(step.duration) + "@" + formatRate(step.fromRps);
        if (step.toRps != step.fromRps) {
            out += "-" + formatRate(step.toRps);
        }
    }
    return out;
}

model::Duration scheduleLength(const std::vector<RateStep>& steps) {
    model::Duration total{0};
    for (const auto& step : steps) {
        total += step.duration;
    }
    return total;
}

double scheduleRateAt(const std::vector<RateStep>& steps, model::Duration offset) {
    for (const auto& step : steps) {
        if (offset < step.duration) {
            const double share = step.duration.count() == 0
                                     ? 0.0
                                     : static_cast<double>(offset.count()) / static_cast<double>(step.duration.count());
            return step.fromRps + (step.toRps - step.fromRps) * share;
        }
        offset -= step.duration;
    }
    return 0.0;
}

model::Duration LoadTestPlan::length() const {
    switch (model) {
    case Model::Closed:
        return duration;
    case Model::Open:
        return scheduleLength(schedule);
    case Model::Replay:
        break;
    }
    return model::Duration{0};
}

double LoadTestPlan::rateAt(model::Duration offset) const {
    return scheduleRateAt(schedule, offset);
}

std::optional<TargetUrl> parseTargetUrl(const std::string& url) {
    constexpr std::string_view prefix = "http://";
    if (url.rfind(prefix, 0) != 0) {
        return std::nullopt;
    }
    const std::string rest = url.substr(prefix.size());
    const auto slash = rest.find('/');
    const std::string authority = rest.substr(0, slash);
    TargetUrl out;
    out.path = slash == std::string::npos ? "/" : rest.substr(slash);
    const auto colon = authority.rfind(':');
    out.host = authority.substr(0, colon);
    if (colon != std::string::npos) {
        const std::string port = authority.substr(colon + 1);
        unsigned value = 0;
        const auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
        if (ec != std::errc() || ptr != port.data() + port.size() || value == 0 || value > 65535) {
            return std::nullopt;
        }
        out.port = static_cast<std::uint16_t>(value);
    }
    if (out.host == "localhost") {
        out.host = "127.0.0.1";
    }
    if (out.host.empty() || out.path.find_first_of(" \r\n") != std::string::npos) {
        return std::nullopt;
    }
    return out;
}

nlohmann::json toJson(const LoadTestPlan& plan) {
    nlohmann::json out = nlohmann::json::object();
    out["name"] = plan.name;
    out["target"] = plan.target;
    out["route"] = plan.route;
    out["model"] = std::string(modelName(plan.model));
    out["connections"] = plan.connections;
    out["threads"] = plan.threads;
    out["timeout"] = model::formatDuration(plan.timeout);
    switch (plan.model) {
    case LoadTestPlan::Model::Closed:
        out["duration"] = model::formatDuration(plan.duration);
        break;
    case LoadTestPlan::Model::Open:
        out["schedule"] = formatSchedule(plan.schedule);
        break;
    case LoadTestPlan::Model::Replay:
        out["replayFile"] = plan.replayFile;
        out["speed"] = plan.speed;
        break;
    }
    nlohmann::json requests = nlohmann::json::array();
    for (const auto& request : plan.requests) {
        nlohmann::json r = nlohmann::json::object();
        r["method"] = request.method;
        r["path"] = request.path;
        r["weight"] = request.weight;
        if (!request.headers.empty()) {
            nlohmann::json headers = nlohmann::json::object();
            for (const auto& [name, value] : request.headers) {
                headers[name] = value;
            }
            r["headers"] = std::move(headers);
        }
        if (!request.bodyFile.empty()) {
            r["bodyFile"] = request.bodyFile;
        }
        requests.push_back(std::move(r));
    }
    out["requests"] = std::move(requests);
    nlohmann::json slo = nlohmann::json::object();
    const auto put = [&](const char* key, const std::optional<double>& value) {
        if (value) {
            slo[key] = *value;
        }
    };
    put("p50Ms", plan.slo.p50Ms);
    put("p99Ms", plan.slo.p99Ms);
    put("p999Ms", plan.slo.p999Ms);
    put("maxErrorRate", plan.slo.maxErrorRate);
    put("minRps", plan.slo.minRps);
    out["slo"] = std::move(slo);
    return out;
}

bool fromJson(const nlohmann::json& value, LoadTestPlan& out, model::Diagnostics& diagnostics) {
    const auto before = diagnostics.size();
    model::ObjectReader reader(value, "", diagnostics);
    if (!reader.valid()) {
        return false;
    }
    reader.readString("name", out.name);
    if (reader.readString("target", out.target, true) && !parseTargetUrl(out.target)) {
        diagnostics.error("/target", "expected http://HOST:PORT/PATH, got '" + out.target + "'");
    }
    reader.readString("route", out.route);
    reader.readEnum<LoadTestPlan::Model>("model", out.model, kModels);
    reader.readUnsigned("connections", out.connections, 1u, 100'000u);
    reader.readUnsigned("threads", out.threads, 1u, 64u);
    reader.readDuration("timeout", out.timeout, model::Duration{1}, model::Duration{600'000});
    reader.readDuration("duration", out.duration, model::Duration{1}, model::Duration{86'400'000});
    std::string schedule;
    if (reader.readString("schedule", schedule)) {
        std::string error;
        if (!parseSchedule(schedule, out.schedule, error)) {
            diagnostics.error("/schedule", error);
        }
    } else if (out.model == LoadTestPlan::Model::Open) {
        diagnostics.error("/schedule", "the open model needs a schedule, e.g. 30s@200 or 10s@100,30s@100-1000");
    }
    if (!reader.readString("replayFile", out.replayFile) && out.model == LoadTestPlan::Model::Replay) {
        diagnostics.error("/replayFile", "the replay model needs a captured schedule file");
    }
    reader.readDouble("speed", out.speed, 0.001, 1000.0);
    reader.readList("requests", out.requests, [&](const nlohmann::json& item, const std::string& pointer) {
        RequestSpec request;
        model::ObjectReader r(item, pointer, diagnostics);
        if (!r.valid()) {
            return request;
        }
        if (r.readString("method", request.method) && !model::isToken(request.method)) {
            diagnostics.error(r.pointerOf("method"), "not an HTTP method: '" + request.method + "'");
        }
        if (r.readString("path", request.path) && !request.path.empty() &&
            (request.path[0] != '/' || request.path.find_first_of(" \r\n") != std::string::npos)) {
            diagnostics.error(r.pointerOf("path"), "expected a path starting with '/', got '" + request.path + "'");
        }
        if (const auto* headers = r.member("headers")) {
            if (!headers->is_object()) {
                diagnostics.error(r.pointerOf("headers"), "expected an object of header names to values");
            } else {
                for (const auto& [name, v] : headers->items()) {
                    if (!model::isToken(name) || !v.is_string() ||
                        v.get<std::string>().find_first_of("\r\n") != std::string::npos) {
                        diagnostics.error(model::childPointer(r.pointerOf("headers"), name),
                                          "expected a header name with a one-line string value");
                        continue;
                    }
                    request.headers.emplace_back(name, v.get<std::string>());
                }
            }
        }
        r.readString("bodyFile", request.bodyFile);
        r.readUnsigned("weight", request.weight, 1u, 1'000'000u);
        r.finish();
        return request;
    });
    reader.readObject("slo", [&](model::ObjectReader& slo) {
        const auto read = [&](const char* key, std::optional<double>& target, double max) {
            double v = 0;
            if (slo.readDouble(key, v, 0.0, max)) {
                if (v <= 0 && std::strcmp(key, "maxErrorRate") != 0) {
                    diagnostics.error(slo.pointerOf(key), "must be greater than 0");
                } else {
                    target = v;
                }
            }
        };
        read("p50Ms", out.slo.p50Ms, 3'600'000);
        read("p99Ms", out.slo.p99Ms, 3'600'000);
        read("p999Ms", out.slo.p999Ms, 3'600'000);
        read("maxErrorRate", out.slo.maxErrorRate, 1.0);
        read("minRps", out.slo.minRps, 1e7);
    });
    reader.finish();
    return diagnostics.size() == before;
}

bool checkFiles(const LoadTestPlan& plan, model::Diagnostics& diagnostics) {
    const auto before = diagnostics.size();
    const auto check = [&](const std::string& path, const std::string& pointer) {
        std::ifstream file(path, std::ios::binary);
        if (!file) {
            diagnostics.error(pointer, "cannot read '" + path + "' (" + std::strerror(errno) + ")");
        }
    };
    for (std::size_t i = 0; i < plan.requests.size(); ++i) {
        if (!plan.requests[i].bodyFile.empty()) {
            check(plan.requests[i].bodyFile, model::childPointer(model::childPointer("/requests", i), "bodyFile"));
        }
    }
    if (plan.model == LoadTestPlan::Model::Replay) {
        check(plan.replayFile, "/replayFile");
    }
    return diagnostics.size() == before;
}

std::string describe(const model::Diagnostics& diagnostics) {
    std::string out;
    for (const auto& d : diagnostics.items()) {
        out += out.empty() ? "" : "\n";
        out += model::displayPath(d.pointer) + ": " + d.message;
    }
    return out;
}

} // namespace gaetwae::loadtest
