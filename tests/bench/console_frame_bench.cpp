// Console frame time with a day of data: 4 pools x 10 instances at 1 Hz for 24 hours fed into
// the real dashboard (86 400 frames), then the time to redraw every chart and paint the window,
// for the live 5-minute view and for the whole day. Run by hand: tests/bench/console_bench.sh.
#include "gui/views/dashboard_page.hpp"
#include "gui/widgets/time_series_chart.hpp"

#include <QApplication>
#include <QElapsedTimer>
#include <QImage>
#include <QPainter>

#include <algorithm>
#include <cstdio>
#include <random>
#include <vector>

using namespace gaetwae;
using namespace gaetwae::console;

namespace {

constexpr int kPools = 4;
constexpr int kInstances = 10;
constexpr std::int64_t kSeconds = 24 * 3600;

protocol::StatsFrame makeFrame(std::int64_t timeMs, std::mt19937& random) {
    std::uniform_int_distribution<int> requests(80, 120);
    std::lognormal_distribution<double> latency(7.5, 0.6); // ~2 ms median, in microseconds
    protocol::StatsFrame frame;
    frame.timeMs = timeMs;
    frame.activeConnections = 40;
    for (int p = 0; p < kPools; ++p) {
        for (int i = 0; i < kInstances; ++i) {
            protocol::InstanceStats instance;
            instance.pool = "pool-" + std::to_string(p);
            instance.id = "i" + std::to_string(i);
            instance.requests = static_cast<std::uint64_t>(requests(random));
            instance.responses[1] = instance.requests;
            instance.breaker = (timeMs / 1000 + i) % 3600 < 20 ? "open" : "closed";
            frame.total.requests += instance.requests;
            frame.total.responses[1] += instance.requests;
            frame.instances.push_back(std::move(instance));
        }
    }
    for (int sample = 0; sample < 200; ++sample) {
        frame.total.latency.record(static_cast<std::uint64_t>(latency(random)), frame.total.requests / 200);
    }
    return frame;
}

struct Timing {
    double p50 = 0;
    double p99 = 0;
    double max = 0;
    double redrawP50 = 0; // of which: decimation and replace(), before painting
};

Timing measure(QWidget& window, const std::vector<TimeSeriesChart*>& charts, int rounds) {
    std::vector<double> ms;
    std::vector<double> redraw;
    QImage canvas(window.size(), QImage::Format_ARGB32_Premultiplied);
    for (int r = 0; r < rounds; ++r) {
        QElapsedTimer timer;
        timer.start();
        for (auto* chart : charts) {
            chart->redraw();
        }
        redraw.push_back(static_cast<double>(timer.nsecsElapsed()) / 1e6);
        QPainter painter(&canvas);
        window.render(&painter);
        painter.end();
        ms.push_back(static_cast<double>(timer.nsecsElapsed()) / 1e6);
    }
    std::sort(ms.begin(), ms.end());
    std::sort(redraw.begin(), redraw.end());
    return Timing{ms[ms.size() / 2], ms[std::min(ms.size() - 1, ms.size() * 99 / 100)], ms.back(),
                  redraw[redraw.size() / 2]};
}

} // namespace

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    DashboardPage dashboard;
    dashboard.resize(1280, 800);
    dashboard.show();
    std::mt19937 random(42);

    const std::int64_t start = 1'795'000'000'000;
    QElapsedTimer ingest;
    ingest.start();
    for (std::int64_t s = 0; s < kSeconds; ++s) {
        dashboard.addFrame(makeFrame(start + s * 1000, random));
    }
    const double ingestUs = static_cast<double>(ingest.nsecsElapsed()) / 1e3 / static_cast<double>(kSeconds);

    const auto charts = dashboard.charts();
    dashboard.goLive();
    const Timing live = measure(dashboard, charts, 60);
    int livePoints = 0;
    for (auto* chart : charts) {
        livePoints += chart->lastDrawnPoints();
    }
    for (auto* chart : charts) {
        chart->setFixedRange(start, start + kSeconds * 1000);
    }
    const Timing day = measure(dashboard, charts, 30);
    int dayPoints = 0;
    for (auto* chart : charts) {
        dayPoints += chart->lastDrawnPoints();
    }

    std::printf("console frame bench: %d pools x %d instances, %lld s of 1 Hz frames (%d series)\n", kPools,
                kInstances, static_cast<long long>(kSeconds), kPools * kInstances + 10);
    std::printf("  ingest: %.1f us per frame (all charts and the breaker timeline)\n", ingestUs);
    std::printf("  live 5 min view:  frame p50 %.1f ms (redraw %.1f)  p99 %.1f ms  max %.1f ms  (%d points drawn)\n",
                live.p50, live.redrawP50, live.p99, live.max, livePoints);
    std::printf("  whole day view:   frame p50 %.1f ms (redraw %.1f)  p99 %.1f ms  max %.1f ms  (%d points drawn)\n",
                day.p50, day.redrawP50, day.p99, day.max, dayPoints);
    std::printf("  budget: 16.7 ms per frame at 60 Hz; charts redraw at 2 Hz\n");
    return 0;
}
