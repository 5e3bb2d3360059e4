#include "shared/protocol/histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace gaetwae::protocol {

std::size_t LatencyHistogram::bucketOf(std::uint64_t micros) {
    if (micros < kSubBuckets) {
        return static_cast<std::size_t>(micros);
    }
    const int exponent = 63 - std::countl_zero(micros);
    if (exponent > kMaxExponent) {
        return kBucketCount - 1;
    }
    const std::uint64_t sub = (micros >> (exponent - kSubBucketBits)) & (kSubBuckets - 1);
    return static_cast<std::size_t>(kSubBuckets + (exponent - kSubBucketBits) * kSubBuckets + sub);
}

std::uint64_t LatencyHistogram::lowerBound(std::size_t bucket) {
    if (bucket < kSubBuckets) {
        return bucket;
    }
    const std::size_t offset = bucket - kSubBuckets;
    const int exponent = static_cast<int>(offset / kSubBuckets) + kSubBucketBits;
    const std::uint64_t sub = offset % kSubBuckets;
    return (kSubBuckets + sub) << (exponent - kSubBucketBits);
}

std::uint64_t LatencyHistogram::upperBound(std::size_t bucket) {
    if (bucket < kSubBuckets) {
        return bucket + 1;
    }
    const std::size_t offset = bucket - kSubBuckets;
    const int exponent = static_cast<int>(offset / kSubBuckets) + kSubBucketBits;
    const std::uint64_t sub = offset % kSubBuckets;
    return (kSubBuckets + sub + 1) << (exponent - kSubBucketBits);
}

void LatencyHistogram::record(std::uint64_t micros, std::uint64_t count) {
    m_buckets[bucketOf(micros)] += count;
    m_count += count;
    m_sum += micros * count;
}

void LatencyHistogram::addBucket(std::size_t bucket, std::uint64_t count) {
    if (bucket >= kBucketCount || count == 0) {
        return;
    }
    m_buckets[bucket] += count;
    m_count += count;
    m_sum += (lowerBound(bucket) + upperBound(bucket)) / 2 * count;
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
    for (std::size_t i = 0; i < kBucketCount; ++i) {
        m_buckets[i] += other.m_buckets[i];
    }
    m_count += other.m_count;
    m_sum += other.m_sum;
}

std::uint64_t LatencyHistogram::percentile(double q) const {
    if (m_count == 0) {
        return 0;
    }
    const auto rank = std::max<std::uint64_t>(
        1, static_cast<std::uint64_t>(std::ceil(std::clamp(q, 0.0, 1.0) * static_cast<double>(m_count))));
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < kBucketCount; ++i) {
        seen += m_buckets[i];
        if (seen >= rank) {
            return upperBound(i);
        }
    }
    return maxBound();
}

std::uint64_t LatencyHistogram::maxBound() const {
    for (std::size_t i = kBucketCount; i-- > 0;) {
        if (m_buckets[i] != 0) {
            return upperBound(i);
        }
    }
    return 0;
}

nlohmann::json LatencyHistogram::toJson() const {
    nlohmann::json buckets = nlohmann::json::array();
    for (std::size_t i = 0; i < kBucketCount; ++i) {
        if (m_buckets[i] != 0) {
            buckets.push_back({i, m_buckets[i]});
        }
    }
    return {{"count", m_count}, {"sum", m_sum}, {"buckets", buckets}};
}

bool LatencyHistogram::fromJson(const nlohmann::json& value, LatencyHistogram& out, std::string* error) {
    auto fail = [&](const char* message) {
        if (error != nullptr) {
            *error = message;
        }
        return false;
    };
    if (!value.is_object() || !value.contains("buckets") || !value["buckets"].is_array()) {
        return fail("a histogram needs a \"buckets\" list");
    }
    LatencyHistogram result;
    for (const auto& pair : value["buckets"]) {
        if (!pair.is_array() || pair.size() != 2 || !pair[0].is_number_unsigned() || !pair[1].is_number_unsigned()) {
            return fail("histogram buckets are [index, count] pairs of non-negative integers");
        }
        const auto index = pair[0].get<std::uint64_t>();
        if (index >= kBucketCount) {
            return fail("histogram bucket index out of range");
        }
        result.m_buckets[index] += pair[1].get<std::uint64_t>();
        result.m_count += pair[1].get<std::uint64_t>();
    }
    if (value.contains("sum") && value["sum"].is_number_unsigned()) {
        result.m_sum = value["sum"].get<std::uint64_t>();
    }
    if (value.contains("count") && value["count"].is_number_unsigned() &&
        value["count"].get<std::uint64_t>() != result.m_count) {
        return fail("histogram count does not match its buckets");
    }
    out = result;
    return true;
}

} // namespace gaetwae::protocol
