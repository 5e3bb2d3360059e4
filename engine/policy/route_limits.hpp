#pragma once

#include "engine/balancing/balancer.hpp"
#include "engine/core/clock.hpp"
#include "engine/net/asio.hpp"
#include "engine/policy/quota_store.hpp"
#include "engine/policy/rate_limit_check.hpp"
#include "engine/policy/redis_client.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace gaetwae::engine::policy {

// One quota of a route as the request path sees it.
struct RouteQuota {
    model::QuotaConfig config;
    std::string label;                      // the quota's name, or "<route>#q<position>"
    std::shared_ptr<LocalQuotaStore> store; // local counts (local backend, or on_error: local)
    std::shared_ptr<RateLimitCounters> counters;
};

// How a route's limits are checked: not at all, synchronously in this process, or with one
// Redis round trip (some limit or quota has backend: redis).
enum class LimitMode : std::uint8_t { None, Local, Shared };

struct LimitVerdict {
    enum class Refusal { None, RateLimited, QuotaExceeded, Unavailable };
    Refusal refusal = Refusal::None;
    RateLimitOutcome rate;
    bool quotaReported = false;
    QuotaDecision quota; // the strictest evaluated quota, for the X-Quota-* headers
};

// Everything a check needs about one request.
struct LimitRequest {
    std::span<const RouteRateLimit> limits;
    std::span<const RouteQuota> quotas;
    const balancing::RequestKey& request;
    std::string_view route;
    core::TimePoint now;                           // buckets (monotonic)
    std::chrono::system_clock::time_point wallNow; // quota periods (UTC)
};

// Rate limits first (each that passes spends its token), then, unless an enforcing one refused,
// the quotas. All local: no I/O, no waiting.
LimitVerdict checkLocalLimits(const LimitRequest& request, std::string& scratch);

// The same with the Redis-backed limits and quotas decided by one script call through `client`.
// Local limits go first: a request they refuse costs no round trip. When Redis cannot answer
// (not connected, error, command_timeout), each Redis-backed entry follows its on_error: allow
// skips it (and its headers), deny answers 503 rate_limit_unavailable, local decides with this
// engine's own buckets and counts of the same definition.
Task<LimitVerdict> checkSharedLimits(std::shared_ptr<RedisClient> client, LimitRequest request);

// X-RateLimit-Limit/Remaining/Reset for the rate limits, X-Quota-Limit/Remaining/Reset (reset in
// seconds to the period end) for the quotas, and Retry-After when refused for either.
void appendLimitHeaders(const LimitVerdict& verdict, std::string& lines);

} // namespace gaetwae::engine::policy
