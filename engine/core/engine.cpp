#include "engine/core/engine.hpp"

#include "engine/admin/admin_server.hpp"
#include "engine/admin/token.hpp"
#include "engine/balancing/candidates.hpp"
#include "engine/core/version.hpp"
#include "engine/metrics/prometheus.hpp"
#include "engine/core/random.hpp"
#include "engine/health/health_manager.hpp"
#include "engine/net/worker.hpp"
#include "shared/model/address.hpp"
#include "shared/model/config_validation.hpp"
#include "shared/model/rate_limit.hpp"
#include "shared/model/route_rules_codec.hpp"

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <unistd.h>
#include <set>

namespace gaetwae::engine::core {

Engine::Engine()
    : Engine(Options{}) {}

Engine::Engine(Options options)
    : m_options(options)
    , m_clock(options.clock != nullptr ? options.clock : &m_systemClock)
    , m_seed(options.seed != 0 ? options.seed : randomSeed())
    , m_registry(*m_clock) {
    m_registry.rateLimits().publishTo(&m_events);
    m_health = std::make_unique<health::HealthManager>(m_control, *m_clock, m_events, m_seed ^ 0xc0ffee);
    m_store = std::make_unique<config::ConfigStore>(
        options.configFile,
        config::ConfigStore::Hooks{[this] { return config(); }, [this] { return configVersion(); },
                                   [this](const model::GatewayConfig& c) { return apply(c); }});
    m_stats = std::make_unique<metrics::StatsAggregator>(m_control);
    m_captures = std::make_unique<CaptureRegistry>(m_control, m_events);
    m_controlGuard.emplace(m_control.get_executor());
    m_controlThread = std::thread([this] {
        try {
            m_control.run();
        } catch (const std::exception& e) {
            spdlog::critical("control thread stopped: {}", e.what());
        }
    });
}

Engine::~Engine() {
    shutdown(std::chrono::milliseconds(0));
    stopControl();
    // Objects with timers or sockets on m_control go before it (members declared earlier are
    // destroyed after it).
    m_admin.reset();
    m_captures.reset();
    m_stats.reset();
    m_health.reset();
}

void Engine::stopControl() {
    if (m_controlThread.joinable()) {
        m_controlGuard.reset();
        m_control.stop();
        m_controlThread.join();
    }
}

model::Diagnostics Engine::start(const model::GatewayConfig& config) {
    std::lock_guard lifecycle(m_lifecycleMutex);
    std::lock_guard lock(m_mutex);
    if (m_running) {
        model::Diagnostics d;
        d.error("", "the engine is already running");
        return d;
    }
    unsigned count = m_options.workers != 0 ? m_options.workers : config.workers;
    if (count == 0) {
        count = std::max(1u, std::thread::hardware_concurrency());
    }
    const net::WorkerServices services{m_clock, m_health.get(), &m_events, m_seed, m_captures.get()};
    for (unsigned i = 0; i < count; ++i) {
        m_workers.push_back(std::make_unique<net::Worker>(i, m_shared, services));
    }
    auto diagnostics = applyLocked(config, true);
    if (!diagnostics.empty()) {
        m_workers.clear();
        return diagnostics;
    }
    if (config.admin.enabled) {
        const std::filesystem::path tokenPath =
            config.admin.tokenFile.empty() ? admin::defaultTokenPath() : std::filesystem::path(config.admin.tokenFile);
        std::string error;
        const auto token = admin::loadOrCreateToken(tokenPath, error);
        auto server = token ? std::make_unique<admin::AdminServer>(m_control, *this, config.admin, *token) : nullptr;
        if (!server || !server->start(error)) {
            diagnostics.error(token ? "/admin/address" : "/admin/token_file", error);
            m_workers.clear();
            return diagnostics;
        }
        m_admin = std::move(server);
    }
    for (auto& worker : m_workers) {
        m_workerStats.push_back(worker->sharedStats());
        worker->start();
    }
    m_running = true;
    m_startedAtMs =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    m_store->record(m_version, "start", m_options.configFile ? "loaded " + m_options.configFile->string()
                                                            : "loaded the built-in demo configuration",
                    nlohmann::json::array());
    m_stats->start([this] { return collectStats(); }, [this](protocol::StatsFrame& frame) { decorate(frame); });
    asio::post(m_control, [this] { scheduleLogFlush(); });
    spdlog::info("gaetwaed serving with {} worker(s), config version {}", m_workers.size(), m_version);
    if (m_admin) {
        spdlog::info("admin API on ws://{}:{}/admin (also /metrics, /health, /ready)",
                     model::parseHostPort(config.admin.address)->host, m_admin->port());
    }
    return diagnostics;
}

model::Diagnostics Engine::apply(const model::GatewayConfig& config) {
    std::lock_guard lock(m_mutex);
    if (!m_running) {
        model::Diagnostics d;
        d.error("", "the engine is not running");
        return d;
    }
    return applyLocked(config, false);
}

model::Diagnostics Engine::applyLocked(const model::GatewayConfig& config, bool starting) {
    model::Diagnostics diagnostics;
    model::validateGatewayConfig(config, diagnostics);
    if (!diagnostics.empty()) {
        return diagnostics;
    }

    // Reuse the access log when its settings did not change, so a reload does not reopen files
    // needlessly; a reload with changed settings opens the new destination first.
    std::shared_ptr<http::AccessLog> accessLog;
    if (m_snapshot && m_snapshot->config.accessLog == config.accessLog && config.accessLog.path == "stdout") {
        accessLog = m_snapshot->accessLog;
    } else {
        std::string error;
        accessLog = http::AccessLog::open(config.accessLog, error);
        if (!accessLog) {
            diagnostics.error("/access_log/path", error);
            return diagnostics;
        }
    }

    auto snapshot = buildRuntimeSnapshot(config, m_version + 1, m_registry, accessLog, diagnostics);
    if (!snapshot) {
        return diagnostics;
    }
    if (!starting && m_snapshot && m_snapshot->config.admin != config.admin) {
        spdlog::warn("the admin section changed: it takes effect when gaetwaed restarts");
    }
    // A route that can never match is legal (an admin edit may be half done) but worth a warning.
    model::Diagnostics shadowed;
    model::findShadowedRoutes(config.routes, shadowed);
    for (const auto& warning : shadowed.items()) {
        spdlog::warn("{}: {}", model::displayPath(warning.pointer), warning.message);
    }

    // Listeners: keep the ones that stay, bind the new ones before touching anything live. An
    // address with an explicit port matches the listener bound on that port; one with port 0
    // matches a listener configured the same way (it keeps its port across reloads).
    std::vector<ListenerEntry> next;
    std::vector<bool> kept(m_listeners.size(), false);
    std::map<std::string, net::BoundListener> added; // by new listener id
    for (std::size_t i = 0; i < config.listeners.size(); ++i) {
        const auto address = *model::parseHostPort(config.listeners[i].address);
        std::optional<std::size_t> match;
        for (std::size_t j = 0; j < m_listeners.size() && !match; ++j) {
            const auto& existing = m_listeners[j];
            const bool same = address.port == 0 ? existing.configured == address
                                                : existing.configured.host == address.host && existing.port == address.port;
            if (!kept[j] && same) {
                match = j;
            }
        }
        if (match) {
            kept[*match] = true;
            next.push_back(m_listeners[*match]);
            continue;
        }
        net::BoundListener bound;
        std::string error;
        if (!bound.bind(address, m_workers.size(), error)) {
            diagnostics.error("/listeners/" + std::to_string(i) + "/address", error);
            continue;
        }
        ListenerEntry entry{"listener-" + std::to_string(++m_nextListenerId), address, bound.port()};
        added.emplace(entry.id, std::move(bound));
        next.push_back(std::move(entry));
    }
    if (!diagnostics.empty()) {
        return diagnostics; // `added` closes what it bound
    }
    std::vector<std::string> removed;
    for (std::size_t j = 0; j < m_listeners.size(); ++j) {
        if (!kept[j]) {
            removed.push_back(m_listeners[j].id);
        }
    }

    if (!starting && config.workers != 0 && m_options.workers == 0 && config.workers != m_workers.size()) {
        spdlog::warn("workers: {} takes effect after a restart; running with {}", config.workers, m_workers.size());
    }

    // Commit. Manual instance states and breaker settings first, so that no worker sees the new
    // snapshot with the old ones.
    const auto now = m_clock->now();
    for (std::size_t p = 0; p < snapshot->pools.size(); ++p) {
        const auto& pool = *snapshot->pools[p].snapshot;
        const auto& poolConfig = *config.findPool(pool.name);
        for (std::size_t i = 0; i < pool.instances.size(); ++i) {
            auto& state = *pool.instances[i].state;
            state.breaker.reconfigure(pool.config.circuitBreaker);
            const auto admin = poolConfig.instances[i].state;
            if (state.adminState.exchange(admin) != admin && admin == model::InstanceState::Enabled) {
                state.availableSinceNs = toNanos(now); // back in rotation: slow start again
            }
        }
    }
    // By listener index, as snapshot->listenerTls: new handshakes use the new certificates.
    std::vector<std::string> listenerIds;
    for (const auto& entry : next) {
        listenerIds.push_back(entry.id);
    }
    // Workers not started yet are configured directly (they have no thread).
    m_shared.maxConnections = config.limits.maxConnections;
    m_shared.maxConnectionsPerIp = config.limits.maxConnectionsPerIp;
    for (std::size_t w = 0; w < m_workers.size(); ++w) {
        std::vector<std::pair<std::string, std::pair<int, bool>>> adopt;
        for (auto& [key, bound] : added) {
            adopt.push_back({key, {bound.release(w), bound.isV6()}});
        }
        auto task = [worker = m_workers[w].get(), snapshot, adopt = std::move(adopt), removed, listenerIds] {
            worker->applySnapshot(snapshot);
            for (const auto& key : removed) {
                worker->removeListener(key);
            }
            for (const auto& [key, fd] : adopt) {
                worker->adoptListener(key, fd.first, fd.second);
            }
            for (std::size_t l = 0; l < listenerIds.size(); ++l) {
                worker->setListenerTls(listenerIds[l], snapshot->listenerTls[l]);
            }
        };
        if (starting) {
            task();
        } else {
            m_workers[w]->post(std::move(task));
        }
    }
    if (!starting) {
        onEveryWorker([](net::Worker&) {}); // barrier: every worker now serves the new snapshot
    }
    m_listeners = std::move(next);
    m_registry.retain(config);
    m_snapshot = std::move(snapshot);
    const auto previousVersion = m_version;
    m_version = m_snapshot->version;
    m_health->apply(m_snapshot);
    if (!starting) {
        spdlog::info("configuration version {} applied", m_version);
    }
    EngineEvent event;
    event.kind = EngineEvent::Kind::Config;
    if (!starting) {
        event.from = std::to_string(previousVersion);
    }
    event.to = std::to_string(m_version);
    event.detail = starting ? "configuration loaded" : "configuration applied";
    m_events.publish(std::move(event));
    return diagnostics;
}

void Engine::onEveryWorker(const std::function<void(net::Worker&)>& fn) {
    std::mutex mutex;
    std::condition_variable done;
    std::size_t remaining = m_workers.size();
    for (auto& worker : m_workers) {
        worker->post([&, w = worker.get()] {
            fn(*w);
            std::lock_guard lock(mutex);
            if (--remaining == 0) {
                done.notify_all();
            }
        });
    }
    std::unique_lock lock(mutex);
    done.wait(lock, [&] { return remaining == 0; });
}

void Engine::shutdown() {
    std::chrono::milliseconds timeout{0};
    {
        std::lock_guard lock(m_mutex);
        if (m_snapshot) {
            timeout = m_snapshot->config.timeouts.drain;
        }
    }
    shutdown(timeout);
}

void Engine::shutdown(std::chrono::milliseconds drainTimeout) {
    std::lock_guard lifecycle(m_lifecycleMutex);
    {
        std::lock_guard lock(m_mutex);
        if (!m_running) {
            return;
        }
        spdlog::info("draining: {} connection(s) open, waiting up to {} ms", m_shared.connections.load(),
                     drainTimeout.count());
        m_shared.draining = true;
        onEveryWorker([](net::Worker& worker) { worker.beginDrain(); });
    }
    {
        // Not under m_mutex: the control thread keeps serving the admin API, health checks and
        // drain progress while requests finish.
        const auto deadline = std::chrono::steady_clock::now() + drainTimeout;
        std::unique_lock drainLock(m_shared.drainMutex);
        m_shared.drainCondition.wait_until(drainLock, deadline, [this] {
            return m_shared.connections.load() == 0 || m_interrupt.load();
        });
    }
    std::lock_guard lock(m_mutex);
    const auto left = m_shared.connections.load();
    if (left > 0) {
        spdlog::warn("drain ended with {} connection(s) still open; closing them", left);
    }
    m_health->stop();
    m_stats->stop();
    if (m_admin) {
        m_admin->stop();
    }
    for (auto& worker : m_workers) {
        worker->join(); // closes everything left and stops the loop
    }
    m_workers.clear();
    m_listeners.clear();
    if (m_snapshot && m_snapshot->accessLog) {
        m_snapshot->accessLog->flush();
    }
    m_registry.rateLimits().saveQuotas(true); // counted until the last request: a restart goes on from here
    m_running = false;
    spdlog::info("stopped");
}

void Engine::interruptDrain() {
    m_interrupt = true;
    std::lock_guard lock(m_shared.drainMutex);
    m_shared.drainCondition.notify_all();
}

std::uint64_t Engine::configVersion() const {
    std::lock_guard lock(m_mutex);
    return m_version;
}

model::GatewayConfig Engine::config() const {
    std::lock_guard lock(m_mutex);
    return m_snapshot ? m_snapshot->config : model::GatewayConfig{};
}

std::uint16_t Engine::listenerPort(std::size_t index) const {
    std::lock_guard lock(m_mutex);
    return index < m_listeners.size() ? m_listeners[index].port : 0;
}

std::uint64_t Engine::upstreamConnectionsOpened() {
    return m_shared.upstreamConnectionsOpened.load();
}

std::uint64_t Engine::connectionsRefusedPerIp() const {
    return m_shared.connectionsRefusedPerIp.load();
}

std::vector<Engine::InstanceStatus> Engine::instanceStatuses() const {
    std::lock_guard lock(m_mutex);
    std::vector<InstanceStatus> out;
    if (!m_snapshot) {
        return out;
    }
    const auto now = m_clock->now();
    for (const auto& runtime : m_snapshot->pools) {
        const auto& pool = *runtime.snapshot;
        for (const auto& instance : pool.instances) {
            const auto& state = *instance.state;
            InstanceStatus status;
            status.pool = pool.name;
            status.id = instance.id;
            status.address = instance.address;
            status.weight = instance.weight;
            status.adminState = state.adminState.load();
            status.healthy = state.healthy.load();
            status.ejected = state.ejected.load();
            status.breaker = std::string(health::toString(state.breaker.state()));
            status.activeRequests = state.activeRequests.load();
            status.requests = state.requests.load();
            status.failures = state.failures.load();
            status.slowStartFactor =
                balancing::slowStartFactor(pool.config.slowStart, fromNanos(state.availableSinceNs.load()), now);
            status.latencyMs = state.latency.peakEwmaMs();
            out.push_back(std::move(status));
        }
    }
    return out;
}

void Engine::scheduleLogFlush() {
    // The access log is buffered; flush it once a second so `tail -f` stays current.
    if (!m_flushTimer) {
        m_flushTimer = std::make_unique<SteadyTimer>(m_control);
    }
    m_flushTimer->expires_after(std::chrono::seconds(1));
    m_flushTimer->async_wait([this](const error_code& ec) {
        if (ec) {
            return;
        }
        std::shared_ptr<http::AccessLog> log;
        {
            std::lock_guard lock(m_mutex);
            if (m_snapshot) {
                log = m_snapshot->accessLog;
            }
        }
        if (log) {
            log->flush();
        }
        m_registry.rateLimits().saveQuotas(false);
        scheduleLogFlush();
    });
}

std::vector<config::ConfigError> Engine::reloadFromFile(const std::string& client) {
    return m_store->reload(client);
}

std::uint16_t Engine::adminPort() const {
    return m_admin ? m_admin->port() : 0;
}

protocol::EngineInfo Engine::engineInfo() const {
    protocol::EngineInfo info;
    info.engineVersion = std::string(kEngineVersion);
    info.configVersion = configVersion();
    info.configPath = m_store->path();
    info.persistent = m_store->persistent();
    {
        std::lock_guard lock(m_mutex);
        info.workers = static_cast<std::uint32_t>(m_workers.size());
    }
    info.pid = ::getpid();
    info.startedAtMs = m_startedAtMs;
    info.activeConnections = m_shared.connections.load();
    return info;
}

protocol::PoolsListResult Engine::poolViews() const {
    std::shared_ptr<const RuntimeSnapshot> snapshot;
    {
        std::lock_guard lock(m_mutex);
        snapshot = m_snapshot;
    }
    protocol::PoolsListResult result;
    if (!snapshot) {
        return result;
    }
    result.version = snapshot->version;
    const auto now = m_clock->now();
    for (std::size_t p = 0; p < snapshot->pools.size(); ++p) {
        const auto& runtime = snapshot->pools[p];
        const auto& poolConfig = snapshot->config.pools[p];
        protocol::PoolView view;
        view.config = poolConfig;
        view.activeRequests = runtime.counters->activeRequests.load();
        view.retries = runtime.counters->retries.load();
        for (std::size_t i = 0; i < runtime.snapshot->instances.size(); ++i) {
            const auto& instance = runtime.snapshot->instances[i];
            const auto& state = *instance.state;
            protocol::InstanceView iv;
            iv.config = poolConfig.instances[i];
            iv.healthy = state.healthy.load();
            iv.ejected = state.ejected.load();
            iv.breaker = std::string(health::toString(state.breaker.state()));
            iv.activeRequests = state.activeRequests.load();
            iv.requests = state.requests.load();
            iv.failures = state.failures.load();
            iv.slowStart = balancing::slowStartFactor(runtime.snapshot->config.slowStart,
                                                      fromNanos(state.availableSinceNs.load()), now);
            iv.latencyEwmaMs = state.latency.peakEwmaMs();
            view.instances.push_back(std::move(iv));
        }
        result.pools.push_back(std::move(view));
    }
    return result;
}

metrics::Cumulative Engine::collectStats() const {
    metrics::Cumulative c;
    for (const auto& stats : m_workerStats) {
        stats->visit([&](const metrics::StatsBlock& total, const auto& routes, const auto& pools, const auto& instances) {
            total.addTo(c.total);
            for (const auto& [name, block] : routes) {
                block->addTo(c.routes[name]);
                block->addCompressionTo(c.compression[name]);
            }
            for (const auto& [name, block] : pools) {
                block->addTo(c.pools[name]);
            }
            for (const auto& [key, block] : instances) {
                block->addTo(c.instances[key]);
                block->addMethodStatus(c.methodStatus[key]);
            }
        });
    }
    return c;
}

void Engine::decorate(protocol::StatsFrame& frame) const {
    frame.configVersion = configVersion();
    frame.activeConnections = m_shared.connections.load();
    std::shared_ptr<const RuntimeSnapshot> snapshot;
    {
        std::lock_guard lock(m_mutex);
        snapshot = m_snapshot;
    }
    if (!snapshot) {
        return;
    }
    const auto now = m_clock->now();
    std::int64_t totalActive = 0;
    for (std::size_t p = 0; p < snapshot->pools.size(); ++p) {
        const auto& runtime = snapshot->pools[p];
        const auto& pool = *runtime.snapshot;
        const auto active = runtime.counters->activeRequests.load();
        frame.pools[pool.name].activeRequests = active;
        totalActive += active;
        for (std::size_t i = 0; i < pool.instances.size(); ++i) {
            const auto& instance = pool.instances[i];
            const auto& state = *instance.state;
            auto it = std::find_if(frame.instances.begin(), frame.instances.end(),
                                   [&](const auto& s) { return s.pool == pool.name && s.id == instance.id; });
            if (it == frame.instances.end()) {
                frame.instances.push_back({});
                it = frame.instances.end() - 1;
                it->pool = pool.name;
                it->id = instance.id;
            }
            it->weight = instance.weight;
            it->state = std::string(model::toString(state.adminState.load()));
            it->healthy = state.healthy.load();
            it->ejected = state.ejected.load();
            it->breaker = std::string(health::toString(state.breaker.state()));
            it->activeRequests = state.activeRequests.load();
            it->slowStart =
                balancing::slowStartFactor(pool.config.slowStart, fromNanos(state.availableSinceNs.load()), now);
            it->latencyEwmaMs = state.latency.peakEwmaMs();
        }
    }
    // Instances no longer configured disappear from the frame.
    std::erase_if(frame.instances, [](const auto& s) { return s.state.empty(); });
    frame.total.activeRequests = totalActive;
}

std::string Engine::prometheusText() const {
    metrics::PrometheusState state;
    state.activeConnections = m_shared.connections.load();
    state.configVersion = configVersion();
    state.upstreamConnectionsOpened = m_shared.upstreamConnectionsOpened.load();
    state.connectionsRefusedPerIp = m_shared.connectionsRefusedPerIp.load();
    for (const auto& [listener, counters] : m_registry.allTlsFailures()) {
        for (std::size_t reason = 0; reason < net::kTlsFailureNames.size(); ++reason) {
            state.tlsHandshakeFailures.push_back(
                {listener, std::string(net::kTlsFailureNames[reason]), counters->counts[reason].load()});
        }
    }
    std::shared_ptr<const RuntimeSnapshot> snapshot;
    {
        std::lock_guard lock(m_mutex);
        snapshot = m_snapshot;
    }
    if (snapshot) {
        const auto now = m_clock->now();
        for (const auto& runtime : snapshot->pools) {
            const auto& pool = *runtime.snapshot;
            state.poolRetries[pool.name] = runtime.counters->retries.load();
            state.poolActiveRequests[pool.name] = runtime.counters->activeRequests.load();
            for (const auto& instance : pool.instances) {
                const auto& s = *instance.state;
                const auto breaker = s.breaker.state();
                state.instances.push_back({pool.name, instance.id, s.up(),
                                           s.enabled() && instance.weight > 0 && s.up() && s.breaker.wouldAdmit(now),
                                           breaker == health::BreakerState::Closed ? 0
                                           : breaker == health::BreakerState::Open ? 1
                                                                                   : 2,
                                           s.activeRequests.load()});
            }
        }
    }
    if (snapshot) {
        const auto& routes = snapshot->routes.routes();
        for (std::size_t r = 0; r < routes.size() && r < snapshot->rateLimits.size(); ++r) {
            for (const auto& limit : snapshot->rateLimits[r]) {
                const auto& config = limit.limiter->config();
                state.rateLimits.push_back(
                    {routes[r].name, limit.label, model::formatRateLimitKey(config.key, config.keyName),
                     config.dryRun, limit.counters->limited.load(std::memory_order_relaxed)});
            }
            for (const auto& quota : snapshot->quotas[r]) {
                state.rateLimits.push_back(
                    {routes[r].name, quota.label, model::formatRateLimitKey(quota.config.key, quota.config.keyName),
                     false, quota.counters->limited.load(std::memory_order_relaxed)});
            }
        }
        if (snapshot->redis) {
            const auto& status = *snapshot->redis->status;
            state.redis = metrics::PrometheusState::Redis{
                status.up(), status.connections(), status.errors(),
                {status.fallbacks(model::LimitOnError::Allow), status.fallbacks(model::LimitOnError::Deny),
                 status.fallbacks(model::LimitOnError::Local)}};
        }
    }
    for (const auto& entry : m_registry.tunnels().entries()) {
        state.tunnels.push_back({entry.route, entry.open, entry.total, entry.bytesFromClient, entry.bytesToClient});
    }
    return metrics::renderPrometheus(collectStats(), state);
}

std::pair<bool, nlohmann::json> Engine::healthReport() const {
    const auto views = poolViews();
    bool healthy = running() && !m_shared.draining.load();
    nlohmann::json pools = nlohmann::json::array();
    for (const auto& pool : views.pools) {
        int available = 0;
        nlohmann::json instances = nlohmann::json::array();
        for (const auto& instance : pool.instances) {
            const bool up = instance.healthy && !instance.ejected;
            const bool serving = up && instance.config.state == model::InstanceState::Enabled &&
                                 instance.config.weight > 0 && instance.breaker != "open";
            available += serving ? 1 : 0;
            instances.push_back({{"id", instance.config.id},
                                 {"healthy", instance.healthy},
                                 {"ejected", instance.ejected},
                                 {"state", model::toString(instance.config.state)},
                                 {"breaker", instance.breaker}});
        }
        healthy = healthy && available > 0;
        pools.push_back({{"name", pool.config.name},
                         {"available", available},
                         {"instances", instances},
                         {"status", available > 0 ? "ok" : "down"}});
    }
    return {healthy,
            {{"status", healthy ? "ok" : "degraded"},
             {"configVersion", views.version},
             {"draining", m_shared.draining.load()},
             {"activeConnections", m_shared.connections.load()},
             {"pools", pools}}};
}

bool Engine::ready() const {
    return running() && !m_shared.draining.load();
}

} // namespace gaetwae::engine::core
