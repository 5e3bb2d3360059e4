#pragma once

#include "engine/balancing/balancer.hpp"
#include "engine/http/access_log.hpp"
#include "engine/http/header_rules.hpp"
#include "engine/net/asio.hpp"
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

struct RuntimePool {
    std::shared_ptr<const balancing::PoolSnapshot> snapshot;
    std::vector<tcp::endpoint> endpoints; // same order as snapshot->instances
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
};

// Live instance states keyed by pool name and instance id, kept across snapshots so state (active
// requests now, health and breakers later) survives reloads.
class InstanceRegistry {
public:
    std::shared_ptr<health::InstanceState> obtain(const std::string& pool, const std::string& instance);
    // Forgets instances that are not in `config` any more.
    void retain(const model::GatewayConfig& config);

private:
    std::mutex m_mutex;
    std::map<std::pair<std::string, std::string>, std::shared_ptr<health::InstanceState>> m_states;
};

// Resolves instance addresses and compiles routes and pools. Problems (an unresolvable host)
// are reported with the config's JSON pointers; on any problem the result is nullptr.
std::shared_ptr<const RuntimeSnapshot> buildRuntimeSnapshot(const model::GatewayConfig& config, std::uint64_t version,
                                                            InstanceRegistry& registry,
                                                            std::shared_ptr<http::AccessLog> accessLog,
                                                            model::Diagnostics& diagnostics);

} // namespace gaetwae::engine::core
