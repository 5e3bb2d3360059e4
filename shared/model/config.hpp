#pragma once

#include "shared/model/auth_config.hpp"
#include "shared/model/pool_config.hpp"
#include "shared/model/transform_config.hpp"
#include "shared/model/route_rules.hpp"
#include "shared/model/tls_config.hpp"
#include "shared/model/units.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <optional>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// The gateway configuration as both the engine and the console see it. A plain value type: the
// YAML file, the admin API and the console's dialogs all decode into and encode from it through
// config_codec.hpp, and config_validation.hpp holds the rules, so the console can check an edit
// with exactly the engine's logic before sending it.
namespace gaetwae::model {

using namespace std::chrono_literals;

enum class AccessLogFormat { Text, Json };
inline constexpr std::array<std::pair<std::string_view, AccessLogFormat>, 2> kAccessLogFormatNames{{
    {"text", AccessLogFormat::Text},
    {"json", AccessLogFormat::Json},
}};
std::string_view toString(AccessLogFormat format);

struct RouteMatch {
    std::vector<std::string> hosts; // empty: any host; compared case-insensitively without the port
    std::string pathPrefix = "/";   // plain string prefix, like nginx and Envoy
    std::vector<std::string> methods; // empty: any method
    // Instead of path_prefix (route_rules.hpp): the whole path, or a PCRE2 pattern found in it.
    std::string pathExact;
    std::string pathRegex;
    std::vector<ValueMatch> headers; // all must hold
    std::vector<ValueMatch> query;   // all must hold

    bool operator==(const RouteMatch&) const = default;
};

// Which request attribute selects a rate limit's bucket (rate_limit.hpp parses "header:X-API-Key").
enum class RateLimitKeyKind { ClientIp, Header, Query, Route, Global, Consumer };

// Where a limit keeps its counts: in this process, or in the `redis:` server every engine shares
// (distributed_limit.hpp parses the names).
enum class LimitBackend { Local, Redis };
// What a Redis-backed limit does when Redis cannot answer within redis.command_timeout: let the
// request through, refuse it with 503 rate_limit_unavailable, or decide with a local limiter of
// the same definition (this engine's share of traffic only).
enum class LimitOnError { Allow, Deny, Local };

// A token bucket on a route: `rate` tokens per `period` refill it, it holds `count + burst`
// tokens, each request takes one. Routes naming the same `name` share one limiter (and must
// define it identically); without a name the limiter belongs to its route alone.
struct RateLimitConfig {
    std::string name;                                  // optional: share this limiter across routes
    RateLimitKeyKind key = RateLimitKeyKind::ClientIp;
    std::string keyName;                               // header or query parameter name
    std::uint32_t count = 1;                           // tokens per period ("100/s": 100)
    Duration period = std::chrono::seconds(1);         // 1s, 1m or 1h
    std::uint32_t burst = 0;                           // bucket size beyond `count`
    bool dryRun = false;                               // count and report only, never 429
    LimitBackend backend = LimitBackend::Local;
    LimitOnError onError = LimitOnError::Local;        // redis backend only

    bool operator==(const RateLimitConfig&) const = default;
};

// A long-term quota on a route: at most `limit` requests per key in each UTC calendar day or
// month. Refused requests do not count. Like rate limits, routes naming the same `name` share it.
enum class QuotaPeriod { Day, Month };
struct QuotaConfig {
    std::string name;
    RateLimitKeyKind key = RateLimitKeyKind::ClientIp;
    std::string keyName;
    std::uint64_t limit = 1;
    QuotaPeriod period = QuotaPeriod::Day;
    LimitBackend backend = LimitBackend::Local;
    LimitOnError onError = LimitOnError::Local;

