#pragma once

#include "shared/protocol/histogram.hpp"
#include "shared/protocol/stats.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>
#include <unordered_map>

namespace gaetwae::engine::metrics {

// A counter with one writer (its worker) and readers on other threads. The writer adds with a
// plain load and store (no locked instruction); readers see a consistent value, never torn.
class Counter {
public:
    void add(std::uint64_t n = 1) { m_value.store(m_value.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
    std::uint64_t value() const { return m_value.load(std::memory_order_relaxed); }

private:
    std::atomic<std::uint64_t> m_value{0};
};

// The error codes counted per route, pool and instance: the gateway's own answers
// (proxy_error.hpp) and failures after a response started.
inline constexpr std::array<std::string_view, 28> kErrorCodes{
    "bad_request",          "uri_too_long",          "headers_too_large",        "body_too_large",
    "header_timeout",       "body_timeout",          "expectation_failed",       "method_not_allowed",
    "no_route",             "no_healthy_instance",   "circuit_open",             "pool_overloaded",
    "upstream_connect_failed", "upstream_connect_timeout", "upstream_reset",     "upstream_protocol_error",
    "upstream_timeout",     "upstream_reset_mid_body", "upstream_timeout_mid_body", "client_gone",
    "rate_limited",         "upstream_tls_failed",   "quota_exceeded",           "rate_limit_unavailable",
    "unauthorized",         "forbidden",             "cors_rejected",            "shutting_down",
};
std::size_t errorIndex(std::string_view code); // kErrorCodes.size() when unknown

// Responses a route compressed: by algorithm (index as model::CompressionAlgorithm: br, gzip),
// the backend body bytes that went into the coder and the encoded bytes sent to clients.
struct CompressionTotals {
    std::array<std::uint64_t, 2> responses{};
    std::uint64_t bytesIn = 0;
    std::uint64_t bytesOut = 0;
};

// Cumulative counters of one route, pool, instance (or the whole gateway) in one worker.
struct StatsBlock {
    Counter requests;
    std::array<Counter, 5> responses;
    std::array<Counter, kErrorCodes.size()> errors;
    Counter retries;
    Counter bytesIn;
    Counter bytesOut;
    std::array<Counter, protocol::LatencyHistogram::kBucketCount> latency;
    std::array<Counter, protocol::LatencyHistogram::kBucketCount> upstream;
    Counter latencySum;  // microseconds
    Counter upstreamSum;
    // Compressed responses (route blocks only), as CompressionTotals.
    std::array<Counter, 2> compressed;
    Counter compressionIn;
    Counter compressionOut;

    // Requests by method and status, for Prometheus' proxy_requests_total (instances only).
    // Looked up without a lock by the worker (the only writer); inserts and readers lock.
    std::unordered_map<std::uint32_t, std::unique_ptr<Counter>> byMethodStatus;
    mutable std::mutex byMethodStatusMutex;

    void countMethodStatus(std::uint32_t methodIndex, int status);

    // Adds this block's cumulative values into `out` (counts, errors and histograms).
    void addTo(protocol::TrafficStats& out) const;
    void addCompressionTo(CompressionTotals& out) const;
    void addMethodStatus(std::unordered_map<std::uint32_t, std::uint64_t>& out) const;
};

// Method labels for proxy_requests_total.
inline constexpr std::array<std::string_view, 8> kMethodLabels{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH",
                                                               "OPTIONS", "OTHER"};
std::uint32_t methodIndex(std::string_view method);
inline std::uint32_t methodStatusKey(std::uint32_t methodIndex, int status) {
    return methodIndex * 1000 + static_cast<std::uint32_t>(status);
}

} // namespace gaetwae::engine::metrics
