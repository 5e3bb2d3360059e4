#include "engine/http/upstream_pool.hpp"

#include <algorithm>

namespace gaetwae::engine::http {

std::size_t EndpointHash::operator()(const tcp::endpoint& endpoint) const noexcept {
    const auto address = endpoint.address();
    std::size_t h = endpoint.port();
    if (address.is_v4()) {
        h ^= static_cast<std::size_t>(address.to_v4().to_uint()) << 16;
    } else {
        for (const auto byte : address.to_v6().to_bytes()) {
            h = h * 131 + byte;
        }
    }
    return h;
}

UpstreamPool::UpstreamPool(asio::io_context& io)
    : m_io(io)
    , m_sweepTimer(io)
    , m_alive(std::make_shared<UpstreamPool*>(this)) {}

UpstreamPool::~UpstreamPool() {
    *m_alive = nullptr;
    closeAll();
}

void UpstreamPool::configure(std::uint32_t maxIdlePerEndpoint, std::chrono::milliseconds idleTimeout) {
    m_maxIdlePerEndpoint = maxIdlePerEndpoint;
    m_idleTimeout = idleTimeout;
}

UpstreamConnectionPtr UpstreamPool::takeIdle(const tcp::endpoint& endpoint) {
    const auto it = m_idle.find(endpoint);
    if (it == m_idle.end() || it->second.empty()) {
        return nullptr;
    }
    UpstreamConnectionPtr connection = std::move(it->second.back());
    it->second.pop_back();
    ++connection->idleGeneration;
    error_code ignored;
    connection->socket.cancel(ignored); // stop the close-watch
    return connection;
}

void UpstreamPool::release(UpstreamConnectionPtr connection) {
    if (!connection->buffer.empty() || !connection->socket.is_open()) {
        return; // stray bytes after a response: the stream is out of sync, never reuse it
    }
    auto& list = m_idle[connection->endpoint];
    if (list.size() >= m_maxIdlePerEndpoint) {
        if (m_maxIdlePerEndpoint == 0) {
            return;
        }
        list.erase(list.begin()); // the oldest goes; recent connections are the likeliest alive
    }
    connection->idleSince = std::chrono::steady_clock::now();
    ++connection->idleGeneration;
    list.push_back(connection);
    watch(list.back());
    scheduleSweep();
}

void UpstreamPool::watch(const UpstreamConnectionPtr& connection) {
    std::weak_ptr<UpstreamConnection> weak = connection;
    connection->socket.async_wait(
        tcp::socket::wait_read,
        [alive = m_alive, weak, generation = connection->idleGeneration](const error_code& ec) {
            UpstreamPool* self = *alive;
            const auto connection = weak.lock();
            if (self == nullptr || !connection || ec == asio::error::operation_aborted ||
                connection->idleGeneration != generation) {
                return;
            }
            // Readable while idle: the backend closed it (or sent junk). Either way it is unusable.
            self->drop(connection.get());
        });
}

void UpstreamPool::drop(const UpstreamConnection* connection) {
    const auto it = m_idle.find(connection->endpoint);
    if (it == m_idle.end()) {
        return;
    }
    auto& list = it->second;
    list.erase(std::remove_if(list.begin(), list.end(), [&](const auto& c) { return c.get() == connection; }),
               list.end());
}

void UpstreamPool::scheduleSweep() {
    if (m_sweepScheduled) {
        return;
    }
    m_sweepScheduled = true;
    const auto period = std::clamp<std::chrono::milliseconds>(m_idleTimeout / 4, std::chrono::milliseconds(10),
                                                               std::chrono::milliseconds(1000));
    m_sweepTimer.expires_after(period);
    m_sweepTimer.async_wait([alive = m_alive](const error_code& ec) {
        UpstreamPool* self = *alive;
        if (self == nullptr || ec) {
            return;
        }
        self->m_sweepScheduled = false;
        self->sweep();
    });
}

void UpstreamPool::sweep() {
    const auto cutoff = std::chrono::steady_clock::now() - m_idleTimeout;
    bool any = false;
    for (auto it = m_idle.begin(); it != m_idle.end();) {
        auto& list = it->second;
        list.erase(std::remove_if(list.begin(), list.end(), [&](const auto& c) { return c->idleSince <= cutoff; }),
                   list.end());
        if (list.empty()) {
            it = m_idle.erase(it);
        } else {
            any = true;
            ++it;
        }
    }
    if (any) {
        scheduleSweep();
    }
}

void UpstreamPool::closeAll() {
    m_idle.clear();
    m_sweepTimer.cancel();
    m_sweepScheduled = false;
}

std::size_t UpstreamPool::idleCount() const {
    std::size_t n = 0;
    for (const auto& [endpoint, list] : m_idle) {
        n += list.size();
    }
    return n;
}

} // namespace gaetwae::engine::http
