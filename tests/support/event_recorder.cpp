#include "tests/support/event_recorder.hpp"

namespace gaetwae::test {

EventRecorder::EventRecorder(engine::core::EventBus& bus)
    : m_bus(bus) {
    m_subscription = m_bus.subscribe([this](const Event& event) {
        {
            std::lock_guard lock(m_mutex);
            m_events.push_back(event);
        }
        m_changed.notify_all();
    });
}

EventRecorder::~EventRecorder() {
    m_bus.unsubscribe(m_subscription);
}

std::vector<EventRecorder::Event> EventRecorder::events() const {
    std::lock_guard lock(m_mutex);
    return m_events;
}

std::optional<EventRecorder::Event> EventRecorder::waitFor(const std::function<bool(const Event&)>& predicate,
                                                           std::chrono::milliseconds timeout) {
    std::unique_lock lock(m_mutex);
    std::optional<Event> found;
    m_changed.wait_for(lock, timeout, [&] {
        for (const auto& event : m_events) {
            if (predicate(event)) {
                found = event;
                return true;
            }
        }
        return false;
    });
    return found;
}

std::size_t EventRecorder::count(const std::function<bool(const Event&)>& predicate) const {
    std::lock_guard lock(m_mutex);
    std::size_t n = 0;
    for (const auto& event : m_events) {
        n += predicate(event) ? 1 : 0;
    }
    return n;
}

std::function<bool(const EventRecorder::Event&)> isEvent(engine::core::EngineEvent::Kind kind, std::string instance,
                                                         std::string to) {
    return [=](const EventRecorder::Event& event) {
        return event.kind == kind && event.instance == instance && (to.empty() || event.to == to);
    };
}

} // namespace gaetwae::test
