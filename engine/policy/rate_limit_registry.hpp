#pragma once

#include "engine/core/event_bus.hpp"
#include "engine/policy/quota_store.hpp"
#include "engine/policy/rate_limit_check.hpp"
#include "engine/policy/redis_client.hpp"
#include "engine/policy/route_limits.hpp"
#include "shared/model/config.hpp"

#include <chrono>
#include <filesystem>
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
    // Quotas by route index. The first config with local quota counts (or a changed
    // quota_state_file) loads the counts saved there.
    std::vector<std::vector<RouteQuota>> bindQuotas(const model::GatewayConfig& config);
    // How each route checks its limits (by route index).
    static std::vector<LimitMode> limitModes(const model::GatewayConfig& config);

    // Redis transitions are published on `events` (set once, before the first bind).
    void publishTo(core::EventBus* events);
    std::shared_ptr<RedisStatus> redisStatus();
    // Writes local quota counts to the state file when they changed: at most every
    // kQuotaSaveInterval, or at once with `now` (shutdown).
    static constexpr auto kQuotaSaveInterval = std::chrono::seconds(5);
    void saveQuotas(bool now);

private:
    std::mutex m_mutex;
    core::EventBus* m_events = nullptr;
    std::shared_ptr<RedisStatus> m_redisStatus;
    std::shared_ptr<LocalQuotaStore> m_quotaStore = std::make_shared<LocalQuotaStore>();
    std::filesystem::path m_quotaPath; // loaded from and saved to; empty until a config uses it
    std::chrono::steady_clock::time_point m_lastQuotaSave{};
    std::map<std::string, std::weak_ptr<RateLimiter>> m_limiters; // by identity
    std::map<std::pair<std::string, std::string>, std::weak_ptr<RateLimitCounters>>
        m_counters; // by route, label
};

} // namespace gaetwae::engine::policy
