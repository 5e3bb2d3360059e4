#pragma once

#include "engine/policy/rate_limiter.hpp"

#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace gaetwae::engine::policy {

// In-process buckets: a hash map of key value -> bucket state (one int64, see token_bucket.hpp),
// split into mutex-striped shards so workers limiting different keys rarely meet on a lock.
//
// Memory is bounded: at most `maxKeys` buckets are tracked (default kDefaultMaxKeys, about
// 10 MB of keys in the worst case). Only buckets that are not full need tracking, so when a
// shard is at its share of the cap it first forgets its full buckets (lossless), and if that
// frees less than an eighth of the shard it forgets the buckets closest to full until it does:
// under a flood of distinct keys the limiter errs towards letting a request through rather
// than growing without bound, at a constant amortized cost per new key.
class LocalRateLimiter final : public RateLimiter {
public:
    static constexpr std::size_t kDefaultMaxKeys = 100'000;
    static constexpr std::size_t kShards = 16;

    explicit LocalRateLimiter(model::RateLimitConfig config, std::size_t maxKeys = kDefaultMaxKeys);

    BucketDecision acquire(std::string_view key, core::TimePoint now) override;
    std::size_t trackedKeys() const override;

private:
    struct KeyHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view key) const { return std::hash<std::string_view>{}(key); }
    };
    struct alignas(64) Shard {
        mutable std::mutex mutex;
        std::unordered_map<std::string, std::int64_t, KeyHash, std::equal_to<>> tats;
    };

    // Makes room for one more bucket in a full shard (lock held).
    void evict(Shard& shard, std::int64_t nowNs);

    std::size_t m_maxPerShard;
    std::array<Shard, kShards> m_shards;
};

} // namespace gaetwae::engine::policy
