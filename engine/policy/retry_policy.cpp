#include "engine/policy/retry_policy.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>

namespace gaetwae::engine::policy {

bool retryable(const model::RetryConfig& config, const AttemptFacts& facts) {
    if (config.attempts == 0) {
        return false;
    }
    using health::Outcome;
    if (facts.outcome == Outcome::ConnectFailure) {
        return config.onConnectFailure && (!facts.requestSent || facts.replayable);
    }
    if (!(facts.idempotent || config.nonIdempotent) || !facts.replayable) {
        return false;
    }
    switch (facts.outcome) {
    case Outcome::Reset:
        return config.onReset;
    case Outcome::Timeout:
        return config.onTimeout;
    case Outcome::GatewayError:
    case Outcome::ServerError:
    case Outcome::Overloaded:
        return std::find(config.statuses.begin(), config.statuses.end(), facts.status) != config.statuses.end();
    case Outcome::Success:
        return std::find(config.statuses.begin(), config.statuses.end(), facts.status) != config.statuses.end();
    case Outcome::ConnectFailure:
        break;
    }
    return false;
}

std::chrono::milliseconds backoff(const model::RetryConfig& config, std::uint32_t retry, double u) {
    const double ceiling = std::min(static_cast<double>(config.backoffMax.count()),
                                    static_cast<double>(config.backoffBase.count()) * std::pow(2.0, std::min<std::uint32_t>(retry, 30)));
    return std::chrono::milliseconds(static_cast<std::int64_t>(ceiling * u));
}

std::optional<std::chrono::milliseconds> parseRetryAfter(std::string_view value,
                                                         std::chrono::system_clock::time_point now) {
    while (!value.empty() && value.front() == ' ') {
        value.remove_prefix(1);
    }
    while (!value.empty() && value.back() == ' ') {
        value.remove_suffix(1);
    }
    std::uint64_t seconds = 0;
    const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (ec == std::errc{} && ptr == value.data() + value.size()) {
        return std::chrono::milliseconds(std::min<std::uint64_t>(seconds, 86'400) * 1000);
    }
    // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
    std::tm tm{};
    const std::string text(value);
    const char* end = ::strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (end == nullptr || *end != '\0') {
        return std::nullopt;
    }
    const auto when = std::chrono::system_clock::from_time_t(::timegm(&tm));
    const auto delta = std::chrono::duration_cast<std::chrono::milliseconds>(when - now);
    return std::max(delta, std::chrono::milliseconds(0));
}

bool budgetAllows(const model::RetryConfig& config, std::uint32_t maxConcurrentRetries, std::int64_t activeRequests,
                  std::int64_t retriesInFlight) {
    if (maxConcurrentRetries > 0 && retriesInFlight >= maxConcurrentRetries) {
        return false;
    }
    const double budget = std::max(static_cast<double>(config.budgetMinConcurrency),
                                   config.budgetRatio * static_cast<double>(activeRequests));
    return static_cast<double>(retriesInFlight) < budget;
}

} // namespace gaetwae::engine::policy
