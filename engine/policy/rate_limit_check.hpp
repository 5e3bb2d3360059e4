#pragma once

#include "engine/balancing/balancer.hpp"
#include "engine/core/clock.hpp"
#include "engine/policy/rate_limiter.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace gaetwae::engine::policy {

// Requests one limit of one route let through or refused (or would have refused, in dry run),
// for /metrics. Kept across reloads by RateLimitRegistry so the counters stay monotonic.
struct RateLimitCounters {
    std::atomic<std::uint64_t> allowed{0};
    std::atomic<std::uint64_t> limited{0};
};

// One limit of a route as the request path sees it.
struct RouteRateLimit {
    std::shared_ptr<RateLimiter> limiter;
    std::shared_ptr<RateLimitCounters> counters;
    std::string label; // the limiter's name, or "<route>#<position>" for an unnamed one
};

inline constexpr std::size_t kMaxKeyBytes = 128;

struct RateLimitOutcome {
    bool refused = false;          // an enforcing limit refused: answer 429
    bool wouldRefuse = false;      // only dry-run limits refused: serve, but report
    BucketDecision reported;       // the strictest limit's values, for the X-RateLimit-* headers
    std::int64_t retryAfterNs = 0; // the longest wait any enforcing refusal asks for
    bool any = false;              // some limit decided (else there is nothing to report)
    bool reportedEnforcing = false;
};

// Adds one limit's decision: an enforcing refusal before a dry-run one, then the fewest
// remaining tokens, then the longest time to full answers for the route.
void mergeDecision(RateLimitOutcome& outcome, const BucketDecision& d, bool enforcing);

// The bucket key a limit uses for a request: the client IP, a header or query value, the
// authenticated consumer, the route name, or "" (global). A request without the header, query
// parameter or consumer (or with an empty value)
// falls back to its client IP, in a separate namespace ("ip:" vs "k:" prefixes) so a key value
// can never collide with an address. Query values are compared as sent (not percent-decoded).
// Values longer than kMaxKeyBytes are keyed by a 64-bit hash ("h:" prefix) to bound memory.
std::string_view rateLimitKey(const model::RateLimitConfig& limit, const balancing::RequestKey& request,
                              std::string_view route, std::string& scratch);

// Takes a token from every limit of the route (each limit that passes spends its token even when
// another refuses) and picks the strictest answer: an enforcing refusal before a dry-run one,
// then the fewest remaining tokens, then the longest time to full. `limits` must not be empty.
RateLimitOutcome checkRateLimits(std::span<const RouteRateLimit> limits, const balancing::RequestKey& request,
                                 std::string_view route, core::TimePoint now, std::string& scratch);

// Appends "X-RateLimit-Limit/Remaining/Reset" lines (seconds rounded up) and, when refused,
// "Retry-After" (seconds rounded up, at least 1). Lines end with CRLF.
void appendRateLimitHeaders(const RateLimitOutcome& outcome, std::string& lines);

// Nanoseconds as whole seconds, rounded up.
std::int64_t ceilSeconds(std::int64_t ns);

// Appends the header line "Name: value\r\n" (limit, quota and Retry-After fields).
void appendHeaderLine(std::string& lines, std::string_view name, std::int64_t value);

} // namespace gaetwae::engine::policy
