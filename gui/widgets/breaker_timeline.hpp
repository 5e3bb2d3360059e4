#pragma once

#include <QString>
#include <QWidget>

#include <cstdint>
#include <deque>
#include <map>
#include <vector>

namespace gaetwae::console {

// One band per instance over time, coloured by circuit-breaker state (closed, half-open,
// open), with ejections and unhealthy periods hatched. States come once a second from stats
// frames; a band is a run of equal states, so a day of data is a handful of rectangles.
class BreakerTimeline : public QWidget {
    Q_OBJECT
public:
    enum class State { Closed, HalfOpen, Open, Down };

    explicit BreakerTimeline(QWidget* parent = nullptr);

    void record(const QString& instance, std::int64_t timeMs, State state);
    void clear();
    void setRange(std::int64_t fromMs, std::int64_t toMs);
    void setCursor(std::int64_t timeMs);

    struct Run {
        std::int64_t fromMs;
        std::int64_t toMs; // last sample's time (extended to the next run's start when drawn)
        State state;
    };
    const std::deque<Run>* runs(const QString& instance) const;
    static State parse(const std::string& breaker, bool healthy, bool ejected);

    QSize sizeHint() const override;

signals:
    void cursorMoved(std::int64_t timeMs);

protected:
    void paintEvent(QPaintEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;

private:
    QRectF plotRect() const;

    std::map<QString, std::deque<Run>> m_runs;
    std::int64_t m_fromMs = 0;
    std::int64_t m_toMs = 1;
    std::int64_t m_cursorMs = 0;
};

} // namespace gaetwae::console
