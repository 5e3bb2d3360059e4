// JSON <-> pool, instance and retry policy (declared in config_codec.hpp).
#include "shared/model/config_codec.hpp"
#include "shared/model/config_validation.hpp"

#include <charconv>

namespace gaetwae::model {

namespace {

constexpr Duration kMaxTimeout = 24h;

nlohmann::json withExtra(nlohmann::json object, const nlohmann::json& extra) {
    if (extra.is_object()) {
        for (const auto& [key, value] : extra.items()) {
            if (!object.contains(key)) {
                object[key] = value;
            }
        }
    }
    return object;
}

void decodeHashOn(ObjectReader& r, HashOnConfig& h) {
    r.readEnum<HashSource>("source", h.source, kHashSourceNames);
    r.readString("name", h.name);
    if (h.source != HashSource::ClientIp && h.source != HashSource::Path && h.name.empty()) {
        r.diagnostics().error(r.pointer(), "hash source '" + std::string(toString(h.source)) + "' needs a name");
    }
}

nlohmann::json encodeHashOn(const HashOnConfig& h) {
    nlohmann::json out = {{"source", toString(h.source)}};
    if (!h.name.empty()) {
        out["name"] = h.name;
    }
    return out;
}

// "200", 200 or "200-299".
bool parseStatusRange(const nlohmann::json& value, StatusRange& out) {
    auto parse = [](std::string_view text, std::uint16_t& v) {
        const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        return ec == std::errc{} && ptr == text.data() + text.size() && v >= 100 && v <= 599;
    };
    if (value.is_number_integer()) {
        const auto v = value.get<std::int64_t>();
        if (v < 100 || v > 599) {
            return false;
        }
        out = {static_cast<std::uint16_t>(v), static_cast<std::uint16_t>(v)};
        return true;
    }
    if (!value.is_string()) {
        return false;
    }
    const auto text = value.get<std::string>();
    const auto dash = text.find('-');
    if (dash == std::string::npos) {
        return parse(text, out.low) && (out.high = out.low, true);
    }
    return parse(std::string_view(text).substr(0, dash), out.low) &&
           parse(std::string_view(text).substr(dash + 1), out.high) && out.low <= out.high;
}

void decodeHealthCheck(ObjectReader& r, HealthCheckConfig& h) {
    h.enabled = true;
    r.readEnum<HealthCheckType>("type", h.type, kHealthCheckTypeNames);
    r.readString("method", h.method);
    r.readString("path", h.path);
    r.readString("host", h.host);
    if (const nlohmann::json* statuses = r.member("expected_statuses")) {
        std::vector<StatusRange> ranges;
        if (!statuses->is_array() || statuses->empty()) {
            r.diagnostics().error(r.pointerOf("expected_statuses"), "expected a list of statuses such as [200, \"300-399\"]");
        } else {
            for (std::size_t i = 0; i < statuses->size(); ++i) {
                StatusRange range;
                if (!parseStatusRange((*statuses)[i], range)) {
                    r.diagnostics().error(childPointer(r.pointerOf("expected_statuses"), i),
                                          "expected a status (100-599) or a range such as \"200-299\"");
                } else {
                    ranges.push_back(range);
                }
            }
            h.expectedStatuses = std::move(ranges);
        }
    }
    r.readString("body_contains", h.bodyContains);
    r.readDuration("interval", h.interval, 10ms, kMaxTimeout);
    if (!r.readDuration("unhealthy_interval", h.unhealthyInterval, 10ms, kMaxTimeout)) {
        h.unhealthyInterval = std::max(Duration(10), h.interval / 2);
    }
    r.readDuration("timeout", h.timeout, 1ms, kMaxTimeout);
    r.readUnsigned<std::uint32_t>("rise", h.rise, 1, 100);
    r.readUnsigned<std::uint32_t>("fall", h.fall, 1, 100);
    r.readDouble("jitter", h.jitter, 0.0, 0.5);
    if (h.path.empty() || h.path.front() != '/') {
        r.diagnostics().error(r.pointerOf("path"), "health check path must start with '/'");
    }
}

nlohmann::json encodeHealthCheck(const HealthCheckConfig& h) {
    nlohmann::json statuses = nlohmann::json::array();
    for (const auto& range : h.expectedStatuses) {
        statuses.push_back(range.low == range.high ? nlohmann::json(range.low)
                                                   : nlohmann::json(std::to_string(range.low) + "-" +
                                                                    std::to_string(range.high)));
    }
    nlohmann::json out = {{"type", toString(h.type)},
                          {"method", h.method},
                          {"path", h.path},
                          {"expected_statuses", statuses},
                          {"interval", formatDuration(h.interval)},
                          {"unhealthy_interval", formatDuration(h.unhealthyInterval)},
                          {"timeout", formatDuration(h.timeout)},
                          {"rise", h.rise},
                          {"fall", h.fall},
                          {"jitter", h.jitter}};
    if (!h.host.empty()) {
        out["host"] = h.host;
    }
    if (!h.bodyContains.empty()) {
        out["body_contains"] = h.bodyContains;
    }
    return out;
}

void decodeOutlier(ObjectReader& r, OutlierDetectionConfig& o) {
    r.readUnsigned<std::uint32_t>("consecutive_5xx", o.consecutive5xx, 0, 1000);
    r.readUnsigned<std::uint32_t>("consecutive_gateway_failures", o.consecutiveGatewayFailures, 0, 1000);
    r.readUnsigned<std::uint32_t>("consecutive_connect_failures", o.consecutiveConnectFailures, 0, 1000);
    r.readDuration("base_ejection_time", o.baseEjectionTime, 1ms, kMaxTimeout);
    r.readDuration("max_ejection_time", o.maxEjectionTime, 1ms, kMaxTimeout);
    r.readUnsigned<std::uint32_t>("max_ejection_percent", o.maxEjectionPercent, 0, 100);
    r.readDouble("jitter", o.jitter, 0.0, 0.5);
    if (o.maxEjectionTime < o.baseEjectionTime) {
        r.diagnostics().error(r.pointerOf("max_ejection_time"), "must not be shorter than base_ejection_time");
    }
}

nlohmann::json encodeOutlier(const OutlierDetectionConfig& o) {
    return {{"consecutive_5xx", o.consecutive5xx},
            {"consecutive_gateway_failures", o.consecutiveGatewayFailures},
            {"consecutive_connect_failures", o.consecutiveConnectFailures},
            {"base_ejection_time", formatDuration(o.baseEjectionTime)},
            {"max_ejection_time", formatDuration(o.maxEjectionTime)},
            {"max_ejection_percent", o.maxEjectionPercent},
            {"jitter", o.jitter}};
}

void decodeBreaker(ObjectReader& r, CircuitBreakerConfig& b) {
    r.readBool("enabled", b.enabled);
    r.readUnsigned<std::uint32_t>("consecutive_failures", b.consecutiveFailures, 0, 100'000);
    r.readDouble("error_ratio", b.errorRatio, 0.0, 1.0);
    r.readUnsigned<std::uint32_t>("min_requests", b.minRequests, 1, 1'000'000);
    r.readDuration("window", b.window, 1s, 1h);
    r.readDuration("open_timeout", b.openTimeout, 1ms, kMaxTimeout);
    r.readDuration("max_open_timeout", b.maxOpenTimeout, 1ms, kMaxTimeout);
    r.readUnsigned<std::uint32_t>("half_open_requests", b.halfOpenRequests, 1, 10'000);
    r.readUnsigned<std::uint32_t>("success_threshold", b.successThreshold, 1, 10'000);
    if (b.maxOpenTimeout < b.openTimeout) {
        r.diagnostics().error(r.pointerOf("max_open_timeout"), "must not be shorter than open_timeout");
    }
    if (b.successThreshold > b.halfOpenRequests) {
        r.diagnostics().error(r.pointerOf("success_threshold"), "cannot exceed half_open_requests");
    }
}

nlohmann::json encodeBreaker(const CircuitBreakerConfig& b) {
    return {{"enabled", b.enabled},
            {"consecutive_failures", b.consecutiveFailures},
            {"error_ratio", b.errorRatio},
            {"min_requests", b.minRequests},
            {"window", formatDuration(b.window)},
            {"open_timeout", formatDuration(b.openTimeout)},
            {"max_open_timeout", formatDuration(b.maxOpenTimeout)},
            {"half_open_requests", b.halfOpenRequests},
            {"success_threshold", b.successThreshold}};
}

void decodeSticky(ObjectReader& r, StickyConfig& s) {
    r.readEnum<StickyMode>("mode", s.mode, kStickyModeNames);
    r.readString("cookie", s.cookieName);
    r.readDuration("ttl", s.cookieTtl, 0ms, 24h * 3650);
    r.readString("path", s.cookiePath);
    r.readBool("secure", s.secure);
    r.readBool("http_only", s.httpOnly);
    r.readString("same_site", s.sameSite);
    r.readObject("hash_on", [&](ObjectReader& h) { decodeHashOn(h, s.hashOn); });
    if (s.sameSite != "Lax" && s.sameSite != "Strict" && s.sameSite != "None" && !s.sameSite.empty()) {
        r.diagnostics().error(r.pointerOf("same_site"), "expected Lax, Strict, None or \"\"");
    }
    if (s.sameSite == "None" && !s.secure) {
        r.diagnostics().error(r.pointerOf("same_site"), "browsers reject SameSite=None without secure: true");
    }
    if (!isValidName(s.cookieName)) {
        r.diagnostics().error(r.pointerOf("cookie"), "cookie name must be 1-64 characters of A-Z a-z 0-9 . _ -");
    }
}

nlohmann::json encodeSticky(const StickyConfig& s) {
    return {{"mode", toString(s.mode)},
            {"cookie", s.cookieName},
            {"ttl", formatDuration(s.cookieTtl)},
            {"path", s.cookiePath},
            {"secure", s.secure},
            {"http_only", s.httpOnly},
            {"same_site", s.sameSite},
            {"hash_on", encodeHashOn(s.hashOn)}};
}

} // namespace

void decodeRetry(ObjectReader& r, RetryConfig& retry) {
    r.readUnsigned<std::uint32_t>("attempts", retry.attempts, 0, 10);
    if (const nlohmann::json* on = r.member("on")) {
        retry.onConnectFailure = retry.onReset = retry.onTimeout = false;
        std::vector<std::uint16_t> statuses;
        if (!on->is_array()) {
            r.diagnostics().error(r.pointerOf("on"), "expected a list such as [connect_failure, reset, timeout, 503]");
        } else {
            for (std::size_t i = 0; i < on->size(); ++i) {
                const auto& item = (*on)[i];
                if (item.is_number_integer() && item.get<int>() >= 400 && item.get<int>() <= 599) {
                    statuses.push_back(item.get<std::uint16_t>());
                } else if (item == "connect_failure") {
                    retry.onConnectFailure = true;
                } else if (item == "reset") {
                    retry.onReset = true;
                } else if (item == "timeout") {
                    retry.onTimeout = true;
                } else {
                    r.diagnostics().error(childPointer(r.pointerOf("on"), i),
                                          "expected connect_failure, reset, timeout or a status between 400 and 599");
                }
            }
        }
        retry.statuses = std::move(statuses);
    }
    r.readBool("non_idempotent", retry.nonIdempotent);
    r.readDuration("backoff_base", retry.backoffBase, 0ms, 1min);
    r.readDuration("backoff_max", retry.backoffMax, 0ms, 1min);
    r.readDuration("max_retry_after", retry.maxRetryAfter, 0ms, 1h);
    r.readDuration("per_try_timeout", retry.perTryTimeout, 0ms, kMaxTimeout);
    r.readDuration("timeout", retry.overallTimeout, 0ms, kMaxTimeout);
    r.readDouble("budget_ratio", retry.budgetRatio, 0.0, 1.0);
    r.readUnsigned<std::uint32_t>("budget_min_concurrency", retry.budgetMinConcurrency, 0, 100'000);
    r.readSize("buffer_body_bytes", retry.bufferBodyBytes, 0, 64 * 1024 * 1024);
    if (retry.backoffMax < retry.backoffBase) {
        r.diagnostics().error(r.pointerOf("backoff_max"), "must not be shorter than backoff_base");
    }
}

nlohmann::json encodeRetry(const RetryConfig& retry) {
    nlohmann::json on = nlohmann::json::array();
    if (retry.onConnectFailure) {
        on.push_back("connect_failure");
    }
    if (retry.onReset) {
        on.push_back("reset");
    }
    if (retry.onTimeout) {
        on.push_back("timeout");
    }
    for (const auto status : retry.statuses) {
        on.push_back(status);
    }
    return {{"attempts", retry.attempts},
            {"on", on},
            {"non_idempotent", retry.nonIdempotent},
            {"backoff_base", formatDuration(retry.backoffBase)},
            {"backoff_max", formatDuration(retry.backoffMax)},
            {"max_retry_after", formatDuration(retry.maxRetryAfter)},
            {"per_try_timeout", formatDuration(retry.perTryTimeout)},
            {"timeout", formatDuration(retry.overallTimeout)},
            {"budget_ratio", retry.budgetRatio},
            {"budget_min_concurrency", retry.budgetMinConcurrency},
            {"buffer_body_bytes", formatSize(retry.bufferBodyBytes)}};
}

InstanceConfig decodeInstance(const nlohmann::json& value, const std::string& pointer, Diagnostics& diagnostics,
                              UnknownKeys unknownKeys) {
    InstanceConfig instance;
    ObjectReader r(value, pointer, diagnostics, unknownKeys);
    r.readString("id", instance.id, true);
    r.readString("address", instance.address, true);
    r.readUnsigned<std::uint32_t>("weight", instance.weight, 0, kMaxWeight);
    r.readEnum<InstanceState>("state", instance.state, kInstanceStateNames);
    instance.extra = r.finishKeepingExtensions();
    return instance;
}

PoolConfig decodePool(const nlohmann::json& value, const std::string& pointer, Diagnostics& diagnostics,
                      UnknownKeys unknownKeys) {
    PoolConfig pool;
    ObjectReader r(value, pointer, diagnostics, unknownKeys);
    r.readString("name", pool.name, true);
    r.readEnum<Strategy>("strategy", pool.strategy, kStrategyNames);
    r.readObject("hash_on", [&](ObjectReader& h) { decodeHashOn(h, pool.hashOn); });
    r.readObject("consistent_hash", [&](ObjectReader& c) {
        c.readEnum<HashAlgorithm>("algorithm", pool.consistentHash.algorithm, kHashAlgorithmNames);
        c.readUnsigned<std::uint32_t>("virtual_nodes", pool.consistentHash.virtualNodes, 1, 10'000);
        c.readDouble("bounded_load", pool.consistentHash.boundedLoad, 0.0, 100.0);
        if (pool.consistentHash.boundedLoad != 0 && pool.consistentHash.boundedLoad < 1.0) {
            c.diagnostics().error(c.pointerOf("bounded_load"), "must be 0 (off) or at least 1.0");
        }
    });
    r.readObject("latency", [&](ObjectReader& l) {
        l.readDuration("decay", pool.latency.decay, 100ms, 1h);
        l.readDuration("failure_penalty", pool.latency.failurePenalty, 0ms, 1h);
        l.readDuration("probe_interval", pool.latency.probeInterval, 0ms, 1h);
        l.readDouble("active_request_bias", pool.latency.activeRequestBias, 0.0, 10.0);
    });
    r.readObject("slow_start", [&](ObjectReader& s) {
        s.readDuration("window", pool.slowStart.window, 0ms, 1h);
        s.readUnsigned<std::uint32_t>("min_percent", pool.slowStart.minPercent, 1, 100);
        s.readDouble("aggression", pool.slowStart.aggression, 0.1, 10.0);
    });
    r.readUnsigned<std::uint32_t>("panic_threshold", pool.panicThreshold, 0, 100);
    r.readObject("health_check", [&](ObjectReader& h) { decodeHealthCheck(h, pool.healthCheck); });
    r.readObject("outlier_detection", [&](ObjectReader& o) { decodeOutlier(o, pool.outlierDetection); });
    r.readObject("circuit_breaker", [&](ObjectReader& b) { decodeBreaker(b, pool.circuitBreaker); });
    r.readObject("limits", [&](ObjectReader& l) {
        l.readUnsigned<std::uint32_t>("max_active_requests", pool.limits.maxActiveRequests, 0, 10'000'000);
        l.readUnsigned<std::uint32_t>("max_pending_requests", pool.limits.maxPendingRequests, 0, 10'000'000);
        l.readUnsigned<std::uint32_t>("max_concurrent_retries", pool.limits.maxConcurrentRetries, 0, 10'000'000);
    });
    r.readObject("retry", [&](ObjectReader& retry) { decodeRetry(retry, pool.retry); });
    r.readObject("sticky", [&](ObjectReader& s) { decodeSticky(s, pool.sticky); });
    r.readObject("tls", [&](ObjectReader& t) { decodePoolTls(t, pool.tls); });
    r.readList("instances", pool.instances, [&](const nlohmann::json& item, const std::string& itemPointer) {
        return decodeInstance(item, itemPointer, diagnostics, unknownKeys);
    });
    pool.extra = r.finishKeepingExtensions();
    return pool;
}

nlohmann::json encodeInstance(const InstanceConfig& instance) {
    nlohmann::json out = {{"id", instance.id}, {"address", instance.address}, {"weight", instance.weight}};
    if (instance.state != InstanceState::Enabled) {
        out["state"] = toString(instance.state);
    }
    return withExtra(std::move(out), instance.extra);
}

nlohmann::json encodePool(const PoolConfig& pool) {
    nlohmann::json instances = nlohmann::json::array();
    for (const auto& instance : pool.instances) {
        instances.push_back(encodeInstance(instance));
    }
    nlohmann::json out = {{"name", pool.name}, {"strategy", toString(pool.strategy)}};
    out["hash_on"] = encodeHashOn(pool.hashOn);
    out["consistent_hash"] = {{"algorithm", toString(pool.consistentHash.algorithm)},
                              {"virtual_nodes", pool.consistentHash.virtualNodes},
                              {"bounded_load", pool.consistentHash.boundedLoad}};
    out["latency"] = {{"decay", formatDuration(pool.latency.decay)},
                      {"failure_penalty", formatDuration(pool.latency.failurePenalty)},
                      {"probe_interval", formatDuration(pool.latency.probeInterval)},
                      {"active_request_bias", pool.latency.activeRequestBias}};
    out["slow_start"] = {{"window", formatDuration(pool.slowStart.window)},
                         {"min_percent", pool.slowStart.minPercent},
                         {"aggression", pool.slowStart.aggression}};
    out["panic_threshold"] = pool.panicThreshold;
    if (pool.healthCheck.enabled) {
        out["health_check"] = encodeHealthCheck(pool.healthCheck);
    }
    out["outlier_detection"] = encodeOutlier(pool.outlierDetection);
    out["circuit_breaker"] = encodeBreaker(pool.circuitBreaker);
    out["limits"] = {{"max_active_requests", pool.limits.maxActiveRequests},
                     {"max_pending_requests", pool.limits.maxPendingRequests},
                     {"max_concurrent_retries", pool.limits.maxConcurrentRetries}};
    out["retry"] = encodeRetry(pool.retry);
    out["sticky"] = encodeSticky(pool.sticky);
    if (pool.tls != PoolTlsConfig{}) {
        out["tls"] = encodePoolTls(pool.tls);
    }
    out["instances"] = instances;
    return withExtra(std::move(out), pool.extra);
}

std::string_view toString(Strategy strategy) {
    return nameOf(strategy, kStrategyNames);
}
std::string_view toString(InstanceState state) {
    return nameOf(state, kInstanceStateNames);
}
std::string_view toString(HashSource source) {
    return nameOf(source, kHashSourceNames);
}
std::string_view toString(HashAlgorithm algorithm) {
    return nameOf(algorithm, kHashAlgorithmNames);
}
std::string_view toString(HealthCheckType type) {
    return nameOf(type, kHealthCheckTypeNames);
}
std::string_view toString(StickyMode mode) {
    return nameOf(mode, kStickyModeNames);
}

} // namespace gaetwae::model
