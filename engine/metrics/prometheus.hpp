#pragma once

#include "engine/metrics/stats_aggregator.hpp"

#include <cstdint>
#include <array>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace gaetwae::engine::metrics {

// Live values /metrics needs beyond the cumulative counters.
struct PrometheusState {
    struct Instance {
        std::string pool;
        std::string id;
        bool healthy = true;
        bool available = true; // may take new requests now
        int breaker = 0;       // 0 closed, 1 open, 2 half-open
        std::int64_t activeRequests = 0;
    };
    std::vector<Instance> instances;
    struct RateLimit {
        std::string route;
        std::string limit; // limiter name, or "<route>#<position>"
        std::string key;   // "client_ip", "header:X-API-Key", ...
        bool dryRun = false;
        std::uint64_t limited = 0;
    };
    std::vector<RateLimit> rateLimits; // quotas too (limit: the quota's name or "<route>#q<n>")
    struct Redis {
        bool up = false;
        int connections = 0; // workers connected
        std::uint64_t errors = 0;
        std::array<std::uint64_t, 3> fallbacks{}; // requests decided by on_error: allow, deny, local
    };
    std::optional<Redis> redis; // with a redis: section only
    struct Tunnel {
        std::string route;
        std::int64_t open = 0;
        std::uint64_t total = 0;
        std::uint64_t bytesFromClient = 0;
        std::uint64_t bytesToClient = 0;
    };
    std::vector<Tunnel> tunnels;
    std::map<std::string, std::uint64_t> poolRetries;
    std::map<std::string, std::int64_t> poolActiveRequests;
    std::int64_t activeConnections = 0;
    std::uint64_t configVersion = 0;
    std::uint64_t upstreamConnectionsOpened = 0;
    std::uint64_t connectionsRefusedPerIp = 0;
    struct TlsHandshakeFailures {
        std::string listener;
        std::string reason; // timeout, protocol, client_certificate, unknown_server_name, closed, other
        std::uint64_t count = 0;
    };
    std::vector<TlsHandshakeFailures> tlsHandshakeFailures;
};

// Prometheus text exposition format 0.0.4. Metric names (service = pool):
//   proxy_requests_total{service,method,status,instance}        counter
//   proxy_request_duration_seconds{service}                     histogram
//   proxy_upstream_duration_seconds{service}                    histogram
//   proxy_instances_available{service}                          gauge
//   proxy_instance_healthy{service,instance}                    gauge
//   proxy_circuit_breaker_state{service,instance}               gauge (0 closed, 1 open, 2 half-open)
//   proxy_retry_attempts_total{service}                         counter
//   proxy_load_balancer_errors_total{service,type}              counter ("" service: not routed)
//   proxy_rate_limited_total{route,limit,key,dry_run}           counter (refused, or would be in dry run)
//   proxy_tunnels_open{route}                                   gauge (upgraded connections, e.g. WebSocket)
//   proxy_tunnels_total{route}                                  counter
//   proxy_tunnel_bytes_received_total{route}, proxy_tunnel_bytes_sent_total{route}  counters (from/to clients)
//   proxy_active_requests{service}, proxy_active_connections, proxy_config_version  gauges
//   proxy_bytes_received_total{service}, proxy_bytes_sent_total{service}           counters
//   proxy_connections_refused_total{reason="per_ip_limit"}                          counter
//   proxy_tls_handshake_failures_total{listener,reason}                             counter
//   proxy_compressed_responses_total{route,algorithm}                               counter
//   proxy_compression_input_bytes_total{route}, proxy_compression_output_bytes_total{route}  counters
//                                               (routes that compressed a response)
//   proxy_redis_up, proxy_redis_connections gauges, proxy_redis_errors_total counter,
//   proxy_redis_fallbacks_total{on_error}  counter (with a redis: section only)
std::string renderPrometheus(const Cumulative& cumulative, const PrometheusState& state);

// Label value escaping (backslash, double quote, newline).
std::string escapeLabel(std::string_view value);

} // namespace gaetwae::engine::metrics
