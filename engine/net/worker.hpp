#pragma once

#include "engine/balancing/balancer.hpp"
#include "engine/core/engine_shared.hpp"
#include "engine/core/event_bus.hpp"
#include "engine/core/random.hpp"
#include "engine/core/runtime_snapshot.hpp"
#include "engine/core/traffic_capture.hpp"
#include "engine/health/health_events.hpp"
#include "engine/http/downstream_session.hpp"
#include "engine/http/request_id.hpp"
#include "engine/http/upstream_pool.hpp"
#include "engine/metrics/worker_stats.hpp"
#include "engine/net/asio.hpp"
#include "engine/net/session_hook.hpp"
#include "engine/policy/redis_client.hpp"

#include <boost/intrusive/list.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace gaetwae::engine::net {

// A snapshot plus this worker's balancers for it (balancers may keep a cursor, so they are
// per worker and rebuilt with each snapshot).
struct WorkerRouting {
    std::shared_ptr<const core::RuntimeSnapshot> snapshot;
    std::vector<std::unique_ptr<balancing::Balancer>> balancers; // by pool index
    // This worker's stats blocks, resolved once per snapshot (by route, pool, pool+instance index).
    std::vector<std::shared_ptr<metrics::StatsBlock>> routeStats;
    std::vector<std::shared_ptr<metrics::StatsBlock>> poolStats;
    std::vector<std::vector<std::shared_ptr<metrics::StatsBlock>>> instanceStats;
};

// One event loop on one thread with its own acceptors, sessions and upstream connections:
// shared nothing with other workers but EngineShared and instance state atomics. Other threads
// talk to it only through post().
// What a worker gets from the engine: time, the control plane's health sink, the event bus and
// the traffic captures.
struct WorkerServices {
    const core::Clock* clock = nullptr;
    health::HealthEvents* health = nullptr;
    core::EventBus* events = nullptr;
    std::uint64_t seed = 0;
    core::CaptureRegistry* captures = nullptr;
};

class Worker {
public:
    Worker(std::size_t index, core::EngineShared& shared, const WorkerServices& services);
    ~Worker();
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    void start();
    void join();
    std::size_t index() const { return m_index; }

    template <class Fn>
    void post(Fn&& fn) {
        asio::post(m_io, std::forward<Fn>(fn));
    }

    // ---- worker thread only ----
    void applySnapshot(std::shared_ptr<const core::RuntimeSnapshot> snapshot);
    void adoptListener(const std::string& key, int fd, bool v6);
    void removeListener(const std::string& key);
    void beginDrain();
    void closeAll();

    asio::io_context& io() { return m_io; }
    const std::shared_ptr<WorkerRouting>& routing() const { return m_routing; }
    http::UpstreamPool& upstreams() { return m_upstreams; }
    http::RequestIdGenerator& requestIds() { return m_requestIds; }
    core::EngineShared& shared() { return m_shared; }
    const core::Clock& clock() const { return *m_services.clock; }
    core::Random& random() { return m_random; }
    health::HealthEvents& health() { return *m_services.health; }
    core::EventBus& events() { return *m_services.events; }
    core::CaptureRegistry& captures() { return *m_services.captures; }
    metrics::WorkerStats& stats() { return *m_stats; }
    // This worker's connection to the snapshot's redis: server (null without one).
    const std::shared_ptr<policy::RedisClient>& redis() const { return m_redis; }
    std::shared_ptr<metrics::WorkerStats> sharedStats() const { return m_stats; }
    bool draining() const { return m_draining; }
    void registerSession(http::DownstreamSession& session);

private:
    struct Listener {
        explicit Listener(asio::io_context& io)
            : acceptor(io) {}
        Acceptor acceptor;
    };

    Task<void> acceptLoop(std::shared_ptr<Listener> listener);
    void closeListeners();
    Task<void> runSession(Socket socket, core::ConnectionSlot slot, core::IpConnectionSlot ipSlot);
    // Counts the connection against its source address; false (and counted, logged) over the limit.
    bool claimAddress(const Socket& socket, core::IpConnectionSlot& slot);

    std::size_t m_index;
    core::EngineShared& m_shared;
    WorkerServices m_services;
    core::XoshiroRandom m_random;
    asio::io_context m_io;
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> m_guard;
    std::thread m_thread;
    std::map<std::string, std::shared_ptr<Listener>> m_listeners;
    std::shared_ptr<WorkerRouting> m_routing;
    http::UpstreamPool m_upstreams;
    std::shared_ptr<policy::RedisClient> m_redis;
    std::shared_ptr<metrics::WorkerStats> m_stats = std::make_shared<metrics::WorkerStats>();
    http::RequestIdGenerator m_requestIds;
    bool m_draining = false;
    std::uint64_t m_refusedSinceLog = 0;
    std::chrono::steady_clock::time_point m_lastRefusalLog{};
    boost::intrusive::list<http::DownstreamSession, boost::intrusive::base_hook<SessionHook>,
                           boost::intrusive::constant_time_size<false>>
        m_sessions;
};

} // namespace gaetwae::engine::net
