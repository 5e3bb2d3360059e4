#pragma once

#include "shared/model/tls_config.hpp"
#include "shared/model/units.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// Pools and their policies: how traffic is spread over instances and how failures are handled.
namespace gaetwae::model {

using namespace std::chrono_literals;

enum class Strategy {
    RoundRobin,
    WeightedRoundRobin,
    Random,
    LeastConnections,
    PowerOfTwo,
    LeastEwmaLatency,
    DynamicScore,
    IpHash,
    ConsistentHash,
};
inline constexpr std::array<std::pair<std::string_view, Strategy>, 9> kStrategyNames{{
    {"round_robin", Strategy::RoundRobin},
    {"weighted_round_robin", Strategy::WeightedRoundRobin},
    {"random", Strategy::Random},
    {"least_connections", Strategy::LeastConnections},
    {"power_of_two", Strategy::PowerOfTwo},
    {"least_ewma_latency", Strategy::LeastEwmaLatency},
    {"dynamic_score", Strategy::DynamicScore},
    {"ip_hash", Strategy::IpHash},
    {"consistent_hash", Strategy::ConsistentHash},
}};
std::string_view toString(Strategy strategy);

// Manual state of an instance, set in the config or through the admin API.
enum class InstanceState {
    Enabled,
    Draining, // no new requests (sticky clients move); requests in flight finish
    Disabled, // no traffic at all
};
inline constexpr std::array<std::pair<std::string_view, InstanceState>, 3> kInstanceStateNames{{
    {"enabled", InstanceState::Enabled},
    {"draining", InstanceState::Draining},
    {"disabled", InstanceState::Disabled},
}};
std::string_view toString(InstanceState state);

// What a hashing strategy (or hash-based stickiness) hashes.
enum class HashSource { ClientIp, Header, Cookie, Query, Path };
inline constexpr std::array<std::pair<std::string_view, HashSource>, 5> kHashSourceNames{{
    {"client_ip", HashSource::ClientIp},
    {"header", HashSource::Header},
    {"cookie", HashSource::Cookie},
    {"query", HashSource::Query},
    {"path", HashSource::Path},
}};
std::string_view toString(HashSource source);

struct HashOnConfig {
    HashSource source = HashSource::ClientIp;
    std::string name; // header, cookie or query parameter name

    bool operator==(const HashOnConfig&) const = default;
};

enum class HashAlgorithm { Ring, Maglev };
inline constexpr std::array<std::pair<std::string_view, HashAlgorithm>, 2> kHashAlgorithmNames{{
    {"ring", HashAlgorithm::Ring},
    {"maglev", HashAlgorithm::Maglev},
}};
std::string_view toString(HashAlgorithm algorithm);

struct ConsistentHashConfig {
    HashAlgorithm algorithm = HashAlgorithm::Ring;
    std::uint32_t virtualNodes = 160; // ring points per unit of weight
    double boundedLoad = 1.25;        // cap an instance at this multiple of the mean load; 0 disables

    bool operator==(const ConsistentHashConfig&) const = default;
};

struct LatencyConfig {
    Duration decay = 10s;           // time constant of the latency averages (and of decay to the pool mean)
    Duration failurePenalty = 1s;   // a 5xx or 429 counts as at least this slow
    Duration probeInterval = 5s;    // an instance not picked for this long gets one request
    double activeRequestBias = 1.0; // power_of_two: score = (active + 1)^bias / weight

    bool operator==(const LatencyConfig&) const = default;
};

struct SlowStartConfig {
    Duration window = 0ms;     // 0: off. Weight ramps up over this time after an instance (re)joins
    std::uint32_t minPercent = 10; // never below this share of its weight while ramping
    double aggression = 1.0;   // Envoy's curve: weight * max(min, (t / window) ^ (1 / aggression))

    bool operator==(const SlowStartConfig&) const = default;
};

enum class HealthCheckType { Http, Tcp };
inline constexpr std::array<std::pair<std::string_view, HealthCheckType>, 2> kHealthCheckTypeNames{{
    {"http", HealthCheckType::Http},
    {"tcp", HealthCheckType::Tcp},
}};
std::string_view toString(HealthCheckType type);

struct StatusRange {
    std::uint16_t low = 200;
    std::uint16_t high = 399;

    bool contains(int status) const { return status >= low && status <= high; }
    bool operator==(const StatusRange&) const = default;
};

struct HealthCheckConfig {
    bool enabled = false; // present in the config
    HealthCheckType type = HealthCheckType::Http;
    std::string method = "GET";
    std::string path = "/";
    std::string host; // Host header; empty: the instance address
    std::vector<StatusRange> expectedStatuses{{200, 399}};
    std::string bodyContains;
    Duration interval = 2s;
    Duration unhealthyInterval = 1s; // faster while an instance is down, to notice it back
    Duration timeout = 1s;
    std::uint32_t rise = 2;
    std::uint32_t fall = 3;
    double jitter = 0.1; // each interval varies by up to this fraction, so checks do not align

