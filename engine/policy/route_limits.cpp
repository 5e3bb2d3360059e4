#include "engine/policy/route_limits.hpp"

#include "engine/policy/shared_limit_script.hpp"

#include <algorithm>
#include <array>
#include <charconv>

namespace gaetwae::engine::policy {

namespace {

void count(RateLimitCounters& counters, bool allowed) {
    (allowed ? counters.allowed : counters.limited).fetch_add(1, std::memory_order_relaxed);
}

void addRate(LimitVerdict& v, const RouteRateLimit& limit, const BucketDecision& d) {
    count(*limit.counters, d.allowed);
    mergeDecision(v.rate, d, !limit.limiter->config().dryRun);
}

void addQuota(LimitVerdict& v, const RouteQuota& quota, const QuotaDecision& d) {
    if (!d.evaluated) {
        return;
    }
    count(*quota.counters, d.allowed);
    // The refused one, else the one with the fewest requests left, is reported.
    const bool stricter = !v.quotaReported || (!d.allowed && v.quota.allowed) ||
                          (d.allowed == v.quota.allowed && d.remaining < v.quota.remaining);
    if (stricter) {
        v.quota = d;
        v.quotaReported = true;
    }
}

BucketDecision localRate(const RouteRateLimit& limit, const LimitRequest& r, std::string& scratch) {
    return limit.limiter->acquire(rateLimitKey(limit.limiter->config(), r.request, r.route, scratch), r.now);
}

QuotaDecision localQuota(const RouteQuota& quota, const LimitRequest& r, std::string& scratch) {
    model::RateLimitConfig keyed;
    keyed.key = quota.config.key;
    keyed.keyName = quota.config.keyName;
    return quota.store->take(quota.label, rateLimitKey(keyed, r.request, r.route, scratch), quota.config,
                             r.wallNow);
}

LimitVerdict::Refusal settle(const LimitVerdict& v, bool unavailable) {
    if (v.rate.refused) {
        return LimitVerdict::Refusal::RateLimited;
    }
    if (unavailable) {
        return LimitVerdict::Refusal::Unavailable;
    }
    if (v.quotaReported && !v.quota.allowed) {
        return LimitVerdict::Refusal::QuotaExceeded;
    }
    return LimitVerdict::Refusal::None;
}

std::string redisKey(std::string_view prefix, std::string_view kind, std::string_view label,
                     std::string_view key) {
    std::string out;
    out.reserve(prefix.size() + kind.size() + label.size() + key.size() + 2);
    out.append(prefix);
    out.append(kind);
    out.push_back(':');
    out.append(label);
    out.push_back(':');
    out.append(key);
    return out;
}

} // namespace

LimitVerdict checkLocalLimits(const LimitRequest& r, std::string& scratch) {
    LimitVerdict v;
    for (const auto& limit : r.limits) {
        addRate(v, limit, localRate(limit, r, scratch));
    }
    if (!v.rate.refused) {
        for (const auto& quota : r.quotas) {
            addQuota(v, quota, localQuota(quota, r, scratch));
        }
    }
    v.refusal = settle(v, false);
    return v;
}

Task<LimitVerdict> checkSharedLimits(std::shared_ptr<RedisClient> client, LimitRequest r) {
    LimitVerdict v;
    std::string scratch;
    for (const auto& limit : r.limits) {
        if (limit.limiter->config().backend == model::LimitBackend::Local) {
            addRate(v, limit, localRate(limit, r, scratch));
        }
    }
    if (v.rate.refused) {
        v.refusal = settle(v, false);
        co_return v;
    }

    // ---- one script call for every Redis-backed entry
    const std::string_view prefix = client ? std::string_view(client->target().config.keyPrefix) : "";
    std::vector<ScriptBucket> buckets;
    std::vector<const RouteRateLimit*> bucketLimits;
    for (const auto& limit : r.limits) {
        const auto& config = limit.limiter->config();
        if (config.backend == model::LimitBackend::Redis) {
            buckets.push_back(
                {limit.limiter->shape(), config.dryRun,
                 redisKey(prefix, "rl", limit.label, rateLimitKey(config, r.request, r.route, scratch))});
            bucketLimits.push_back(&limit);
        }
    }
    std::vector<ScriptQuota> quotas;
    std::vector<const RouteQuota*> quotaEntries;
    for (const auto& quota : r.quotas) {
        if (quota.config.backend == model::LimitBackend::Redis) {
            model::RateLimitConfig keyed;
            keyed.key = quota.config.key;
            keyed.keyName = quota.config.keyName;
            quotas.push_back(
                {quota.config.limit, quota.config.period,
                 redisKey(prefix, "q", quota.label, rateLimitKey(keyed, r.request, r.route, scratch))});
            quotaEntries.push_back(&quota);
        }
    }
    std::vector<BucketDecision> bucketDecisions;
    std::vector<QuotaDecision> quotaDecisions;
    bool answered = false;
    if (client) {
        std::vector<std::string> keys;
        std::vector<std::string> args;
        buildScriptCall(buckets, quotas, keys, args);
        const RedisResult result =
            co_await client->evalScript(std::move(keys), std::move(args), asio::use_awaitable_t<Executor>{});
        answered = result.ok && decodeScriptReply(result.reply, buckets.size(), quotas.size(),
                                                  bucketDecisions, quotaDecisions);
    }

    bool unavailable = false;
    std::array<bool, 3> fellBack{};
    auto fallBack = [&](model::LimitOnError mode) {
        fellBack[static_cast<std::size_t>(mode)] = true;
        unavailable = unavailable || mode == model::LimitOnError::Deny;
    };
    if (answered) {
        for (std::size_t i = 0; i < bucketLimits.size(); ++i) {
            bucketDecisions[i].limit = bucketLimits[i]->limiter->shape().capacity;
            addRate(v, *bucketLimits[i], bucketDecisions[i]);
        }
    } else {
        for (const auto* limit : bucketLimits) {
            const auto mode = limit->limiter->config().onError;
            fallBack(mode);
            if (mode == model::LimitOnError::Local) {
                addRate(v, *limit, localRate(*limit, r, scratch));
            }
        }
    }
    if (!v.rate.refused && !unavailable) {
        for (std::size_t i = 0; i < quotaEntries.size(); ++i) {
            if (answered) {
                quotaDecisions[i].limit = static_cast<std::int64_t>(quotaEntries[i]->config.limit);
                addQuota(v, *quotaEntries[i], quotaDecisions[i]);
                continue;
            }
            const auto mode = quotaEntries[i]->config.onError;
            fallBack(mode);
            if (mode == model::LimitOnError::Local) {
                addQuota(v, *quotaEntries[i], localQuota(*quotaEntries[i], r, scratch));
            }
        }
    }
    if (!v.rate.refused && !unavailable) {
        for (const auto& quota : r.quotas) {
            if (quota.config.backend == model::LimitBackend::Local) {
                addQuota(v, quota, localQuota(quota, r, scratch));
            }
        }
    }
    if (client) {
        for (std::size_t mode = 0; mode < fellBack.size(); ++mode) {
            if (fellBack[mode]) {
                client->target().status->countFallback(static_cast<model::LimitOnError>(mode));
            }
        }
    }
    v.refusal = settle(v, unavailable);
    co_return v;
}

void appendLimitHeaders(const LimitVerdict& verdict, std::string& lines) {
    if (verdict.rate.any) {
        appendRateLimitHeaders(verdict.rate, lines);
    }
    if (verdict.quotaReported) {
        appendHeaderLine(lines, "X-Quota-Limit", verdict.quota.limit);
        appendHeaderLine(lines, "X-Quota-Remaining", verdict.quota.remaining);
        appendHeaderLine(lines, "X-Quota-Reset", ceilSeconds(verdict.quota.resetNs));
        if (verdict.refusal == LimitVerdict::Refusal::QuotaExceeded) {
            appendHeaderLine(lines, "Retry-After", std::max<std::int64_t>(1, ceilSeconds(verdict.quota.resetNs)));
        }
    }
}

} // namespace gaetwae::engine::policy
