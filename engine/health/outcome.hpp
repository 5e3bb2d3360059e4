#pragma once

#include <cstdint>
#include <string_view>

namespace gaetwae::engine::health {

// How one upstream attempt ended, from the instance's point of view.
enum class Outcome : std::uint8_t {
    Success,        // a response the backend meant (2xx-4xx, and 5xx it chose that are not below)
    ServerError,    // 500, 501, 505... : the backend is up but failing
    GatewayError,   // 502, 503, 504 answered by the backend
    Reset,          // closed or reset before a complete response head
    Timeout,        // no response in time
    ConnectFailure, // refused, unreachable or connect timeout
    Overloaded,     // 429: the backend asks for less traffic
};

std::string_view toString(Outcome outcome);

// Classifies a response status.
Outcome classifyStatus(int status);

// Failures as the circuit breaker counts them (429 and plain client errors are not failures).
inline bool isBreakerFailure(Outcome outcome) {
    return outcome != Outcome::Success && outcome != Outcome::Overloaded;
}

} // namespace gaetwae::engine::health