    bool operator==(const HealthCheckConfig&) const = default;
};

struct OutlierDetectionConfig {
    std::uint32_t consecutive5xx = 0;             // 0 disables each detector
    std::uint32_t consecutiveGatewayFailures = 5; // 502/503/504 answered by the backend, resets, timeouts
    std::uint32_t consecutiveConnectFailures = 3;
    Duration baseEjectionTime = 30s;              // grows with each ejection of the same instance
    Duration maxEjectionTime = 300s;
    std::uint32_t maxEjectionPercent = 50;        // never eject more of the pool than this
    double jitter = 0.1;

    bool operator==(const OutlierDetectionConfig&) const = default;
};

struct CircuitBreakerConfig {
    bool enabled = true;
    std::uint32_t consecutiveFailures = 5; // trips after this many failures in a row (0: off)
    double errorRatio = 0;                 // or when failures / requests in the window reach this (0: off)
    std::uint32_t minRequests = 20;        // ...with at least this many requests in the window
    Duration window = 10s;
    Duration openTimeout = 5s;             // first trip; doubles (with jitter) on each repeated trip
    Duration maxOpenTimeout = 60s;
    std::uint32_t halfOpenRequests = 3;    // probe requests admitted while half-open
    std::uint32_t successThreshold = 2;    // successful probes that close it again

    bool operator==(const CircuitBreakerConfig&) const = default;
};

struct PoolLimitsConfig {
    std::uint32_t maxActiveRequests = 0;   // across all workers; 0: unlimited
    std::uint32_t maxPendingRequests = 0;  // waiting for a connection or a retry; 0: unlimited
    std::uint32_t maxConcurrentRetries = 0; // 0: unlimited (the retry budget still applies)

    bool operator==(const PoolLimitsConfig&) const = default;
};

enum class RetryOn : std::uint8_t { ConnectFailure = 1, Reset = 2, Timeout = 4 };

struct RetryConfig {
    std::uint32_t attempts = 2; // retries after the first try; 0 disables retries
    bool onConnectFailure = true;
    bool onReset = true;
    bool onTimeout = true;
    std::vector<std::uint16_t> statuses{502, 503, 504};
    bool nonIdempotent = false;     // also retry POST/PATCH... (Idempotency-Key requests always may)
    Duration backoffBase = 25ms;    // exponential backoff with full jitter
    Duration backoffMax = 250ms;
    Duration maxRetryAfter = 1s;    // honour Retry-After up to this long; longer: answer instead
    Duration perTryTimeout = 0ms;   // 0: timeouts.upstream_response
    Duration overallTimeout = 0ms;  // deadline for all tries together; 0: none
    double budgetRatio = 0.2;       // retries in flight at most this share of active requests...
    std::uint32_t budgetMinConcurrency = 3; // ...or this many, whichever is larger
    std::uint64_t bufferBodyBytes = 64 * 1024; // request bodies up to this are kept to be replayable

    bool operator==(const RetryConfig&) const = default;
};

enum class StickyMode { Off, Cookie, Hash };
inline constexpr std::array<std::pair<std::string_view, StickyMode>, 3> kStickyModeNames{{
    {"off", StickyMode::Off},
    {"cookie", StickyMode::Cookie},
    {"hash", StickyMode::Hash},
}};
std::string_view toString(StickyMode mode);

struct StickyConfig {
    StickyMode mode = StickyMode::Off;
    std::string cookieName = "GAETWAE_STICKY";
    Duration cookieTtl = 0ms; // 0: a session cookie
    std::string cookiePath = "/";
    bool secure = false;
    bool httpOnly = true;
    std::string sameSite = "Lax"; // Lax, Strict, None or "" to omit
    HashOnConfig hashOn{HashSource::Cookie, "SESSIONID"}; // mode hash: what identifies a client

    bool operator==(const StickyConfig&) const = default;
};

// One backend server of a pool.
struct InstanceConfig {
    std::string id;      // unique within its pool; appears in logs, metrics and the console
    std::string address; // host:port
    std::uint32_t weight = 1;
    InstanceState state = InstanceState::Enabled;
    nlohmann::json extra = nlohmann::json::object(); // fields this version does not know (admin round trips)

    bool operator==(const InstanceConfig&) const = default;
};

struct PoolConfig {
    std::string name;
    Strategy strategy = Strategy::RoundRobin;
    HashOnConfig hashOn;
    ConsistentHashConfig consistentHash;
    LatencyConfig latency;
    SlowStartConfig slowStart;
    std::uint32_t panicThreshold = 50; // percent healthy below which health is ignored
    HealthCheckConfig healthCheck;
    OutlierDetectionConfig outlierDetection;
    CircuitBreakerConfig circuitBreaker;
    PoolLimitsConfig limits;
    RetryConfig retry;
    StickyConfig sticky;
    PoolTlsConfig tls; // TLS to the instances
    std::vector<InstanceConfig> instances;
    nlohmann::json extra = nlohmann::json::object();

    bool operator==(const PoolConfig&) const = default;
};

} // namespace gaetwae::model
