#pragma once

#include "engine/core/event_bus.hpp"

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <vector>

namespace gaetwae::test {

// Records the events an engine publishes, for assertions that wait with a deadline.
class EventRecorder {
public:
    using Event = engine::core::EngineEvent;

    explicit EventRecorder(engine::core::EventBus& bus);
    ~EventRecorder();
    EventRecorder(const EventRecorder&) = delete;
    EventRecorder& operator=(const EventRecorder&) = delete;

    std::vector<Event> events() const;
    // The first recorded event matching `predicate`, waiting for it up to `timeout`.
    std::optional<Event> waitFor(const std::function<bool(const Event&)>& predicate, std::chrono::milliseconds timeout);
    std::size_t count(const std::function<bool(const Event&)>& predicate) const;

private:
    engine::core::EventBus& m_bus;
    std::uint64_t m_subscription;
    mutable std::mutex m_mutex;
    std::condition_variable m_changed;
    std::vector<Event> m_events;
};

// Predicate helpers: kind, instance and target state.
std::function<bool(const EventRecorder::Event&)> isEvent(engine::core::EngineEvent::Kind kind, std::string instance,
                                                         std::string to = {});

} // namespace gaetwae::test
