#include "engine/metrics/stats_block.hpp"

namespace gaetwae::engine::metrics {

std::size_t errorIndex(std::string_view code) {
    for (std::size_t i = 0; i < kErrorCodes.size(); ++i) {
        if (kErrorCodes[i] == code) {
            return i;
        }
    }
    return kErrorCodes.size();
}

std::uint32_t methodIndex(std::string_view method) {
    for (std::uint32_t i = 0; i + 1 < kMethodLabels.size(); ++i) {
        if (kMethodLabels[i] == method) {
            return i;
        }
    }
    return static_cast<std::uint32_t>(kMethodLabels.size() - 1);
}

void StatsBlock::countMethodStatus(std::uint32_t methodIndex, int status) {
    const std::uint32_t key = methodStatusKey(methodIndex, status);
    const auto it = byMethodStatus.find(key); // the only writer may read without the lock
    if (it != byMethodStatus.end()) {
        it->second->add();
        return;
    }
    std::lock_guard lock(byMethodStatusMutex);
    auto counter = std::make_unique<Counter>();
    counter->add();
    byMethodStatus.emplace(key, std::move(counter));
}

void StatsBlock::addCompressionTo(CompressionTotals& out) const {
    for (std::size_t i = 0; i < compressed.size(); ++i) {
        out.responses[i] += compressed[i].value();
    }
    out.bytesIn += compressionIn.value();
    out.bytesOut += compressionOut.value();
}

void StatsBlock::addTo(protocol::TrafficStats& out) const {
    out.requests += requests.value();
    for (std::size_t i = 0; i < responses.size(); ++i) {
        out.responses[i] += responses[i].value();
    }
    for (std::size_t i = 0; i < errors.size(); ++i) {
        if (const auto n = errors[i].value()) {
            out.errors[std::string(kErrorCodes[i])] += n;
        }
    }
    out.retries += retries.value();
    out.bytesIn += bytesIn.value();
    out.bytesOut += bytesOut.value();
    protocol::LatencyHistogram total;
    protocol::LatencyHistogram up;
    for (std::size_t i = 0; i < latency.size(); ++i) {
        total.addBucket(i, latency[i].value());
        up.addBucket(i, upstream[i].value());
    }
    out.latency.merge(total);
    out.upstream.merge(up);
}

void StatsBlock::addMethodStatus(std::unordered_map<std::uint32_t, std::uint64_t>& out) const {
    std::lock_guard lock(byMethodStatusMutex);
    for (const auto& [key, counter] : byMethodStatus) {
        out[key] += counter->value();
    }
}

} // namespace gaetwae::engine::metrics
