#include "engine/policy/rate_limit_registry.hpp"

#include "engine/policy/local_rate_limiter.hpp"

#include <spdlog/spdlog.h>

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

std::vector<std::vector<RouteQuota>> RateLimitRegistry::bindQuotas(const model::GatewayConfig& config) {
    std::lock_guard lock(m_mutex);
    std::vector<std::vector<RouteQuota>> out(config.routes.size());
    bool countsLocally = false;
    for (std::size_t r = 0; r < config.routes.size(); ++r) {
        const auto& route = config.routes[r];
        for (std::size_t i = 0; i < route.quotas.size(); ++i) {
            const auto& quota = route.quotas[i];
            RouteQuota bound;
            bound.config = quota;
            // "#q" keeps unnamed quotas apart from unnamed rate limits of the same route.
            bound.label = quota.name.empty() ? route.name + "#q" + std::to_string(i) : quota.name;
            bound.store = m_quotaStore;
            auto& counters = m_counters[{route.name, bound.label}];
            bound.counters = counters.lock();
            if (!bound.counters) {
                bound.counters = std::make_shared<RateLimitCounters>();
                counters = bound.counters;
            }
            countsLocally = countsLocally || quota.backend == model::LimitBackend::Local ||
                            quota.onError == model::LimitOnError::Local;
            out[r].push_back(std::move(bound));
        }
    }
    if (countsLocally) {
        const auto path = config.quotaStateFile.empty() ? defaultQuotaStatePath()
                                                        : std::filesystem::path(config.quotaStateFile);
        if (path != m_quotaPath) {
            std::string error;
            if (!m_quotaPath.empty()) {
                m_quotaStore->save(m_quotaPath, false, error); // counts so far stay with the old file
            }
            if (!m_quotaStore->load(path, error)) {
                spdlog::warn("local quota counts start from zero: {}", error);
            }
            m_quotaPath = path;
        }
    }
    return out;
}

std::vector<LimitMode> RateLimitRegistry::limitModes(const model::GatewayConfig& config) {
    std::vector<LimitMode> modes;
    modes.reserve(config.routes.size());
    for (const auto& route : config.routes) {
        LimitMode mode = route.rateLimits.empty() && route.quotas.empty() ? LimitMode::None : LimitMode::Local;
        for (const auto& limit : route.rateLimits) {
            mode = limit.backend == model::LimitBackend::Redis ? LimitMode::Shared : mode;
        }
        for (const auto& quota : route.quotas) {
            mode = quota.backend == model::LimitBackend::Redis ? LimitMode::Shared : mode;
        }
        modes.push_back(mode);
    }
    return modes;
}

void RateLimitRegistry::publishTo(core::EventBus* events) {
    std::lock_guard lock(m_mutex);
    m_events = events;
}

std::shared_ptr<RedisStatus> RateLimitRegistry::redisStatus() {
    std::lock_guard lock(m_mutex);
    if (!m_redisStatus) {
        m_redisStatus = std::make_shared<RedisStatus>(m_events);
    }
    return m_redisStatus;
}

void RateLimitRegistry::saveQuotas(bool now) {
    std::filesystem::path path;
    {
        std::lock_guard lock(m_mutex);
        const auto time = std::chrono::steady_clock::now();
        if (m_quotaPath.empty() || (!now && time - m_lastQuotaSave < kQuotaSaveInterval)) {
            return;
        }
        m_lastQuotaSave = time;
        path = m_quotaPath;
    }
    std::string error;
    if (!m_quotaStore->save(path, false, error)) {
        spdlog::warn("cannot save local quota counts: {}", error);
    }
}

} // namespace gaetwae::engine::policy