    bool operator==(const QuotaConfig&) const = default;
};

// The Redis server that `backend: redis` limits and quotas share with other engines.
struct RedisConfig {
    std::string address = "127.0.0.1:6379"; // host:port
    std::string passwordFile;                // first line is sent with AUTH; never logged
    std::uint32_t db = 0;                    // SELECT
    Duration connectTimeout = 1s;
    Duration commandTimeout = 50ms; // longest a request waits for Redis before on_error applies
    std::string keyPrefix = "gaetwae:";

    bool operator==(const RedisConfig&) const = default;
};

struct RouteConfig {
    std::string name;
    RouteMatch match;
    std::string pool;
    bool stripPrefix = false;  // "/api/users" on prefix "/api" goes upstream as "/users"
    std::string rewritePrefix; // when set, replaces the matched prefix ("/api" -> "/v2")
    bool hasRetry = false;     // the route overrides its pool's retry policy
    RetryConfig retry;
    std::vector<RateLimitConfig> rateLimits; // all checked; the strictest answers
    std::vector<QuotaConfig> quotas;         // checked after the rate limits pass
    std::optional<RouteAuthConfig> auth;     // absent: no authentication
    HeaderEditConfig requestHeaders;  // edits of the request sent upstream
    HeaderEditConfig responseHeaders; // edits of the response sent to the client
    std::vector<std::string> hideHeaders; // backend response fields dropped (Server, X-Powered-By ...)
    std::optional<CorsConfig> cors;
    std::optional<CompressionConfig> compression; // unset: the document's compression default
    std::int32_t priority = 0;             // higher is tried first; ties keep file order
    std::optional<RewriteConfig> rewrite;   // regex rewrite with captures
    std::optional<RedirectConfig> redirect; // answered by the gateway; then `pool` stays empty
    // Replace timeouts.upstream_connect / upstream_response and limits.max_body_bytes for this route.
    std::optional<Duration> upstreamConnectTimeout;
    std::optional<Duration> upstreamResponseTimeout;
    std::optional<std::uint64_t> maxBodyBytes;
    // Upgrade protocols tunnelled to the instance (RFC 9110 7.8), compared without case and
    // without a "/version" suffix. Others, and h2c always, are stripped: the request is served
    // as plain HTTP/1.1. Empty: no upgrades on this route.
    std::vector<std::string> upgrade{"websocket"};
    Duration tunnelIdle{0}; // this route's tunnels close after this long without a byte; 0: timeouts.tunnel_idle
    nlohmann::json extra = nlohmann::json::object();

    bool operator==(const RouteConfig&) const = default;
};

struct ListenerConfig {
    std::string name;
    std::string address; // host:port to bind
    ListenerTlsConfig tls; // no certificates: plain HTTP

    bool operator==(const ListenerConfig&) const = default;
};

struct LimitsConfig {
    std::uint32_t maxConnections = 10'000;     // across all workers
    std::uint64_t maxHeaderBytes = 32 * 1024;  // request line + header fields; 431 beyond
    std::uint32_t maxHeaderCount = 100;        // 431 beyond
    std::uint32_t maxUriBytes = 8 * 1024;      // 414 beyond
    std::uint64_t maxBodyBytes = 10 * 1024 * 1024; // 413 beyond; 0 means unlimited
    std::uint64_t maxResponseHeaderBytes = 64 * 1024; // 502 beyond
    // Open client connections from one source address, all workers together; beyond it a new
    // connection is closed at accept (counted, logged). 0 means unlimited.
    std::uint32_t maxConnectionsPerIp = 256;
    // Slow-POST defence: a request body must arrive at minBodyRate bytes per second or faster,
    // judged over each minBodyRateWindow of waiting for the client (the first window is the grace
    // period); slower: 408. Only time spent waiting on the client counts. 0 disables.
    std::uint64_t minBodyRate = 1024;
    Duration minBodyRateWindow = 10s;

