#include "engine/health/circuit_breaker.hpp"

#include <algorithm>
#include <cmath>

namespace gaetwae::engine::health {

std::string_view toString(BreakerState state) {
    switch (state) {
    case BreakerState::Closed:
        return "closed";
    case BreakerState::Open:
        return "open";
    case BreakerState::HalfOpen:
        return "half_open";
    }
    return "unknown";
}

BreakerMachine::BreakerMachine(const model::CircuitBreakerConfig& config)
    : m_config(config) {}

bool BreakerMachine::wouldAdmit(core::TimePoint now) const {
    switch (m_state) {
    case BreakerState::Closed:
        return true;
    case BreakerState::Open:
        return now >= m_openUntil; // the first caller turns it half-open
    case BreakerState::HalfOpen:
        return m_halfOpenAdmitted < m_config.halfOpenRequests;
    }
    return false;
}

bool BreakerMachine::tryAcquire(core::TimePoint now, std::optional<BreakerTransition>& transition) {
    if (m_state == BreakerState::Open && now >= m_openUntil) {
        m_state = BreakerState::HalfOpen;
        m_halfOpenAdmitted = 0;
        m_halfOpenSuccesses = 0;
        transition = BreakerTransition{BreakerState::Open, BreakerState::HalfOpen, {}};
    }
    switch (m_state) {
    case BreakerState::Closed:
        return true;
    case BreakerState::Open:
        return false;
    case BreakerState::HalfOpen:
        if (m_halfOpenAdmitted < m_config.halfOpenRequests) {
            ++m_halfOpenAdmitted;
            return true;
        }
        return false;
    }
    return false;
}

void BreakerMachine::release() {
    if (m_state == BreakerState::HalfOpen && m_halfOpenAdmitted > 0) {
        --m_halfOpenAdmitted;
    }
}

void BreakerMachine::record(bool success, core::TimePoint now, double jitter,
                            std::optional<BreakerTransition>& transition) {
    switch (m_state) {
    case BreakerState::Closed:
        countInWindow(success, now);
        if (success) {
            m_consecutiveFailures = 0;
            return;
        }
        ++m_consecutiveFailures;
        if ((m_config.consecutiveFailures > 0 && m_consecutiveFailures >= m_config.consecutiveFailures) ||
            ratioExceeded(now)) {
            trip(now, jitter, transition);
        }
        return;
    case BreakerState::Open:
        return; // a late answer to a request admitted before the trip changes nothing
    case BreakerState::HalfOpen:
        if (!success) {
            trip(now, jitter, transition);
            return;
        }
        if (++m_halfOpenSuccesses >= m_config.successThreshold) {
            m_state = BreakerState::Closed;
            m_trips = 0;
            m_consecutiveFailures = 0;
            m_buckets = {};
            transition = BreakerTransition{BreakerState::HalfOpen, BreakerState::Closed, {}};
        }
        return;
    }
}

void BreakerMachine::trip(core::TimePoint now, double jitter, std::optional<BreakerTransition>& transition) {
    const BreakerState from = m_state;
    // open timeout = base * 2^(repeated trips), +-10% jitter, capped.
    const double growth = std::pow(2.0, std::min<std::uint32_t>(m_trips, 20));
    const double base = static_cast<double>(m_config.openTimeout.count()) * growth;
    const double capped = std::min(base, static_cast<double>(m_config.maxOpenTimeout.count()));
    const double jittered = capped * (0.9 + 0.2 * jitter);
    m_state = BreakerState::Open;
    ++m_trips;
    m_consecutiveFailures = 0;
    m_halfOpenAdmitted = 0;
    m_halfOpenSuccesses = 0;
    m_openUntil = now + std::chrono::duration_cast<core::Nanoseconds>(std::chrono::duration<double, std::milli>(jittered));
    transition = BreakerTransition{from, BreakerState::Open, m_openUntil};
}

void BreakerMachine::countInWindow(bool success, core::TimePoint now) {
    if (m_config.errorRatio <= 0) {
        return;
    }
    const auto width = std::max<std::int64_t>(1, std::chrono::duration_cast<core::Nanoseconds>(m_config.window).count() /
                                                     static_cast<std::int64_t>(kBuckets));
    const std::int64_t slot = core::toNanos(now) / width;
    Bucket& bucket = m_buckets[static_cast<std::size_t>(slot % static_cast<std::int64_t>(kBuckets))];
    if (bucket.slot != slot) {
        bucket = Bucket{slot, 0, 0};
    }
    ++bucket.requests;
    bucket.failures += success ? 0 : 1;
}

bool BreakerMachine::ratioExceeded(core::TimePoint now) const {
    if (m_config.errorRatio <= 0) {
        return false;
    }
    const auto width = std::max<std::int64_t>(1, std::chrono::duration_cast<core::Nanoseconds>(m_config.window).count() /
                                                     static_cast<std::int64_t>(kBuckets));
    const std::int64_t current = core::toNanos(now) / width;
    std::uint64_t requests = 0;
    std::uint64_t failures = 0;
    for (const Bucket& bucket : m_buckets) {
        if (bucket.slot > current - static_cast<std::int64_t>(kBuckets) && bucket.slot <= current) {
            requests += bucket.requests;
            failures += bucket.failures;
        }
    }
    return requests >= m_config.minRequests &&
           static_cast<double>(failures) >= m_config.errorRatio * static_cast<double>(requests);
}

CircuitBreaker::CircuitBreaker(const model::CircuitBreakerConfig& config)
    : m_machine(config) {
    reconfigure(config);
}

void CircuitBreaker::reconfigure(const model::CircuitBreakerConfig& config) {
    std::lock_guard lock(m_mutex);
    // A new config starts a fresh machine only when it changed: a reload must not close an open breaker.
    m_enabled = config.enabled;
    m_tracksRatio = config.errorRatio > 0;
    BreakerMachine fresh(config);
    if (m_machine.state() == BreakerState::Closed) {
        m_machine = fresh;
        m_state = BreakerState::Closed;
        m_clean = !m_tracksRatio;
    }
}

bool CircuitBreaker::wouldAdmit(core::TimePoint now) const {
    if (!enabled()) {
        return true;
    }
    const BreakerState state = m_state.load(std::memory_order_relaxed);
    if (state == BreakerState::Closed) {
        return true;
    }
    std::lock_guard lock(m_mutex);
    return m_machine.wouldAdmit(now);
}

bool CircuitBreaker::tryAcquire(core::TimePoint now, std::optional<BreakerTransition>& transition) {
    if (!enabled() || m_state.load(std::memory_order_relaxed) == BreakerState::Closed) {
        return true;
    }
    std::lock_guard lock(m_mutex);
    const bool admitted = m_machine.tryAcquire(now, transition);
    m_state.store(m_machine.state(), std::memory_order_relaxed);
    return admitted;
}

void CircuitBreaker::release() {
    if (m_state.load(std::memory_order_relaxed) != BreakerState::HalfOpen) {
        return;
    }
    std::lock_guard lock(m_mutex);
    m_machine.release();
}

void CircuitBreaker::record(bool success, core::TimePoint now, double jitter,
                            std::optional<BreakerTransition>& transition) {
    if (!enabled()) {
        return;
    }
    if (success && m_clean.load(std::memory_order_relaxed)) {
        return; // closed, no failure streak, nothing to count: the common case stays lock-free
    }
    std::lock_guard lock(m_mutex);
    m_machine.record(success, now, jitter, transition);
    m_state.store(m_machine.state(), std::memory_order_relaxed);
    m_clean.store(!m_tracksRatio && m_machine.state() == BreakerState::Closed && success, std::memory_order_relaxed);
}

std::uint32_t CircuitBreaker::trips() const {
    std::lock_guard lock(m_mutex);
    return m_machine.trips();
}

} // namespace gaetwae::engine::health
