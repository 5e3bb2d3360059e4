#pragma once

#include "engine/health/outcome.hpp"
#include "shared/model/pool_config.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace gaetwae::engine::policy {

// Pure retry decisions; the session does the waiting and the I/O.

struct AttemptFacts {
    health::Outcome outcome = health::Outcome::Success;
    int status = 0;             // response status when the outcome came from a response
    bool requestSent = false;   // any byte of the request reached the backend
    bool idempotent = false;    // method is idempotent, or the request has an Idempotency-Key
    bool replayable = false;    // the whole body is still at hand (or there is none)
};

// Whether this attempt's failure may be retried at all under `config`, before budgets and
// deadlines. A connect failure sent nothing, so it is safe for any method; anything else needs an
// idempotent method (or `non_idempotent: true`) and a body that can be sent again.
bool retryable(const model::RetryConfig& config, const AttemptFacts& facts);

// Exponential backoff with full jitter (AWS architecture blog): uniform in
// [0, min(backoff_max, backoff_base * 2^retry)]. `retry` counts from 0, `u` is uniform in [0, 1).
std::chrono::milliseconds backoff(const model::RetryConfig& config, std::uint32_t retry, double u);

// Retry-After: delta-seconds or an HTTP-date (RFC 9110 10.2.3), relative to `now`.
std::optional<std::chrono::milliseconds> parseRetryAfter(std::string_view value,
                                                         std::chrono::system_clock::time_point now);

// The retry budget (Envoy): retries in flight may not exceed ratio * active requests, with a
// floor of min_concurrency, nor max_concurrent_retries when set.
bool budgetAllows(const model::RetryConfig& config, std::uint32_t maxConcurrentRetries, std::int64_t activeRequests,
                  std::int64_t retriesInFlight);

} // namespace gaetwae::engine::policy
