#include "engine/core/runtime_snapshot.hpp"

#include "engine/policy/sticky_session.hpp"
#include "shared/model/address.hpp"

#include <netdb.h>

#include <cstring>
#include <set>

namespace gaetwae::engine::core {

namespace {

std::optional<tcp::endpoint> resolveEndpoint(const model::HostPort& address, std::string& error) {
    error_code ec;
    const auto literal = asio::ip::make_address(address.host, ec);
    if (!ec) {
        return tcp::endpoint(literal, address.port);
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* result = nullptr;
    const int rc = ::getaddrinfo(address.host.c_str(), nullptr, &hints, &result);
    if (rc != 0 || result == nullptr) {
        error = "cannot resolve host '" + address.host + "': " + ::gai_strerror(rc);
        return std::nullopt;
    }
    tcp::endpoint endpoint;
    std::memcpy(endpoint.data(), result->ai_addr, result->ai_addrlen);
    ::freeaddrinfo(result);
    endpoint.port(address.port);
    return endpoint;
}

} // namespace

std::shared_ptr<health::InstanceState> InstanceRegistry::obtain(const std::string& pool, const std::string& instance) {
    std::lock_guard lock(m_mutex);
    auto& state = m_states[{pool, instance}];
    if (!state) {
        state = std::make_shared<health::InstanceState>(pool, instance, m_clock.now());
    }
    return state;
}

std::shared_ptr<PoolCounters> InstanceRegistry::counters(const std::string& pool) {
    std::lock_guard lock(m_mutex);
    auto& counters = m_pools[pool];
    if (!counters) {
        counters = std::make_shared<PoolCounters>();
    }
    return counters;
}

void InstanceRegistry::retain(const model::GatewayConfig& config) {
    std::lock_guard lock(m_mutex);
    for (auto it = m_states.begin(); it != m_states.end();) {
        const auto* pool = config.findPool(it->first.first);
        const bool keep = pool != nullptr && std::any_of(pool->instances.begin(), pool->instances.end(),
                                                         [&](const auto& i) { return i.id == it->first.second; });
        it = keep ? std::next(it) : m_states.erase(it);
    }
    for (auto it = m_pools.begin(); it != m_pools.end();) {
        it = config.findPool(it->first) != nullptr ? std::next(it) : m_pools.erase(it);
    }
    std::set<std::string> routes;
    for (const auto& route : config.routes) {
        routes.insert(route.name);
    }
    m_tunnels.retain(routes);
}

std::shared_ptr<net::TlsFailureCounters> InstanceRegistry::tlsFailures(const std::string& listener) {
    std::lock_guard lock(m_mutex);
    auto& counters = m_tlsFailures[listener];
    if (!counters) {
        counters = std::make_shared<net::TlsFailureCounters>();
    }
    return counters;
}

std::vector<std::pair<std::string, std::shared_ptr<net::TlsFailureCounters>>> InstanceRegistry::allTlsFailures() const {
    std::lock_guard lock(m_mutex);
    return {m_tlsFailures.begin(), m_tlsFailures.end()};
}

std::shared_ptr<const RuntimeSnapshot> buildRuntimeSnapshot(const model::GatewayConfig& config, std::uint64_t version,
                                                            InstanceRegistry& registry,
                                                            std::shared_ptr<http::AccessLog> accessLog,
                                                            model::Diagnostics& diagnostics) {
    auto snapshot = std::make_shared<RuntimeSnapshot>();
    snapshot->version = version;
    snapshot->config = config;
    snapshot->headerPolicy = http::HeaderPolicy::fromConfig(config.headers);
    snapshot->accessLog = std::move(accessLog);

    for (std::size_t p = 0; p < config.pools.size(); ++p) {
        const auto& poolConfig = config.pools[p];
        auto pool = std::make_shared<balancing::PoolSnapshot>();
        pool->name = poolConfig.name;
        pool->config = poolConfig;
        pool->config.instances.clear(); // the instances live below, with their state
        RuntimePool runtime;
        runtime.counters = registry.counters(poolConfig.name);
        for (std::size_t i = 0; i < poolConfig.instances.size(); ++i) {
            const auto& instanceConfig = poolConfig.instances[i];
            const auto pointer = "/pools/" + std::to_string(p) + "/instances/" + std::to_string(i) + "/address";
            std::string error;
            const auto hostPort = model::parseHostPort(instanceConfig.address, &error);
            if (!hostPort) {
                diagnostics.error(pointer, error);
                continue;
            }
            const auto endpoint = resolveEndpoint(*hostPort, error);
            if (!endpoint) {
                diagnostics.error(pointer, error);
                continue;
            }
            pool->instances.push_back(balancing::InstanceSnapshot{
                instanceConfig.id, instanceConfig.address, instanceConfig.weight,
                registry.obtain(poolConfig.name, instanceConfig.id),
                policy::stickyCookieValue(poolConfig.name, instanceConfig.id)});
            runtime.endpoints.push_back(*endpoint);
            runtime.tlsNames.push_back(poolConfig.tls.serverName.empty() ? hostPort->host : poolConfig.tls.serverName);
        }
        if (poolConfig.tls.enabled) {
            runtime.tls = registry.clientTls().obtain(poolConfig.name, poolConfig.tls,
                                                      "/pools/" + std::to_string(p) + "/tls", diagnostics);
        }
        runtime.snapshot = std::move(pool);
        snapshot->pools.push_back(std::move(runtime));
    }

    snapshot->routes = routing::RouteTable(config.routes, [&](const std::string& name) {
        for (std::size_t p = 0; p < config.pools.size(); ++p) {
            if (config.pools[p].name == name) {
                return p;
            }
        }
        return std::size_t{0}; // unreachable: validation guarantees the pool exists
    });
    for (std::size_t l = 0; l < config.listeners.size(); ++l) {
        const auto& listener = config.listeners[l];
        if (!listener.tls.enabled()) {
            snapshot->listenerTls.push_back(nullptr);
            continue;
        }
        snapshot->listenerTls.push_back(net::TlsServerContext::create(
            listener.tls, "/listeners/" + std::to_string(l) + "/tls", registry.tlsFailures(listener.name), diagnostics));
    }
    snapshot->auth = registry.auth().bind(config, diagnostics); // key files that fail to load are errors
    if (config.redis) {
        snapshot->redis = policy::resolveRedisTarget(*config.redis, registry.rateLimits().redisStatus(), diagnostics);
    }
    if (!diagnostics.empty()) {
        return nullptr;
    }
    snapshot->rateLimits = registry.rateLimits().bind(config);
    snapshot->quotas = registry.rateLimits().bindQuotas(config);
    snapshot->limitModes = policy::RateLimitRegistry::limitModes(config);
    snapshot->transforms = policy::compileRouteTransforms(config);
    for (const auto& route : config.routes) {
        snapshot->tunnels.push_back(route.upgrade.empty() ? nullptr : registry.tunnels().obtain(route.name));
    }
    return snapshot;
}

} // namespace gaetwae::engine::core
