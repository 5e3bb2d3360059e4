#include "shared/model/config_codec.hpp"

#include "shared/model/auth_codec.hpp"
#include "shared/model/config_validation.hpp"
#include "shared/model/distributed_limit.hpp"
#include "shared/model/rate_limit.hpp"
#include "shared/model/transform_codec.hpp"
#include "shared/model/route_rules_codec.hpp"

namespace gaetwae::model {

namespace {

constexpr Duration kMaxTimeout = 24h;

void decodeLimits(ObjectReader& parent, LimitsConfig& limits) {
    const nlohmann::json* value = parent.member("limits");
    if (value == nullptr) {
        return;
    }
    ObjectReader r(*value, parent.pointerOf("limits"), parent.diagnostics());
    r.readUnsigned<std::uint32_t>("max_connections", limits.maxConnections, 1, 1'000'000);
    r.readSize("max_header_bytes", limits.maxHeaderBytes, 1024, 1024 * 1024);
    r.readUnsigned<std::uint32_t>("max_header_count", limits.maxHeaderCount, 1, 10'000);
    std::uint64_t maxUri = limits.maxUriBytes;
    if (r.readSize("max_uri_bytes", maxUri, 64, 1024 * 1024)) {
        limits.maxUriBytes = static_cast<std::uint32_t>(maxUri);
    }
    r.readSize("max_body_bytes", limits.maxBodyBytes, 0, std::uint64_t{1} << 50);
    r.readSize("max_response_header_bytes", limits.maxResponseHeaderBytes, 1024, 1024 * 1024);
    r.readUnsigned<std::uint32_t>("max_connections_per_ip", limits.maxConnectionsPerIp, 0, 1'000'000);
    r.readSize("min_body_rate", limits.minBodyRate, 0, std::uint64_t{1} << 40);
    r.readDuration("min_body_rate_window", limits.minBodyRateWindow, 100ms, 1h);
    r.finish();
}

void decodeTimeouts(ObjectReader& parent, TimeoutsConfig& t) {
    const nlohmann::json* value = parent.member("timeouts");
    if (value == nullptr) {
        return;
    }
    ObjectReader r(*value, parent.pointerOf("timeouts"), parent.diagnostics());
    r.readDuration("client_header", t.clientHeader, 1ms, kMaxTimeout);
    r.readDuration("client_body", t.clientBody, 1ms, kMaxTimeout);
    r.readDuration("client_keepalive", t.clientKeepalive, 1ms, kMaxTimeout);
    r.readDuration("client_send", t.clientSend, 1ms, kMaxTimeout);
    r.readDuration("upstream_connect", t.upstreamConnect, 1ms, kMaxTimeout);
    r.readDuration("upstream_response", t.upstreamResponse, 1ms, kMaxTimeout);
    r.readDuration("upstream_idle", t.upstreamIdle, 1ms, kMaxTimeout);
    r.readDuration("drain", t.drain, 0ms, kMaxTimeout);
    r.readDuration("tunnel_idle", t.tunnelIdle, 1ms, kMaxTimeout);
    r.finish();
}

void decodeHeaders(ObjectReader& parent, HeadersConfig& h) {
    const nlohmann::json* value = parent.member("headers");
    if (value == nullptr) {
        return;
    }
    ObjectReader r(*value, parent.pointerOf("headers"), parent.diagnostics());
    r.readString("via", h.via);
    r.readString("request_id_header", h.requestIdHeader);
    r.readBool("trust_request_id", h.trustRequestId);
    r.readBool("echo_request_id", h.echoRequestId);
    r.readBool("trust_forwarded", h.trustForwarded);
    r.readBool("hide_server", h.hideServer);
    r.readBool("hide_powered_by", h.hidePoweredBy);
    r.finish();
}

void decodeUpstream(ObjectReader& parent, UpstreamConfig& u) {
    const nlohmann::json* value = parent.member("upstream");
    if (value == nullptr) {
        return;
    }
    ObjectReader r(*value, parent.pointerOf("upstream"), parent.diagnostics());
    r.readUnsigned<std::uint32_t>("max_idle_per_instance", u.maxIdlePerInstance, 0, 100'000);
    r.finish();
}

void decodeAccessLog(ObjectReader& parent, AccessLogConfig& a) {
    const nlohmann::json* value = parent.member("access_log");
    if (value == nullptr) {
        return;
    }
    ObjectReader r(*value, parent.pointerOf("access_log"), parent.diagnostics());
    r.readBool("enabled", a.enabled);
    r.readEnum<AccessLogFormat>("format", a.format, kAccessLogFormatNames);
    r.readString("path", a.path);
    r.readBool("include_query", a.includeQuery);
    r.finish();
}

ListenerConfig decodeListener(const nlohmann::json& value, const std::string& pointer, Diagnostics& diagnostics) {
    ListenerConfig listener;
    ObjectReader r(value, pointer, diagnostics);
    r.readString("name", listener.name);
    r.readString("address", listener.address, true);
    r.readObject("tls", [&](ObjectReader& t) { decodeListenerTls(t, listener.tls); });
    r.finish();
    if (listener.name.empty()) {
        listener.name = listener.address;
    }
    return listener;
}

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

RateLimitConfig decodeRateLimit(const nlohmann::json& value, const std::string& pointer, Diagnostics& diagnostics,
                                UnknownKeys unknownKeys) {
    RateLimitConfig limit;
    ObjectReader r(value, pointer, diagnostics, unknownKeys);
    if (!r.valid()) {
        return limit;
    }
    r.readString("name", limit.name);
    std::string text;
    if (r.readString("key", text, true)) {
        std::string error;
        if (const auto key = parseRateLimitKey(text, &error)) {
            limit.key = key->kind;
            limit.keyName = key->name;
        } else {
            diagnostics.error(r.pointerOf("key"), error);
        }
    }
    text.clear();
    if (r.readString("rate", text, true)) {
        if (const auto rate = parseRate(text)) {
            limit.count = rate->count;
            limit.period = rate->period;
        } else {
            diagnostics.error(r.pointerOf("rate"), "'" + text + "' is not a rate: expected <tokens>/<s|m|h> with 1 to " +
                                                       std::to_string(kMaxRateCount) + " tokens, e.g. 100/s");
        }
    }
    r.readUnsigned<std::uint32_t>("burst", limit.burst, 0, kMaxRateBurst);
    r.readBool("dry_run", limit.dryRun);
    decodeLimitBackend(r, limit.backend, limit.onError);
    r.finish();
    return limit;
}

nlohmann::json encodeRateLimit(const RateLimitConfig& limit) {
    nlohmann::json out = nlohmann::json::object();
    if (!limit.name.empty()) {
        out["name"] = limit.name;
    }
    out["key"] = formatRateLimitKey(limit.key, limit.keyName);
    out["rate"] = formatRate(limit.count, limit.period);
    out["burst"] = limit.burst;
    out["dry_run"] = limit.dryRun;
    encodeLimitBackend(limit.backend, limit.onError, out);
    return out;
}

} // namespace

RouteConfig decodeRoute(const nlohmann::json& value, const std::string& pointer, Diagnostics& diagnostics,
                        UnknownKeys unknownKeys) {
    RouteConfig route;
    ObjectReader r(value, pointer, diagnostics, unknownKeys);
    r.readString("name", route.name, true);
    if (const nlohmann::json* match = r.member("match")) {
        ObjectReader m(*match, r.pointerOf("match"), diagnostics, unknownKeys);
        m.readStringList("hosts", route.match.hosts);
        m.readString("path_prefix", route.match.pathPrefix);
        m.readStringList("methods", route.match.methods);
        decodeRouteMatchRules(m, route.match);
        m.finish();
    }
    r.readString("pool", route.pool, !r.has("redirect")); // a redirect route has no pool
    r.readBool("strip_prefix", route.stripPrefix);
    r.readString("rewrite_prefix", route.rewritePrefix);
    route.hasRetry = r.readObject("retry", [&](ObjectReader& retry) { decodeRetry(retry, route.retry); });
    r.readList("rate_limit", route.rateLimits, [&](const nlohmann::json& item, const std::string& itemPointer) {
        return decodeRateLimit(item, itemPointer, diagnostics, unknownKeys);
    });
    r.readList("quota", route.quotas, [&](const nlohmann::json& item, const std::string& itemPointer) {
        return decodeQuota(item, itemPointer, diagnostics, unknownKeys);
    });
    r.readObject("auth", [&](ObjectReader& a) { decodeRouteAuth(a, route.auth.emplace(), unknownKeys); });
    decodeRouteTransforms(r, route);
    decodeRouteRules(r, route);
    r.readStringList("upgrade", route.upgrade);
    r.readDuration("tunnel_idle", route.tunnelIdle, 0ms, kMaxTimeout);
    route.extra = r.finishKeepingExtensions();
    return route;
}

GatewayConfig decodeGatewayConfig(const nlohmann::json& document, Diagnostics& diagnostics, UnknownKeys unknownKeys) {
    GatewayConfig config;
    ObjectReader r(document, "", diagnostics, unknownKeys);
    if (!r.valid()) {
        return config;
    }
    if (const nlohmann::json* workers = r.member("workers")) {
        if (workers->is_string() && workers->get<std::string>() == "auto") {
            config.workers = 0;
        } else if (workers->is_number_integer() && workers->get<std::int64_t>() >= 1 &&
                   workers->get<std::int64_t>() <= kMaxWorkers) {
            config.workers = workers->get<std::uint32_t>();
        } else {
            diagnostics.error(r.pointerOf("workers"),
                              "expected 'auto' or a number of worker threads between 1 and " +
                                  std::to_string(kMaxWorkers));
        }
    }
    r.readList("listeners", config.listeners, [&](const nlohmann::json& item, const std::string& pointer) {
        return decodeListener(item, pointer, diagnostics);
    });
    decodeLimits(r, config.limits);
    decodeTimeouts(r, config.timeouts);
    decodeHeaders(r, config.headers);
    decodeUpstream(r, config.upstream);
    decodeAccessLog(r, config.accessLog);
    r.readObject("admin", [&](ObjectReader& a) {
        auto& admin = config.admin;
        a.readBool("enabled", admin.enabled);
        a.readString("address", admin.address);
        a.readString("token_file", admin.tokenFile);
        a.readBool("allow_remote", admin.allowRemote);
        a.readStringList("public_paths", admin.publicPaths);
        a.readSize("max_message_bytes", admin.maxMessageBytes, 1024, 64 * 1024 * 1024);
        a.readUnsigned<std::uint32_t>("send_queue_limit", admin.sendQueueLimit, 16, 1'000'000);
        a.readDuration("ping_interval", admin.pingInterval, 1s, 1h);
        a.readDuration("stats_history", admin.statsHistory, 1min, 24h);
    });
    r.readObject("decision_log", [&](ObjectReader& d) {
        d.readDouble("sample_rate", config.decisionLog.sampleRate, 0.0, 1.0);
    });
    decodeRedis(r, config.redis);
    r.readString("quota_state_file", config.quotaStateFile);
    r.readList("routes", config.routes, [&](const nlohmann::json& item, const std::string& pointer) {
        return decodeRoute(item, pointer, diagnostics, unknownKeys);
    });
    r.readList("pools", config.pools, [&](const nlohmann::json& item, const std::string& pointer) {
        return decodePool(item, pointer, diagnostics, unknownKeys);
    });
    r.readList("consumers", config.consumers, [&](const nlohmann::json& item, const std::string& pointer) {
        return decodeConsumer(item, pointer, diagnostics, unknownKeys);
    });
    decodeCompression(r, config.compression);
    r.finish();
    if (diagnostics.empty()) {
        // Cross-field rules only make sense once every field decoded; otherwise they would
        // repeat problems already reported (a missing pool name is not also a dangling reference).
        validateGatewayConfig(config, diagnostics);
    }
    return config;
}

nlohmann::json encodeRoute(const RouteConfig& route) {
    nlohmann::json match = {{"path_prefix", route.match.pathPrefix}};
    if (!route.match.hosts.empty()) {
        match["hosts"] = route.match.hosts;
    }
    if (!route.match.methods.empty()) {
        match["methods"] = route.match.methods;
    }
    encodeRouteMatchRules(route.match, match);
    nlohmann::json out = {{"name", route.name}, {"match", match}, {"pool", route.pool}};
    if (route.stripPrefix) {
        out["strip_prefix"] = true;
    }
    if (!route.rewritePrefix.empty()) {
        out["rewrite_prefix"] = route.rewritePrefix;
    }
    if (route.hasRetry) {
        out["retry"] = encodeRetry(route.retry);
    }
    if (!route.rateLimits.empty()) {
        nlohmann::json limits = nlohmann::json::array();
        for (const auto& limit : route.rateLimits) {
            limits.push_back(encodeRateLimit(limit));
        }
        out["rate_limit"] = limits;
    }
    if (!route.quotas.empty()) {
        nlohmann::json quotas = nlohmann::json::array();
        for (const auto& quota : route.quotas) {
            quotas.push_back(encodeQuota(quota));
        }
        out["quota"] = quotas;
    }
    if (route.auth) {
        out["auth"] = encodeRouteAuth(*route.auth);
    }
    encodeRouteTransforms(route, out);
    encodeRouteRules(route, out);
    if (route.upgrade != RouteConfig().upgrade) {
        out["upgrade"] = route.upgrade;
    }
    if (route.tunnelIdle.count() > 0) {
        out["tunnel_idle"] = formatDuration(route.tunnelIdle);
    }
    return withExtra(std::move(out), route.extra);
}

nlohmann::json encodeGatewayConfig(const GatewayConfig& config) {
    nlohmann::json out = nlohmann::json::object();
    out["workers"] = config.workers == 0 ? nlohmann::json("auto") : nlohmann::json(config.workers);
    nlohmann::json listeners = nlohmann::json::array();
    for (const auto& listener : config.listeners) {
        nlohmann::json item = {{"name", listener.name}, {"address", listener.address}};
        if (listener.tls.enabled()) {
            item["tls"] = encodeListenerTls(listener.tls);
        }
        listeners.push_back(std::move(item));
    }
    out["listeners"] = listeners;
    const auto& l = config.limits;
    out["limits"] = {{"max_connections", l.maxConnections},
                     {"max_header_bytes", formatSize(l.maxHeaderBytes)},
                     {"max_header_count", l.maxHeaderCount},
                     {"max_uri_bytes", formatSize(l.maxUriBytes)},
                     {"max_body_bytes", formatSize(l.maxBodyBytes)},
                     {"max_response_header_bytes", formatSize(l.maxResponseHeaderBytes)},
                     {"max_connections_per_ip", l.maxConnectionsPerIp},
                     {"min_body_rate", formatSize(l.minBodyRate)},
                     {"min_body_rate_window", formatDuration(l.minBodyRateWindow)}};
    const auto& t = config.timeouts;
    out["timeouts"] = {{"client_header", formatDuration(t.clientHeader)},
                       {"client_body", formatDuration(t.clientBody)},
                       {"client_keepalive", formatDuration(t.clientKeepalive)},
                       {"client_send", formatDuration(t.clientSend)},
                       {"upstream_connect", formatDuration(t.upstreamConnect)},
                       {"upstream_response", formatDuration(t.upstreamResponse)},
                       {"upstream_idle", formatDuration(t.upstreamIdle)},
                       {"drain", formatDuration(t.drain)},
                       {"tunnel_idle", formatDuration(t.tunnelIdle)}};
    const auto& h = config.headers;
    out["headers"] = {{"via", h.via},
                      {"request_id_header", h.requestIdHeader},
                      {"trust_request_id", h.trustRequestId},
                      {"echo_request_id", h.echoRequestId},
                      {"trust_forwarded", h.trustForwarded},
                      {"hide_server", h.hideServer},
                      {"hide_powered_by", h.hidePoweredBy}};
    out["upstream"] = {{"max_idle_per_instance", config.upstream.maxIdlePerInstance}};
    const auto& a = config.accessLog;
    out["access_log"] = {{"enabled", a.enabled},
                         {"format", toString(a.format)},
                         {"path", a.path},
                         {"include_query", a.includeQuery}};
    out["decision_log"] = {{"sample_rate", config.decisionLog.sampleRate}};
    const auto& admin = config.admin;
    out["admin"] = {{"enabled", admin.enabled},
                    {"address", admin.address},
                    {"token_file", admin.tokenFile},
                    {"allow_remote", admin.allowRemote},
                    {"public_paths", admin.publicPaths},
                    {"max_message_bytes", formatSize(admin.maxMessageBytes)},
                    {"send_queue_limit", admin.sendQueueLimit},
                    {"ping_interval", formatDuration(admin.pingInterval)},
                    {"stats_history", formatDuration(admin.statsHistory)}};
    nlohmann::json routes = nlohmann::json::array();
    for (const auto& route : config.routes) {
        routes.push_back(encodeRoute(route));
    }
    out["routes"] = routes;
    nlohmann::json pools = nlohmann::json::array();
    for (const auto& pool : config.pools) {
        pools.push_back(encodePool(pool));
    }
    out["pools"] = pools;
    if (config.redis) {
        out["redis"] = encodeRedis(*config.redis);
    }
    if (!config.quotaStateFile.empty()) {
        out["quota_state_file"] = config.quotaStateFile;
    }
    if (!config.consumers.empty()) {
        nlohmann::json consumers = nlohmann::json::array();
        for (const auto& consumer : config.consumers) {
            consumers.push_back(encodeConsumer(consumer));
        }
        out["consumers"] = consumers;
    }
    if (config.compression) {
        out["compression"] = encodeCompression(*config.compression);
    }
    return out;
}

std::string_view toString(AccessLogFormat format) {
    return nameOf(format, kAccessLogFormatNames);
}

const PoolConfig* GatewayConfig::findPool(std::string_view name) const {
    for (const auto& pool : pools) {
        if (pool.name == name) {
            return &pool;
        }
    }
    return nullptr;
}

PoolConfig* GatewayConfig::findPool(std::string_view name) {
    return const_cast<PoolConfig*>(std::as_const(*this).findPool(name));
}

} // namespace gaetwae::model
