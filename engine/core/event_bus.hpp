#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

namespace gaetwae::engine::core {

// Something operators want to see on a timeline: health changes, breaker transitions, ejections,
// config versions, drains, sampled balancing decisions, traffic captures starting and ending,
// Redis (of distributed rate limits) going down or coming back.
struct EngineEvent {
    enum class Kind { Health, Breaker, Ejection, Config, Drain, Decision, Capture, Redis };

    Kind kind = Kind::Health;
    std::chrono::system_clock::time_point time;
    std::uint64_t sequence = 0; // assigned by the bus, strictly increasing
    std::string pool;
    std::string instance;
    std::string from; // previous state, where it applies ("healthy", "closed", ...)
    std::string to;
    std::string detail;
    nlohmann::json data = nlohmann::json::object(); // structured extras (decision candidates ...)
};

std::string_view toString(EngineEvent::Kind kind);
nlohmann::json toJson(const EngineEvent& event);

// Fan-out of engine events to subscribers (the admin server, tests, the log), with the most
// recent ones kept for late subscribers. publish() is thread-safe and never blocks on a slow
// subscriber for longer than its callback takes: subscribers must hand events off quickly.
// Once unsubscribe() returns, the listener is not running and will not be called again
// (listeners must not subscribe or unsubscribe from inside a callback).
class EventBus {
public:
    using Listener = std::function<void(const EngineEvent&)>;

    explicit EventBus(std::size_t keep = 2048);

    std::uint64_t subscribe(Listener listener);
    void unsubscribe(std::uint64_t id);
    void publish(EngineEvent event);

    // Events with sequence > `after`, oldest first (at most the last `keep` ones).
    std::vector<EngineEvent> since(std::uint64_t after) const;
    std::uint64_t lastSequence() const;

private:
    mutable std::mutex m_mutex;
    std::size_t m_keep;
    std::deque<EngineEvent> m_recent;
    mutable std::shared_mutex m_listenersMutex; // shared while calling, exclusive to change
    std::map<std::uint64_t, Listener> m_listeners;
    std::uint64_t m_nextListener = 1;
    std::uint64_t m_sequence = 0;
};

} // namespace gaetwae::engine::core
