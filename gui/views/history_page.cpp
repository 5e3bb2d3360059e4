#include "gui/views/history_page.hpp"

#include "gui/storage/history_store.hpp"
#include "gui/widgets/time_series_chart.hpp"

#include <QApplication>
#include <QComboBox>
#include <QDateTime>
#include <QDateTimeEdit>
#include <QFileDialog>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QMessageBox>
#include <QPushButton>
#include <QThreadPool>
#include <QVBoxLayout>

namespace gaetwae::console {

struct HistoryPage::Result {
    std::uint64_t generation = 0;
    std::vector<SeriesPoint> points;
    protocol::LatencyHistogram latency;
    std::uint64_t requests = 0;
    std::vector<protocol::EventRecord> markers; // config changes, health and breaker events
};

namespace {

double ms(std::uint64_t micros) {
    return static_cast<double>(micros) / 1000.0;
}

} // namespace

HistoryPage::HistoryPage(HistoryStore* store, QWidget* parent) : QWidget(parent), m_store(store) {
    m_range = new QComboBox;
    m_range->addItem(tr("Last hour"), 3'600'000LL);
    m_range->addItem(tr("Last 6 hours"), 6 * 3'600'000LL);
    m_range->addItem(tr("Last 24 hours"), 24 * 3'600'000LL);
    m_range->addItem(tr("Last 7 days"), 7 * 24 * 3'600'000LL);
    m_range->addItem(tr("Last 90 days"), 90 * 24 * 3'600'000LL);
    m_range->addItem(tr("From … to …"), 0LL);
    m_from = new QDateTimeEdit;
    m_to = new QDateTimeEdit;
    for (auto* edit : {m_from, m_to}) {
        edit->setCalendarPopup(true);
        edit->setDisplayFormat(QStringLiteral("yyyy-MM-dd HH:mm:ss"));
        edit->setEnabled(false);
    }
    m_scopeBox = new QComboBox;
    m_scopeBox->setMinimumWidth(200);
    auto* show = new QPushButton(tr("Show"));
    auto* csv = new QPushButton(tr("Export CSV…"));
    auto* png = new QPushButton(tr("Export chart PNG…"));
    m_summary = new QLabel;
    m_summary->setTextInteractionFlags(Qt::TextSelectableByMouse);

    m_requests = new TimeSeriesChart(tr("Requests"), tr("req/s"));
    m_requests->addSeries(tr("requests"), QColor(0x3b, 0x7d, 0xd8));
    m_latency = new TimeSeriesChart(tr("Latency"), tr("ms"));
    m_latency->addSeries(QStringLiteral("p50"), QColor(0x2e, 0x9d, 0x4f));
    m_latency->addSeries(QStringLiteral("p95"), QColor(0xd9, 0x8e, 0x04));
    m_latency->addSeries(QStringLiteral("p99"), QColor(0xd0, 0x3b, 0x3b));
    m_errors = new TimeSeriesChart(tr("Errors"), tr("per second"));
    m_errors->addSeries(QStringLiteral("4xx"), QColor(0xd9, 0x8e, 0x04));
    m_errors->addSeries(QStringLiteral("5xx"), QColor(0xd0, 0x3b, 0x3b));

    auto* bar = new QHBoxLayout;
    bar->addWidget(m_range);
    bar->addWidget(m_from);
    bar->addWidget(new QLabel(QStringLiteral("–")));
    bar->addWidget(m_to);
    bar->addWidget(m_scopeBox);
    bar->addWidget(show);
    bar->addStretch();
    bar->addWidget(csv);
    bar->addWidget(png);
    auto* grid = new QGridLayout;
    grid->addWidget(m_requests, 0, 0);
    grid->addWidget(m_latency, 0, 1);
    grid->addWidget(m_errors, 1, 0, 1, 2);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(bar);
    layout->addWidget(m_summary);
    layout->addLayout(grid, 1);

    connect(m_range, &QComboBox::currentIndexChanged, this, [this] {
        const bool custom = m_range->currentData().toLongLong() == 0;
        m_from->setEnabled(custom);
        m_to->setEnabled(custom);
        if (!custom) {
            reload();
        }
    });
    connect(show, &QPushButton::clicked, this, [this] { reload(); });
    connect(csv, &QPushButton::clicked, this, [this] {
        const QString path = QFileDialog::getSaveFileName(this, tr("Export range as CSV"), QStringLiteral("history.csv"),
                                                          tr("CSV (*.csv)"));
        if (path.isEmpty()) {
            return;
        }
        // On a worker thread: a long range must not freeze the window.
        QPointer<HistoryPage> self(this);
        QThreadPool::globalInstance()->start([self, path] {
            auto error = std::make_shared<QString>();
            const bool ok = self && self->exportCsv(path, error.get());
            QMetaObject::invokeMethod(
                qApp, [self, ok, error] {
                    if (self && !ok) {
                        QMessageBox::warning(self, tr("Export failed"), *error);
                    }
                },
                Qt::QueuedConnection);
        });
    });
    connect(png, &QPushButton::clicked, this, [this] {
        const QString path = QFileDialog::getSaveFileName(this, tr("Export latency chart"), QStringLiteral("latency.png"),
                                                          tr("PNG (*.png)"));
        if (!path.isEmpty() && !exportChartPng(path)) {
            QMessageBox::warning(this, tr("Export failed"), tr("Could not write %1").arg(path));
        }
    });
    if (m_store == nullptr) {
        m_summary->setText(tr("History is not available (see the status bar)."));
    }
}

std::int64_t HistoryPage::stepFor(std::int64_t fromMs, std::int64_t toMs, std::int64_t maxPoints) {
    const std::int64_t span = std::max<std::int64_t>(toMs - fromMs, 1000);
    const std::int64_t raw = (span + maxPoints - 1) / maxPoints;
    // Whole seconds (the finest the store has); past a minute, whole minutes, which the store
    // reads from its minute rollups instead of every second.
    const std::int64_t unit = raw > 60'000 ? 60'000 : 1000;
    return std::max<std::int64_t>(1000, (raw + unit - 1) / unit * unit);
}

void HistoryPage::setEngine(const QString& engine) {
    m_engine = engine.toStdString();
    refreshScopes();
}

void HistoryPage::refreshScopes() {
    m_scopeBox->clear();
    m_scopeBox->addItem(tr("Whole gateway"), QStringList{QStringLiteral("0"), QString()});
    if (m_store == nullptr || m_engine.empty()) {
        return;
    }
    // The names come from the store: read on a worker thread, added when they arrive.
    QPointer<HistoryPage> self(this);
    HistoryStore* store = m_store;
    const std::string engine = m_engine;
    const std::uint64_t generation = ++m_scopeGeneration;
    QThreadPool::globalInstance()->start([self, store, engine, generation] {
        auto items = std::make_shared<std::vector<std::pair<QString, QStringList>>>();
        for (const auto scope : {Scope::Route, Scope::Pool, Scope::Instance}) {
            for (const auto& name : store->names(engine, scope)) {
                items->emplace_back(QStringLiteral("%1 %2").arg(QString::fromLatin1(toString(scope).data(), static_cast<qsizetype>(toString(scope).size())),
                                                                QString::fromStdString(name)),
                                    QStringList{QString::number(static_cast<int>(scope)), QString::fromStdString(name)});
            }
        }
        QMetaObject::invokeMethod(
            qApp, [self, generation, items] {
                if (self && self->m_scopeGeneration == generation) { // else a newer list is coming
                    for (const auto& [label, data] : *items) {
                        self->m_scopeBox->addItem(label, data);
                    }
                }
            },
            Qt::QueuedConnection);
    });
}

void HistoryPage::reload() {
    std::int64_t to = QDateTime::currentMSecsSinceEpoch();
    std::int64_t from = to - m_range->currentData().toLongLong();
    if (m_range->currentData().toLongLong() == 0) {
        from = m_from->dateTime().toMSecsSinceEpoch();
        to = m_to->dateTime().toMSecsSinceEpoch();
    }
    const QStringList scope = m_scopeBox->currentData().toStringList();
    load(from, to, scope.size() == 2 ? static_cast<Scope>(scope[0].toInt()) : Scope::Total,
         scope.size() == 2 ? scope[1].toStdString() : std::string());
}

void HistoryPage::load(std::int64_t fromMs, std::int64_t toMs, Scope scope, const std::string& name) {
    m_fromMs = fromMs;
    m_toMs = toMs;
    m_scope = scope;
    m_name = name;
    m_from->setDateTime(QDateTime::fromMSecsSinceEpoch(fromMs));
    m_to->setDateTime(QDateTime::fromMSecsSinceEpoch(toMs));
    const std::uint64_t generation = ++m_generation;
    if (m_store == nullptr) {
        emit loaded();
        return;
    }
    m_summary->setText(tr("Loading…"));
    QPointer<HistoryPage> self(this);
    HistoryStore* store = m_store;
    const std::string engine = m_engine;
    QThreadPool::globalInstance()->start([self, store, engine, generation, fromMs, toMs, scope, name] {
        auto result = std::make_shared<Result>();
        result->generation = generation;
        result->points = store->series(engine, scope, name, fromMs, toMs, stepFor(fromMs, toMs));
        result->latency = store->latency(engine, scope, name, fromMs, toMs);
        result->markers = store->events(engine, fromMs, toMs, {"config", "health", "breaker", "ejection"}, 500);
        for (const auto& point : result->points) {
            result->requests += point.traffic.requests;
        }
        QMetaObject::invokeMethod(
            qApp, [self, result] {
                if (self) {
                    self->show(result);
                }
            },
            Qt::QueuedConnection);
    });
}

void HistoryPage::show(const std::shared_ptr<Result>& result) {
    if (result->generation != m_generation) {
        return; // a newer load is on its way
    }
    for (auto* chart : {m_requests, m_latency, m_errors}) {
        chart->clear();
        chart->setCapacity(std::max<std::size_t>(result->points.size(), 2));
        chart->setFixedRange(m_fromMs, m_toMs);
    }
    for (const auto& point : result->points) {
        const double seconds = static_cast<double>(std::max<std::int64_t>(point.intervalMs, 1)) / 1000.0;
        const auto& traffic = point.traffic;
        m_requests->append(0, point.timeMs, static_cast<double>(traffic.requests) / seconds);
        if (!traffic.latency.empty()) {
            m_latency->append(0, point.timeMs, ms(traffic.latency.percentile(0.50)));
            m_latency->append(1, point.timeMs, ms(traffic.latency.percentile(0.95)));
            m_latency->append(2, point.timeMs, ms(traffic.latency.percentile(0.99)));
        }
        m_errors->append(0, point.timeMs, static_cast<double>(traffic.responses[3]) / seconds);
        m_errors->append(1, point.timeMs, static_cast<double>(traffic.responses[4]) / seconds);
    }
    for (const auto& event : result->markers) {
        for (auto* chart : {m_requests, m_latency, m_errors}) {
            chart->addEventMarker(event);
        }
    }
    for (auto* chart : {m_requests, m_latency, m_errors}) {
        chart->redraw();
    }
    const auto& h = result->latency;
    m_summary->setText(h.empty() ? tr("No traffic stored in this range.")
                                 : tr("%1 requests · exact over the range: p50 %2 ms · p95 %3 ms · p99 %4 ms · "
                                      "p99.9 %5 ms · max < %6 ms")
                                       .arg(result->requests)
                                       .arg(ms(h.percentile(0.50)), 0, 'f', 2)
                                       .arg(ms(h.percentile(0.95)), 0, 'f', 2)
                                       .arg(ms(h.percentile(0.99)), 0, 'f', 2)
                                       .arg(ms(h.percentile(0.999)), 0, 'f', 2)
                                       .arg(ms(h.maxBound()), 0, 'f', 2));
    emit loaded();
}

QString HistoryPage::summary() const {
    return m_summary->text();
}

bool HistoryPage::exportCsv(const QString& path, QString* error) const {
    if (m_store == nullptr) {
        if (error) {
            *error = tr("History is not available.");
        }
        return false;
    }
    std::string why;
    const bool ok = m_store->exportCsv(m_engine, m_scope, m_name, m_fromMs, m_toMs, path.toStdString(), &why,
                                       stepFor(m_fromMs, m_toMs));
    if (!ok && error) {
        *error = QString::fromStdString(why);
    }
    return ok;
}

bool HistoryPage::exportChartPng(const QString& path) const {
    return m_latency->grab().save(path, "PNG");
}

} // namespace gaetwae::console
