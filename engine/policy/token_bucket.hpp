#pragma once

#include "shared/model/config.hpp"

#include <cstdint>

namespace gaetwae::engine::policy {

// A token bucket in integer nanoseconds, in GCRA form (the "virtual scheduling" token bucket of
// ATM traffic policing): a bucket is one number, its theoretical arrival time `tat`, the instant
// it will be full again. `tat <= now` means full, so a bucket nobody tracks is a full one and
// forgetting a full bucket loses nothing. Exact for whole tokens; no floating point drift.
struct BucketShape {
    std::int64_t intervalNs = 1'000'000'000; // refill time of one token: period / count, rounded down
    std::int64_t capacity = 1;               // tokens of a full bucket: count + burst

    // Validated configs keep intervalNs * capacity far below 2^63 (count, burst <= 10^6, period <= 1h).
    static BucketShape of(const model::RateLimitConfig& config);
};

struct BucketDecision {
    bool allowed = false;
    std::int64_t limit = 0;        // the bucket's capacity
    std::int64_t remaining = 0;    // whole tokens left after this request (0 when refused)
    std::int64_t resetNs = 0;      // until the bucket is full again
    std::int64_t retryAfterNs = 0; // until the next token (0 when allowed)
};

// Takes one token at `nowNs` from the bucket in state `tat`. Allowed: `tat` advances by one
// interval. Refused: `tat` is unchanged and the decision says how long until a token is there.
// Pure and synchronous; the caller makes it atomic per bucket.
BucketDecision takeToken(std::int64_t& tat, std::int64_t nowNs, const BucketShape& shape);

inline bool bucketFull(std::int64_t tat, std::int64_t nowNs) {
    return tat <= nowNs;
}

} // namespace gaetwae::engine::policy
