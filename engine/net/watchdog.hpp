#pragma once

#include "engine/net/asio.hpp"

#include <chrono>
#include <functional>
#include <memory>

namespace gaetwae::engine::net {

// One deadline per connection, cheap to move. Moving the deadline later only writes a field;
// the underlying timer is re-armed when it fires early or when the deadline moves earlier, so a
// busy keep-alive connection costs about one timer operation per timeout period instead of two
// per read. On expiry the callback runs on the owner's executor (typically: cancel the sockets).
class Watchdog {
public:
    using Clock = std::chrono::steady_clock;

    Watchdog(const Executor& executor, std::function<void()> onExpired);
    ~Watchdog();
    Watchdog(const Watchdog&) = delete;
    Watchdog& operator=(const Watchdog&) = delete;

    void expireAt(Clock::time_point deadline);
    // Deadlines are taken from the coarse monotonic clock (same epoch as steady_clock, a few ms
    // of resolution, no TSC read): sessions set several per request. Expiry is checked precisely.
    void expireAfter(Clock::duration timeout) { expireAt(coarseNow() + timeout); }

    static Clock::time_point coarseNow();
    void disarm() { m_deadline = Clock::time_point::max(); }

private:
    void arm(Clock::time_point at);
    void onTimer(std::uint64_t generation);

    SteadyTimer m_timer;
    std::function<void()> m_onExpired;
    Clock::time_point m_deadline = Clock::time_point::max();
    Clock::time_point m_armedFor = Clock::time_point::max();
    std::uint64_t m_generation = 0;
    bool m_waiting = false;
    // Completion handlers hold this, not `this`: a handler already queued when the owner dies
    // must find out without touching freed memory.
    std::shared_ptr<Watchdog*> m_alive;
};

} // namespace gaetwae::engine::net
