#pragma once

#include <chrono>
#include <cstdint>

namespace gaetwae::engine::http {

// The slow-POST defence (limits.min_body_rate): a request body must arrive at `minRate` bytes per
// second or faster, judged at the end of each `window` of time spent waiting on the client. Only
// waiting counts: while the gateway writes to a slow backend the clock stops, so back-pressure
// is never blamed on the client. The first window doubles as the grace period (connection
// set-up, TCP slow start); a body that completes inside a window is never judged. Bytes banked
// in one window do not carry over, so a fast start cannot buy a slow trickle afterwards.
//
// Pure bookkeeping: the session feeds it times and byte counts, and arms its own timer for
// the instant waitDeadline() returns.
class BodyRateGuard {
public:
    using Clock = std::chrono::steady_clock;

    void start(std::uint64_t minRate, Clock::duration window) {
        m_minRate = minRate;
        m_window = window;
        m_waited = Clock::duration::zero();
        m_bytes = 0;
    }
    bool enabled() const { return m_minRate != 0 && m_window > Clock::duration::zero(); }

    // A read from the client starts at `now`; returns when the current window closes if the
    // read is still pending then.
    Clock::time_point beginWait(Clock::time_point now) {
        m_waitStart = now;
        return now + (m_window - m_waited);
    }
    // The read completed at `now` with `bytes`. False: a window closed below the rate.
    bool endWait(Clock::time_point now, std::uint64_t bytes) {
        m_waited += now - m_waitStart;
        m_waitStart = now;
        m_bytes += bytes;
        return judge();
    }
    // The window deadline passed with the read still pending. True: the window was fast enough
    // and a new one began at `now` (call beginWait again for its deadline).
    bool windowClosed(Clock::time_point now) {
        m_waited += now - m_waitStart;
        m_waitStart = now;
        return judge();
    }

private:
    bool judge() {
        if (m_waited < m_window) {
            return true;
        }
        const double seconds = std::chrono::duration<double>(m_waited).count();
        const bool fastEnough = static_cast<double>(m_bytes) >= static_cast<double>(m_minRate) * seconds;
        m_waited = Clock::duration::zero();
        m_bytes = 0;
        return fastEnough;
    }

    std::uint64_t m_minRate = 0;
    Clock::duration m_window{};
    Clock::duration m_waited{};
    Clock::time_point m_waitStart{};
    std::uint64_t m_bytes = 0;
};

} // namespace gaetwae::engine::http
