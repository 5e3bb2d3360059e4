#include "engine/policy/rate_limit_registry.hpp"

#include "engine/policy/local_rate_limiter.hpp"

namespace gaetwae::engine::policy {

std::vector<std::vector<RouteRateLimit>> RateLimitRegistry::bind(const model::GatewayConfig& config) {
    std::lock_guard lock(m_mutex);
    std::erase_if(m_limiters, [](const auto& entry) { return entry.second.expired(); });
    std::erase_if(m_counters, [](const auto& entry) { return entry.second.expired(); });

    std::vector<std::vector<RouteRateLimit>> out(config.routes.size());
    for (std::size_t r = 0; r < config.routes.size(); ++r) {
        const auto& route = config.routes[r];
        for (std::size_t i = 0; i < route.rateLimits.size(); ++i) {
            const auto& limit = route.rateLimits[i];
            RouteRateLimit bound;
            // Named limiters are shared by every route naming them; "#" cannot occur in a name.
            bound.label = limit.name.empty() ? route.name + "#" + std::to_string(i) : limit.name;
            auto& weak = m_limiters[limit.name.empty() ? bound.label : "name:" + limit.name];
            bound.limiter = weak.lock();
            if (!bound.limiter || !(bound.limiter->config() == limit)) {
                bound.limiter = std::make_shared<LocalRateLimiter>(limit);
                weak = bound.limiter;
            }
            auto& counters = m_counters[{route.name, bound.label}];
            bound.counters = counters.lock();
            if (!bound.counters) {
                bound.counters = std::make_shared<RateLimitCounters>();
                counters = bound.counters;
            }
            out[r].push_back(std::move(bound));
        }
    }
    return out;
}

} // namespace gaetwae::engine::policy
