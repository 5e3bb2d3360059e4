// Chart widgets and the dashboard: decimation keeps every extreme, the live window follows the
// data while Pause freezes it (data still recorded), breaker runs merge, the share chart shows
// one pool at a time.
#include "gui/views/dashboard_page.hpp"
#include "gui/widgets/breaker_timeline.hpp"
#include "gui/widgets/time_series_chart.hpp"

#include <QtTest>

using namespace gaetwae;
using namespace gaetwae::console;

using Range = std::pair<std::int64_t, std::int64_t>;

namespace {

protocol::StatsFrame frameAt(std::int64_t timeMs, const std::vector<std::pair<std::string, std::string>>& instances,
                             const std::string& breaker = "closed") {
    protocol::StatsFrame frame;
    frame.timeMs = timeMs;
    frame.total.requests = 10 * instances.size();
    frame.total.latency.record(1500, frame.total.requests);
    for (const auto& [pool, id] : instances) {
        protocol::InstanceStats instance;
        instance.pool = pool;
        instance.id = id;
        instance.requests = 10;
        instance.breaker = breaker;
        frame.instances.push_back(instance);
    }
    return frame;
}

} // namespace

class TestCharts : public QObject {
    Q_OBJECT

private slots:
    void decimationKeepsMinAndMaxInTimeOrder() {
        std::deque<TimeSeriesChart::Point> points;
        for (int i = 0; i < 10'000; ++i) {
            points.push_back({i * std::int64_t(1000), i == 4321 ? 1e6 : (i == 8765 ? -5.0 : static_cast<double>(i % 7))});
        }
        const auto out = TimeSeriesChart::decimate(points, 0, 10'000'000, 100);
        QVERIFY(out.size() <= 200);
        QVERIFY(std::is_sorted(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.timeMs < b.timeMs; }));
        const auto spike = std::find_if(out.begin(), out.end(), [](const auto& p) { return p.value == 1e6; });
        QVERIFY(spike != out.end());
        QCOMPARE(spike->timeMs, std::int64_t(4'321'000));
        QVERIFY(std::any_of(out.begin(), out.end(), [](const auto& p) { return p.value == -5.0; }));
        // Few points in range: all of them, untouched; a sub-range: only what is in it.
        const auto few = TimeSeriesChart::decimate(points, 10'000, 20'000, 100);
        QCOMPARE(few.size(), std::size_t(11));
        QCOMPARE(few.front().timeMs, std::int64_t(10'000));
    }

    void liveFollowsDataAndFixedRangesStay() {
        TimeSeriesChart chart(QStringLiteral("t"), QStringLiteral("u"));
        const int series = chart.addSeries(QStringLiteral("s"));
        chart.setLive(60'000);
        for (int i = 0; i < 120; ++i) {
            chart.append(series, 1'000'000 + i * 1000LL, i);
        }
        chart.redraw();
        QVERIFY(chart.visibleRange() == Range(1'059'000, 1'119'000));
        QCOMPARE(chart.lastDrawnPoints(), 61);
        chart.setFixedRange(1'000'000, 1'010'000);
        chart.append(series, 1'120'000, 5); // recorded, not shown
        chart.redraw();
        QVERIFY(chart.visibleRange() == Range(1'000'000, 1'010'000));
        QCOMPARE(chart.lastDrawnPoints(), 11);
        chart.setLive(60'000);
        QCOMPARE(chart.visibleRange().second, std::int64_t(1'120'000));
        // Late points (backfill) land in order; the capacity drops the oldest.
        chart.setCapacity(100);
        chart.append(series, 1'100'500, 1);
        chart.redraw();
        chart.setFixedRange(0, 2'000'000);
        chart.redraw();
        QCOMPARE(chart.lastDrawnPoints(), 100);
        chart.setSeriesVisible(series, false);
        chart.redraw();
        QCOMPARE(chart.lastDrawnPoints(), 0);
    }

    void breakerRunsMerge() {
        BreakerTimeline timeline;
        for (int i = 0; i < 10; ++i) {
            timeline.record(QStringLiteral("p/a"), i * 1000LL, BreakerTimeline::State::Closed);
        }
        timeline.record(QStringLiteral("p/a"), 10'000, BreakerTimeline::State::Open);
        timeline.record(QStringLiteral("p/a"), 11'000, BreakerTimeline::State::HalfOpen);
        timeline.record(QStringLiteral("p/a"), 12'000, BreakerTimeline::State::Closed);
        const auto* runs = timeline.runs(QStringLiteral("p/a"));
        QVERIFY(runs != nullptr);
        QCOMPARE(runs->size(), std::size_t(4));
        QCOMPARE(runs->front().toMs, std::int64_t(9000));
        QCOMPARE(BreakerTimeline::parse("closed", false, false), BreakerTimeline::State::Down);
        QCOMPARE(BreakerTimeline::parse("half_open", true, false), BreakerTimeline::State::HalfOpen);
        QVERIFY(timeline.runs(QStringLiteral("p/b")) == nullptr);
    }

    void dashboardPausesAndShowsOnePoolsShare() {
        DashboardPage dashboard;
        dashboard.resize(1280, 800);
        const std::vector<std::pair<std::string, std::string>> instances{{"api", "a"}, {"api", "b"}, {"web", "w"}};
        for (int i = 0; i < 30; ++i) {
            dashboard.addFrame(frameAt(1'000'000 + i * 1000LL, instances, i == 20 ? "open" : "closed"));
        }
        auto* share = dashboard.shareChart();
        share->redraw();
        QCOMPARE(share->seriesCount(), 3);
        QCOMPARE(share->lastDrawnPoints(), 60); // api/a and api/b: the first pool seen
        dashboard.setPaused(true);
        const auto frozen = dashboard.requestsChart()->visibleRange();
        dashboard.addFrame(frameAt(1'030'000, instances));
        dashboard.requestsChart()->redraw();
        QVERIFY(dashboard.requestsChart()->visibleRange() == frozen);
        dashboard.goLive();
        QCOMPARE(dashboard.requestsChart()->visibleRange().second, std::int64_t(1'030'000));
        QVERIFY(!dashboard.isPaused());
        const auto* runs = dashboard.breakerTimeline()->runs(QStringLiteral("api/a"));
        QVERIFY(runs != nullptr);
        QCOMPARE(runs->size(), std::size_t(3)); // closed, open, closed
    }
};

QTEST_MAIN(TestCharts)
#include "tst_charts.moc"
