#include "gui/views/run_view.hpp"

#include "gui/widgets/breaker_timeline.hpp"
#include "gui/widgets/time_series_chart.hpp"

#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QSlider>
#include <QSplitter>
#include <QTabWidget>
#include <QVBoxLayout>

#include <algorithm>

namespace gaetwae::console {

namespace {

double ms(std::uint64_t micros) {
    return static_cast<double>(micros) / 1000.0;
}

double perSecond(std::uint64_t count, std::int64_t intervalMs) {
    return intervalMs > 0 ? static_cast<double>(count) * 1000.0 / static_cast<double>(intervalMs) : 0.0;
}

const QColor kGhost(0x9a, 0x9a, 0x9a);

} // namespace

RunView::RunView(QWidget* parent)
    : QWidget(parent) {
    m_latency = new TimeSeriesChart(tr("Latency: client vs gateway"), tr("ms"));
    m_latency->addSeries(tr("client p50"), QColor(0x2e, 0x9d, 0x4f));
    m_latency->addSeries(tr("client p99"), QColor(0xd0, 0x3b, 0x3b));
    m_latency->addSeries(tr("client p99 uncorrected"), QColor(0xe8, 0x9a, 0x9a));
    m_latency->addSeries(tr("gateway p99"), QColor(0x3b, 0x7d, 0xd8));
    m_latency->addSeries(tr("upstream p99"), QColor(0x8e, 0x5b, 0xc9));
    m_latency->addSeries(tr("gateway overhead (mean)"), QColor(0xd9, 0x8e, 0x04));
    m_latency->addSeries(tr("baseline client p99"), kGhost);
    m_rate = new TimeSeriesChart(tr("Rate: target vs achieved"), tr("req/s"));
    m_rate->addSeries(tr("target"), QColor(0x7a, 0x7a, 0x7a));
    m_rate->addSeries(tr("achieved"), QColor(0x3b, 0x7d, 0xd8));
    m_rate->addSeries(tr("at the gateway"), QColor(0x2e, 0x9d, 0x4f));
    m_rate->addSeries(tr("errors"), QColor(0xd0, 0x3b, 0x3b));
    m_rate->addSeries(tr("baseline achieved"), kGhost);
    m_share = new TimeSeriesChart(tr("Traffic share per instance"), tr("%"));
    m_breakers = new BreakerTimeline;
    for (auto* chart : {m_latency, m_rate, m_share}) {
        chart->setMinimumHeight(120);
        connect(chart, &TimeSeriesChart::cursorMoved, this, [this](std::int64_t timeMs) {
            for (auto* other : {m_latency, m_rate, m_share}) {
                other->setCursor(timeMs);
            }
            m_breakers->setCursor(timeMs);
        });
    }

    m_scrubber = new QSlider(Qt::Horizontal);
    m_scrubber->setObjectName(QStringLiteral("scrubber"));
    m_scrubber->setEnabled(false);
    m_playButton = new QPushButton(tr("Play"));
    m_playButton->setObjectName(QStringLiteral("play"));
    m_playButton->setEnabled(false);
    m_readout = new QLabel;
    m_readout->setObjectName(QStringLiteral("readout"));
    m_readout->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_readout->setWordWrap(true);
    connect(m_scrubber, &QSlider::valueChanged, this, [this](int) { updateReadout(); });
    connect(m_playButton, &QPushButton::clicked, this, [this] { setPlaying(!isPlaying()); });
    m_play.setInterval(1000); // 1x: one stored second per second
    connect(&m_play, &QTimer::timeout, this, [this] {
        if (m_scrubber->value() >= m_scrubber->maximum()) {
            setPlaying(false);
            return;
        }
        m_scrubber->setValue(m_scrubber->value() + 1);
    });

    auto* transport = new QHBoxLayout;
    transport->addWidget(m_playButton);
    transport->addWidget(m_scrubber, 1);
    // Latency always in view; rate, instances and breakers share the space below it.
    auto* below = new QTabWidget;
    below->setObjectName(QStringLiteral("runTabs"));
    below->addTab(m_rate, tr("Rate and errors"));
    below->addTab(m_share, tr("Instances"));
    below->addTab(m_breakers, tr("Breakers"));
    auto* splitter = new QSplitter(Qt::Vertical);
    splitter->addWidget(m_latency);
    splitter->addWidget(below);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(splitter, 1);
    layout->addLayout(transport);
    layout->addWidget(m_readout);
}

void RunView::clear() {
    setPlaying(false);
    for (auto* chart : {m_latency, m_rate, m_share}) {
        chart->clear();
        chart->setCursor(0);
    }
    m_breakers->clear();
    m_seconds.clear();
    m_gateway.clear();
    m_baselineP99.clear();
    m_scrubber->setRange(0, 0);
    m_scrubber->setEnabled(false);
    m_playButton->setEnabled(false);
    m_readout->clear();
}

void RunView::begin(const RunRecord& run, const std::optional<RunData>& baseline) {
    clear();
    m_route = run.plan.route;
    m_startMs = run.startedAtMs;
    if (baseline) {
        m_shiftMs = run.startedAtMs - baseline->run.startedAtMs;
        plotBaseline(*baseline);
    }
}

void RunView::beginLive(const RunRecord& run, const std::optional<RunData>& baseline) {
    begin(run, baseline);
    const auto length = std::max<std::int64_t>(run.plan.length().count(), 10'000);
    for (auto* chart : {m_latency, m_rate, m_share}) {
        chart->setFixedRange(m_startMs, m_startMs + length + 2000);
    }
    m_breakers->setRange(m_startMs, m_startMs + length + 2000);
}

void RunView::plotBaseline(const RunData& baseline) {
    for (const auto& second : baseline.seconds) {
        const auto t = second.timeMs + m_shiftMs;
        const double p99 = ms(second.corrected.percentile(0.99));
        m_baselineP99[t] = p99;
        m_latency->append(BaselineP99, t, p99);
        m_rate->append(BaselineAchieved, t, perSecond(second.completed, second.intervalMs));
    }
}

void RunView::addSecond(const loadtest::IntervalStats& second) {
    const auto t = second.timeMs;
    m_seconds.push_back(second);
    if (!second.corrected.empty()) {
        m_latency->append(ClientP50, t, ms(second.corrected.percentile(0.5)));
        m_latency->append(ClientP99, t, ms(second.corrected.percentile(0.99)));
        m_latency->append(ClientP99Uncorrected, t, ms(second.uncorrected.percentile(0.99)));
    }
    if (second.targetRps > 0) {
        m_rate->append(Target, t, second.targetRps); // the rate due in that second
    }
    m_rate->append(Achieved, t, perSecond(second.completed, second.intervalMs));
    m_rate->append(Errors, t, perSecond(second.failures(), second.intervalMs));
    m_scrubber->setRange(0, secondsCount() - 1);
    m_scrubber->setEnabled(true);
    m_playButton->setEnabled(true);
}

void RunView::addFrame(const protocol::StatsFrame& frame) {
    const auto route = frame.routes.find(m_route);
    const protocol::TrafficStats& traffic = route != frame.routes.end() ? route->second : frame.total;
    GatewaySecond g;
    g.rps = perSecond(traffic.requests, frame.intervalMs);
    if (!traffic.latency.empty()) {
        g.p99Ms = ms(traffic.latency.percentile(0.99));
        g.upstreamP99Ms = ms(traffic.upstream.percentile(0.99));
        const double meanLatency = static_cast<double>(traffic.latency.sum()) / static_cast<double>(traffic.latency.count());
        const double meanUpstream = traffic.upstream.empty() ? 0.0
                                                             : static_cast<double>(traffic.upstream.sum()) /
                                                                   static_cast<double>(traffic.upstream.count());
        g.overheadMs = std::max(0.0, meanLatency - meanUpstream) / 1000.0;
        m_latency->append(GatewayP99, frame.timeMs, g.p99Ms);
        m_latency->append(UpstreamP99, frame.timeMs, g.upstreamP99Ms);
        m_latency->append(Overhead, frame.timeMs, g.overheadMs);
    }
    m_rate->append(GatewayRps, frame.timeMs, g.rps);
    m_gateway[frame.timeMs] = g;
    // Each instance's share of its pool's requests in this second.
    std::map<std::string, std::uint64_t> poolRequests;
    for (const auto& instance : frame.instances) {
        poolRequests[instance.pool] += instance.requests;
    }
    for (const auto& instance : frame.instances) {
        const auto total = poolRequests[instance.pool];
        if (total > 0) {
            const auto key = instance.pool + "/" + instance.id;
            auto it = m_shareSeries.find(key);
            if (it == m_shareSeries.end()) {
                it = m_shareSeries.emplace(key, m_share->addSeries(QString::fromStdString(key))).first;
            }
            m_share->append(it->second, frame.timeMs,
                            100.0 * static_cast<double>(instance.requests) / static_cast<double>(total));
        }
        m_breakers->record(QString::fromStdString(instance.pool + "/" + instance.id), frame.timeMs,
                           BreakerTimeline::parse(instance.breaker, instance.healthy, instance.ejected));
    }
}

void RunView::addEvent(const protocol::EventRecord& event) {
    for (auto* chart : {m_latency, m_rate, m_share}) {
        chart->addEventMarker(event);
    }
}

void RunView::showRun(const RunData& run, const std::optional<RunData>& baseline) {
    begin(run.run, baseline);
    for (const auto& second : run.seconds) {
        addSecond(second);
    }
    for (const auto& frame : run.frames) {
        addFrame(frame);
    }
    for (const auto& event : run.events) {
        addEvent(event);
    }
    const auto end = std::max(run.run.endedAtMs, run.seconds.empty() ? m_startMs : run.seconds.back().timeMs);
    for (auto* chart : {m_latency, m_rate, m_share}) {
        chart->setFixedRange(m_startMs, std::max(end, m_startMs + 1000));
        chart->redraw();
    }
    m_breakers->setRange(m_startMs, std::max(end, m_startMs + 1000));
    scrubTo(0);
}

void RunView::scrubTo(int second) {
    if (m_seconds.empty()) {
        return;
    }
    m_scrubber->setValue(std::clamp(second, 0, secondsCount() - 1));
    updateReadout();
}

int RunView::scrubPosition() const {
    return m_scrubber->value();
}

QString RunView::readout() const {
    return m_readout->text();
}

void RunView::setPlaying(bool playing) {
    if (playing && !m_seconds.empty()) {
        if (m_scrubber->value() >= m_scrubber->maximum()) {
            m_scrubber->setValue(0);
        }
        m_play.start();
    } else {
        m_play.stop();
    }
    m_playButton->setText(isPlaying() ? tr("Pause") : tr("Play"));
}

void RunView::updateReadout() {
    if (m_seconds.empty()) {
        m_readout->clear();
        return;
    }
    const auto index = static_cast<std::size_t>(std::clamp(m_scrubber->value(), 0, secondsCount() - 1));
    const auto& s = m_seconds[index];
    for (auto* chart : {m_latency, m_rate, m_share}) {
        chart->setCursor(s.timeMs);
    }
    m_breakers->setCursor(s.timeMs);
    QString text = tr("second %1 of %2: client p50 %3 ms, p99 %4 ms (uncorrected %5 ms), %6 req/s")
                       .arg(index + 1)
                       .arg(secondsCount())
                       .arg(ms(s.corrected.percentile(0.5)), 0, 'f', 2)
                       .arg(ms(s.corrected.percentile(0.99)), 0, 'f', 2)
                       .arg(ms(s.uncorrected.percentile(0.99)), 0, 'f', 2)
                       .arg(perSecond(s.completed, s.intervalMs), 0, 'f', 0);
    if (s.targetRps > 0) {
        text += tr(" of %1 due").arg(s.targetRps, 0, 'f', 0);
    }
    if (s.failures() > 0) {
        text += tr(", %1 failed").arg(s.failures());
    }
    // The gateway's frame for the same second (frames end on whole seconds of the engine's clock).
    const auto frame = m_gateway.lower_bound(s.timeMs - 500);
    if (frame != m_gateway.end() && frame->first <= s.timeMs + 1500) {
        text += tr("; gateway p99 %1 ms, upstream p99 %2 ms, overhead %3 ms")
                    .arg(frame->second.p99Ms, 0, 'f', 2)
                    .arg(frame->second.upstreamP99Ms, 0, 'f', 2)
                    .arg(frame->second.overheadMs, 0, 'f', 3);
    }
    const auto ghost = m_baselineP99.lower_bound(s.timeMs - 500);
    if (ghost != m_baselineP99.end() && ghost->first <= s.timeMs + 500) {
        text += tr("; baseline p99 %1 ms").arg(ghost->second, 0, 'f', 2);
    }
    m_readout->setText(text);
}

} // namespace gaetwae::console
