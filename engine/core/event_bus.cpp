#include "engine/core/event_bus.hpp"

#include <spdlog/spdlog.h>

namespace gaetwae::engine::core {

std::string_view toString(EngineEvent::Kind kind) {
    switch (kind) {
    case EngineEvent::Kind::Health:
        return "health";
    case EngineEvent::Kind::Breaker:
        return "breaker";
    case EngineEvent::Kind::Ejection:
        return "ejection";
    case EngineEvent::Kind::Config:
        return "config";
    case EngineEvent::Kind::Drain:
        return "drain";
    case EngineEvent::Kind::Decision:
        return "decision";
    case EngineEvent::Kind::Capture:
        return "capture";
    case EngineEvent::Kind::Redis:
        return "redis";
    }
    return "unknown";
}

nlohmann::json toJson(const EngineEvent& event) {
    nlohmann::json out = {
        {"kind", toString(event.kind)},
        {"sequence", event.sequence},
        {"time", std::chrono::duration_cast<std::chrono::milliseconds>(event.time.time_since_epoch()).count()},
    };
    if (!event.pool.empty()) {
        out["pool"] = event.pool;
    }
    if (!event.instance.empty()) {
        out["instance"] = event.instance;
    }
    if (!event.from.empty()) {
        out["from"] = event.from;
    }
    if (!event.to.empty()) {
        out["to"] = event.to;
    }
    if (!event.detail.empty()) {
        out["detail"] = event.detail;
    }
    if (!event.data.empty()) {
        out["data"] = event.data;
    }
    return out;
}

EventBus::EventBus(std::size_t keep)
    : m_keep(keep) {}

std::uint64_t EventBus::subscribe(Listener listener) {
    std::unique_lock lock(m_listenersMutex);
    const auto id = m_nextListener++;
    m_listeners.emplace(id, std::move(listener));
    return id;
}

void EventBus::unsubscribe(std::uint64_t id) {
    std::unique_lock lock(m_listenersMutex); // waits for calls in progress
    m_listeners.erase(id);
}

void EventBus::publish(EngineEvent event) {
    {
        std::lock_guard lock(m_mutex);
        event.sequence = ++m_sequence;
        if (event.time == std::chrono::system_clock::time_point{}) {
            event.time = std::chrono::system_clock::now();
        }
        m_recent.push_back(event);
        while (m_recent.size() > m_keep) {
            m_recent.pop_front();
        }
    }
    // The engine logs configs, and Redis transitions with their reason (policy/redis_client.cpp).
    if (event.kind != EngineEvent::Kind::Decision && event.kind != EngineEvent::Kind::Config &&
        event.kind != EngineEvent::Kind::Redis) {
        spdlog::info("event {}: {}{}{} {}{}{}", toString(event.kind), event.pool, event.instance.empty() ? "" : "/",
                     event.instance, event.from, event.from.empty() ? "" : " -> ", event.to.empty() ? event.detail : event.to);
    }
    std::shared_lock lock(m_listenersMutex);
    for (const auto& [id, listener] : m_listeners) {
        listener(event);
    }
}

std::vector<EngineEvent> EventBus::since(std::uint64_t after) const {
    std::lock_guard lock(m_mutex);
    std::vector<EngineEvent> out;
    for (const auto& event : m_recent) {
        if (event.sequence > after) {
            out.push_back(event);
        }
    }
    return out;
}

std::uint64_t EventBus::lastSequence() const {
    std::lock_guard lock(m_mutex);
    return m_sequence;
}

} // namespace gaetwae::engine::core
