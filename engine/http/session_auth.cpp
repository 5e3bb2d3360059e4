// DownstreamSession::authenticate and applyAuth: a route's `auth` on the request path.
#include "engine/http/downstream_session.hpp"

#include "engine/http/session_detail.hpp"
#include "engine/net/worker.hpp"
#include "engine/policy/authenticator.hpp"

#include <chrono>

namespace gaetwae::engine::http {

using namespace session_detail;

bool DownstreamSession::authenticate(const policy::RouteAuth& auth, Plan& p, Exchange& x) {
    if (!m_auth) {
        m_auth = std::make_unique<policy::AuthContext>();
    }
    const RequestHeaders headers(m_request.headers);
    // exp and nbf are wall-clock times; the injected monotonic clock only paces key file checks.
    const auto nowUnix =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    const policy::AuthRequest request{headers, p.target.query, static_cast<std::int64_t>(nowUnix),
                                      core::toNanos(m_worker.clock().now())};
    const policy::AuthStatus status = auth.authenticate(request, *m_auth);
    x.consumer = m_auth->consumer;
    if (status == policy::AuthStatus::Passed) {
        return true;
    }
    p.error = status == policy::AuthStatus::Unauthorized ? ProxyError::Unauthorized : ProxyError::Forbidden;
    p.detail = m_auth->detail;
    p.close = m_unreadInput; // the body was not read: close rather than parse it as a request
    x.authLines = m_auth->challenge;
    return false;
}

void DownstreamSession::applyAuth(const policy::RouteAuth& auth, Target& target, Exchange& x) {
    // Identity headers come from the gateway alone: incoming copies go, whatever their case.
    m_request.headers.eraseIf(
        [&](const HeaderBlock::Field& field) { return auth.removesHeader(field.name); });
    if (!auth.strippedQueryParameters().empty() && !target.query.empty()) {
        policy::removeQueryParameters(target.query, auth.strippedQueryParameters(), m_authQuery);
        target.query = m_authQuery;
    }
    x.upstreamLines = m_auth->upstreamLines;
}

} // namespace gaetwae::engine::http
