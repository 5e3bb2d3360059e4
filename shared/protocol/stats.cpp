#include "shared/protocol/stats.hpp"

namespace gaetwae::protocol {

void TrafficStats::merge(const TrafficStats& other) {
    requests += other.requests;
    for (std::size_t i = 0; i < responses.size(); ++i) {
        responses[i] += other.responses[i];
    }
    for (const auto& [code, n] : other.errors) {
        errors[code] += n;
    }
    retries += other.retries;
    bytesIn += other.bytesIn;
    bytesOut += other.bytesOut;
    activeRequests += other.activeRequests;
    latency.merge(other.latency);
    upstream.merge(other.upstream);
}

nlohmann::json toJson(const TrafficStats& s) {
    return {{"requests", s.requests},
            {"responses", {{"1xx", s.responses[0]}, {"2xx", s.responses[1]}, {"3xx", s.responses[2]},
                           {"4xx", s.responses[3]}, {"5xx", s.responses[4]}}},
            {"errors", s.errors},
            {"retries", s.retries},
            {"bytesIn", s.bytesIn},
            {"bytesOut", s.bytesOut},
            {"activeRequests", s.activeRequests},
            {"latency", s.latency.toJson()},
            {"upstream", s.upstream.toJson()}};
}

nlohmann::json toJson(const StatsFrame& frame) {
    nlohmann::json routes = nlohmann::json::object();
    for (const auto& [name, stats] : frame.routes) {
        routes[name] = toJson(stats);
    }
    nlohmann::json pools = nlohmann::json::object();
    for (const auto& [name, stats] : frame.pools) {
        pools[name] = toJson(stats);
    }
    nlohmann::json instances = nlohmann::json::array();
    for (const auto& instance : frame.instances) {
        auto json = toJson(static_cast<const TrafficStats&>(instance));
        json["pool"] = instance.pool;
        json["id"] = instance.id;
        json["weight"] = instance.weight;
        json["state"] = instance.state;
        json["healthy"] = instance.healthy;
        json["ejected"] = instance.ejected;
        json["breaker"] = instance.breaker;
        json["slowStart"] = instance.slowStart;
        json["latencyEwmaMs"] = instance.latencyEwmaMs;
        instances.push_back(std::move(json));
    }
    return {{"time", frame.timeMs},
            {"interval", frame.intervalMs},
            {"configVersion", frame.configVersion},
            {"activeConnections", frame.activeConnections},
            {"total", toJson(frame.total)},
            {"routes", routes},
            {"pools", pools},
            {"instances", instances}};
}

namespace {

template <class T>
bool read(const nlohmann::json& object, const char* key, T& out) {
    if (!object.contains(key)) {
        return true; // absent: default
    }
    try {
        out = object[key].get<T>();
        return true;
    } catch (const nlohmann::json::exception&) {
        return false;
    }
}

} // namespace

bool fromJson(const nlohmann::json& value, TrafficStats& out, std::string* error) {
    auto fail = [&](std::string message) {
        if (error != nullptr) {
            *error = std::move(message);
        }
        return false;
    };
    if (!value.is_object()) {
        return fail("traffic stats must be an object");
    }
    TrafficStats s;
    if (!read(value, "requests", s.requests) || !read(value, "retries", s.retries) || !read(value, "bytesIn", s.bytesIn) ||
        !read(value, "bytesOut", s.bytesOut) || !read(value, "activeRequests", s.activeRequests) ||
        !read(value, "errors", s.errors)) {
        return fail("traffic stats have a field of the wrong type");
    }
    if (value.contains("responses")) {
        const auto& r = value["responses"];
        const char* keys[] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
        for (std::size_t i = 0; i < 5; ++i) {
            if (!read(r, keys[i], s.responses[i])) {
                return fail("responses must be counts");
            }
        }
    }
    std::string histogramError;
    if (value.contains("latency") && !LatencyHistogram::fromJson(value["latency"], s.latency, &histogramError)) {
        return fail("latency: " + histogramError);
    }
    if (value.contains("upstream") && !LatencyHistogram::fromJson(value["upstream"], s.upstream, &histogramError)) {
        return fail("upstream: " + histogramError);
    }
    out = std::move(s);
    return true;
}

bool fromJson(const nlohmann::json& value, StatsFrame& out, std::string* error) {
    auto fail = [&](std::string message) {
        if (error != nullptr) {
            *error = std::move(message);
        }
        return false;
    };
    if (!value.is_object()) {
        return fail("a stats frame must be an object");
    }
    StatsFrame frame;
    if (!read(value, "time", frame.timeMs) || !read(value, "interval", frame.intervalMs) ||
        !read(value, "configVersion", frame.configVersion) || !read(value, "activeConnections", frame.activeConnections)) {
        return fail("a stats frame field has the wrong type");
    }
    if (value.contains("total") && !fromJson(value["total"], frame.total, error)) {
        return false;
    }
    for (const char* group : {"routes", "pools"}) {
        if (!value.contains(group)) {
            continue;
        }
        if (!value[group].is_object()) {
            return fail(std::string(group) + " must be an object");
        }
        for (const auto& [name, stats] : value[group].items()) {
            TrafficStats parsed;
            if (!fromJson(stats, parsed, error)) {
                return false;
            }
            (std::string_view(group) == "routes" ? frame.routes : frame.pools)[name] = std::move(parsed);
        }
    }
    if (value.contains("instances")) {
        if (!value["instances"].is_array()) {
            return fail("instances must be a list");
        }
        for (const auto& item : value["instances"]) {
            InstanceStats instance;
            if (!fromJson(item, static_cast<TrafficStats&>(instance), error)) {
                return false;
            }
            if (!read(item, "pool", instance.pool) || !read(item, "id", instance.id) ||
                !read(item, "weight", instance.weight) || !read(item, "state", instance.state) ||
                !read(item, "healthy", instance.healthy) || !read(item, "ejected", instance.ejected) ||
                !read(item, "breaker", instance.breaker) || !read(item, "slowStart", instance.slowStart) ||
                !read(item, "latencyEwmaMs", instance.latencyEwmaMs)) {
                return fail("an instance field has the wrong type");
            }
            frame.instances.push_back(std::move(instance));
        }
    }
    out = std::move(frame);
    return true;
}

} // namespace gaetwae::protocol
