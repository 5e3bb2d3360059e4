#pragma once

#include "gui/storage/history_types.hpp"

#include <QPointer>
#include <QWidget>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

class QComboBox;
class QDateTimeEdit;
class QLabel;
class QPushButton;

namespace gaetwae::console {

class HistoryStore;
class TimeSeriesChart;

// Any past period from the history store with the same charts as the dashboard: a time-range
// picker (quick ranges or from/to), a scope (whole gateway, a route, a pool or an instance),
// exact percentiles over the whole range from the merged histograms, CSV export of the range
// and PNG export of a chart. Reads run on a worker thread; the UI never waits for the disk.
class HistoryPage : public QWidget {
    Q_OBJECT
public:
    explicit HistoryPage(HistoryStore* store, QWidget* parent = nullptr);

    void setEngine(const QString& engine);
    // Loads [fromMs, toMs] of `scope`/`name` in the background; loaded() follows.
    void load(std::int64_t fromMs, std::int64_t toMs, Scope scope, const std::string& name);
    // Loads the range and scope the controls show.
    void reload();

    bool exportCsv(const QString& path, QString* error = nullptr) const;
    bool exportChartPng(const QString& path) const;

    TimeSeriesChart* requestsChart() const { return m_requests; }
    TimeSeriesChart* latencyChart() const { return m_latency; }
    QString summary() const;

    // Chooses a step that keeps a range to about `maxPoints` points per series (>= 1 s).
    static std::int64_t stepFor(std::int64_t fromMs, std::int64_t toMs, std::int64_t maxPoints = 1500);

signals:
    void loaded();

private:
    struct Result;
    void show(const std::shared_ptr<Result>& result);
    void refreshScopes();

    HistoryStore* m_store = nullptr;
    std::string m_engine;
    Scope m_scope = Scope::Total;
    std::string m_name;
    std::int64_t m_fromMs = 0;
    std::int64_t m_toMs = 0;
    std::uint64_t m_generation = 0;      // of loads: only the newest is shown
    std::uint64_t m_scopeGeneration = 0; // of scope lists
    QComboBox* m_range = nullptr;
    QComboBox* m_scopeBox = nullptr;
    QDateTimeEdit* m_from = nullptr;
    QDateTimeEdit* m_to = nullptr;
    QLabel* m_summary = nullptr;
    TimeSeriesChart* m_requests = nullptr;
    TimeSeriesChart* m_latency = nullptr;
    TimeSeriesChart* m_errors = nullptr;
};

} // namespace gaetwae::console
