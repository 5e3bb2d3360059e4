#include "engine/http/redirect_response.hpp"

#include "engine/http/session_detail.hpp"

#include "engine/net/worker.hpp"
#include "engine/routing/route_table.hpp"

namespace gaetwae::engine::http {

using namespace session_detail;

namespace {

std::string_view reasonPhrase(std::uint16_t status) {
    switch (status) {
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 303:
        return "See Other";
    case 307:
        return "Temporary Redirect";
    case 308:
        return "Permanent Redirect";
    default:
        return "Redirect";
    }
}

} // namespace

void writeRedirectResponse(std::uint16_t status, std::string_view location, std::string_view requestId,
                           const HeaderPolicy& policy, bool close, std::string_view extraLines,
                           std::string& out) {
    out.clear();
    appendStatusLine(out, status, reasonPhrase(status));
    out.append("Location: ");
    out.append(location);
    out.append("\r\nContent-Length: 0\r\n");
    appendGatewayHeadEnd(out, policy, requestId, extraLines, close);
}

Task<bool> DownstreamSession::replyRedirect(const routing::Route& route, const Target& target,
                                            const net::WorkerRouting& routing, Exchange& x, bool close) {
    if (m_closing || !m_socket.is_open()) {
        co_return false;
    }
    // An unread request body cannot be skipped reliably: the answer closes the connection.
    close = close || m_worker.draining();
    routing::redirectLocation(
        route, routing::TemplateInputs{m_host, target.path, target.query, &m_pathGroups}, m_target);
    writeRedirectResponse(route.redirectStatus, m_target, x.requestId, routing.snapshot->headerPolicy, close,
                          x.rateLimitLines, m_responseHead);
    x.status = route.redirectStatus;
    error_code ec;
    arm(Phase::ClientSend, routing.snapshot->config.timeouts.clientSend);
    co_await asio::async_write(m_socket, asio::buffer(m_responseHead), noThrow(ec));
    log(routing, x);
    co_return !ec && !close;
}

} // namespace gaetwae::engine::http
