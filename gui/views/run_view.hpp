#pragma once

#include "gui/loadtest/session_store.hpp"

#include <QTimer>
#include <QWidget>

#include <map>
#include <optional>
#include <vector>

class QLabel;
class QPushButton;
class QSlider;

namespace gaetwae::console {

class BreakerTimeline;
class TimeSeriesChart;

// One load-test run on one timeline: the client's latency (corrected, uncorrected) next to the
// gateway's own view of the route (its p99, the upstream part, the gateway's overhead), target
// vs achieved rate, errors, each instance's share of the pool's traffic and the breakers, with
// breaker and config events as markers. A baseline run is drawn as a grey ghost, shifted so its
// seconds line up with this run's. Live while a run goes; a stored run is replayed with the
// scrubber (drag, or Play at 1x), which moves the cursor and reads out that second.
class RunView : public QWidget {
    Q_OBJECT

public:
    explicit RunView(QWidget* parent = nullptr);

    void beginLive(const RunRecord& run, const std::optional<RunData>& baseline);
    void addSecond(const loadtest::IntervalStats& second); // timeMs: wall clock end of the second
    void addFrame(const protocol::StatsFrame& frame);
    void addEvent(const protocol::EventRecord& event);
    void showRun(const RunData& run, const std::optional<RunData>& baseline);
    void clear();

    int secondsCount() const { return static_cast<int>(m_seconds.size()); }
    void scrubTo(int second); // 0-based, clamped
    int scrubPosition() const;
    QString readout() const; // what the readout line says
    void setPlaying(bool playing);
    bool isPlaying() const { return m_play.isActive(); }

    TimeSeriesChart* latencyChart() const { return m_latency; }
    TimeSeriesChart* rateChart() const { return m_rate; }
    TimeSeriesChart* shareChart() const { return m_share; }
    BreakerTimeline* breakers() const { return m_breakers; }
    QSlider* scrubber() const { return m_scrubber; }

    enum LatencySeries { ClientP50, ClientP99, ClientP99Uncorrected, GatewayP99, UpstreamP99, Overhead, BaselineP99 };
    enum RateSeries { Target, Achieved, GatewayRps, Errors, BaselineAchieved };

private:
    struct GatewaySecond {
        double p99Ms = 0;
        double upstreamP99Ms = 0;
        double overheadMs = 0;
        double rps = 0;
    };
    void begin(const RunRecord& run, const std::optional<RunData>& baseline);
    void plotBaseline(const RunData& baseline);
    void updateReadout();

    TimeSeriesChart* m_latency = nullptr;
    TimeSeriesChart* m_rate = nullptr;
    TimeSeriesChart* m_share = nullptr;
    BreakerTimeline* m_breakers = nullptr;
    QSlider* m_scrubber = nullptr;
    QPushButton* m_playButton = nullptr;
    QLabel* m_readout = nullptr;
    QTimer m_play;

    std::string m_route;
    std::int64_t m_startMs = 0;
    std::int64_t m_shiftMs = 0; // added to the baseline's times
    std::vector<loadtest::IntervalStats> m_seconds;
    std::map<std::int64_t, GatewaySecond> m_gateway; // by frame time
    std::map<std::int64_t, double> m_baselineP99;    // by (shifted) time
    std::map<std::string, int> m_shareSeries;
};

} // namespace gaetwae::console
