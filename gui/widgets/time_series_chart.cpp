#include "gui/widgets/time_series_chart.hpp"

#include <QChart>
#include <QEvent>
#include <QDateTime>
#include <QDateTimeAxis>
#include <QLineSeries>
#include <QMouseEvent>
#include <QValueAxis>

#include <algorithm>
#include <limits>

namespace gaetwae::console {

namespace {
constexpr std::size_t kMaxMarkers = 500;
}

TimeSeriesChart::TimeSeriesChart(const QString& title, const QString& unit, QWidget* parent)
    : QChartView(new QChart(), parent) {
    chart()->setTitle(title);
    chart()->legend()->setAlignment(Qt::AlignBottom);
    chart()->setMargins(QMargins(4, 4, 4, 4));
    chart()->setAnimationOptions(QChart::NoAnimation);
    m_timeAxis = new QDateTimeAxis(chart());
    m_timeAxis->setFormat(QStringLiteral("HH:mm:ss"));
    m_timeAxis->setTickCount(6);
    m_valueAxis = new QValueAxis(chart());
    m_valueAxis->setTitleText(unit);
    m_valueAxis->setLabelFormat(QStringLiteral("%.4g"));
    chart()->addAxis(m_timeAxis, Qt::AlignBottom);
    chart()->addAxis(m_valueAxis, Qt::AlignLeft);
    setRenderHint(QPainter::Antialiasing, false);
    setMouseTracking(true);
    setMinimumHeight(160);
    followPalette();
    m_timer.setInterval(500);
    connect(&m_timer, &QTimer::timeout, this, [this] {
        if (m_dirty) {
            redraw();
        }
    });
    m_timer.start();
}

int TimeSeriesChart::addSeries(const QString& name, const QColor& color) {
    auto* line = new QLineSeries(chart());
    line->setName(name);
    if (color.isValid()) {
        line->setColor(color);
    }
    line->setUseOpenGL(false);
    chart()->addSeries(line);
    line->attachAxis(m_timeAxis);
    line->attachAxis(m_valueAxis);
    m_series.push_back(Series{line, {}});
    return static_cast<int>(m_series.size()) - 1;
}

void TimeSeriesChart::setSeriesVisible(int series, bool visible) {
    if (series < 0 || series >= seriesCount()) {
        return;
    }
    auto& entry = m_series[static_cast<std::size_t>(series)];
    if (entry.visible != visible) {
        entry.visible = visible;
        entry.line->setVisible(visible);
        if (!visible) {
            entry.line->clear();
        }
        m_dirty = true;
    }
}

void TimeSeriesChart::setCapacity(std::size_t points) {
    m_capacity = std::max<std::size_t>(points, 2);
}

void TimeSeriesChart::append(int series, std::int64_t timeMs, double value) {
    if (series < 0 || series >= seriesCount()) {
        return;
    }
    auto& points = m_series[static_cast<std::size_t>(series)].points;
    if (!points.empty() && timeMs < points.back().timeMs) {
        // Late data (backfill) goes in its place; the common case appends.
        const auto at = std::upper_bound(points.begin(), points.end(), timeMs,
                                         [](std::int64_t t, const Point& p) { return t < p.timeMs; });
        points.insert(at, Point{timeMs, value});
    } else {
        points.push_back(Point{timeMs, value});
    }
    while (points.size() > m_capacity) {
        points.pop_front();
    }
    m_dirty = true;
}

void TimeSeriesChart::clear() {
    for (auto& series : m_series) {
        series.points.clear();
    }
    m_markers.clear();
    m_dirty = true;
    redraw();
}

void TimeSeriesChart::addMarker(std::int64_t timeMs, const QString& label, const QColor& color) {
    m_markers.push_back(Marker{timeMs, label, color});
    while (m_markers.size() > kMaxMarkers) {
        m_markers.pop_front();
    }
    m_dirty = true;
}

void TimeSeriesChart::addEventMarker(const protocol::EventRecord& event) {
    const QColor color = event.kind == "config"    ? QColor(0x3b, 0x7d, 0xd8)
                         : event.kind == "breaker" ? QColor(0xd0, 0x3b, 0x3b)
                                                   : QColor(0xd9, 0x8e, 0x04);
    addMarker(event.timeMs,
              QStringLiteral("%1 %2 %3 → %4")
                  .arg(QString::fromStdString(event.kind), QString::fromStdString(event.instance),
                       QString::fromStdString(event.from), QString::fromStdString(event.to)),
              color);
}

void TimeSeriesChart::setCursor(std::int64_t timeMs) {
    if (m_cursorMs != timeMs) {
        m_cursorMs = timeMs;
        viewport()->update();
    }
}

void TimeSeriesChart::setLive(std::int64_t spanMs) {
    m_live = true;
    m_spanMs = spanMs;
    m_dirty = true;
}

void TimeSeriesChart::setFixedRange(std::int64_t fromMs, std::int64_t toMs) {
    m_live = false;
    m_fromMs = fromMs;
    m_toMs = std::max(toMs, fromMs + 1000);
    m_dirty = true;
}

std::pair<std::int64_t, std::int64_t> TimeSeriesChart::visibleRange() const {
    if (!m_live) {
        return {m_fromMs, m_toMs};
    }
    std::int64_t newest = 0;
    for (const auto& series : m_series) {
        if (!series.points.empty()) {
            newest = std::max(newest, series.points.back().timeMs);
        }
    }
    if (newest == 0) {
        newest = QDateTime::currentMSecsSinceEpoch();
    }
    return {newest - m_spanMs, newest};
}

std::vector<TimeSeriesChart::Point> TimeSeriesChart::decimate(const std::deque<Point>& points, std::int64_t fromMs,
                                                              std::int64_t toMs, int buckets) {
    std::vector<Point> out;
    const auto first = std::lower_bound(points.begin(), points.end(), fromMs,
                                        [](const Point& p, std::int64_t t) { return p.timeMs < t; });
    const auto last = std::upper_bound(first, points.end(), toMs,
                                       [](std::int64_t t, const Point& p) { return t < p.timeMs; });
    const auto count = static_cast<std::size_t>(last - first);
    if (buckets <= 0 || count <= static_cast<std::size_t>(buckets) * 2) {
        out.assign(first, last);
        return out;
    }
    const double width = static_cast<double>(toMs - fromMs) / buckets;
    auto it = first;
    for (int bucket = 0; bucket < buckets && it != last; ++bucket) {
        const auto end = static_cast<std::int64_t>(static_cast<double>(fromMs) + width * (bucket + 1));
        const Point* low = nullptr;
        const Point* high = nullptr;
        for (; it != last && (it->timeMs <= end || bucket == buckets - 1); ++it) {
            if (low == nullptr || it->value < low->value) {
                low = &*it;
            }
            if (high == nullptr || it->value > high->value) {
                high = &*it;
            }
        }
        if (low == nullptr) {
            continue;
        }
        // Both extremes, in time order, so spikes survive at any zoom.
        if (low == high) {
            out.push_back(*low);
        } else if (low->timeMs <= high->timeMs) {
            out.push_back(*low);
            out.push_back(*high);
        } else {
            out.push_back(*high);
            out.push_back(*low);
        }
    }
    return out;
}

void TimeSeriesChart::redraw() {
    m_dirty = false;
    const auto [from, to] = visibleRange();
    // Two points (min and max) per bucket of two pixels: as sharp as the screen can show.
    const int buckets = std::max(50, static_cast<int>(chart()->plotArea().width()) / 2);
    double low = 0;
    double high = std::numeric_limits<double>::lowest();
    int drawn = 0;
    for (auto& series : m_series) {
        if (!series.visible) {
            continue;
        }
        const auto points = decimate(series.points, from, to, buckets);
        QList<QPointF> list;
        list.reserve(static_cast<qsizetype>(points.size()));
        for (const auto& p : points) {
            list.append(QPointF(static_cast<qreal>(p.timeMs), p.value));
            high = std::max(high, p.value);
            low = std::min(low, p.value);
        }
        drawn += static_cast<int>(list.size());
        series.line->replace(list);
    }
    m_lastDrawnPoints = drawn;
    // Axis changes re-layout the chart: only when they really change.
    if (m_axisRange != std::make_pair(from, to)) {
        m_axisRange = {from, to};
        m_timeAxis->setRange(QDateTime::fromMSecsSinceEpoch(from), QDateTime::fromMSecsSinceEpoch(to));
        m_timeAxis->setFormat(to - from > 86'400'000 ? QStringLiteral("MM-dd HH:mm") : QStringLiteral("HH:mm:ss"));
    }
    const std::pair<double, double> values{low, high <= low ? low + 1 : high * 1.1};
    if (m_valueRange != values) {
        m_valueRange = values;
        m_valueAxis->setRange(values.first, values.second);
    }
    viewport()->update();
}

void TimeSeriesChart::followPalette() {
    const bool dark = palette().color(QPalette::Window).lightness() < 128;
    const auto theme = dark ? QChart::ChartThemeDark : QChart::ChartThemeLight;
    if (chart()->theme() != theme) {
        // The theme resets series colours: keep the ones chosen for meaning (red = errors...).
        std::vector<QColor> colors;
        for (const auto& series : m_series) {
            colors.push_back(series.line->color());
        }
        chart()->setTheme(theme);
        for (std::size_t i = 0; i < m_series.size(); ++i) {
            m_series[i].line->setColor(colors[i]);
        }
    }
    chart()->setBackgroundBrush(palette().color(QPalette::Base));
}

void TimeSeriesChart::changeEvent(QEvent* event) {
    QChartView::changeEvent(event);
    if (event->type() == QEvent::PaletteChange || event->type() == QEvent::ApplicationPaletteChange) {
        followPalette();
    }
}

qreal TimeSeriesChart::xOf(std::int64_t timeMs) const {
    return chart()->mapToPosition(QPointF(static_cast<qreal>(timeMs), m_valueAxis->min())).x();
}

void TimeSeriesChart::drawForeground(QPainter* painter, const QRectF& rect) {
    QChartView::drawForeground(painter, rect);
    const QRectF plot = chart()->plotArea();
    const auto [from, to] = visibleRange();
    painter->save();
    for (const auto& marker : m_markers) {
        if (marker.timeMs < from || marker.timeMs > to) {
            continue;
        }
        const qreal x = xOf(marker.timeMs);
        painter->setPen(QPen(marker.color, 1, Qt::DashLine));
        painter->drawLine(QPointF(x, plot.top()), QPointF(x, plot.bottom()));
    }
    if (m_cursorMs >= from && m_cursorMs <= to && m_cursorMs > 0) {
        const qreal x = xOf(m_cursorMs);
        painter->setPen(QPen(palette().color(QPalette::Text), 1));
        painter->drawLine(QPointF(x, plot.top()), QPointF(x, plot.bottom()));
    }
    painter->restore();
}

void TimeSeriesChart::mouseMoveEvent(QMouseEvent* event) {
    QChartView::mouseMoveEvent(event);
    const QPointF value = chart()->mapToValue(event->position());
    if (chart()->plotArea().contains(event->position())) {
        emit cursorMoved(static_cast<std::int64_t>(value.x()));
    }
}

} // namespace gaetwae::console
