#include "engine/health/active_check.hpp"

#include "engine/net/stream.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

namespace gaetwae::engine::health {

namespace bhttp = boost::beast::http;

Task<bool> runActiveCheck(tcp::endpoint endpoint, const model::HealthCheckConfig& check, std::string host,
                          std::string& detail, std::shared_ptr<net::TlsClientContext> tls, std::string tlsName) {
    const auto executor = co_await asio::this_coro::executor;
    net::Stream socket{Socket(executor)};
    SteadyTimer deadline(executor);
    bool timedOut = false;
    deadline.expires_after(check.timeout);
    deadline.async_wait([&](const error_code& ec) {
        if (!ec) {
            timedOut = true;
            error_code ignored;
            socket.close(ignored);
        }
    });
    error_code ec;
    co_await socket.async_connect(endpoint, noThrow(ec));
    if (ec) {
        deadline.cancel();
        detail = timedOut ? "connect timed out" : "connect failed: " + ec.message();
        co_return false;
    }
    if (check.type == model::HealthCheckType::Tcp) {
        deadline.cancel();
        co_return true;
    }
    if (tls) {
        socket.enableTls(tls->context());
        tls->prepare(socket.tlsHandle(), tlsName, endpoint);
        co_await socket.async_handshake(asio::ssl::stream_base::client, noThrow(ec));
        if (ec) {
            deadline.cancel();
            detail = timedOut ? "TLS handshake timed out" : net::TlsClientContext::describeFailure(socket.tlsHandle(), ec);
            error_code ignored;
            socket.close(ignored);
            co_return false;
        }
    }
    bhttp::request<bhttp::empty_body> request(bhttp::string_to_verb(check.method), check.path, 11);
    request.set(bhttp::field::host, check.host.empty() ? host : check.host);
    request.set(bhttp::field::user_agent, "gaetwae-health-check");
    request.set(bhttp::field::connection, "close");
    co_await bhttp::async_write(socket, request, noThrow(ec));
    boost::beast::flat_buffer buffer;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64 * 1024);
    if (!ec) {
        co_await bhttp::async_read(socket, buffer, parser, noThrow(ec));
    }
    deadline.cancel();
    error_code ignored;
    socket.close(ignored);
    if (ec) {
        detail = timedOut ? "no response in time" : "request failed: " + ec.message();
        co_return false;
    }
    const int status = parser.get().result_int();
    bool expected = false;
    for (const auto& range : check.expectedStatuses) {
        expected = expected || range.contains(status);
    }
    if (!expected) {
        detail = "unexpected status " + std::to_string(status);
        co_return false;
    }
    if (!check.bodyContains.empty() && parser.get().body().find(check.bodyContains) == std::string::npos) {
        detail = "body does not contain '" + check.bodyContains + "'";
        co_return false;
    }
    co_return true;
}

} // namespace gaetwae::engine::health
