// The TLS parts of a session: the client handshake, close_notify on close, and the handshake on
// new connections to TLS pools. Plain listeners and pools never get here.
#include "engine/http/downstream_session.hpp"

#include "engine/http/session_detail.hpp"

#include <spdlog/spdlog.h>

namespace gaetwae::engine::http {

using namespace session_detail;

namespace {
// A client that does not answer close_notify (many just close) is not waited for longer.
constexpr milliseconds kTlsShutdownTime{500};
} // namespace

Task<bool> DownstreamSession::handshake(milliseconds timeout) {
    arm(Phase::ClientHeader, timeout);
    error_code ec;
    co_await m_socket.async_handshake(asio::ssl::stream_base::server, noThrow(ec));
    const bool timedOut = expired(Phase::ClientHeader);
    if (!ec && !timedOut) {
        if (m_tls->verifiesClients()) {
            m_clientSubject = net::TlsServerContext::verifiedPeerSubject(m_socket.tlsHandle());
        }
        co_return true;
    }
    if (!m_closing) {
        const net::TlsFailure failure = net::TlsServerContext::classify(ec, timedOut);
        m_tls->failures().add(failure);
        spdlog::debug("TLS handshake with {} failed ({}): {}", m_clientIp,
                      net::kTlsFailureNames[static_cast<std::size_t>(failure)], ec.message());
    }
    error_code ignored;
    m_socket.close(ignored);
    co_return false;
}

Task<void> DownstreamSession::shutdownTls() {
    arm(Phase::Linger, kTlsShutdownTime);
    error_code ec;
    co_await m_socket.async_shutdown(noThrow(ec));
}

Task<DownstreamSession::TryResult> DownstreamSession::upstreamHandshake(
    UpstreamConnection& connection, const std::shared_ptr<net::TlsClientContext>& tls, const std::string& name,
    milliseconds timeout) {
    connection.tls = tls;
    connection.socket.enableTls(tls->context());
    tls->prepare(connection.socket.tlsHandle(), name, connection.endpoint);
    arm(Phase::UpstreamConnect, timeout);
    error_code ec;
    co_await connection.socket.async_handshake(asio::ssl::stream_base::client, noThrow(ec));
    if (m_closing) {
        co_return TryResult::ClientFailed;
    }
    if (expired(Phase::UpstreamConnect)) {
        co_return TryResult::ConnectTimeout;
    }
    if (ec) {
        m_tlsProblem = net::TlsClientContext::describeFailure(connection.socket.tlsHandle(), ec);
        co_return TryResult::TlsFailed;
    }
    co_return TryResult::Response;
}

} // namespace gaetwae::engine::http
