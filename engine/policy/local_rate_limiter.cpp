#include "engine/policy/local_rate_limiter.hpp"

#include <algorithm>

namespace gaetwae::engine::policy {

LocalRateLimiter::LocalRateLimiter(model::RateLimitConfig config, std::size_t maxKeys)
    : RateLimiter(std::move(config))
    , m_maxPerShard(std::max<std::size_t>(1, maxKeys / kShards)) {}

BucketDecision LocalRateLimiter::acquire(std::string_view key, core::TimePoint now) {
    const std::size_t hash = KeyHash{}(key);
    // The shard comes from the hash's high bits; the map inside uses all of them.
    Shard& shard = m_shards[(hash * 0x9e3779b97f4a7c15ULL) >> 60];
    const std::int64_t nowNs = core::toNanos(now);
    std::lock_guard lock(shard.mutex);
    if (const auto it = shard.tats.find(key); it != shard.tats.end()) {
        return takeToken(it->second, nowNs, shape());
    }
    std::int64_t tat = nowNs; // untracked: full
    const BucketDecision decision = takeToken(tat, nowNs, shape());
    if (decision.allowed && !bucketFull(tat, nowNs)) {
        if (shard.tats.size() >= m_maxPerShard) {
            evict(shard, nowNs);
        }
        shard.tats.emplace(std::string(key), tat);
    }
    return decision;
}

void LocalRateLimiter::evict(Shard& shard, std::int64_t nowNs) {
    std::erase_if(shard.tats, [&](const auto& entry) { return bucketFull(entry.second, nowNs); });
    if (shard.tats.size() < m_maxPerShard) {
        return;
    }
    const auto fullest = std::min_element(shard.tats.begin(), shard.tats.end(),
                                          [](const auto& a, const auto& b) { return a.second < b.second; });
    shard.tats.erase(fullest);
}

std::size_t LocalRateLimiter::trackedKeys() const {
    std::size_t n = 0;
    for (const auto& shard : m_shards) {
        std::lock_guard lock(shard.mutex);
        n += shard.tats.size();
    }
    return n;
}

} // namespace gaetwae::engine::policy
