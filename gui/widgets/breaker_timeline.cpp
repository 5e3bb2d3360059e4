#include "gui/widgets/breaker_timeline.hpp"

#include <QMouseEvent>
#include <QPainter>

#include <algorithm>

namespace gaetwae::console {

namespace {

constexpr int kLabelWidth = 110;
constexpr int kBandHeight = 18;
constexpr std::size_t kMaxRuns = 20'000; // per instance

QColor colorOf(BreakerTimeline::State state) {
    switch (state) {
    case BreakerTimeline::State::Closed: return QColor(0x2e, 0x9d, 0x4f);
    case BreakerTimeline::State::HalfOpen: return QColor(0xd9, 0x8e, 0x04);
    case BreakerTimeline::State::Open: return QColor(0xd0, 0x3b, 0x3b);
    case BreakerTimeline::State::Down: return QColor(0x7a, 0x7a, 0x7a);
    }
    return {};
}

} // namespace

BreakerTimeline::BreakerTimeline(QWidget* parent) : QWidget(parent) {
    setMouseTracking(true);
    setMinimumHeight(2 * kBandHeight + 20);
}

BreakerTimeline::State BreakerTimeline::parse(const std::string& breaker, bool healthy, bool ejected) {
    if (breaker == "open") {
        return State::Open;
    }
    if (breaker == "half_open") {
        return State::HalfOpen;
    }
    return healthy && !ejected ? State::Closed : State::Down;
}

void BreakerTimeline::record(const QString& instance, std::int64_t timeMs, State state) {
    auto& runs = m_runs[instance];
    if (!runs.empty() && runs.back().state == state && timeMs >= runs.back().toMs) {
        runs.back().toMs = timeMs;
    } else {
        runs.push_back(Run{timeMs, timeMs, state});
    }
    while (runs.size() > kMaxRuns) {
        runs.pop_front();
    }
    update();
}

void BreakerTimeline::clear() {
    m_runs.clear();
    update();
}

void BreakerTimeline::setRange(std::int64_t fromMs, std::int64_t toMs) {
    m_fromMs = fromMs;
    m_toMs = std::max(toMs, fromMs + 1);
    update();
}

void BreakerTimeline::setCursor(std::int64_t timeMs) {
    m_cursorMs = timeMs;
    update();
}

const std::deque<BreakerTimeline::Run>* BreakerTimeline::runs(const QString& instance) const {
    const auto it = m_runs.find(instance);
    return it == m_runs.end() ? nullptr : &it->second;
}

QSize BreakerTimeline::sizeHint() const {
    return QSize(600, static_cast<int>(std::max<std::size_t>(m_runs.size(), 2)) * kBandHeight + 24);
}

QRectF BreakerTimeline::plotRect() const {
    return QRectF(kLabelWidth, 4, std::max(10, width() - kLabelWidth - 8), height() - 8);
}

void BreakerTimeline::paintEvent(QPaintEvent*) {
    QPainter painter(this);
    const QRectF plot = plotRect();
    const double span = static_cast<double>(m_toMs - m_fromMs);
    auto xOf = [&](std::int64_t t) {
        return plot.left() + plot.width() * std::clamp(static_cast<double>(t - m_fromMs) / span, 0.0, 1.0);
    };
    if (m_runs.empty()) {
        painter.setPen(palette().color(QPalette::PlaceholderText));
        painter.drawText(rect(), Qt::AlignCenter, tr("Circuit-breaker states appear here once stats arrive"));
        return;
    }
    int row = 0;
    for (const auto& [instance, runs] : m_runs) {
        const qreal y = plot.top() + row * kBandHeight;
        painter.setPen(palette().color(QPalette::Text));
        painter.drawText(QRectF(4, y, kLabelWidth - 8, kBandHeight - 2), Qt::AlignVCenter | Qt::AlignLeft,
                         instance);
        for (std::size_t i = 0; i < runs.size(); ++i) {
            const auto& run = runs[i];
            // A run lasts until the next one starts (samples are 1 s apart).
            const std::int64_t end = i + 1 < runs.size() ? runs[i + 1].fromMs : run.toMs + 1000;
            if (end < m_fromMs || run.fromMs > m_toMs) {
                continue;
            }
            const qreal left = xOf(run.fromMs);
            const qreal right = std::max(xOf(end), left + 1);
            painter.fillRect(QRectF(left, y + 2, right - left, kBandHeight - 4), colorOf(run.state));
        }
        ++row;
    }
    if (m_cursorMs >= m_fromMs && m_cursorMs <= m_toMs) {
        painter.setPen(QPen(palette().color(QPalette::Text), 1));
        const qreal x = xOf(m_cursorMs);
        painter.drawLine(QPointF(x, plot.top()), QPointF(x, plot.top() + row * kBandHeight));
    }
}

void BreakerTimeline::mouseMoveEvent(QMouseEvent* event) {
    const QRectF plot = plotRect();
    if (plot.contains(event->position())) {
        const double share = (event->position().x() - plot.left()) / plot.width();
        emit cursorMoved(m_fromMs + static_cast<std::int64_t>(share * static_cast<double>(m_toMs - m_fromMs)));
    }
}

} // namespace gaetwae::console
