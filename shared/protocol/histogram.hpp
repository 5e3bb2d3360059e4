#pragma once

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <string>

namespace gaetwae::protocol {

// A log-linear latency histogram in microseconds (HdrHistogram's layout): exact below 16 us, then
// 16 sub-buckets per power of two up to about 71 minutes, so any value is known within 6.25%.
// Histograms of different workers, seconds or engines merge by adding buckets, which is what
// makes percentiles over any time range exact at bucket resolution.
class LatencyHistogram {
public:
    static constexpr int kSubBucketBits = 4;
    static constexpr std::uint64_t kSubBuckets = 1u << kSubBucketBits; // 16
    static constexpr int kMaxExponent = 32;                               // 2^32 us ~ 71.6 min
    static constexpr std::size_t kBucketCount = kSubBuckets + (kMaxExponent - kSubBucketBits + 1) * kSubBuckets;

    static std::size_t bucketOf(std::uint64_t micros);
    static std::uint64_t lowerBound(std::size_t bucket); // inclusive
    static std::uint64_t upperBound(std::size_t bucket); // exclusive

    void record(std::uint64_t micros, std::uint64_t count = 1);
    void addBucket(std::size_t bucket, std::uint64_t count); // for counters kept elsewhere
    void merge(const LatencyHistogram& other);
    void clear() { *this = LatencyHistogram(); }

    std::uint64_t count() const { return m_count; }
    std::uint64_t sum() const { return m_sum; } // microseconds (bucket midpoints when built from buckets)
    std::uint64_t bucket(std::size_t index) const { return m_buckets[index]; }
    bool empty() const { return m_count == 0; }

    // The value at quantile q in [0, 1]: the upper bound (exclusive) of the bucket that holds
    // rank ceil(q * count), so the true value is below it and at most one bucket away.
    std::uint64_t percentile(double q) const;
    std::uint64_t maxBound() const; // upper bound of the highest non-empty bucket

    bool operator==(const LatencyHistogram&) const = default;

    // {"count": n, "sum": us, "buckets": [[index, count], ...]} (sparse)
    nlohmann::json toJson() const;
    static bool fromJson(const nlohmann::json& value, LatencyHistogram& out, std::string* error = nullptr);

private:
    std::array<std::uint64_t, kBucketCount> m_buckets{};
    std::uint64_t m_count = 0;
    std::uint64_t m_sum = 0;
};

} // namespace gaetwae::protocol
