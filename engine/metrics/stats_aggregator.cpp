#include "engine/metrics/stats_aggregator.hpp"

namespace gaetwae::engine::metrics {

namespace {

std::uint64_t minus(std::uint64_t now, std::uint64_t before) {
    return now >= before ? now - before : now;
}

protocol::LatencyHistogram minus(const protocol::LatencyHistogram& now, const protocol::LatencyHistogram& before) {
    protocol::LatencyHistogram out;
    bool reset = now.count() < before.count();
    for (std::size_t i = 0; i < protocol::LatencyHistogram::kBucketCount && !reset; ++i) {
        reset = now.bucket(i) < before.bucket(i);
    }
    for (std::size_t i = 0; i < protocol::LatencyHistogram::kBucketCount; ++i) {
        out.addBucket(i, reset ? now.bucket(i) : now.bucket(i) - before.bucket(i));
    }
    return out;
}

template <class Map>
const protocol::TrafficStats* find(const Map& map, const typename Map::key_type& key) {
    const auto it = map.find(key);
    return it == map.end() ? nullptr : &it->second;
}

} // namespace

protocol::TrafficStats delta(const protocol::TrafficStats& now, const protocol::TrafficStats* before) {
    if (before == nullptr) {
        return now;
    }
    protocol::TrafficStats out;
    out.requests = minus(now.requests, before->requests);
    for (std::size_t i = 0; i < out.responses.size(); ++i) {
        out.responses[i] = minus(now.responses[i], before->responses[i]);
    }
    for (const auto& [code, n] : now.errors) {
        const auto it = before->errors.find(code);
        const auto d = minus(n, it == before->errors.end() ? 0 : it->second);
        if (d > 0) {
            out.errors[code] = d;
        }
    }
    out.retries = minus(now.retries, before->retries);
    out.bytesIn = minus(now.bytesIn, before->bytesIn);
    out.bytesOut = minus(now.bytesOut, before->bytesOut);
    out.activeRequests = now.activeRequests;
    out.latency = minus(now.latency, before->latency);
    out.upstream = minus(now.upstream, before->upstream);
    return out;
}

StatsAggregator::StatsAggregator(asio::io_context& control, std::chrono::milliseconds keep)
    : m_control(control)
    , m_keep(keep)
    , m_timer(control) {}

StatsAggregator::~StatsAggregator() = default;

void StatsAggregator::start(Collect collect, Decorate decorate) {
    asio::post(m_control, [this, collect = std::move(collect), decorate = std::move(decorate)]() mutable {
        m_collect = std::move(collect);
        m_decorate = std::move(decorate);
        m_running = true;
        m_last = std::chrono::steady_clock::now();
        {
            std::lock_guard lock(m_mutex);
            m_previous = m_collect(); // the first frame counts from here
        }
        schedule();
    });
}

void StatsAggregator::stop() {
    asio::post(m_control, [this] {
        m_running = false;
        m_timer.cancel();
    });
}

void StatsAggregator::schedule() {
    // Aligned to wall-clock seconds, so frames of several engines line up in the console.
    const auto now = std::chrono::system_clock::now();
    const auto next = std::chrono::ceil<std::chrono::seconds>(now + std::chrono::milliseconds(1));
    m_timer.expires_after(next - now);
    m_timer.async_wait([this](const error_code& ec) {
        if (ec || !m_running) {
            return;
        }
        tick();
        schedule();
    });
}

void StatsAggregator::tick() {
    if (!m_collect) {
        return;
    }
    Cumulative now = m_collect();
    const auto steadyNow = std::chrono::steady_clock::now();
    protocol::StatsFrame frame;
    frame.timeMs =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    frame.intervalMs = std::chrono::duration_cast<std::chrono::milliseconds>(steadyNow - m_last).count();
    m_last = steadyNow;
    {
        std::lock_guard lock(m_mutex);
        frame.total = delta(now.total, &m_previous.total);
        for (const auto& [name, stats] : now.routes) {
            frame.routes[name] = delta(stats, find(m_previous.routes, name));
        }
        for (const auto& [name, stats] : now.pools) {
            frame.pools[name] = delta(stats, find(m_previous.pools, name));
        }
        for (const auto& [key, stats] : now.instances) {
            protocol::InstanceStats instance;
            static_cast<protocol::TrafficStats&>(instance) = delta(stats, find(m_previous.instances, key));
            instance.pool = key.first;
            instance.id = key.second;
            frame.instances.push_back(std::move(instance));
        }
        m_previous = std::move(now);
    }
    if (m_decorate) {
        m_decorate(frame);
    }
    {
        std::lock_guard lock(m_mutex);
        m_frames.push_back(frame);
        while (!m_frames.empty() && m_frames.front().timeMs < frame.timeMs - m_keep.count()) {
            m_frames.pop_front();
        }
    }
    std::shared_lock lock(m_listenersMutex);
    for (const auto& [id, listener] : m_listeners) {
        listener(frame);
    }
}

std::vector<protocol::StatsFrame> StatsAggregator::history(std::int64_t sinceMs) const {
    std::lock_guard lock(m_mutex);
    std::vector<protocol::StatsFrame> out;
    for (const auto& frame : m_frames) {
        if (frame.timeMs > sinceMs) {
            out.push_back(frame);
        }
    }
    return out;
}

Cumulative StatsAggregator::cumulative() const {
    std::lock_guard lock(m_mutex);
    return m_previous;
}

std::uint64_t StatsAggregator::subscribe(Listener listener) {
    std::unique_lock lock(m_listenersMutex);
    const auto id = m_nextListener++;
    m_listeners.emplace(id, std::move(listener));
    return id;
}

void StatsAggregator::unsubscribe(std::uint64_t id) {
    std::unique_lock lock(m_listenersMutex); // waits for calls in progress
    m_listeners.erase(id);
}

} // namespace gaetwae::engine::metrics
