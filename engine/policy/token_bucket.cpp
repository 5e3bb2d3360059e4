#include "engine/policy/token_bucket.hpp"

#include <algorithm>
#include <chrono>

namespace gaetwae::engine::policy {

BucketShape BucketShape::of(const model::RateLimitConfig& config) {
    BucketShape shape;
    const auto periodNs = std::chrono::duration_cast<std::chrono::nanoseconds>(config.period).count();
    shape.intervalNs = std::max<std::int64_t>(1, periodNs / std::max<std::uint32_t>(1, config.count));
    shape.capacity = static_cast<std::int64_t>(std::max<std::uint32_t>(1, config.count)) + config.burst;
    return shape;
}

BucketDecision takeToken(std::int64_t& tat, std::int64_t nowNs, const BucketShape& shape) {
    // The bucket holds (capacity * interval - (tat - now)) / interval tokens. Taking one moves
    // tat one interval later, which is allowed while tat - now stays within capacity * interval.
    const std::int64_t window = shape.capacity * shape.intervalNs;
    const std::int64_t base = std::max(tat, nowNs);
    const std::int64_t next = base + shape.intervalNs;
    BucketDecision d;
    d.limit = shape.capacity;
    if (next - nowNs <= window) {
        tat = next;
        d.allowed = true;
        d.remaining = (window - (next - nowNs)) / shape.intervalNs;
        d.resetNs = next - nowNs;
        return d;
    }
    d.remaining = 0;
    d.resetNs = base - nowNs;
    d.retryAfterNs = next - window - nowNs; // when next - now' == window
    return d;
}

} // namespace gaetwae::engine::policy
