#include "gui/models/traffic_cells.hpp"

namespace gaetwae::console {

TrafficCells::TrafficCells(const protocol::StatsFrame* frame, Scope scope, const std::string& name) {
    if (frame == nullptr) {
        return;
    }
    m_seconds = static_cast<double>(frame->intervalMs) / 1000.0;
    const auto& stats = frame->*scope;
    if (const auto found = stats.find(name); found != stats.end()) {
        m_traffic = &found->second;
    }
}

QString TrafficCells::rate(const std::function<std::uint64_t(const protocol::TrafficStats&)>& count) const {
    return m_traffic != nullptr ? QString::number(static_cast<double>(count(*m_traffic)) / m_seconds, 'f', 0)
                                : QString();
}

QString TrafficCells::requestsPerSecond() const {
    return rate([](const protocol::TrafficStats& t) { return t.requests; });
}

QString TrafficCells::p99() const {
    if (m_traffic == nullptr || m_traffic->latency.empty()) {
        return {};
    }
    return QStringLiteral("%1 ms").arg(static_cast<double>(m_traffic->latency.percentile(0.99)) / 1000.0, 0, 'f', 1);
}

} // namespace gaetwae::console
