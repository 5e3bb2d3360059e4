#pragma once

#include "engine/config/config_store.hpp"
#include "engine/core/clock.hpp"
#include "engine/core/engine_shared.hpp"
#include "engine/core/event_bus.hpp"
#include "engine/core/runtime_snapshot.hpp"
#include "engine/core/traffic_capture.hpp"
#include "engine/metrics/stats_aggregator.hpp"
#include "engine/metrics/worker_stats.hpp"
#include "engine/net/asio.hpp"
#include "engine/net/listener.hpp"
#include "shared/model/address.hpp"
#include "shared/model/config.hpp"
#include "shared/model/diagnostics.hpp"
#include "shared/protocol/admin_messages.hpp"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace gaetwae::engine::net {
class Worker;
}
namespace gaetwae::engine::health {
class HealthManager;
}
namespace gaetwae::engine::admin {
class AdminServer;
}

namespace gaetwae::engine::core {

// The running gateway: N workers plus one control thread. All public methods are thread-safe.
//
// start() binds listeners and starts serving; apply() swaps in a new config without dropping a
// request or a keep-alive connection (in-flight requests finish on the snapshot they started
// with) or, when anything in the new config cannot be honoured, changes nothing and says why;
// shutdown() stops accepting, lets in-flight requests finish up to the drain timeout and stops.
class Engine {
public:
    struct Options {
        unsigned workers = 0;         // overrides the config's `workers` when non-zero
        const Clock* clock = nullptr; // default: the system clock (tests inject a manual one)
        std::uint64_t seed = 0;       // 0: random; fixed seeds make balancing reproducible
        std::optional<std::filesystem::path> configFile; // admin changes are saved here; SIGHUP reads it
    };

    // Live state of one instance, for status pages, the admin API and tests.
    struct InstanceStatus {
        std::string pool;
        std::string id;
        std::string address;
        std::uint32_t weight = 0;
        model::InstanceState adminState = model::InstanceState::Enabled;
        bool healthy = true;
        bool ejected = false;
        std::string breaker;
        std::int64_t activeRequests = 0;
        std::uint64_t requests = 0;
        std::uint64_t failures = 0;
        double slowStartFactor = 1.0;
        double latencyMs = 0;
    };

    explicit Engine(Options options);
    Engine();
    ~Engine();
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    model::Diagnostics start(const model::GatewayConfig& config);
    model::Diagnostics apply(const model::GatewayConfig& config);

    // Graceful stop with the configured drain timeout, or the given one. Idempotent.
    void shutdown();
    void shutdown(std::chrono::milliseconds drainTimeout);
    // Cuts a drain in progress short (a second SIGTERM). Safe from any thread.
    void interruptDrain();

    bool running() const { return m_running.load(); }
    std::uint64_t configVersion() const;
    model::GatewayConfig config() const;
    std::size_t workerCount() const { return m_workers.size(); }
    // Bound port of a listener by its position in the config (useful with port 0).
    std::uint16_t listenerPort(std::size_t index) const;
    std::int64_t activeConnections() const { return m_shared.connections.load(); }
    // Upstream connections opened by all workers so far (keep-alive reuse is visible here).
    std::uint64_t upstreamConnectionsOpened();
    // Client connections closed at accept by limits.max_connections_per_ip.
    std::uint64_t connectionsRefusedPerIp() const;
    std::vector<InstanceStatus> instanceStatuses() const;
    EventBus& events() { return m_events; }
    // Live traffic captures (capture.* admin methods).
    CaptureRegistry& captures() { return *m_captures; }
    const Clock& clock() const { return *m_clock; }

    // ---- control plane
    config::ConfigStore& configStore() { return *m_store; }
    metrics::StatsAggregator& stats() { return *m_stats; }
    // SIGHUP: re-reads the config file; returns the problems (nothing applied then), or none.
    std::vector<config::ConfigError> reloadFromFile(const std::string& client);
    std::uint16_t adminPort() const;
    protocol::EngineInfo engineInfo() const;
    protocol::PoolsListResult poolViews() const;
    std::string prometheusText() const;
    std::pair<bool, nlohmann::json> healthReport() const; // healthy: every pool can serve
    bool ready() const;
    // Cumulative totals now, summed over workers.
    metrics::Cumulative collectStats() const;

    // The control thread's event loop, for control-plane services (signals, demo backends, ...).
    asio::io_context& control() { return m_control; }
    // Stops and joins the control thread (after shutdown). Objects bound to control() may be
    // destroyed from any thread afterwards. Idempotent; the destructor calls it too.
    void stopControl();

private:
    // A bound listening address. `id` names its acceptors in the workers; `configured` is the
    // address as written (port may be 0), `port` the one actually bound.
    struct ListenerEntry {
        std::string id;
        model::HostPort configured;
        std::uint16_t port = 0;
    };

    model::Diagnostics applyLocked(const model::GatewayConfig& config, bool starting);
    // Runs fn on every worker thread and waits until all have run it.
    void onEveryWorker(const std::function<void(net::Worker&)>& fn);
    void scheduleLogFlush();
    void decorate(protocol::StatsFrame& frame) const;

    Options m_options;
    SystemClock m_systemClock;
    const Clock* m_clock;
    std::uint64_t m_seed;
    EventBus m_events;
    EngineShared m_shared;
    mutable std::mutex m_mutex;
    std::mutex m_lifecycleMutex; // start/shutdown
    std::vector<std::unique_ptr<net::Worker>> m_workers;
    std::vector<ListenerEntry> m_listeners; // in config order
    std::uint64_t m_nextListenerId = 0;
    InstanceRegistry m_registry;
    std::unique_ptr<health::HealthManager> m_health;
    std::unique_ptr<config::ConfigStore> m_store;
    std::unique_ptr<metrics::StatsAggregator> m_stats;
    std::unique_ptr<admin::AdminServer> m_admin;
    std::unique_ptr<CaptureRegistry> m_captures;                      // its timers run on m_control
    std::vector<std::shared_ptr<metrics::WorkerStats>> m_workerStats; // fixed once started
    std::int64_t m_startedAtMs = 0;
    std::shared_ptr<const RuntimeSnapshot> m_snapshot;
    std::uint64_t m_version = 0;
    std::atomic<bool> m_running{false};
    std::atomic<bool> m_interrupt{false};

    asio::io_context m_control;
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> m_controlGuard;
    std::thread m_controlThread;
    std::unique_ptr<SteadyTimer> m_flushTimer;
};

} // namespace gaetwae::engine::core
