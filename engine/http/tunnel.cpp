// DownstreamSession::tunnel: after a 101 Switching Protocols the client connection and the
// instance connection are joined, and bytes are copied both ways until both sides are done.
#include "engine/http/downstream_session.hpp"

#include "engine/http/session_detail.hpp"

#include "engine/net/worker.hpp"

namespace gaetwae::engine::http {

using namespace session_detail;

namespace {

// Counts an open tunnel for its lifetime, so every way out of a tunnel gives its slot back.
class OpenTunnel {
public:
    explicit OpenTunnel(TunnelCounters& counters)
        : m_counters(counters) {
        m_counters.total.fetch_add(1, std::memory_order_relaxed);
        m_counters.open.fetch_add(1, std::memory_order_relaxed);
    }
    OpenTunnel(const OpenTunnel&) = delete;
    OpenTunnel& operator=(const OpenTunnel&) = delete;
    ~OpenTunnel() { m_counters.open.fetch_sub(1, std::memory_order_relaxed); }

private:
    TunnelCounters& m_counters;
};

// Passes an end of stream on: the peer reads EOF while its own direction stays open. TLS has no
// such half-close (close_notify ends the peer's whole session, and waiting for the peer's own
// would race the other direction's read), so a TLS side is closed instead: the tunnel ends once
// either end finished sending, which is how WebSocket ends anyway (close frames first).
void shutdownSend(net::Stream& stream) {
    error_code ignored;
    if (stream.tls()) {
        stream.close(ignored);
        return;
    }
    stream.shutdown(Socket::shutdown_send, ignored);
}

} // namespace

Task<void> DownstreamSession::switchProtocols(UpstreamConnection& connection,
                                              DownstreamResponseContext& response, TunnelCounters& counters,
                                              const net::WorkerRouting& routing, Exchange& x) {
    response.framing = BodyFraming::None;
    response.passContentLength = false;
    response.upgrade = m_response.headers.get(bhttp::field::upgrade).value_or(std::string_view());
    writeDownstreamResponseHead(m_response, response, routing.snapshot->headerPolicy, m_responseHead);
    x.status = 101;
    x.upstreamMs = millisecondsSince(x.upstreamStart);
    x.switchedAt = Clock::now();
    error_code ec;
    arm(Phase::ClientSend, routing.snapshot->config.timeouts.clientSend);
    co_await asio::async_write(m_socket, asio::buffer(m_responseHead), noThrow(ec));
    if (ec) {
        x.error = "client_gone";
    } else {
        const auto& config = routing.snapshot->config;
        const auto routeIdle = config.routes[static_cast<std::size_t>(x.routeIndex)].tunnelIdle;
        co_await tunnel(connection, counters, routeIdle.count() > 0 ? routeIdle : config.timeouts.tunnelIdle,
                        x);
    }
    log(routing, x); // one access log line per tunnel, when it ends: duration and bytes both ways
}

Task<void> DownstreamSession::pipe(net::Stream& from, net::Stream& to, ByteBuffer& pending,
                                   std::atomic<std::uint64_t>& counter, std::uint64_t& moved, bool& failed) {
    // One bounded buffer per direction, read then written in full before the next read: a slow
    // receiver stops this direction's reads (back-pressure) instead of growing a queue.
    error_code ec;
    auto stopped = [&] { return failed || m_closing || expired(Phase::Tunnel); };
    for (;;) {
        if (!pending.empty()) {
            const std::size_t size = pending.size();
            co_await asio::async_write(to, asio::buffer(pending.data(), size), noThrow(ec));
            if (ec || stopped()) {
                break;
            }
            m_tunnelActive = net::Watchdog::coarseNow();
            moved += size;
            counter.fetch_add(size, std::memory_order_relaxed);
            pending.clear();
        }
        const std::size_t n = co_await from.async_read_some(pending.prepare(), noThrow(ec));
        if (ec == asio::error::eof && !stopped()) {
            shutdownSend(to);
            co_return;
        }
        if (ec || stopped()) {
            break;
        }
        pending.commit(n);
        m_tunnelActive = net::Watchdog::coarseNow();
    }
    // A reset, a write that failed, the idle timeout or the session closing: nothing can usefully
    // move in the other direction either, so both connections go now.
    failed = true;
    error_code ignored;
    from.close(ignored);
    to.close(ignored);
}

Task<void> DownstreamSession::tunnel(UpstreamConnection& connection, TunnelCounters& counters,
                                     milliseconds idle, Exchange& x) {
    const OpenTunnel open(counters);
    // From now on only the idle limit applies (no header or body deadline): see onTimeout().
    m_tunnelIdle = idle;
    m_tunnelActive = net::Watchdog::coarseNow();
    arm(Phase::Tunnel, idle);

    bool failed = false;
    bool toClientDone = false;
    SteadyTimer toClientFinished(m_socket.get_executor());
    toClientFinished.expires_at(SteadyTimer::time_point::max());
    asio::co_spawn(
        m_socket.get_executor(),
        pipe(connection.socket, m_socket, connection.buffer, counters.bytesToClient, x.bytesOut, failed),
        [&](std::exception_ptr) {
            toClientDone = true;
            toClientFinished.cancel();
        });
    co_await pipe(m_socket, connection.socket, m_in, counters.bytesFromClient, x.bytesIn, failed);
    if (!toClientDone) {
        error_code ec;
        co_await toClientFinished.async_wait(noThrow(ec));
    }
    if (expired(Phase::Tunnel)) {
        x.error = "tunnel_idle_timeout";
    } else if (m_closing) {
        x.error = "tunnel_closed_by_gateway";
    } else if (failed) {
        x.error = "tunnel_reset";
    }
    m_in.clear();
}

} // namespace gaetwae::engine::http
