#include "engine/net/watchdog.hpp"

#include <time.h>

namespace gaetwae::engine::net {

Watchdog::Clock::time_point Watchdog::coarseNow() {
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
    return Clock::time_point(std::chrono::duration_cast<Clock::duration>(std::chrono::seconds(now.tv_sec) +
                                                                         std::chrono::nanoseconds(now.tv_nsec)));
}

Watchdog::Watchdog(const Executor& executor, std::function<void()> onExpired)
    : m_timer(executor)
    , m_onExpired(std::move(onExpired))
    , m_alive(std::make_shared<Watchdog*>(this)) {}

Watchdog::~Watchdog() {
    *m_alive = nullptr;
}

void Watchdog::expireAt(Clock::time_point deadline) {
    m_deadline = deadline;
    if (!m_waiting || deadline < m_armedFor) {
        arm(deadline);
    }
}

void Watchdog::arm(Clock::time_point at) {
    m_armedFor = at;
    m_waiting = true;
    const std::uint64_t generation = ++m_generation;
    m_timer.expires_at(at);
    m_timer.async_wait([alive = m_alive, generation](const error_code& ec) {
        Watchdog* self = *alive;
        if (self == nullptr || ec == asio::error::operation_aborted) {
            return;
        }
        self->onTimer(generation);
    });
}

void Watchdog::onTimer(std::uint64_t generation) {
    if (generation != m_generation) {
        return; // a newer wait superseded this one
    }
    m_waiting = false;
    if (m_deadline == Clock::time_point::max()) {
        return;
    }
    if (Clock::now() >= m_deadline) {
        m_deadline = Clock::time_point::max();
        m_onExpired();
        return;
    }
    arm(m_deadline);
}

} // namespace gaetwae::engine::net
