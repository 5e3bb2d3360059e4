#pragma once

#include "engine/core/clock.hpp"
#include "engine/policy/token_bucket.hpp"
#include "shared/model/config.hpp"

#include <cstddef>
#include <string_view>

namespace gaetwae::engine::policy {

// One configured limit: a token bucket per key value, shared by every worker. The request path
// asks synchronously and gets an answer at once; implementations must be thread-safe, must not
// block beyond a short critical section and never throw.
//
// LocalRateLimiter keeps the buckets in this process. A limit with backend: redis is decided in
// Redis instead (route_limits.hpp, one script call per request, bounded by the command timeout);
// its local limiter then only answers when Redis cannot (on_error: local).
class RateLimiter {
public:
    explicit RateLimiter(model::RateLimitConfig config)
        : m_config(std::move(config))
        , m_shape(BucketShape::of(m_config)) {}
    virtual ~RateLimiter() = default;
    RateLimiter(const RateLimiter&) = delete;
    RateLimiter& operator=(const RateLimiter&) = delete;

    // Takes one token from the bucket of `key` at `now`. A refused request takes nothing.
    virtual BucketDecision acquire(std::string_view key, core::TimePoint now) = 0;
    // Buckets held in memory (some may have refilled since), for tests and status pages.
    virtual std::size_t trackedKeys() const = 0;

    const model::RateLimitConfig& config() const { return m_config; }
    const BucketShape& shape() const { return m_shape; }

private:
    model::RateLimitConfig m_config;
    BucketShape m_shape;
};

} // namespace gaetwae::engine::policy
