#include "engine/policy/shared_limit_script.hpp"

#include <algorithm>

namespace gaetwae::engine::policy {

namespace {

// Integers only leave Lua exactly below 2^53: microseconds since 1970 are about 2^51.
constexpr std::string_view kScript = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local nbuckets = tonumber(ARGV[1])
local nquotas = tonumber(ARGV[2])
local out = {}
local refused = false
local a = 3
for i = 1, nbuckets do
  local interval = tonumber(ARGV[a])
  local capacity = tonumber(ARGV[a + 1])
  local dry = ARGV[a + 2] == '1'
  a = a + 3
  local tat = tonumber(redis.call('GET', KEYS[i])) or now
  if tat < now then tat = now end
  local window = interval * capacity
  local nxt = tat + interval
  if nxt - now <= window then
    redis.call('SET', KEYS[i], string.format('%.0f', nxt), 'PX', math.ceil((nxt - now) / 1000))
    out[#out + 1] = 1
    out[#out + 1] = math.floor((window - (nxt - now)) / interval)
    out[#out + 1] = nxt - now
    out[#out + 1] = 0
  else
    if not dry then refused = true end
    out[#out + 1] = 0
    out[#out + 1] = 0
    out[#out + 1] = tat - now
    out[#out + 1] = nxt - window - now
  end
end
local function civil(z)
  z = z + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400
  if m <= 2 then y = y + 1 end
  return y, m
end
local function firstDay(y, m)
  if m <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local mp = m > 2 and m - 3 or m + 9
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + math.floor((153 * mp + 2) / 5)
  return era * 146097 + doe - 719468
end
local day = math.floor(tonumber(t[1]) / 86400)
for j = 1, nquotas do
  local limit = tonumber(ARGV[a])
  local period = ARGV[a + 1]
  a = a + 2
  local start = day * 86400
  local finish = start + 86400
  if period == 'month' then
    local y, m = civil(day)
    start = firstDay(y, m) * 86400
    if m == 12 then finish = firstDay(y + 1, 1) * 86400 else finish = firstDay(y, m + 1) * 86400 end
  end
  local reset = finish * 1000000 - now
  local key = KEYS[nbuckets + j]
  if refused then
    out[#out + 1] = -1
    out[#out + 1] = 0
  else
    local stored = redis.call('HMGET', key, 'p', 'n')
    local count = 0
    if tonumber(stored[1]) == start then count = tonumber(stored[2]) or 0 end
    if count < limit then
      count = count + 1
      redis.call('HSET', key, 'p', string.format('%.0f', start), 'n', string.format('%.0f', count))
      redis.call('EXPIREAT', key, string.format('%.0f', finish + 60))
      out[#out + 1] = 1
      out[#out + 1] = limit - count
    else
      out[#out + 1] = 0
      out[#out + 1] = 0
    end
  end
  out[#out + 1] = reset
end
return out
)lua";

constexpr std::int64_t kNsPerUs = 1000;

} // namespace

std::string_view sharedLimitScript() {
    return kScript;
}

void buildScriptCall(std::span<const ScriptBucket> buckets, std::span<const ScriptQuota> quotas,
                     std::vector<std::string>& keys, std::vector<std::string>& args) {
    keys.clear();
    args.clear();
    args.push_back(std::to_string(buckets.size()));
    args.push_back(std::to_string(quotas.size()));
    for (const auto& bucket : buckets) {
        keys.push_back(bucket.key);
        args.push_back(std::to_string(std::max<std::int64_t>(1, bucket.shape.intervalNs / kNsPerUs)));
        args.push_back(std::to_string(bucket.shape.capacity));
        args.push_back(bucket.dryRun ? "1" : "0");
    }
    for (const auto& quota : quotas) {
        keys.push_back(quota.key);
        args.push_back(std::to_string(quota.limit));
        args.push_back(quota.period == model::QuotaPeriod::Month ? "month" : "day");
    }
}

bool decodeScriptReply(const RedisReply& reply, std::size_t buckets, std::size_t quotas,
                       std::vector<BucketDecision>& bucketDecisions,
                       std::vector<QuotaDecision>& quotaDecisions) {
    if (reply.kind != RedisReply::Kind::Array || reply.elements.size() != buckets * 4 + quotas * 3) {
        return false;
    }
    for (const auto& element : reply.elements) {
        if (element.kind != RedisReply::Kind::Integer) {
            return false;
        }
    }
    bucketDecisions.clear();
    quotaDecisions.clear();
    const auto& e = reply.elements;
    std::size_t i = 0;
    for (std::size_t b = 0; b < buckets; ++b, i += 4) {
        BucketDecision d;
        d.allowed = e[i].integer == 1;
        d.remaining = e[i + 1].integer;
        d.resetNs = e[i + 2].integer * kNsPerUs;
        d.retryAfterNs = e[i + 3].integer * kNsPerUs;
        bucketDecisions.push_back(d);
    }
    for (std::size_t q = 0; q < quotas; ++q, i += 3) {
        QuotaDecision d;
        d.evaluated = e[i].integer >= 0;
        d.allowed = e[i].integer == 1;
        d.remaining = e[i + 1].integer;
        d.resetNs = e[i + 2].integer * kNsPerUs;
        quotaDecisions.push_back(d);
    }
    return true;
}

} // namespace gaetwae::engine::policy
