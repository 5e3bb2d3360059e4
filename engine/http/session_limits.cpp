// The session's rate limit and quota checks (declared in downstream_session.hpp).
#include "engine/http/session_detail.hpp"

#include "engine/net/worker.hpp"
#include "engine/policy/route_limits.hpp"

namespace gaetwae::engine::http {

using namespace session_detail;

namespace {

std::optional<ProxyError> refusalError(policy::LimitVerdict::Refusal refusal) {
    switch (refusal) {
    case policy::LimitVerdict::Refusal::RateLimited:
        return ProxyError::RateLimited;
    case policy::LimitVerdict::Refusal::QuotaExceeded:
        return ProxyError::QuotaExceeded;
    case policy::LimitVerdict::Refusal::Unavailable:
        return ProxyError::RateLimitUnavailable;
    case policy::LimitVerdict::Refusal::None:
        break;
    }
    return std::nullopt;
}

} // namespace

Task<std::optional<ProxyError>> DownstreamSession::limit(const net::WorkerRouting& routing, const Target& target,
                                                         policy::LimitMode mode, Exchange& x) {
    const auto route = static_cast<std::size_t>(x.routeIndex);
    const RequestHeaders headers(m_request.headers);
    const balancing::RequestKey key{m_clientIp, m_host, target.path, target.query, &headers, x.consumer};
    const policy::LimitRequest request{routing.snapshot->rateLimits[route],
                                       routing.snapshot->quotas[route],
                                       key,
                                       x.route,
                                       m_worker.clock().now(),
                                       std::chrono::system_clock::now()};
    // Local checks complete without waiting; shared ones ask Redis on this worker's loop.
    const policy::LimitVerdict verdict = mode == policy::LimitMode::Shared
                                             ? co_await policy::checkSharedLimits(m_worker.redis(), request)
                                             : policy::checkLocalLimits(request, m_rateLimitKey);
    m_rateLimitLines.clear();
    policy::appendLimitHeaders(verdict, m_rateLimitLines);
    x.rateLimitLines = m_rateLimitLines;
    co_return refusalError(verdict.refusal);
}

} // namespace gaetwae::engine::http
