#include "engine/health/outlier_detector.hpp"

#include <algorithm>

namespace gaetwae::engine::health {

std::string_view toString(Outcome outcome) {
    switch (outcome) {
    case Outcome::Success:
        return "success";
    case Outcome::ServerError:
        return "server_error";
    case Outcome::GatewayError:
        return "gateway_error";
    case Outcome::Reset:
        return "reset";
    case Outcome::Timeout:
        return "timeout";
    case Outcome::ConnectFailure:
        return "connect_failure";
    case Outcome::Overloaded:
        return "overloaded";
    }
    return "unknown";
}

Outcome classifyStatus(int status) {
    if (status == 502 || status == 503 || status == 504) {
        return Outcome::GatewayError;
    }
    if (status == 429) {
        return Outcome::Overloaded;
    }
    if (status >= 500) {
        return Outcome::ServerError;
    }
    return Outcome::Success;
}

namespace {

// Increments `counter` (or resets it) and reports whether this increment hit the threshold.
bool bump(std::atomic<std::uint32_t>& counter, bool failure, std::uint32_t threshold) {
    if (!failure) {
        if (counter.load(std::memory_order_relaxed) != 0) {
            counter.store(0, std::memory_order_relaxed);
        }
        return false;
    }
    const auto value = counter.fetch_add(1, std::memory_order_relaxed) + 1;
    return threshold > 0 && value == threshold;
}

} // namespace

std::optional<std::string> OutlierCounters::record(Outcome outcome, const model::OutlierDetectionConfig& config) {
    const bool is5xx = outcome == Outcome::ServerError || outcome == Outcome::GatewayError;
    const bool isGateway = outcome == Outcome::GatewayError || outcome == Outcome::Reset || outcome == Outcome::Timeout ||
                           outcome == Outcome::ConnectFailure;
    const bool isConnect = outcome == Outcome::ConnectFailure;
    std::optional<std::string> reason;
    if (bump(consecutive5xx, is5xx, config.consecutive5xx)) {
        reason = std::to_string(config.consecutive5xx) + " consecutive 5xx responses";
    }
    if (bump(consecutiveGatewayFailures, isGateway, config.consecutiveGatewayFailures) && !reason) {
        reason = std::to_string(config.consecutiveGatewayFailures) + " consecutive gateway failures";
    }
    if (bump(consecutiveConnectFailures, isConnect, config.consecutiveConnectFailures) && !reason) {
        reason = std::to_string(config.consecutiveConnectFailures) + " consecutive connect failures";
    }
    return reason;
}

void OutlierCounters::reset() {
    consecutive5xx = 0;
    consecutiveGatewayFailures = 0;
    consecutiveConnectFailures = 0;
}

std::chrono::milliseconds ejectionTime(const model::OutlierDetectionConfig& config, std::uint32_t ejection,
                                       double jitter01) {
    const double base = static_cast<double>(config.baseEjectionTime.count()) * std::max<std::uint32_t>(1, ejection);
    const double capped = std::min(base, static_cast<double>(config.maxEjectionTime.count()));
    const double jittered = capped * (1.0 + config.jitter * (2.0 * jitter01 - 1.0));
    return std::chrono::milliseconds(static_cast<std::int64_t>(std::max(1.0, jittered)));
}

bool mayEject(std::size_t alreadyEjected, std::size_t poolSize, std::uint32_t maxEjectionPercent) {
    if (poolSize == 0) {
        return false;
    }
    // Always allow one ejection in pools of two or more, as Envoy does, so small pools can shed a
    // bad instance even with a low percentage.
    const std::size_t allowed = std::max<std::size_t>(poolSize >= 2 ? 1 : 0, poolSize * maxEjectionPercent / 100);
    return alreadyEjected < allowed;
}

} // namespace gaetwae::engine::health
