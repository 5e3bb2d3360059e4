#include "engine/net/worker.hpp"

#include "engine/balancing/balancer_factory.hpp"

#include <spdlog/spdlog.h>


#include <unistd.h>

namespace gaetwae::engine::net {


Worker::Worker(std::size_t index, core::EngineShared& shared, const WorkerServices& services)
    : m_index(index)
    , m_shared(shared)
    , m_services(services)
    , m_random(services.seed + index * 0x9e3779b97f4a7c15ULL)
    // Sockets of a worker are only touched from its thread, so the reactor's per-descriptor
    // locking is pure overhead; the scheduler stays locked because other threads post to it.
    , m_io(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO)
    , m_upstreams(m_io)
    , m_requestIds(core::randomSeed() + index) {
    m_upstreams.countInto(&m_shared.upstreamConnectionsOpened);
}

Worker::~Worker() {
    join();
}

void Worker::start() {
    m_guard.emplace(m_io.get_executor());
    m_thread = std::thread([this] {
        try {
            m_io.run();
        } catch (const std::exception& e) {
            spdlog::critical("worker {} stopped: {}", m_index, e.what());
        }
    });
}

void Worker::join() {
    if (m_thread.joinable()) {
        post([this] {
            closeAll();
            m_guard.reset();
        });
        m_thread.join();
    }
}

void Worker::applySnapshot(std::shared_ptr<const core::RuntimeSnapshot> snapshot) {
    auto routing = std::make_shared<WorkerRouting>();
    routing->balancers.reserve(snapshot->pools.size());
    for (const auto& pool : snapshot->pools) {
        routing->balancers.push_back(balancing::makeBalancer(*pool.snapshot, clock(), m_random));
    }
    m_upstreams.configure(snapshot->config.upstream.maxIdlePerInstance, snapshot->config.timeouts.upstreamIdle);
    m_redis = policy::followRedisTarget(std::move(m_redis), m_io, snapshot->redis);
    std::vector<std::string> routeNames;
    std::vector<std::string> poolNames;
    std::vector<std::pair<std::string, std::string>> instanceNames;
    for (const auto& route : snapshot->routes.routes()) {
        routing->routeStats.push_back(m_stats->route(route.name));
        routeNames.push_back(route.name);
    }
    for (const auto& pool : snapshot->pools) {
        routing->poolStats.push_back(m_stats->pool(pool.snapshot->name));
        poolNames.push_back(pool.snapshot->name);
        auto& blocks = routing->instanceStats.emplace_back();
        for (const auto& instance : pool.snapshot->instances) {
            blocks.push_back(m_stats->instance(pool.snapshot->name, instance.id));
            instanceNames.emplace_back(pool.snapshot->name, instance.id);
        }
    }
    m_stats->retain(routeNames, poolNames, instanceNames); // blocks in use by older snapshots live on
    routing->snapshot = std::move(snapshot);
    m_routing = std::move(routing);
}

void Worker::adoptListener(const std::string& key, int fd, bool v6) {
    auto listener = std::make_shared<Listener>(m_io);
    error_code ec;
    listener->acceptor.assign(v6 ? tcp::v6() : tcp::v4(), fd, ec);
    if (ec) {
        spdlog::error("worker {}: cannot adopt listener {}: {}", m_index, key, ec.message());
        ::close(fd);
        return;
    }
    m_listeners[key] = listener;
    asio::co_spawn(m_io, acceptLoop(listener), asio::detached);
}

void Worker::removeListener(const std::string& key) {
    const auto it = m_listeners.find(key);
    if (it == m_listeners.end()) {
        return;
    }
    error_code ignored;
    it->second->acceptor.close(ignored);
    m_listeners.erase(it);
}

void Worker::closeListeners() {
    for (auto& [key, listener] : m_listeners) {
        error_code ignored;
        listener->acceptor.close(ignored);
    }
    m_listeners.clear();
}

void Worker::beginDrain() {
    m_draining = true;
    closeListeners();
    // Idle keep-alive connections go now; busy ones finish their request and close after it.
    for (auto it = m_sessions.begin(); it != m_sessions.end();) {
        http::DownstreamSession& session = *it++;
        if (session.idle()) {
            session.close();
        }
    }
}

void Worker::closeAll() {
    closeListeners();
    for (auto it = m_sessions.begin(); it != m_sessions.end();) {
        http::DownstreamSession& session = *it++;
        session.close();
    }
    m_upstreams.closeAll();
    if (m_redis) {
        m_redis->stop("the worker stops");
    }
}

void Worker::registerSession(http::DownstreamSession& session) {
    m_sessions.push_back(session);
}

Task<void> Worker::acceptLoop(std::shared_ptr<Listener> listener) {
    SteadyTimer backoff(m_io);
    for (;;) {
        // At the connection limit new clients wait in the kernel backlog instead of being
        // accepted and dropped.
        while (m_shared.connections.load(std::memory_order_relaxed) >=
                   m_shared.maxConnections.load(std::memory_order_relaxed) &&
               listener->acceptor.is_open()) {
            error_code ignored;
            backoff.expires_after(std::chrono::milliseconds(10));
            co_await backoff.async_wait(noThrow(ignored));
        }
        if (!listener->acceptor.is_open()) {
            co_return;
        }
        error_code ec;
        Socket socket(m_io);
        co_await listener->acceptor.async_accept(socket, noThrow(ec));
        if (ec == asio::error::operation_aborted || !listener->acceptor.is_open()) {
            co_return;
        }
        if (ec) {
            // Out of descriptors or memory: back off instead of spinning on the same error.
            spdlog::warn("worker {}: accept failed: {}", m_index, ec.message());
            error_code ignored;
            backoff.expires_after(std::chrono::milliseconds(50));
            co_await backoff.async_wait(noThrow(ignored));
            continue;
        }
        if (m_draining || !m_routing) {
            continue; // socket closes as it goes out of scope
        }
        core::IpConnectionSlot ipSlot;
        if (!claimAddress(socket, ipSlot)) {
            continue; // refused: closed as it goes out of scope, before a byte is read
        }
        asio::co_spawn(m_io, runSession(std::move(socket), core::ConnectionSlot(m_shared), std::move(ipSlot)),
                       asio::detached);
    }
}

bool Worker::claimAddress(const Socket& socket, core::IpConnectionSlot& slot) {
    error_code ec;
    const auto remote = socket.remote_endpoint(ec);
    if (ec) {
        return false; // already reset by the peer
    }
    core::IpConnectionCounter::Key key{};
    const auto address = remote.address();
    if (address.is_v4()) {
        const auto mapped = asio::ip::make_address_v6(asio::ip::v4_mapped, address.to_v4()).to_bytes();
        std::copy(mapped.begin(), mapped.end(), key.begin());
    } else {
        const auto bytes = address.to_v6().to_bytes();
        std::copy(bytes.begin(), bytes.end(), key.begin());
    }
    const std::uint32_t limit = m_shared.maxConnectionsPerIp.load(std::memory_order_relaxed);
    if (m_shared.perIp.tryAcquire(key, limit)) {
        slot = core::IpConnectionSlot(m_shared.perIp, key);
        return true;
    }
    m_shared.connectionsRefusedPerIp.fetch_add(1, std::memory_order_relaxed);
    // One line per second at most: a flood of refusals must not become a flood of log lines.
    ++m_refusedSinceLog;
    const auto now = std::chrono::steady_clock::now();
    if (now - m_lastRefusalLog >= std::chrono::seconds(1)) {
        spdlog::warn(
            "worker {}: refused {} connection(s) over limits.max_connections_per_ip ({}), latest from {}",
            m_index, m_refusedSinceLog, limit, address.to_string());
        m_refusedSinceLog = 0;
        m_lastRefusalLog = now;
    }
    return false;
}

Task<void> Worker::runSession(Socket socket, [[maybe_unused]] core::ConnectionSlot slot,
                              [[maybe_unused]] core::IpConnectionSlot ipSlot) {
    http::DownstreamSession session(*this, std::move(socket));
    co_await session.run();
    // The slots go after `session`: the connection counts until its socket is closed.
}

} // namespace gaetwae::engine::net
