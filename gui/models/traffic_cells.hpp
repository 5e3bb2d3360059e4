#pragma once

#include "shared/protocol/stats.hpp"

#include <QString>

#include <functional>
#include <map>
#include <string>

namespace gaetwae::console {

// The last second of one route's or pool's traffic, as table cells: what the pools and routes
// models show the same way. Cells are empty when the newest frame has nothing for that name.
class TrafficCells {
public:
    using Scope = std::map<std::string, protocol::TrafficStats> protocol::StatsFrame::*;

    // `frame` may be null (no stats yet); `scope` is &StatsFrame::pools or &StatsFrame::routes.
    TrafficCells(const protocol::StatsFrame* frame, Scope scope, const std::string& name);

    const protocol::TrafficStats* traffic() const { return m_traffic; }

    // count(traffic) per second of the frame's interval, no decimals.
    QString rate(const std::function<std::uint64_t(const protocol::TrafficStats&)>& count) const;
    QString requestsPerSecond() const;
    QString p99() const; // "1.8 ms"

private:
    const protocol::TrafficStats* m_traffic = nullptr;
    double m_seconds = 1.0;
};

} // namespace gaetwae::console