    bool operator==(const LimitsConfig&) const = default;
};

struct TimeoutsConfig {
    Duration clientHeader = 10s;    // from the first byte of a request to the end of its header (408)
    Duration clientBody = 30s;      // longest silence while reading a request body (408)
    Duration clientKeepalive = 60s; // idle keep-alive connection closed after
    Duration clientSend = 60s;      // longest stall writing to a client before it is dropped
    Duration upstreamConnect = 5s;  // (504)
    Duration upstreamResponse = 60s; // longest silence waiting for or reading a response (504)
    Duration upstreamIdle = 30s;    // pooled idle upstream connection closed after
    Duration drain = 30s;           // graceful shutdown waits this long for in-flight requests and open tunnels
    Duration tunnelIdle = 1h;       // an upgraded connection (WebSocket) with no bytes either way is closed

    bool operator==(const TimeoutsConfig&) const = default;
};

struct HeadersConfig {
    std::string via = "gaetwae";              // pseudonym in the Via header; empty disables it
    std::string requestIdHeader = "X-Request-ID";
    bool trustRequestId = true;   // pass a well-formed incoming request id through
    bool echoRequestId = true;    // return the request id on responses
    bool trustForwarded = false;  // keep incoming X-Forwarded-Proto/Host (behind a trusted proxy)
    bool hideServer = false;      // drop the backend's Server header
    bool hidePoweredBy = false;   // drop X-Powered-By

    bool operator==(const HeadersConfig&) const = default;
};

struct UpstreamConfig {
    std::uint32_t maxIdlePerInstance = 32; // idle keep-alive connections kept per instance and worker

    bool operator==(const UpstreamConfig&) const = default;
};

// The admin API: WebSocket JSON-RPC plus /metrics, /health and /ready on one port.
struct AdminConfig {
    bool enabled = true;
    std::string address = "127.0.0.1:9901";
    std::string tokenFile; // empty: $XDG_STATE_HOME/gaetwae/admin.token (or ~/.local/state/...)
    bool allowRemote = false; // needed to bind a non-loopback address
    std::vector<std::string> publicPaths; // of /metrics, /health, /ready: served without the token
    std::uint64_t maxMessageBytes = 1024 * 1024;
    std::uint32_t sendQueueLimit = 1024; // messages queued to one client before it is dropped
    Duration pingInterval = 15s;
    Duration statsHistory = 15min;

    bool operator==(const AdminConfig&) const = default;
};

struct DecisionLogConfig {
    double sampleRate = 0.001; // share of balancing decisions recorded with their reasons

    bool operator==(const DecisionLogConfig&) const = default;
};

struct AccessLogConfig {
    bool enabled = true;
    AccessLogFormat format = AccessLogFormat::Text;
    std::string path = "stdout"; // "stdout", "stderr" or a file
    bool includeQuery = false;   // query strings often carry secrets; off by default

    bool operator==(const AccessLogConfig&) const = default;
};

struct GatewayConfig {
    std::uint32_t workers = 0; // 0: one per CPU core
    std::vector<ListenerConfig> listeners;
    LimitsConfig limits;
    TimeoutsConfig timeouts;
    HeadersConfig headers;
    UpstreamConfig upstream;
    AccessLogConfig accessLog;
    DecisionLogConfig decisionLog;
    AdminConfig admin;
    std::vector<RouteConfig> routes;
    std::vector<PoolConfig> pools;
    std::optional<RedisConfig> redis; // needed by backend: redis limits and quotas
    // Counts of local quotas, saved atomically every few seconds and at shutdown so a restart
    // keeps them; empty: $XDG_STATE_HOME/gaetwae/quotas.json (or ~/.local/state/gaetwae/...).
    std::string quotaStateFile;
    std::vector<ConsumerConfig> consumers; // who routes with `auth` recognise
    std::optional<CompressionConfig> compression; // default of routes without their own

    bool operator==(const GatewayConfig&) const = default;

    const PoolConfig* findPool(std::string_view name) const;
    PoolConfig* findPool(std::string_view name);
};

} // namespace gaetwae::model
