#pragma once

#include "engine/policy/quota_store.hpp"
#include "engine/policy/redis_client.hpp"
#include "engine/policy/token_bucket.hpp"

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace gaetwae::engine::policy {

// The one Lua script every engine runs in Redis (atomically, through EVALSHA) for all the
// Redis-backed limits of a request: first the token buckets, in GCRA form like the local ones
// (a key holds its bucket's theoretical arrival time in microseconds and expires when the bucket
// is full), then, unless an enforcing bucket refused, the quotas (a hash {p: period start,
// n: count} that expires after its period). Time is the Redis server's TIME, so engines with
// skewed clocks agree, and quota periods are UTC calendar days and months computed in the
// script. Replies: 4 integers per bucket (allowed, remaining, reset us, retry-after us), then
// 3 per quota (allowed 1/0, or -1 when not evaluated; remaining; reset us).
std::string_view sharedLimitScript();

struct ScriptBucket {
    BucketShape shape;
    bool dryRun = false;
    std::string key; // the Redis key
};

struct ScriptQuota {
    std::uint64_t limit = 0;
    model::QuotaPeriod period = model::QuotaPeriod::Day;
    std::string key;
};

// KEYS and ARGV for the script.
void buildScriptCall(std::span<const ScriptBucket> buckets, std::span<const ScriptQuota> quotas,
                     std::vector<std::string>& keys, std::vector<std::string>& args);

// Reads the script's reply; false when it is not what the script returns (then nothing is trusted).
bool decodeScriptReply(const RedisReply& reply, std::size_t buckets, std::size_t quotas,
                       std::vector<BucketDecision>& bucketDecisions,
                       std::vector<QuotaDecision>& quotaDecisions);

} // namespace gaetwae::engine::policy
