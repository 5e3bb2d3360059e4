#pragma once

#include <QWidget>

namespace gaetwae::console {

class EventsFilterModel;
class EventsModel;

// A filterable log of events and sampled balancing decisions from every engine.
class EventsPage : public QWidget {
    Q_OBJECT
public:
    explicit EventsPage(EventsModel& events, QWidget* parent = nullptr);

private:
    EventsFilterModel* m_filter = nullptr;
};

} // namespace gaetwae::console
