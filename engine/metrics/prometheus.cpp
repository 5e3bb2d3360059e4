#include "engine/metrics/prometheus.hpp"

#include "engine/metrics/stats_block.hpp"
#include "shared/model/transform_config.hpp"

#include <fmt/format.h>

#include <array>
#include <set>

namespace gaetwae::engine::metrics {

namespace {

constexpr std::array<double, 14> kBucketsSeconds{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                  0.1,    0.25,  0.5,    1.0,   2.5,  5.0,   10.0};

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
    fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void histogram(std::string& out, std::string_view name, const std::string& service,
               const protocol::LatencyHistogram& h) {
    // Cumulative counts of the log-linear buckets that end at or below each bound: a bucket
    // straddling a bound counts in the next one, never too early.
    std::uint64_t cumulative = 0;
    std::size_t bucket = 0;
    for (const double bound : kBucketsSeconds) {
        const auto boundMicros = static_cast<std::uint64_t>(bound * 1e6);
        while (bucket < protocol::LatencyHistogram::kBucketCount &&
               protocol::LatencyHistogram::upperBound(bucket) <= boundMicros) {
            cumulative += h.bucket(bucket++);
        }
        fmt::format_to(std::back_inserter(out), "{}_bucket{{service=\"{}\",le=\"{}\"}} {}\n", name, escapeLabel(service),
                       bound, cumulative);
    }
    fmt::format_to(std::back_inserter(out), "{}_bucket{{service=\"{}\",le=\"+Inf\"}} {}\n", name, escapeLabel(service),
                   h.count());
    fmt::format_to(std::back_inserter(out), "{}_sum{{service=\"{}\"}} {}\n", name, escapeLabel(service),
                   static_cast<double>(h.sum()) / 1e6);
    fmt::format_to(std::back_inserter(out), "{}_count{{service=\"{}\"}} {}\n", name, escapeLabel(service), h.count());
}

} // namespace

std::string escapeLabel(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (const char c : value) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '"') {
            out += "\\\"";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

std::string renderPrometheus(const Cumulative& c, const PrometheusState& state) {
    std::string out;
    out.reserve(16 * 1024);

    header(out, "proxy_requests_total", "counter", "Requests answered, by pool (service), method, status and instance.");
    for (const auto& [key, counts] : c.methodStatus) {
        std::vector<std::pair<std::uint32_t, std::uint64_t>> sorted(counts.begin(), counts.end());
        std::sort(sorted.begin(), sorted.end());
        for (const auto& [methodStatus, n] : sorted) {
            fmt::format_to(std::back_inserter(out),
                           "proxy_requests_total{{service=\"{}\",method=\"{}\",status=\"{}\",instance=\"{}\"}} {}\n",
                           escapeLabel(key.first), kMethodLabels[methodStatus / 1000], methodStatus % 1000,
                           escapeLabel(key.second), n);
        }
    }

    header(out, "proxy_request_duration_seconds", "histogram", "Time from request to response end at the gateway.");
    for (const auto& [pool, stats] : c.pools) {
        histogram(out, "proxy_request_duration_seconds", pool, stats.latency);
    }
    header(out, "proxy_upstream_duration_seconds", "histogram", "Time spent waiting on and reading from backends.");
    for (const auto& [pool, stats] : c.pools) {
        histogram(out, "proxy_upstream_duration_seconds", pool, stats.upstream);
    }

    std::map<std::string, int> available;
    for (const auto& [pool, stats] : c.pools) {
        available[pool] = 0;
    }
    for (const auto& instance : state.instances) {
        available[instance.pool] += instance.available ? 1 : 0;
    }
    header(out, "proxy_instances_available", "gauge", "Instances that can take new requests.");
    for (const auto& [pool, n] : available) {
        fmt::format_to(std::back_inserter(out), "proxy_instances_available{{service=\"{}\"}} {}\n", escapeLabel(pool), n);
    }
    header(out, "proxy_instance_healthy", "gauge", "1 when the instance passes its health checks and is not ejected.");
    for (const auto& instance : state.instances) {
        fmt::format_to(std::back_inserter(out), "proxy_instance_healthy{{service=\"{}\",instance=\"{}\"}} {}\n",
                       escapeLabel(instance.pool), escapeLabel(instance.id), instance.healthy ? 1 : 0);
    }
    header(out, "proxy_circuit_breaker_state", "gauge", "Circuit breaker state: 0 closed, 1 open, 2 half-open.");
    for (const auto& instance : state.instances) {
        fmt::format_to(std::back_inserter(out), "proxy_circuit_breaker_state{{service=\"{}\",instance=\"{}\"}} {}\n",
                       escapeLabel(instance.pool), escapeLabel(instance.id), instance.breaker);
    }
    header(out, "proxy_instance_active_requests", "gauge", "Requests in flight on the instance.");
    for (const auto& instance : state.instances) {
        fmt::format_to(std::back_inserter(out), "proxy_instance_active_requests{{service=\"{}\",instance=\"{}\"}} {}\n",
                       escapeLabel(instance.pool), escapeLabel(instance.id), instance.activeRequests);
    }

    header(out, "proxy_retry_attempts_total", "counter", "Retries sent, by pool.");
    for (const auto& [pool, n] : state.poolRetries) {
        fmt::format_to(std::back_inserter(out), "proxy_retry_attempts_total{{service=\"{}\"}} {}\n", escapeLabel(pool), n);
    }

    header(out, "proxy_load_balancer_errors_total", "counter",
           "Requests the gateway answered itself or cut short, by pool and error type.");
    std::map<std::string, std::uint64_t> routed;
    for (const auto& [pool, stats] : c.pools) {
        for (const auto& [type, n] : stats.errors) {
            fmt::format_to(std::back_inserter(out), "proxy_load_balancer_errors_total{{service=\"{}\",type=\"{}\"}} {}\n",
                           escapeLabel(pool), type, n);
            routed[type] += n;
        }
    }
    for (const auto& [type, n] : c.total.errors) {
        const auto inPools = routed[type];
        if (n > inPools) {
            fmt::format_to(std::back_inserter(out), "proxy_load_balancer_errors_total{{service=\"\",type=\"{}\"}} {}\n",
                           type, n - inPools);
        }
    }

    header(out, "proxy_rate_limited_total", "counter",
           "Requests a rate limit refused (dry_run: would have refused), by route and limit.");
    for (const auto& limit : state.rateLimits) {
        fmt::format_to(std::back_inserter(out),
                       "proxy_rate_limited_total{{route=\"{}\",limit=\"{}\",key=\"{}\",dry_run=\"{}\"}} {}\n",
                       escapeLabel(limit.route), escapeLabel(limit.limit), escapeLabel(limit.key),
                       limit.dryRun ? "true" : "false", limit.limited);
    }

    if (state.redis) {
        header(out, "proxy_redis_up", "gauge", "1 while a worker is connected to the redis: server of shared limits.");
        fmt::format_to(std::back_inserter(out), "proxy_redis_up {}\n", state.redis->up ? 1 : 0);
        header(out, "proxy_redis_connections", "gauge", "Workers connected to Redis (each has one connection).");
        fmt::format_to(std::back_inserter(out), "proxy_redis_connections {}\n", state.redis->connections);
        header(out, "proxy_redis_errors_total", "counter",
               "Failed connects, lost connections, command timeouts and error replies of Redis.");
        fmt::format_to(std::back_inserter(out), "proxy_redis_errors_total {}\n", state.redis->errors);
        header(out, "proxy_redis_fallbacks_total", "counter",
               "Requests whose Redis-backed limits Redis could not decide, by the on_error that did.");
        constexpr std::array<std::string_view, 3> kModes{"allow", "deny", "local"};
        for (std::size_t i = 0; i < kModes.size(); ++i) {
            fmt::format_to(std::back_inserter(out), "proxy_redis_fallbacks_total{{on_error=\"{}\"}} {}\n", kModes[i],
                           state.redis->fallbacks[i]);
        }
    }

    header(out, "proxy_tunnels_open", "gauge", "Upgraded connections (WebSocket ...) open, by route.");
    for (const auto& tunnel : state.tunnels) {
        fmt::format_to(std::back_inserter(out), "proxy_tunnels_open{{route=\"{}\"}} {}\n", escapeLabel(tunnel.route),
                       tunnel.open);
    }
    header(out, "proxy_tunnels_total", "counter", "Upgraded connections established, by route.");
    for (const auto& tunnel : state.tunnels) {
        fmt::format_to(std::back_inserter(out), "proxy_tunnels_total{{route=\"{}\"}} {}\n", escapeLabel(tunnel.route),
                       tunnel.total);
    }
    header(out, "proxy_tunnel_bytes_received_total", "counter", "Bytes clients sent through tunnels, by route.");
    for (const auto& tunnel : state.tunnels) {
        fmt::format_to(std::back_inserter(out), "proxy_tunnel_bytes_received_total{{route=\"{}\"}} {}\n",
                       escapeLabel(tunnel.route), tunnel.bytesFromClient);
    }
    header(out, "proxy_tunnel_bytes_sent_total", "counter", "Bytes tunnels sent to clients, by route.");
    for (const auto& tunnel : state.tunnels) {
        fmt::format_to(std::back_inserter(out), "proxy_tunnel_bytes_sent_total{{route=\"{}\"}} {}\n",
                       escapeLabel(tunnel.route), tunnel.bytesToClient);
    }

    auto compressedAny = [](const CompressionTotals& totals) { return totals.responses[0] + totals.responses[1] > 0; };
    header(out, "proxy_compressed_responses_total", "counter", "Responses compressed by the gateway, by route and algorithm.");
    for (const auto& [route, totals] : c.compression) {
        for (const auto& [name, algorithm] : model::kCompressionAlgorithmNames) {
            const std::uint64_t n = totals.responses[static_cast<std::size_t>(algorithm)];
            if (n > 0) {
                fmt::format_to(std::back_inserter(out), "proxy_compressed_responses_total{{route=\"{}\",algorithm=\"{}\"}} {}\n",
                               escapeLabel(route), name, n);
            }
        }
    }
    header(out, "proxy_compression_input_bytes_total", "counter",
           "Backend response body bytes that went into compression, by route.");
    for (const auto& [route, totals] : c.compression) {
        if (compressedAny(totals)) {
            fmt::format_to(std::back_inserter(out), "proxy_compression_input_bytes_total{{route=\"{}\"}} {}\n",
                           escapeLabel(route), totals.bytesIn);
        }
    }
    header(out, "proxy_compression_output_bytes_total", "counter",
           "Compressed response body bytes sent to clients, by route.");
    for (const auto& [route, totals] : c.compression) {
        if (compressedAny(totals)) {
            fmt::format_to(std::back_inserter(out), "proxy_compression_output_bytes_total{{route=\"{}\"}} {}\n",
                           escapeLabel(route), totals.bytesOut);
        }
    }

    header(out, "proxy_active_requests", "gauge", "Requests in flight, by pool.");
    for (const auto& [pool, n] : state.poolActiveRequests) {
        fmt::format_to(std::back_inserter(out), "proxy_active_requests{{service=\"{}\"}} {}\n", escapeLabel(pool), n);
    }
    header(out, "proxy_bytes_received_total", "counter", "Request body bytes received from clients, by pool.");
    for (const auto& [pool, stats] : c.pools) {
        fmt::format_to(std::back_inserter(out), "proxy_bytes_received_total{{service=\"{}\"}} {}\n", escapeLabel(pool),
                       stats.bytesIn);
    }
    header(out, "proxy_bytes_sent_total", "counter", "Response body bytes sent to clients, by pool.");
    for (const auto& [pool, stats] : c.pools) {
        fmt::format_to(std::back_inserter(out), "proxy_bytes_sent_total{{service=\"{}\"}} {}\n", escapeLabel(pool),
                       stats.bytesOut);
    }
    header(out, "proxy_active_connections", "gauge", "Client connections open.");
    fmt::format_to(std::back_inserter(out), "proxy_active_connections {}\n", state.activeConnections);
    header(out, "proxy_upstream_connections_opened_total", "counter", "Connections opened to backends.");
    fmt::format_to(std::back_inserter(out), "proxy_upstream_connections_opened_total {}\n",
                   state.upstreamConnectionsOpened);
    header(out, "proxy_connections_refused_total", "counter",
           "Client connections closed at accept, by reason.");
    fmt::format_to(std::back_inserter(out), "proxy_connections_refused_total{{reason=\"per_ip_limit\"}} {}\n",
                   state.connectionsRefusedPerIp);
    if (!state.tlsHandshakeFailures.empty()) {
        header(out, "proxy_tls_handshake_failures_total", "counter",
               "Failed client TLS handshakes, by listener and reason.");
        for (const auto& failures : state.tlsHandshakeFailures) {
            fmt::format_to(std::back_inserter(out),
                           "proxy_tls_handshake_failures_total{{listener=\"{}\",reason=\"{}\"}} {}\n",
                           escapeLabel(failures.listener), failures.reason, failures.count);
        }
    }
    header(out, "proxy_config_version", "gauge", "Version of the running configuration.");
    fmt::format_to(std::back_inserter(out), "proxy_config_version {}\n", state.configVersion);
    return out;
}

} // namespace gaetwae::engine::metrics
