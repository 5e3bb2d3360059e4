#pragma once

#include "engine/core/event_bus.hpp"
#include "engine/net/asio.hpp"
#include "shared/loadtest/schedule.hpp"
#include "shared/protocol/admin_messages.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace gaetwae::engine::core {

// One recording of a route's live requests (`capture.start`): which requests to keep (a
// deterministic sample, at most maxRequests) and the kept entries, in arrival order.
//
// Workers offer every request that matched the route; the entry is built and appended under a
// mutex per capture, and its offset is read from the steady clock under that same lock, so
// entries are in arrival order with non-decreasing offsets across workers. Offsets are
// microseconds since the capture started (steady clock, not the injectable Clock: a replay needs
// real durations, as latency samples do). Credential headers are never kept, whatever the
// settings say.
class TrafficCapture {
public:
    enum class State { Running, Finished, Stopped };
    using SteadyTime = std::chrono::steady_clock::time_point;

    TrafficCapture(std::uint64_t id, const protocol::CaptureStartParams& settings, SteadyTime start,
                   std::int64_t startedAtMs);

    std::uint64_t id() const { return m_id; }
    const std::string& route() const { return m_settings.route; }
    SteadyTime endsAt() const { return m_end; }

    // ---- worker threads
    // Counts one request that matched the route and records it when sampled and under the cap.
    // `header(name)` returns the first value of a header by lower-case name. `bodyBytes` is
    // nullopt when the size is not known yet (a chunked body): the entry then stays pending,
    // and entries() stops before it, until completeBody(). Returns the entry's index when
    // recorded; nullopt when skipped, dropped, or the capture is over.
    template <class HeaderLookup>
    std::optional<std::size_t> offer(std::string_view method, std::string_view target,
                                     const HeaderLookup& header, std::optional<std::uint64_t> bodyBytes);
    void completeBody(std::size_t index, std::uint64_t bodyBytes);

    // ---- control thread (any thread, in fact: everything is under the capture's lock)
    // Ends the capture (a later end does not override an earlier one).
    void end(State state, std::int64_t endedAtMs);
    State state() const;
    protocol::CaptureStatus status() const;
    // Entries [after, after + limit), stopping before the first pending one. nullopt when
    // `after` is past the last entry.
    std::optional<protocol::CaptureGetResult> entries(std::uint64_t after, std::size_t limit) const;

private:
    // Sampling decision and counters; true when the request is to be recorded.
    bool admitLocked();

    const std::uint64_t m_id;
    const protocol::CaptureStartParams m_settings; // headers without credentials
    const SteadyTime m_start;
    const SteadyTime m_end;
    const std::int64_t m_startedAtMs;
    // Error diffusion in millionths: each request adds m_rate, a request is taken whenever the
    // sum reaches a million. Exact for any rate: 0.5 over 200 requests takes exactly 100.
    const std::int64_t m_rate;

    mutable std::mutex m_mutex;
    State m_state = State::Running;
    std::int64_t m_endsAtMs;
    std::int64_t m_accumulator = 0;
    std::uint64_t m_skipped = 0;
    std::uint64_t m_dropped = 0;
    std::deque<loadtest::ScheduleEntry> m_entries; // grows without moving what it holds
    std::set<std::size_t> m_pending;               // entries whose body size is still being counted
};

// The body sizes a request still owes to the captures that recorded it (chunked bodies, whose
// size is known only once relayed). complete() fills them in; a ticket dropped without it (the
// body was never forwarded, or the session ended first) fills in 0. Worker thread only.
class CaptureTicket {
public:
    CaptureTicket() = default;
    CaptureTicket(CaptureTicket&& other) noexcept
        : m_items(std::move(other.m_items)) {
        other.m_items.clear();
    }
    CaptureTicket& operator=(CaptureTicket&&) = delete;
    CaptureTicket(const CaptureTicket&) = delete;
    CaptureTicket& operator=(const CaptureTicket&) = delete;
    ~CaptureTicket() { complete(0); }

    void add(std::shared_ptr<TrafficCapture> capture, std::size_t index) {
        m_items.emplace_back(std::move(capture), index);
    }
    // Idempotent: the first call decides.
    void complete(std::uint64_t bodyBytes) {
        for (auto& [capture, index] : m_items) {
            capture->completeBody(index, bodyBytes);
        }
        m_items.clear();
    }

private:
    std::vector<std::pair<std::shared_ptr<TrafficCapture>, std::size_t>> m_items;
};

// Refusals of the registry's operations, mapped to JSON-RPC errors by the admin service.
struct CaptureRefusal {
    enum class Reason { UnknownCapture, TooManyRunning, AfterPastEnd };
    Reason reason = Reason::UnknownCapture;
    std::string message;
};
template <class T> using CaptureAnswer = std::variant<T, CaptureRefusal>;

