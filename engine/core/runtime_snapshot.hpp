#pragma once

#include "engine/balancing/balancer.hpp"
#include "engine/core/clock.hpp"
#include "engine/http/access_log.hpp"
#include "engine/http/header_rules.hpp"
#include "engine/http/tunnel_counters.hpp"
#include "engine/net/asio.hpp"
#include "engine/net/tls_context.hpp"
#include "engine/policy/auth_registry.hpp"
#include "engine/policy/rate_limit_registry.hpp"
#include "engine/policy/route_transforms.hpp"
#include "engine/routing/route_table.hpp"
#include "shared/model/config.hpp"
#include "shared/model/diagnostics.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace gaetwae::engine::core {

// Pool-wide counters shared by every worker (Envoy-style circuit-breaking limits).
struct PoolCounters {
    std::atomic<std::int64_t> activeRequests{0};
    std::atomic<std::int64_t> pendingRequests{0}; // waiting for a connection or a retry
    std::atomic<std::int64_t> activeRetries{0};
    std::atomic<std::uint64_t> retries{0};        // since start
    std::atomic<std::uint64_t> overflows{0};      // requests refused by a pool limit
};

struct RuntimePool {
    std::shared_ptr<const balancing::PoolSnapshot> snapshot;
    std::vector<tcp::endpoint> endpoints; // same order as snapshot->instances
    std::shared_ptr<PoolCounters> counters;
    // pools[].tls: the client context (nullptr: plain TCP) and, by instance, the name sent as
    // SNI and verified (tls.server_name, else the instance's host).
    std::shared_ptr<net::TlsClientContext> tls;
    std::vector<std::string> tlsNames;
};

// Everything a worker needs to serve requests under one config version. Built on the control
// thread, published as shared_ptr<const>, never modified: requests in flight keep the snapshot
// they started with, so a reload never disturbs them.
struct RuntimeSnapshot {
    std::uint64_t version = 0;
    model::GatewayConfig config;
    routing::RouteTable routes;
    std::vector<RuntimePool> pools;
    http::HeaderPolicy headerPolicy;
    std::shared_ptr<http::AccessLog> accessLog;
    // By route index; empty for a route without rate_limit (its requests pay nothing).
    std::vector<std::vector<policy::RouteRateLimit>> rateLimits;
    // By listener index: the TLS context of a listeners[].tls, nullptr for plain listeners. Built
    // from the files at every apply, so a reload picks up replaced certificates.
    std::vector<std::shared_ptr<net::TlsServerContext>> listenerTls;
    // By route index; nullptr for a route without auth (its requests pay one null check).
    std::vector<std::shared_ptr<const policy::RouteAuth>> auth;
    std::vector<std::vector<policy::RouteQuota>> quotas; // by route index
    std::vector<policy::LimitMode> limitModes;           // by route index: the one check a request pays
    std::shared_ptr<const policy::RedisTarget> redis;    // null without a redis: section
    // By route index; nullptr for a route without header edits, CORS or compression.
    std::vector<std::shared_ptr<const policy::RouteTransforms>> transforms;
    // By route index; null for a route that tunnels no upgrade protocol.
    std::vector<std::shared_ptr<http::TunnelCounters>> tunnels;
};

// Live instance and pool states keyed by names, kept across snapshots so health, breakers,
// latency averages, counters and rate limit buckets survive reloads.
class InstanceRegistry {
public:
    explicit InstanceRegistry(const Clock& clock)
        : m_clock(clock) {}

    std::shared_ptr<health::InstanceState> obtain(const std::string& pool, const std::string& instance);
    std::shared_ptr<PoolCounters> counters(const std::string& pool);
    // Forgets instances and pools that are not in `config` any more.
    void retain(const model::GatewayConfig& config);
    policy::RateLimitRegistry& rateLimits() { return m_rateLimits; }
    // Handshake failure counters of a listener (by name), kept for the engine's lifetime.
    std::shared_ptr<net::TlsFailureCounters> tlsFailures(const std::string& listener);
    net::TlsClientCache& clientTls() { return m_clientTls; }
    // Every listener's handshake failure counters, for /metrics.
    std::vector<std::pair<std::string, std::shared_ptr<net::TlsFailureCounters>>> allTlsFailures() const;
    policy::AuthRegistry& auth() { return m_auth; }
    http::TunnelRegistry& tunnels() { return m_tunnels; }
    const http::TunnelRegistry& tunnels() const { return m_tunnels; }

private:
    const Clock& m_clock;
    mutable std::mutex m_mutex;
    std::map<std::pair<std::string, std::string>, std::shared_ptr<health::InstanceState>> m_states;
    std::map<std::string, std::shared_ptr<PoolCounters>> m_pools;
    policy::RateLimitRegistry m_rateLimits; // owns its own lock
    std::map<std::string, std::shared_ptr<net::TlsFailureCounters>> m_tlsFailures; // under m_mutex
    net::TlsClientCache m_clientTls; // snapshots are built under the engine's lock
    policy::AuthRegistry m_auth;            // owns its own lock
    http::TunnelRegistry m_tunnels;         // owns its own lock
};

// Resolves instance addresses and compiles routes and pools. Problems (an unresolvable host)
// are reported with the config's JSON pointers; on any problem the result is nullptr.
std::shared_ptr<const RuntimeSnapshot> buildRuntimeSnapshot(const model::GatewayConfig& config, std::uint64_t version,
                                                            InstanceRegistry& registry,
                                                            std::shared_ptr<http::AccessLog> accessLog,
                                                            model::Diagnostics& diagnostics);

} // namespace gaetwae::engine::core
