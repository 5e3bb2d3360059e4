#include "engine/health/health_manager.hpp"

#include "engine/health/active_check.hpp"

#include <spdlog/spdlog.h>

namespace gaetwae::engine::health {

namespace {

std::chrono::milliseconds jittered(std::chrono::milliseconds base, double fraction, double u) {
    const double factor = 1.0 + fraction * (2.0 * u - 1.0);
    return std::chrono::milliseconds(std::max<std::int64_t>(1, static_cast<std::int64_t>(base.count() * factor)));
}

std::string seconds(std::chrono::milliseconds d) {
    char text[32];
    std::snprintf(text, sizeof text, "%.1fs", static_cast<double>(d.count()) / 1000.0);
    return text;
}

} // namespace

// One instance as the control thread tracks it; shared with its coroutines, which end when
// `stopped` is set (instance removed or engine stopping).
struct HealthManager::Target {
    std::shared_ptr<InstanceState> state;
    tcp::endpoint endpoint;
    std::string address;
    std::shared_ptr<net::TlsClientContext> tls; // pools[].tls (nullptr: plain)
    std::string tlsName;
    model::PoolConfig pool; // policies only
    HealthTracker tracker;
    std::unique_ptr<SteadyTimer> timer;
    bool checking = false;
    bool probing = false;
    bool stopped = false;
    model::InstanceState lastAdmin = model::InstanceState::Enabled;
    std::int64_t lastReportedActive = -1;
};

HealthManager::HealthManager(asio::io_context& control, const core::Clock& clock, core::EventBus& events,
                             std::uint64_t seed)
    : m_control(control)
    , m_clock(clock)
    , m_events(events)
    , m_random(seed) {}

HealthManager::~HealthManager() = default;

void HealthManager::apply(std::shared_ptr<const core::RuntimeSnapshot> snapshot) {
    asio::post(m_control, [this, snapshot = std::move(snapshot)] { adopt(snapshot); });
}

void HealthManager::stop() {
    asio::post(m_control, [this] {
        m_stopped = true;
        for (auto& [key, target] : m_targets) {
            target->stopped = true;
            if (target->timer) {
                target->timer->cancel();
            }
        }
        m_targets.clear();
    });
}

void HealthManager::publish(core::EngineEvent::Kind kind, const InstanceState& state, std::string from, std::string to,
                            std::string detail) {
    core::EngineEvent event;
    event.kind = kind;
    event.pool = state.pool;
    event.instance = state.id;
    event.from = std::move(from);
    event.to = std::move(to);
    event.detail = std::move(detail);
    m_events.publish(std::move(event));
}

void HealthManager::adopt(const std::shared_ptr<const core::RuntimeSnapshot>& snapshot) {
    if (m_stopped) {
        return;
    }
    m_snapshot = snapshot;
    std::map<std::pair<std::string, std::string>, std::shared_ptr<Target>> next;
    for (std::size_t p = 0; p < snapshot->pools.size(); ++p) {
        const auto& runtime = snapshot->pools[p];
        const auto& pool = *runtime.snapshot;
        const auto& configPool = *snapshot->config.findPool(pool.name);
        for (std::size_t i = 0; i < pool.instances.size(); ++i) {
            const auto& instance = pool.instances[i];
            const auto key = std::make_pair(pool.name, instance.id);
            auto it = m_targets.find(key);
            std::shared_ptr<Target> target;
            if (it != m_targets.end() && it->second->state == instance.state) {
                target = it->second;
                m_targets.erase(it);
            } else {
                target = std::make_shared<Target>();
                target->state = instance.state;
                target->tracker = HealthTracker(instance.state->healthy.load());
                target->lastAdmin = instance.state->adminState.load();
            }
            target->endpoint = runtime.endpoints[i];
            target->address = instance.address;
            target->tls = runtime.tls;
            target->tlsName = runtime.tlsNames[i];
            target->pool = pool.config;
            auto& state = *target->state;

            // Manual state changes (the engine already applied them) become events.
            const auto admin = configPool.instances[i].state;
            if (admin != target->lastAdmin) {
                publish(core::EngineEvent::Kind::Drain, state, std::string(model::toString(target->lastAdmin)),
                        std::string(model::toString(admin)), "");
                target->lastAdmin = admin;
                target->lastReportedActive = -1;
            }

            // Active checks: start for newly checked instances. Without checks an instance is healthy.
            if (pool.config.healthCheck.enabled && !target->checking) {
                target->checking = true;
                asio::co_spawn(m_control, checkLoop(target), asio::detached);
            } else if (!pool.config.healthCheck.enabled) {
                target->checking = false;
                if (!state.healthy.exchange(true)) {
                    publish(core::EngineEvent::Kind::Health, state, "unhealthy", "healthy", "health checks removed");
                }
            }
            next.emplace(key, std::move(target));
        }
    }
    for (auto& [key, target] : m_targets) { // instances that left
        target->stopped = true;
        if (target->timer) {
            target->timer->cancel();
        }
    }
    m_targets = std::move(next);
    if (!m_drainTicking) {
        m_drainTicking = true;
        asio::co_spawn(m_control, drainTicker(), asio::detached);
    }
}

Task<void> HealthManager::checkLoop(std::shared_ptr<Target> target) {
    target->timer = std::make_unique<SteadyTimer>(m_control);
    while (!target->stopped && target->checking && target->pool.healthCheck.enabled) {
        const auto& check = target->pool.healthCheck;
        const auto interval = target->tracker.healthy() ? check.interval : check.unhealthyInterval;
        target->timer->expires_after(jittered(interval, check.jitter, m_random.uniform()));
        error_code ec;
        co_await target->timer->async_wait(noThrow(ec));
        if (target->stopped || !target->checking) {
            break;
        }
        std::string detail;
        const bool ok =
            co_await runActiveCheck(target->endpoint, check, target->address, detail, target->tls, target->tlsName);
        if (target->stopped) {
            break;
        }
        const bool wasHealthy = target->tracker.healthy();
        if (target->tracker.record(ok, check.rise, check.fall)) {
            auto& state = *target->state;
            state.healthy = target->tracker.healthy();
            if (state.healthy) {
                state.availableSinceNs = core::toNanos(m_clock.now());
                state.outlier.reset();
            }
            publish(core::EngineEvent::Kind::Health, state, wasHealthy ? "healthy" : "unhealthy",
                    wasHealthy ? "unhealthy" : "healthy",
                    ok ? std::to_string(check.rise) + " checks passed" : detail);
        }
    }
    target->checking = false;
}

void HealthManager::ejectionRequested(const std::shared_ptr<InstanceState>& instance, std::string reason) {
    asio::post(m_control, [this, instance, reason = std::move(reason)] { eject(instance, reason); });
}

void HealthManager::eject(const std::shared_ptr<InstanceState>& instance, const std::string& reason) {
    if (m_stopped || instance->ejected.load()) {
        return;
    }
    const auto it = m_targets.find({instance->pool, instance->id});
    if (it == m_targets.end() || it->second->state != instance) {
        return; // removed meanwhile
    }
    const auto target = it->second;
    std::size_t poolSize = 0;
    std::size_t ejected = 0;
    for (const auto& [key, other] : m_targets) {
        if (key.first == instance->pool) {
            ++poolSize;
            ejected += other->state->ejected.load() ? 1 : 0;
        }
    }
    const auto& config = target->pool.outlierDetection;
    if (!mayEject(ejected, poolSize, config.maxEjectionPercent)) {
        instance->outlier.reset();
        publish(core::EngineEvent::Kind::Ejection, *instance, "", "",
                reason + "; not ejected: max_ejection_percent " + std::to_string(config.maxEjectionPercent) + " reached");
        return;
    }
    const auto ejection = ++instance->ejections;
    const auto duration = ejectionTime(config, ejection, m_random.uniform());
    instance->ejected = true;
    publish(core::EngineEvent::Kind::Ejection, *instance, "serving", "ejected",
            reason + "; ejected for " + seconds(duration) + " (ejection " + std::to_string(ejection) + ")");
    if (!target->probing) {
        target->probing = true;
        asio::co_spawn(m_control, ejectionLoop(target, duration), asio::detached);
    }
}

Task<void> HealthManager::ejectionLoop(std::shared_ptr<Target> target, std::chrono::milliseconds ejectedFor) {
    // Wait out the ejection, then probe until the instance answers: an ejected instance comes
    // back only after proving it works (the pool's active check, else a TCP connect).
    SteadyTimer timer(m_control);
    timer.expires_after(ejectedFor);
    error_code ec;
    co_await timer.async_wait(noThrow(ec));
    while (!target->stopped && !m_stopped) {
        model::HealthCheckConfig probe = target->pool.healthCheck;
        if (!probe.enabled) {
            probe.type = model::HealthCheckType::Tcp;
            probe.timeout = std::chrono::milliseconds(1000);
        }
        std::string detail;
        const bool ok =
            co_await runActiveCheck(target->endpoint, probe, target->address, detail, target->tls, target->tlsName);
        if (target->stopped || m_stopped) {
            break;
        }
        if (ok) {
            auto& state = *target->state;
            state.outlier.reset();
            state.availableSinceNs = core::toNanos(m_clock.now());
            state.ejected = false;
            publish(core::EngineEvent::Kind::Ejection, state, "ejected", "serving", "probe succeeded");
            break;
        }
        timer.expires_after(jittered(target->pool.healthCheck.unhealthyInterval, 0.1, m_random.uniform()));
        co_await timer.async_wait(noThrow(ec));
    }
    target->probing = false;
}

Task<void> HealthManager::drainTicker() {
    // Once a second: progress of draining instances toward zero requests in flight.
    SteadyTimer timer(m_control);
    while (!m_stopped) {
        timer.expires_after(std::chrono::seconds(1));
        error_code ec;
        co_await timer.async_wait(noThrow(ec));
        if (m_stopped) {
            break;
        }
        for (auto& [key, target] : m_targets) {
            if (target->lastAdmin != model::InstanceState::Draining) {
                continue;
            }
            const auto active = target->state->activeRequests.load();
            if (active != target->lastReportedActive) {
                core::EngineEvent event;
                event.kind = core::EngineEvent::Kind::Drain;
                event.pool = key.first;
                event.instance = key.second;
                event.to = active == 0 ? "drained" : "draining";
                event.detail = std::to_string(active) + " request(s) in flight";
                event.data = {{"active", active}};
                m_events.publish(std::move(event));
                target->lastReportedActive = active;
            }
        }
    }
    m_drainTicking = false;
}

void HealthManager::breakerChanged(const InstanceState& instance, const BreakerTransition& transition) {
    core::EngineEvent event;
    event.kind = core::EngineEvent::Kind::Breaker;
    event.pool = instance.pool;
    event.instance = instance.id;
    event.from = std::string(toString(transition.from));
    event.to = std::string(toString(transition.to));
    if (transition.to == BreakerState::Open) {
        const auto openFor = std::chrono::duration_cast<std::chrono::milliseconds>(transition.openUntil - m_clock.now());
        event.detail = "open for " + seconds(openFor);
    }
    m_events.publish(std::move(event));
}

} // namespace gaetwae::engine::health