// The engine's captures: at most protocol::capture::kMaxRunning running, the last
// kKeepFinished ended ones kept for retrieval. A capture ends by itself at its end time (a
// timer on the control thread; workers also stop recording into it once the time has passed,
// so a late timer records nothing extra). Publishes `capture` events when one starts and ends.
//
// Hot path: active() is one relaxed load of the running count; only when it is non-zero does a
// worker take the registry's lock to copy the (immutable) set of running captures.
class CaptureRegistry {
public:
    CaptureRegistry(asio::io_context& control, EventBus& events);
    ~CaptureRegistry();
    CaptureRegistry(const CaptureRegistry&) = delete;
    CaptureRegistry& operator=(const CaptureRegistry&) = delete;

    // ---- worker threads
    bool active() const { return m_running.load(std::memory_order_relaxed) != 0; }
    // Offers a request that matched `route` to every running capture of that route; chunked
    // bodies (bodyBytes nullopt) leave their entries in `ticket` to complete.
    template <class HeaderLookup>
    void offer(std::string_view route, std::string_view method, std::string_view target,
               const HeaderLookup& header, std::optional<std::uint64_t> bodyBytes, CaptureTicket& ticket);

    // ---- control plane; thread-safe. `params` are decoded (and so checked) by the protocol
    // codec; whether the route exists is the caller's business.
    CaptureAnswer<protocol::CaptureStartResult> start(const protocol::CaptureStartParams& params);
    CaptureAnswer<protocol::CaptureStatus> status(std::uint64_t id);
    CaptureAnswer<protocol::CaptureStatus> stop(std::uint64_t id);
    CaptureAnswer<protocol::CaptureGetResult> get(const protocol::CaptureGetParams& params);
    protocol::CaptureListResult list();

private:
    using Set = std::vector<std::shared_ptr<TrafficCapture>>;

    // Moves captures whose time is up to the finished list and returns them, for
    // publishEnded() once the lock is released. Caller holds m_mutex.
    std::vector<std::shared_ptr<TrafficCapture>> reapLocked();
    void endLocked(const std::shared_ptr<TrafficCapture>& capture, TrafficCapture::State state);
    std::shared_ptr<TrafficCapture> findLocked(std::uint64_t id) const;
    // Events are published without m_mutex held: listeners may call back into the registry.
    void publishEnded(const std::vector<std::shared_ptr<TrafficCapture>>& ended);

    asio::io_context& m_control;
    EventBus& m_events;
    std::atomic<std::size_t> m_running{0};
    mutable std::mutex m_mutex;
    std::shared_ptr<const Set> m_active = std::make_shared<const Set>(); // replaced, never modified
    std::deque<std::shared_ptr<TrafficCapture>> m_finished;              // oldest first
    std::map<std::uint64_t, std::unique_ptr<SteadyTimer>> m_timers;      // by capture id, while running
    std::uint64_t m_nextId = 1;
};

// ------------------------------------------------------------------------------ templates

template <class HeaderLookup>
std::optional<std::size_t> TrafficCapture::offer(std::string_view method, std::string_view target,
                                                 const HeaderLookup& header,
                                                 std::optional<std::uint64_t> bodyBytes) {
    std::lock_guard lock(m_mutex);
    const auto now = std::chrono::steady_clock::now();
    if (m_state != State::Running || now >= m_end || !admitLocked()) {
        return std::nullopt;
    }
    loadtest::ScheduleEntry& entry = m_entries.emplace_back();
    entry.offsetUs = std::chrono::duration_cast<std::chrono::microseconds>(now - m_start).count();
    entry.method.assign(method);
    entry.target.assign(target);
    for (const auto& name : m_settings.headers) {
        if (const std::optional<std::string_view> value = header(name)) {
            entry.headers.emplace_back(name, std::string(*value));
        }
    }
    entry.bodyBytes = bodyBytes.value_or(0);
    const std::size_t index = m_entries.size() - 1;
    if (!bodyBytes) {
        m_pending.insert(index);
    }
    return index;
}

template <class HeaderLookup>
void CaptureRegistry::offer(std::string_view route, std::string_view method, std::string_view target,
                            const HeaderLookup& header, std::optional<std::uint64_t> bodyBytes,
                            CaptureTicket& ticket) {
    std::shared_ptr<const Set> running;
    {
        std::lock_guard lock(m_mutex);
        running = m_active;
    }
    for (const auto& capture : *running) {
        if (capture->route() != route) {
            continue;
        }
        const auto index = capture->offer(method, target, header, bodyBytes);
        if (index && !bodyBytes) {
            ticket.add(capture, *index);
        }
    }
}

} // namespace gaetwae::engine::core
