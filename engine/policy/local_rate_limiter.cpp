#include "engine/policy/local_rate_limiter.hpp"

#include <algorithm>
#include <vector>

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
    // Each pass is linear in the shard, so it frees at least an eighth of it: under a flood of
    // new keys the cost per request stays constant on average.
    std::erase_if(shard.tats, [&](const auto& entry) { return bucketFull(entry.second, nowNs); });
    const std::size_t target = m_maxPerShard - std::max<std::size_t>(1, m_maxPerShard / 8);
    if (shard.tats.size() <= target) {
        return;
    }
    std::vector<std::int64_t> tats;
    tats.reserve(shard.tats.size());
    for (const auto& entry : shard.tats) {
        tats.push_back(entry.second);
    }
    // Exactly `drop` of the buckets closest to full (the smallest tat) go.
    const std::size_t drop = shard.tats.size() - target;
    std::nth_element(tats.begin(), tats.begin() + static_cast<std::ptrdiff_t>(drop - 1), tats.end());
    const std::int64_t cut = tats[drop - 1];
    std::size_t dropped = 0;
    std::erase_if(shard.tats, [&](const auto& entry) { return entry.second <= cut && dropped++ < drop; });
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
