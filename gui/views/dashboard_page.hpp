#pragma once

#include "shared/protocol/admin_messages.hpp"

#include <QPointer>
#include <QWidget>

#include <map>
#include <vector>

class QLabel;
class QPushButton;
class QComboBox;

namespace gaetwae::console {

class BreakerTimeline;
class EngineSession;
class TimeSeriesChart;

// Live charts of one engine: requests/s, latency percentiles (from merged histograms, with
// the upstream share), connections and requests in flight, errors by class, per-instance
// traffic share and the circuit-breaker timeline. All charts share one time cursor and one
// range; Pause freezes the display while frames keep arriving; Live jumps back. Config
// changes and health/breaker events are markers on every chart.
class DashboardPage : public QWidget {
    Q_OBJECT
public:
    explicit DashboardPage(QWidget* parent = nullptr);

    void setSession(EngineSession* session);
    void setPaused(bool paused);
    bool isPaused() const { return m_paused; }
    void goLive();

    // What a live frame or event does to the charts; public for replays and benchmarks.
    void addFrame(const protocol::StatsFrame& frame);
    void addEvent(const protocol::EventRecord& event);
    // A load test's second: its target (open model) and achieved rate on the requests chart.
    void addLoadSecond(std::int64_t timeMs, double targetRps, double achievedRps);
    std::vector<TimeSeriesChart*> charts() const;

    TimeSeriesChart* requestsChart() const { return m_requests; }
    TimeSeriesChart* latencyChart() const { return m_latency; }
    TimeSeriesChart* shareChart() const { return m_share; }
    BreakerTimeline* breakerTimeline() const { return m_breakers; }

private:
    void syncCursor(std::int64_t timeMs);
    void syncRange();
    void showSharePool();

    QPointer<EngineSession> m_session;
    TimeSeriesChart* m_requests = nullptr;
    TimeSeriesChart* m_latency = nullptr;
    TimeSeriesChart* m_connections = nullptr;
    TimeSeriesChart* m_errors = nullptr;
    TimeSeriesChart* m_share = nullptr;
    BreakerTimeline* m_breakers = nullptr;
    QPushButton* m_pause = nullptr;
    QComboBox* m_span = nullptr;
    QComboBox* m_sharePool = nullptr; // the traffic-share chart shows one pool's instances
    QLabel* m_empty = nullptr;
    std::map<std::string, int> m_shareSeries; // "pool/instance" -> series
    bool m_paused = false;
};

} // namespace gaetwae::console
