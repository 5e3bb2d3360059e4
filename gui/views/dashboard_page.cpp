#include "gui/views/dashboard_page.hpp"

#include "gui/client/engine_session.hpp"
#include "gui/widgets/breaker_timeline.hpp"
#include "gui/widgets/time_series_chart.hpp"

#include <QComboBox>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QScrollArea>
#include <QVBoxLayout>

namespace gaetwae::console {

namespace {

double perSecond(std::uint64_t count, const protocol::StatsFrame& frame) {
    return static_cast<double>(count) * 1000.0 / static_cast<double>(std::max<std::int64_t>(frame.intervalMs, 1));
}

double ms(std::uint64_t micros) {
    return static_cast<double>(micros) / 1000.0;
}

} // namespace

DashboardPage::DashboardPage(QWidget* parent) : QWidget(parent) {
    m_requests = new TimeSeriesChart(tr("Requests"), tr("req/s"));
    m_requests->addSeries(tr("achieved"), QColor(0x3b, 0x7d, 0xd8));
    m_requests->addSeries(tr("load test target"), QColor(0x7a, 0x7a, 0x7a));
    m_requests->addSeries(tr("load test achieved"), QColor(0x2e, 0x9d, 0x4f));
    m_latency = new TimeSeriesChart(tr("Latency"), tr("ms"));
    m_latency->addSeries(QStringLiteral("p50"), QColor(0x2e, 0x9d, 0x4f));
    m_latency->addSeries(QStringLiteral("p95"), QColor(0xd9, 0x8e, 0x04));
    m_latency->addSeries(QStringLiteral("p99"), QColor(0xd0, 0x3b, 0x3b));
    m_latency->addSeries(tr("upstream p99"), QColor(0x8e, 0x5b, 0xc9));
    m_connections = new TimeSeriesChart(tr("Connections and requests in flight"), tr("count"));
    m_connections->addSeries(tr("connections"), QColor(0x3b, 0x7d, 0xd8));
    m_connections->addSeries(tr("requests"), QColor(0x2e, 0x9d, 0x4f));
    m_errors = new TimeSeriesChart(tr("Errors"), tr("per second"));
    m_errors->addSeries(QStringLiteral("4xx"), QColor(0xd9, 0x8e, 0x04));
    m_errors->addSeries(QStringLiteral("5xx"), QColor(0xd0, 0x3b, 0x3b));
    m_errors->addSeries(tr("gateway errors"), QColor(0x7a, 0x7a, 0x7a));
    m_share = new TimeSeriesChart(tr("Traffic share per instance"), tr("%"));
    m_breakers = new BreakerTimeline;

    m_pause = new QPushButton(tr("Pause"));
    m_pause->setCheckable(true);
    m_pause->setToolTip(tr("Freeze the charts; data keeps being recorded (Ctrl+P)"));
    auto* live = new QPushButton(tr("Live"));
    live->setToolTip(tr("Back to the newest data (Ctrl+L)"));
    m_span = new QComboBox;
    m_span->addItem(tr("Last minute"), 60'000);
    m_span->addItem(tr("Last 5 minutes"), 300'000);
    m_span->addItem(tr("Last 15 minutes"), 900'000);
    m_span->setCurrentIndex(1);
    m_sharePool = new QComboBox;
    m_sharePool->setToolTip(tr("Pool shown in the traffic-share chart"));
    m_empty = new QLabel(tr("No engine selected. Add one on the Engines page (Ctrl+1)."));
    m_empty->setAlignment(Qt::AlignCenter);

    auto* bar = new QHBoxLayout;
    bar->addWidget(m_pause);
    bar->addWidget(live);
    bar->addWidget(m_span);
    bar->addStretch();
    bar->addWidget(new QLabel(tr("Share of pool:")));
    bar->addWidget(m_sharePool);

    auto* grid = new QGridLayout;
    grid->addWidget(m_requests, 0, 0);
    grid->addWidget(m_latency, 0, 1);
    grid->addWidget(m_connections, 1, 0);
    grid->addWidget(m_errors, 1, 1);
    grid->addWidget(m_share, 2, 0);
    grid->addWidget(m_breakers, 2, 1);

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(bar);
    layout->addWidget(m_empty);
    layout->addLayout(grid, 1);

    connect(m_pause, &QPushButton::toggled, this, [this](bool on) { setPaused(on); });
    connect(live, &QPushButton::clicked, this, [this] { goLive(); });
    connect(m_span, &QComboBox::currentIndexChanged, this, [this] { goLive(); });
    connect(m_sharePool, &QComboBox::currentIndexChanged, this, [this] { showSharePool(); });
    for (auto* chart : charts()) {
        connect(chart, &TimeSeriesChart::cursorMoved, this, [this](std::int64_t t) { syncCursor(t); });
    }
    connect(m_breakers, &BreakerTimeline::cursorMoved, this, [this](std::int64_t t) { syncCursor(t); });
    goLive();
    setSession(nullptr);
}

std::vector<TimeSeriesChart*> DashboardPage::charts() const {
    return {m_requests, m_latency, m_connections, m_errors, m_share};
}

void DashboardPage::setSession(EngineSession* session) {
    if (m_session) {
        disconnect(m_session, nullptr, this, nullptr);
    }
    m_session = session;
    for (auto* chart : charts()) {
        chart->clear();
    }
    m_breakers->clear();
    m_sharePool->clear();
    m_empty->setVisible(session == nullptr);
    if (session == nullptr) {
        return;
    }
    for (const auto& frame : session->frames()) {
        addFrame(frame);
    }
    connect(session, &EngineSession::frameAdded, this, [this](const protocol::StatsFrame& frame) { addFrame(frame); });
    connect(session, &EngineSession::eventAdded, this, [this](const protocol::EventRecord& event) { addEvent(event); });
    for (auto* chart : charts()) {
        chart->redraw();
    }
}

void DashboardPage::addLoadSecond(std::int64_t timeMs, double targetRps, double achievedRps) {
    if (targetRps > 0) {
        m_requests->append(1, timeMs, targetRps);
    }
    m_requests->append(2, timeMs, achievedRps);
}

void DashboardPage::addFrame(const protocol::StatsFrame& frame) {
    const std::int64_t t = frame.timeMs;
    const auto& total = frame.total;
    m_requests->append(0, t, perSecond(total.requests, frame));
    if (!total.latency.empty()) {
        m_latency->append(0, t, ms(total.latency.percentile(0.50)));
        m_latency->append(1, t, ms(total.latency.percentile(0.95)));
        m_latency->append(2, t, ms(total.latency.percentile(0.99)));
    }
    if (!total.upstream.empty()) {
        m_latency->append(3, t, ms(total.upstream.percentile(0.99)));
    }
    m_connections->append(0, t, static_cast<double>(frame.activeConnections));
    m_connections->append(1, t, static_cast<double>(total.activeRequests));
    m_errors->append(0, t, perSecond(total.responses[3], frame));
    m_errors->append(1, t, perSecond(total.responses[4], frame));
    std::uint64_t gatewayErrors = 0;
    for (const auto& [code, count] : total.errors) {
        gatewayErrors += count;
    }
    m_errors->append(2, t, perSecond(gatewayErrors, frame));

    std::map<std::string, std::uint64_t> poolRequests;
    for (const auto& instance : frame.instances) {
        poolRequests[instance.pool] += instance.requests;
    }
    for (const auto& instance : frame.instances) {
        const std::string key = instance.pool + "/" + instance.id;
        auto it = m_shareSeries.find(key);
        const QString pool = QString::fromStdString(instance.pool);
        if (m_sharePool->findText(pool) < 0) {
            m_sharePool->addItem(pool); // the first pool seen is selected
        }
        if (it == m_shareSeries.end()) {
            it = m_shareSeries.emplace(key, m_share->addSeries(QString::fromStdString(key))).first;
            m_share->setSeriesVisible(it->second, pool == m_sharePool->currentText());
        }
        const auto requests = poolRequests[instance.pool];
        m_share->append(it->second, t,
                        requests == 0 ? 0.0 : 100.0 * static_cast<double>(instance.requests) / static_cast<double>(requests));
        m_breakers->record(QString::fromStdString(key), t,
                           BreakerTimeline::parse(instance.breaker, instance.healthy, instance.ejected));
    }
    if (!m_paused) {
        syncRange();
    }
}

void DashboardPage::addEvent(const protocol::EventRecord& event) {
    if (event.kind != "config" && event.kind != "health" && event.kind != "breaker" && event.kind != "ejection") {
        return;
    }
    for (auto* chart : charts()) {
        chart->addEventMarker(event);
    }
}

void DashboardPage::showSharePool() {
    const std::string prefix = m_sharePool->currentText().toStdString() + "/";
    for (const auto& [key, series] : m_shareSeries) {
        m_share->setSeriesVisible(series, key.rfind(prefix, 0) == 0);
    }
}

void DashboardPage::syncCursor(std::int64_t timeMs) {
    for (auto* chart : charts()) {
        chart->setCursor(timeMs);
    }
    m_breakers->setCursor(timeMs);
}

void DashboardPage::syncRange() {
    const auto [from, to] = m_requests->visibleRange();
    m_breakers->setRange(from, to);
}

void DashboardPage::setPaused(bool paused) {
    m_paused = paused;
    if (m_pause->isChecked() != paused) {
        m_pause->setChecked(paused);
    }
    if (paused) {
        const auto [from, to] = m_requests->visibleRange();
        for (auto* chart : charts()) {
            chart->setFixedRange(from, to);
        }
    } else {
        goLive();
    }
}

void DashboardPage::goLive() {
    m_paused = false;
    if (m_pause->isChecked()) {
        m_pause->setChecked(false);
    }
    const auto span = m_span->currentData().toLongLong();
    for (auto* chart : charts()) {
        chart->setLive(span);
    }
    syncRange();
}

} // namespace gaetwae::console
