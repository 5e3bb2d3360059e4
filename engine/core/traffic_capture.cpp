#include "engine/core/traffic_capture.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

namespace gaetwae::engine::core {

namespace {

constexpr std::int64_t kMillion = 1'000'000;

std::int64_t wallClockMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string_view toString(TrafficCapture::State state) {
    switch (state) {
    case TrafficCapture::State::Running:
        return "running";
    case TrafficCapture::State::Finished:
        return "finished";
    case TrafficCapture::State::Stopped:
        return "stopped";
    }
    return "running";
}

protocol::CaptureStartParams withoutCredentials(protocol::CaptureStartParams settings) {
    std::erase_if(settings.headers,
                  [](const std::string& name) { return protocol::isCredentialHeader(name); });
    return settings;
}

} // namespace

// ------------------------------------------------------------------------------ TrafficCapture

TrafficCapture::TrafficCapture(std::uint64_t id, const protocol::CaptureStartParams& settings,
                               SteadyTime start, std::int64_t startedAtMs)
    : m_id(id)
    , m_settings(withoutCredentials(settings))
    , m_start(start)
    , m_end(start + std::chrono::milliseconds(settings.durationMs))
    , m_startedAtMs(startedAtMs)
    , m_rate(std::clamp<std::int64_t>(std::llround(settings.sample * kMillion), 1, kMillion))
    , m_endsAtMs(startedAtMs + settings.durationMs) {}

bool TrafficCapture::admitLocked() {
    m_accumulator += m_rate;
    if (m_accumulator < kMillion) {
        ++m_skipped;
        return false;
    }
    m_accumulator -= kMillion;
    if (m_entries.size() >= m_settings.maxRequests) {
        ++m_dropped;
        return false;
    }
    return true;
}

void TrafficCapture::completeBody(std::size_t index, std::uint64_t bodyBytes) {
    std::lock_guard lock(m_mutex);
    if (m_pending.erase(index) != 0) {
        m_entries[index].bodyBytes = bodyBytes;
    }
}

void TrafficCapture::end(State state, std::int64_t endedAtMs) {
    std::lock_guard lock(m_mutex);
    if (m_state != State::Running) {
        return;
    }
    m_state = state;
    m_endsAtMs = std::min(m_endsAtMs, endedAtMs);
}

TrafficCapture::State TrafficCapture::state() const {
    std::lock_guard lock(m_mutex);
    return m_state;
}

protocol::CaptureStatus TrafficCapture::status() const {
    protocol::CaptureStatus status;
    status.captureId = m_id;
    status.route = m_settings.route;
    status.headers = m_settings.headers;
    status.sample = m_settings.sample;
    status.maxRequests = m_settings.maxRequests;
    status.startedAtMs = m_startedAtMs;
    std::lock_guard lock(m_mutex);
    status.state = std::string(toString(m_state));
    status.captured = m_entries.size();
    status.skipped = m_skipped;
    status.dropped = m_dropped;
    status.endsAtMs = m_endsAtMs;
    return status;
}

std::optional<protocol::CaptureGetResult> TrafficCapture::entries(std::uint64_t after,
                                                                  std::size_t limit) const {
    protocol::CaptureGetResult result;
    result.captureId = m_id;
    std::lock_guard lock(m_mutex);
    if (after > m_entries.size()) {
        return std::nullopt;
    }
    std::size_t end =
        static_cast<std::size_t>(after) + std::min(limit, m_entries.size() - static_cast<std::size_t>(after));
    if (!m_pending.empty()) {
        // A chunked body still streaming: its size is not known yet, so the entries stop there.
        end = std::max(static_cast<std::size_t>(after), std::min(end, *m_pending.begin()));
    }
    result.state = std::string(toString(m_state));
    result.entries.assign(m_entries.begin() + static_cast<std::ptrdiff_t>(after),
                          m_entries.begin() + static_cast<std::ptrdiff_t>(end));
    result.next = end;
    result.complete = m_state != State::Running && m_pending.empty() && end == m_entries.size();
    return result;
}

// ------------------------------------------------------------------------------ CaptureRegistry

CaptureRegistry::CaptureRegistry(asio::io_context& control, EventBus& events)
    : m_control(control)
    , m_events(events) {}

CaptureRegistry::~CaptureRegistry() {
    std::lock_guard lock(m_mutex);
    m_timers.clear(); // cancels their waits; the handlers find nothing to do
}

CaptureAnswer<protocol::CaptureStartResult>
CaptureRegistry::start(const protocol::CaptureStartParams& params) {
    std::shared_ptr<TrafficCapture> capture;
    std::vector<std::shared_ptr<TrafficCapture>> ended;
    {
        std::lock_guard lock(m_mutex);
        ended = reapLocked();
        if (m_active->size() >= protocol::capture::kMaxRunning) {
            return CaptureRefusal{
                CaptureRefusal::Reason::TooManyRunning,
                std::to_string(protocol::capture::kMaxRunning) +
                    " captures are running already: stop one (capture.stop) or wait for one to end"};
        }
        capture = std::make_shared<TrafficCapture>(m_nextId++, params, std::chrono::steady_clock::now(),
                                                   wallClockMs());
        auto next = std::make_shared<Set>(*m_active);
        next->push_back(capture);
        m_active = std::move(next);
        m_running.store(m_active->size(), std::memory_order_relaxed);

        auto timer = std::make_unique<SteadyTimer>(m_control);
        timer->expires_at(capture->endsAt());
        timer->async_wait([this](const error_code& ec) {
            if (ec) {
                return;
            }
            std::vector<std::shared_ptr<TrafficCapture>> due;
            {
                std::lock_guard lock(m_mutex);
                due = reapLocked();
            }
            publishEnded(due);
        });
        m_timers.emplace(capture->id(), std::move(timer));
    }
    publishEnded(ended);
    const auto status = capture->status();
    EngineEvent event;
    event.kind = EngineEvent::Kind::Capture;
    event.to = "running";
    event.detail =
        fmt::format("capture {} of route {} started: sample {:g}, at most {} requests, for {} ms",
                    status.captureId, status.route, status.sample, status.maxRequests, params.durationMs);
    event.data = nlohmann::json::object();
    event.data["captureId"] = status.captureId;
    event.data["route"] = status.route;
    m_events.publish(std::move(event));
    spdlog::info("capture {} of route '{}' started", status.captureId, status.route);
    return protocol::CaptureStartResult{status.captureId, status.route, status.startedAtMs, status.endsAtMs};
}

std::vector<std::shared_ptr<TrafficCapture>> CaptureRegistry::reapLocked() {
    const auto now = std::chrono::steady_clock::now();
    std::vector<std::shared_ptr<TrafficCapture>> due;
    for (const auto& capture : *m_active) {
        if (now >= capture->endsAt()) {
            due.push_back(capture);
        }
    }
    for (const auto& capture : due) {
        endLocked(capture, TrafficCapture::State::Finished);
    }
    return due;
}

void CaptureRegistry::endLocked(const std::shared_ptr<TrafficCapture>& capture, TrafficCapture::State state) {
    const auto endedAtMs =
        state == TrafficCapture::State::Finished ? capture->status().endsAtMs : wallClockMs();
    capture->end(state, endedAtMs);
    auto next = std::make_shared<Set>();
    for (const auto& running : *m_active) {
        if (running != capture) {
            next->push_back(running);
        }
    }
    m_active = std::move(next);
    m_running.store(m_active->size(), std::memory_order_relaxed);
    m_timers.erase(capture->id());
    m_finished.push_back(capture);
    while (m_finished.size() > protocol::capture::kKeepFinished) {
        m_finished.pop_front();
    }
}

std::shared_ptr<TrafficCapture> CaptureRegistry::findLocked(std::uint64_t id) const {
    for (const auto& capture : *m_active) {
        if (capture->id() == id) {
            return capture;
        }
    }
    for (const auto& capture : m_finished) {
        if (capture->id() == id) {
            return capture;
        }
    }
    return nullptr;
}

void CaptureRegistry::publishEnded(const std::vector<std::shared_ptr<TrafficCapture>>& ended) {
    for (const auto& capture : ended) {
        const auto status = capture->status();
        EngineEvent event;
        event.kind = EngineEvent::Kind::Capture;
        event.from = "running";
        event.to = status.state;
        event.detail =
            fmt::format("capture {} of route {} {}: {} captured, {} skipped, {} dropped", status.captureId,
                        status.route, status.state, status.captured, status.skipped, status.dropped);
        event.data = nlohmann::json::object();
        event.data["captureId"] = status.captureId;
        event.data["route"] = status.route;
        event.data["captured"] = status.captured;
        m_events.publish(std::move(event));
    }
}

namespace {

CaptureRefusal unknownCapture(std::uint64_t id) {
    return CaptureRefusal{CaptureRefusal::Reason::UnknownCapture,
                          "no capture " + std::to_string(id) +
                              " (unknown, or ended longer ago than the last " +
                              std::to_string(protocol::capture::kKeepFinished) + " kept)"};
}

} // namespace

CaptureAnswer<protocol::CaptureStatus> CaptureRegistry::status(std::uint64_t id) {
    std::shared_ptr<TrafficCapture> capture;
    std::vector<std::shared_ptr<TrafficCapture>> ended;
    {
        std::lock_guard lock(m_mutex);
        ended = reapLocked();
        capture = findLocked(id);
    }
    publishEnded(ended);
    if (!capture) {
        return unknownCapture(id);
    }
    return capture->status();
}

CaptureAnswer<protocol::CaptureStatus> CaptureRegistry::stop(std::uint64_t id) {
    std::shared_ptr<TrafficCapture> capture;
    std::vector<std::shared_ptr<TrafficCapture>> ended;
    {
        std::lock_guard lock(m_mutex);
        ended = reapLocked();
        capture = findLocked(id);
        if (capture && capture->state() == TrafficCapture::State::Running) {
            endLocked(capture, TrafficCapture::State::Stopped);
            ended.push_back(capture);
        }
    }
    publishEnded(ended);
    if (!capture) {
        return unknownCapture(id);
    }
    return capture->status();
}

CaptureAnswer<protocol::CaptureGetResult> CaptureRegistry::get(const protocol::CaptureGetParams& params) {
    std::shared_ptr<TrafficCapture> capture;
    std::vector<std::shared_ptr<TrafficCapture>> ended;
    {
        std::lock_guard lock(m_mutex);
        ended = reapLocked();
        capture = findLocked(params.captureId);
    }
    publishEnded(ended);
    if (!capture) {
        return unknownCapture(params.captureId);
    }
    // Copied outside the registry's lock: workers need it to look up running captures.
    auto result = capture->entries(params.after, static_cast<std::size_t>(params.limit));
    if (!result) {
        return CaptureRefusal{CaptureRefusal::Reason::AfterPastEnd,
                              "after (" + std::to_string(params.after) +
                                  ") is past the last entry of capture " + std::to_string(params.captureId) +
                                  " (" + std::to_string(capture->status().captured) + " captured)"};
    }
    return std::move(*result);
}

protocol::CaptureListResult CaptureRegistry::list() {
    std::vector<std::shared_ptr<TrafficCapture>> all;
    std::vector<std::shared_ptr<TrafficCapture>> ended;
    {
        std::lock_guard lock(m_mutex);
        ended = reapLocked();
        all.assign(m_active->begin(), m_active->end());
        all.insert(all.end(), m_finished.begin(), m_finished.end());
    }
    publishEnded(ended);
    std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a->id() < b->id(); });
    protocol::CaptureListResult result;
    for (const auto& capture : all) {
        result.captures.push_back(capture->status());
    }
    return result;
}

} // namespace gaetwae::engine::core
