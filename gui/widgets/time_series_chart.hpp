#pragma once

#include "shared/protocol/admin_messages.hpp"

#include <QChartView>
#include <QColor>
#include <QString>
#include <QTimer>

#include <cstdint>
#include <deque>
#include <vector>

class QLineSeries;
class QValueAxis;
class QDateTimeAxis;

namespace gaetwae::console {

// A line chart over time fed from ring buffers and redrawn on a timer, never per sample: each
// redraw decimates every series to at most two points (min and max) per horizontal pixel of
// the visible range and hands it over with one replace() per series, so a day of 1 Hz data
// for dozens of series stays cheap. The visible range follows the newest data ("live") or is
// fixed (paused, or browsing history). Markers (config changes, health and breaker events)
// and a shared time cursor are drawn as vertical lines.
class TimeSeriesChart : public QChartView {
    Q_OBJECT
public:
    explicit TimeSeriesChart(const QString& title, const QString& unit, QWidget* parent = nullptr);

    int addSeries(const QString& name, const QColor& color = {});
    int seriesCount() const { return static_cast<int>(m_series.size()); }
    // Hidden series keep their data but cost nothing to draw (e.g. other pools' instances).
    void setSeriesVisible(int series, bool visible);
    void setCapacity(std::size_t points); // per series; default one day at 1 Hz
    void append(int series, std::int64_t timeMs, double value);
    void clear();

    void addMarker(std::int64_t timeMs, const QString& label, const QColor& color);
    // Config changes (blue), breaker transitions (red), health and ejections (amber).
    void addEventMarker(const protocol::EventRecord& event);
    void setCursor(std::int64_t timeMs); // 0: hidden

    // Live: the window [newest - span, newest]. Fixed: [from, to], also while paused.
    void setLive(std::int64_t spanMs);
    void setFixedRange(std::int64_t fromMs, std::int64_t toMs);
    bool isLive() const { return m_live; }
    std::pair<std::int64_t, std::int64_t> visibleRange() const;

    // Rebuilds the drawn series now (the timer does it every `intervalMs`, default 500 ms).
    void redraw();
    void setRedrawInterval(int intervalMs) { m_timer.setInterval(intervalMs); }
    int lastDrawnPoints() const { return m_lastDrawnPoints; } // after decimation, all series

    // Min/max decimation of [first, last) points into `buckets` buckets: output in time order.
    struct Point {
        std::int64_t timeMs;
        double value;
    };
    static std::vector<Point> decimate(const std::deque<Point>& points, std::int64_t fromMs, std::int64_t toMs,
                                       int buckets);

signals:
    void cursorMoved(std::int64_t timeMs);

protected:
    void mouseMoveEvent(QMouseEvent* event) override;
    void drawForeground(QPainter* painter, const QRectF& rect) override;
    void changeEvent(QEvent* event) override;

private:
    struct Series {
        QLineSeries* line = nullptr;
        std::deque<Point> points;
        bool visible = true;
    };
    struct Marker {
        std::int64_t timeMs;
        QString label;
        QColor color;
    };
    qreal xOf(std::int64_t timeMs) const;
    void followPalette(); // light or dark chart theme, as the window's palette (the system's)

    std::vector<Series> m_series;
    std::deque<Marker> m_markers;
    std::int64_t m_cursorMs = 0;
    QDateTimeAxis* m_timeAxis = nullptr;
    QValueAxis* m_valueAxis = nullptr;
    QTimer m_timer;
    std::size_t m_capacity = 86'400;
    bool m_live = true;
    std::int64_t m_spanMs = 5 * 60'000;
    std::int64_t m_fromMs = 0;
    std::int64_t m_toMs = 0;
    bool m_dirty = false;
    int m_lastDrawnPoints = 0;
    std::pair<std::int64_t, std::int64_t> m_axisRange{0, 0};
    std::pair<double, double> m_valueRange{0, 0};
};

} // namespace gaetwae::console
