#include "engine/http/upstream_pool.hpp"

#include "engine/net/watchdog.hpp"

#include <algorithm>
#include <cerrno>

#include <sys/socket.h>

namespace gaetwae::engine::http {

namespace {
// How long a parked connection stays unwatched (see the class comment).
constexpr std::chrono::milliseconds kWatchGrace{250};
} // namespace

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

namespace {

// True when the peer has closed (or sent something unexpected) on an idle connection.
bool closedByPeer(net::Stream& socket) {
    char byte = 0;
    const ssize_t n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
}

} // namespace

UpstreamConnectionPtr UpstreamPool::takeIdle(const tcp::endpoint& endpoint, bool verify) {
    const auto it = m_idle.find(endpoint);
    if (it == m_idle.end()) {
        return nullptr;
    }
    auto& list = it->second;
    while (!list.empty()) {
        UpstreamConnectionPtr connection = std::move(list.back());
        list.pop_back();
        ++connection->idleGeneration;
        if (connection->watched) {
            connection->watched = false;
            error_code ignored;
            connection->socket.cancel(ignored); // the watch would have dropped it if it had closed
            return connection;
        }
        if (!verify || !closedByPeer(connection->socket)) {
            return connection;
        }
    }
    return nullptr;
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
    connection->idleSince = net::Watchdog::coarseNow();
    ++connection->idleGeneration;
    connection->watched = false;
    list.push_back(std::move(connection));
    scheduleSweep();
}

void UpstreamPool::watch(const UpstreamConnectionPtr& connection) {
    connection->watched = true;
    // A pending one-byte read rather than async_wait: Asio re-arms epoll (an epoll_ctl syscall)
    // for every non-speculative wait, while a read queued after an exhausted read costs nothing.
    std::weak_ptr<UpstreamConnection> weak = connection;
    connection->socket.async_read_some(
        asio::buffer(&connection->watchByte, 1),
        [alive = m_alive, weak, generation = connection->idleGeneration](const error_code& ec, std::size_t) {
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
                                                               kWatchGrace);
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
    const auto now = net::Watchdog::coarseNow();
    const auto expired = now - m_idleTimeout;
    const auto settled = now - kWatchGrace;
    bool any = false;
    for (auto it = m_idle.begin(); it != m_idle.end();) {
        auto& list = it->second;
        list.erase(std::remove_if(list.begin(), list.end(), [&](const auto& c) { return c->idleSince <= expired; }),
                   list.end());
        for (const auto& connection : list) {
            if (!connection->watched && connection->idleSince <= settled) {
                watch(connection);
            }
        }
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
