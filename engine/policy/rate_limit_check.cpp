#include "engine/policy/rate_limit_check.hpp"

#include "engine/balancing/hashing.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <tuple>

namespace gaetwae::engine::policy {

namespace {

// Larger is stricter.
auto strictness(const BucketDecision& d, bool enforcing) {
    return std::make_tuple(!d.allowed && enforcing, !d.allowed, -d.remaining, d.resetNs);
}

} // namespace

std::string_view rateLimitKey(const model::RateLimitConfig& limit, const balancing::RequestKey& request,
                              std::string_view route, std::string& scratch) {
    std::string_view value;
    switch (limit.key) {
    case model::RateLimitKeyKind::ClientIp:
        return request.clientIp;
    case model::RateLimitKeyKind::Route:
        return route;
    case model::RateLimitKeyKind::Global:
        return {};
    case model::RateLimitKeyKind::Header:
        if (request.headers != nullptr) {
            value = request.headers->header(limit.keyName).value_or(std::string_view());
        }
        break;
    case model::RateLimitKeyKind::Query:
        value = balancing::findQueryParameter(request.query, limit.keyName).value_or(std::string_view());
        break;
    case model::RateLimitKeyKind::Consumer:
        value = request.consumer;
        break;
    }
    if (value.empty()) {
        scratch.assign("ip:");
        scratch.append(request.clientIp);
    } else if (value.size() > kMaxKeyBytes) {
        // Long values are stored by their hash, so the key cap also bounds the bytes held.
        std::array<char, 16> hex{};
        const auto end = std::to_chars(hex.data(), hex.data() + hex.size(), balancing::hash64(value), 16).ptr;
        scratch.assign("h:");
        scratch.append(hex.data(), end);
    } else {
        scratch.assign("k:");
        scratch.append(value);
    }
    return scratch;
}

void mergeDecision(RateLimitOutcome& outcome, const BucketDecision& d, bool enforcing) {
    if (!d.allowed) {
        if (enforcing) {
            outcome.refused = true;
            outcome.retryAfterNs = std::max(outcome.retryAfterNs, d.retryAfterNs);
        } else {
            outcome.wouldRefuse = true;
        }
    }
    if (outcome.refused) {
        outcome.wouldRefuse = false;
    }
    if (!outcome.any || strictness(d, enforcing) > strictness(outcome.reported, outcome.reportedEnforcing)) {
        outcome.reported = d;
        outcome.reportedEnforcing = enforcing;
        outcome.any = true;
    }
}

RateLimitOutcome checkRateLimits(std::span<const RouteRateLimit> limits, const balancing::RequestKey& request,
                                 std::string_view route, core::TimePoint now, std::string& scratch) {
    RateLimitOutcome outcome;
    for (const RouteRateLimit& limit : limits) {
        const model::RateLimitConfig& config = limit.limiter->config();
        const BucketDecision d = limit.limiter->acquire(rateLimitKey(config, request, route, scratch), now);
        (d.allowed ? limit.counters->allowed : limit.counters->limited).fetch_add(1, std::memory_order_relaxed);
        mergeDecision(outcome, d, !config.dryRun);
    }
    return outcome;
}

void appendRateLimitHeaders(const RateLimitOutcome& outcome, std::string& lines) {
    appendHeaderLine(lines, "X-RateLimit-Limit", outcome.reported.limit);
    appendHeaderLine(lines, "X-RateLimit-Remaining", outcome.reported.remaining);
    appendHeaderLine(lines, "X-RateLimit-Reset", ceilSeconds(outcome.reported.resetNs));
    if (outcome.refused) {
        appendHeaderLine(lines, "Retry-After", std::max<std::int64_t>(1, ceilSeconds(outcome.retryAfterNs)));
    }
}

std::int64_t ceilSeconds(std::int64_t ns) {
    constexpr std::int64_t kSecond = 1'000'000'000;
    return ns <= 0 ? 0 : (ns + kSecond - 1) / kSecond;
}

void appendHeaderLine(std::string& lines, std::string_view name, std::int64_t value) {
    std::array<char, 24> digits{};
    const auto end = std::to_chars(digits.data(), digits.data() + digits.size(), value).ptr;
    lines.append(name);
    lines.append(": ");
    lines.append(digits.data(), end);
    lines.append("\r\n");
}

} // namespace gaetwae::engine::policy
