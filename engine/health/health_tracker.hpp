#pragma once

#include <cstdint>

namespace gaetwae::engine::health {

// Rise/fall hysteresis for active checks (HAProxy semantics): a healthy instance goes down after
// `fall` failures in a row, an unhealthy one comes back after `rise` successes in a row.
// Pure: the checker feeds results, this decides.
class HealthTracker {
public:
    explicit HealthTracker(bool healthy = true)
        : m_healthy(healthy) {}

    // Returns true when this result flipped the state.
    bool record(bool success, std::uint32_t rise, std::uint32_t fall) {
        if (success) {
            m_failures = 0;
            if (!m_healthy && ++m_successes >= rise) {
                m_healthy = true;
                m_successes = 0;
                return true;
            }
        } else {
            m_successes = 0;
            if (m_healthy && ++m_failures >= fall) {
                m_healthy = false;
                m_failures = 0;
                return true;
            }
        }
        return false;
    }

    bool healthy() const { return m_healthy; }
    std::uint32_t streak() const { return m_healthy ? m_failures : m_successes; }

private:
    bool m_healthy;
    std::uint32_t m_successes = 0;
    std::uint32_t m_failures = 0;
};

} // namespace gaetwae::engine::health
