#pragma once

#include "engine/core/clock.hpp"
#include "engine/core/event_bus.hpp"
#include "engine/core/random.hpp"
#include "engine/core/runtime_snapshot.hpp"
#include "engine/health/health_events.hpp"
#include "engine/health/health_tracker.hpp"
#include "engine/net/asio.hpp"

#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace gaetwae::engine::health {

// The control thread's half of health: runs active checks, ejects outliers reported by the
// workers (within max_ejection_percent) and brings them back through probes, applies manual
// states, reconfigures breakers on reload, reports drain progress, and publishes every change on
// the event bus. State reaches the workers only through InstanceState atomics.
class HealthManager final : public HealthEvents {
public:
    HealthManager(asio::io_context& control, const core::Clock& clock, core::EventBus& events, std::uint64_t seed);
    ~HealthManager() override;

    // Adopts a new snapshot: checkers start and stop with their instances. Thread-safe, returns at once.
    void apply(std::shared_ptr<const core::RuntimeSnapshot> snapshot);
    // Stops every checker and probe (thread-safe).
    void stop();

    void ejectionRequested(const std::shared_ptr<InstanceState>& instance, std::string reason) override;
    void breakerChanged(const InstanceState& instance, const BreakerTransition& transition) override;

private:
    struct Target;

    void adopt(const std::shared_ptr<const core::RuntimeSnapshot>& snapshot);
    void eject(const std::shared_ptr<InstanceState>& instance, const std::string& reason);
    Task<void> checkLoop(std::shared_ptr<Target> target);
    Task<void> ejectionLoop(std::shared_ptr<Target> target, std::chrono::milliseconds ejectedFor);
    Task<void> drainTicker();
    void publish(core::EngineEvent::Kind kind, const InstanceState& state, std::string from, std::string to,
                 std::string detail);

    asio::io_context& m_control;
    const core::Clock& m_clock;
    core::EventBus& m_events;
    core::XoshiroRandom m_random; // control thread only
    std::shared_ptr<const core::RuntimeSnapshot> m_snapshot;
    std::map<std::pair<std::string, std::string>, std::shared_ptr<Target>> m_targets; // control thread only
    bool m_stopped = false;
    bool m_drainTicking = false;
};

} // namespace gaetwae::engine::health
