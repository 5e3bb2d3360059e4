#pragma once

#include "engine/policy/rate_limit_check.hpp"
#include "shared/model/config.hpp"

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace gaetwae::engine::policy {

// Hands out the limiters of each config so bucket state survives reloads and admin changes: a
// limiter whose identity (its name, or its route and position for an unnamed one) and definition
// are unchanged is reused with its buckets; a changed definition starts with full buckets.
// Limiters are owned by the snapshots that use them (the registry holds weak references), so
// they go away with the last snapshot that needs them, and a config that fails to apply after
// binding leaves nothing behind. Thread-safe.
class RateLimitRegistry {
public:
    // By route index of `config`; an inner vector is empty for a route without limits.
    std::vector<std::vector<RouteRateLimit>> bind(const model::GatewayConfig& config);

private:
    std::mutex m_mutex;
    std::map<std::string, std::weak_ptr<RateLimiter>> m_limiters; // by identity
    std::map<std::pair<std::string, std::string>, std::weak_ptr<RateLimitCounters>>
        m_counters; // by route, label
};

} // namespace gaetwae::engine::policy
