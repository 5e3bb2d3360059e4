#include "engine/loadgen/load_generator.hpp"

#include "engine/net/asio.hpp"

#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <chrono>
#include <deque>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

namespace gaetwae::engine::loadgen {

namespace beast = boost::beast;
namespace http = boost::beast::http;
using Clock = std::chrono::steady_clock;
using Stream = beast::basic_stream<tcp, Executor>;

// One thread: an io_context, a share of the connections, the backlog of due requests (open
// model) and the per-second statistics of what completed on it.
struct LoadGenerator::Worker {
    Worker(const LoadPlan& plan, unsigned connections, double share, std::size_t index, std::size_t workers,
           std::atomic<bool>& stop)
        : plan(plan), connections(connections), share(share), random(plan.seed + index), stopFlag(stop), wakeup(io) {
        wakeup.expires_at(SteadyTimer::time_point::max());
        // Each request is serialized once; sending is one write of those bytes.
        const std::string host =
            plan.hostHeader.empty() ? plan.host + ":" + std::to_string(plan.port) : plan.hostHeader;
        for (const auto& tmpl : plan.requests) {
            totalWeight += tmpl.weight;
            wire.push_back(serialize(host, tmpl.method, tmpl.target, tmpl.headers, tmpl.body));
        }
        // Replay: this worker sends every `workers`-th captured request, bodies as filler bytes.
        for (std::size_t i = index; plan.model == LoadPlan::Model::Replay && i < plan.replay.size(); i += workers) {
            const auto& entry = plan.replay[i];
            replayDue.push_back(std::chrono::duration_cast<Clock::duration>(
                std::chrono::duration<double, std::micro>(static_cast<double>(entry.offsetUs) / plan.speed)));
            replayWire.push_back(wire.size());
            wire.push_back(serialize(host, entry.method, entry.target, entry.headers,
                                     std::string(static_cast<std::size_t>(entry.bodyBytes), 'x')));
        }
    }

    static std::string serialize(const std::string& host, const std::string& method, const std::string& target,
                                 const std::vector<std::pair<std::string, std::string>>& headers,
                                 const std::string& body) {
        http::request<http::string_body> request;
        request.method_string(method);
        request.target(target);
        request.version(11);
        request.set(http::field::host, host);
        for (const auto& [name, value] : headers) {
            request.set(name, value);
        }
        if (!body.empty()) {
            request.body() = body;
        }
        request.prepare_payload();
        std::ostringstream bytes;
        bytes << request;
        return bytes.str();
    }

    // A request that is due: when, and which serialized request (npos: pick from the mix).
    struct Due {
        Clock::time_point at;
        std::size_t wire = std::string::npos;
    };

    const LoadPlan& plan;
    unsigned connections;
    double share; // of the schedule's rate
    asio::io_context io{1};
    std::thread thread;
    std::mt19937_64 random;
    std::atomic<bool>& stopFlag;
    std::uint64_t totalWeight = 0;
    std::vector<std::string> wire; // serialized requests: plan.requests, then this worker's replay
    std::vector<Clock::duration> replayDue; // replay: offsets of this worker's captured requests
    std::vector<std::size_t> replayWire;    // ... and their serialized requests
    Clock::time_point start;
    Clock::time_point end;
    std::deque<Due> backlog; // due and not sent yet (open and replay models)
    bool scheduleDone = false;
    SteadyTimer wakeup;
    std::mutex mutex; // guards seconds (read by the reporter)
    std::map<std::int64_t, IntervalStats> seconds;
    std::int64_t cachedIndex = -1;
    IntervalStats* cached = nullptr;

    // Adds to the second `when` falls in. The lock is only ever contended by the reporter once
    // a second; the current second's entry is cached (map nodes do not move).
    template <class Update>
    void record(Clock::time_point when, Update&& update) {
        const auto index = std::chrono::duration_cast<std::chrono::milliseconds>(when - start).count() / 1000;
        std::lock_guard lock(mutex);
        if (index != cachedIndex || cached == nullptr) {
            cached = &seconds[index];
            cachedIndex = index;
        }
        update(*cached);
    }

    const std::string& pick() {
        if (plan.requests.size() == 1 || totalWeight == 0) {
            return wire.front();
        }
        std::uniform_int_distribution<std::uint64_t> dist(0, totalWeight - 1);
        auto ticket = dist(random);
        for (std::size_t i = 0; i < plan.requests.size(); ++i) {
            if (ticket < plan.requests[i].weight) {
                return wire[i];
            }
            ticket -= plan.requests[i].weight;
        }
        return wire.back();
    }

    // Replay: each of this worker's captured requests is pushed when it comes due.
    Task<void> replaySchedule() {
        SteadyTimer timer(io);
        for (std::size_t i = 0; i < replayDue.size() && !stopFlag; ++i) {
            const auto due = start + replayDue[i];
            if (due > Clock::now()) {
                timer.expires_at(due);
                error_code ec;
                co_await timer.async_wait(noThrow(ec));
            }
            backlog.push_back(Due{due, replayWire[i]});
            wakeup.cancel();
        }
        scheduleDone = true;
        wakeup.cancel();
    }

    // Open model: due times at the schedule's rate (this worker's share), pushed as they come due.
    Task<void> schedule() {
        SteadyTimer timer(io);
        double offsetSeconds = 0;
        const double length = std::chrono::duration<double>(plan.length()).count();
        // The epsilon keeps float drift from adding one request at the very end.
        while (offsetSeconds < length - 1e-9 && !stopFlag) {
            const auto offset = std::chrono::milliseconds(static_cast<std::int64_t>(offsetSeconds * 1000));
            const double rate = plan.rateAt(offset) * share;
            if (rate <= 0) {
                offsetSeconds += 0.01;
                continue;
            }
            const auto due = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(offsetSeconds));
            if (due > Clock::now()) {
                timer.expires_at(due);
                error_code ec;
                co_await timer.async_wait(noThrow(ec));
            }
            backlog.push_back(Due{due});
            wakeup.cancel(); // idle connections look at the backlog
            offsetSeconds += 1.0 / rate;
        }
        scheduleDone = true;
        wakeup.cancel();
    }

    static std::string causeOf(const error_code& ec, bool connecting) {
        if (connecting) {
            return "connect_failure";
        }
        if (ec == beast::error::timeout) {
            return "timeout";
        }
        if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
            ec == asio::error::broken_pipe) {
            return "reset";
        }
        return "protocol";
    }

    Task<void> connection() {
        const tcp::endpoint endpoint(asio::ip::make_address(plan.host), plan.port);
        Stream stream(io);
        bool connected = false;
        beast::flat_buffer buffer;
        if (plan.model != LoadPlan::Model::Closed) {
            // Open and replay models connect before the first request is due (run() starts the
            // clock a little later), so connecting does not make the first requests late.
            error_code ec;
            stream.expires_after(plan.timeout);
            co_await stream.async_connect(endpoint, noThrow(ec));
            connected = !ec;
            if (ec) {
                stream.close(); // tried again when a request is due; counted then
            }
        }
        for (;;) {
            Clock::time_point due;
            std::size_t wireIndex = std::string::npos;
            if (plan.model == LoadPlan::Model::Closed) {
                if (stopFlag || Clock::now() >= end) {
                    break;
                }
                due = Clock::now();
            } else {
                while (backlog.empty() && !scheduleDone && !stopFlag) {
                    error_code ec;
                    co_await wakeup.async_wait(noThrow(ec));
                }
                if (backlog.empty() || stopFlag) {
                    break;
                }
                due = backlog.front().at;
                wireIndex = backlog.front().wire;
                backlog.pop_front();
            }
            error_code ec;
            if (!connected) {
                stream.expires_after(plan.timeout);
                co_await stream.async_connect(endpoint, noThrow(ec));
                if (ec) {
                    stream.close();
                    const auto cause = causeOf(ec, true);
                    record(Clock::now(), [&](IntervalStats& s) { s.errors[cause]++; });
                    if (plan.model == LoadPlan::Model::Closed) {
                        // Do not spin on a refused port: try again a little later.
                        SteadyTimer pause(io);
                        pause.expires_after(std::chrono::milliseconds(10));
                        co_await pause.async_wait(noThrow(ec));
                    }
                    continue;
                }
                connected = true;
                buffer.clear();
            }
            const std::string& wireRequest = wireIndex == std::string::npos ? pick() : wire[wireIndex];
            const auto sentAt = Clock::now();
            if (plan.model == LoadPlan::Model::Closed) {
                due = sentAt; // nothing is due before it is sent (connecting is not a request's time)
            }
            stream.expires_after(plan.timeout);
            co_await asio::async_write(stream, asio::buffer(wireRequest), noThrow(ec));
            http::response_parser<http::string_body> parser;
            parser.body_limit(std::numeric_limits<std::uint64_t>::max());
            if (!ec) {
                co_await http::async_read(stream, buffer, parser, noThrow(ec));
            }
            const auto done = Clock::now();
            if (ec) {
                stream.close();
                connected = false;
                const auto cause = causeOf(ec, false);
                record(done, [&](IntervalStats& s) {
                    s.sent++;
                    s.errors[cause]++;
                });
                continue;
            }
            const auto& response = parser.get();
            const auto status = response.result_int();
            const auto corrected = std::chrono::duration_cast<std::chrono::microseconds>(done - due).count();
            const auto uncorrected = std::chrono::duration_cast<std::chrono::microseconds>(done - sentAt).count();
            const auto bytes = response.body().size();
            record(done, [&](IntervalStats& s) {
                s.sent++; // counted with its outcome: one record per request
                s.completed++;
                if (status >= 100 && status < 600) {
                    s.responses[status / 100 - 1]++;
                }
                s.bytesIn += bytes;
                s.corrected.record(static_cast<std::uint64_t>(std::max<std::int64_t>(corrected, 0)));
                s.uncorrected.record(static_cast<std::uint64_t>(std::max<std::int64_t>(uncorrected, 0)));
            });
            if (!response.keep_alive()) {
                stream.close();
                connected = false;
            }
        }
        error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream.close();
    }

    void launch(Clock::time_point startAt) {
        start = startAt;
        end = startAt + plan.length();
        if (plan.model == LoadPlan::Model::Open) {
            asio::co_spawn(io, schedule(), asio::detached);
        } else if (plan.model == LoadPlan::Model::Replay) {
            asio::co_spawn(io, replaySchedule(), asio::detached);
        }
        for (unsigned i = 0; i < connections; ++i) {
            asio::co_spawn(io, connection(), asio::detached);
        }
        thread = std::thread([this] { io.run(); });
    }

    IntervalStats take(std::int64_t index) {
        std::lock_guard lock(mutex);
        const auto it = seconds.find(index);
        return it == seconds.end() ? IntervalStats{} : it->second;
    }
};

LoadGenerator::LoadGenerator(LoadPlan plan) : m_plan(std::move(plan)) {
    if (m_plan.requests.empty()) {
        m_plan.requests.emplace_back();
    }
    const unsigned threads = std::max(1u, std::min(m_plan.threads, std::max(1u, m_plan.connections)));
    const unsigned connections = std::max(1u, m_plan.connections);
    for (unsigned t = 0; t < threads; ++t) {
        const unsigned mine = connections / threads + (t < connections % threads ? 1 : 0);
        m_workers.push_back(std::make_unique<Worker>(m_plan, mine, static_cast<double>(mine) / connections, t, threads,
                                                     m_stop));
    }
}

LoadGenerator::~LoadGenerator() {
    stop();
    for (auto& worker : m_workers) {
        if (worker->thread.joinable()) {
            worker->thread.join();
        }
    }
}

void LoadGenerator::stop() {
    {
        std::lock_guard lock(m_wakeMutex);
        m_stop = true;
    }
    m_wake.notify_all();
    for (auto& worker : m_workers) {
        asio::post(worker->io, [w = worker.get()] { w->wakeup.cancel(); });
    }
}

LoadResult LoadGenerator::run(const std::function<void(const IntervalStats&)>& onSecond) {
    LoadResult result;
    // Open and replay models: the connections are opened during this lead, before anything is due.
    const auto lead = m_plan.model == LoadPlan::Model::Closed ? std::chrono::milliseconds(0)
                                                               : std::chrono::milliseconds(100);
    result.startedAtMs = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch() + lead)
                             .count();
    m_startedAtMs = result.startedAtMs;
    const auto start = Clock::now() + lead;
    for (auto& worker : m_workers) {
        worker->launch(start);
    }
    auto collect = [&](std::int64_t index) {
        IntervalStats second;
        second.offsetMs = (index + 1) * 1000;
        second.targetRps = m_plan.dueIn(index);
        for (auto& worker : m_workers) {
            second.merge(worker->take(index));
        }
        return second;
    };
    // Report each second once it is over (plus a little grace for completions being recorded).
    const auto seconds = (m_plan.length().count() + 999) / 1000;
    std::int64_t reported = 0;
    for (; reported < seconds && !m_stop; ++reported) {
        std::unique_lock lock(m_wakeMutex);
        if (m_wake.wait_until(lock, start + std::chrono::seconds(reported + 1) + std::chrono::milliseconds(50),
                              [this] { return m_stop.load(); })) {
            break; // stopped: the cut-short second is reported below, with its real length
        }
        lock.unlock();
        if (onSecond) {
            onSecond(collect(reported));
        }
    }
    for (auto& worker : m_workers) {
        worker->thread.join(); // requests in flight finish (bounded by the timeout)
    }
    result.interrupted = m_stop.load();
    result.elapsedSeconds = std::chrono::duration<double>(Clock::now() - start).count();
    // The final tally from everything recorded, late completions included.
    std::int64_t last = 0;
    for (auto& worker : m_workers) {
        std::lock_guard lock(worker->mutex);
        if (!worker->seconds.empty()) {
            last = std::max(last, worker->seconds.rbegin()->first);
        }
    }
    for (std::int64_t index = 0; index <= last; ++index) {
        auto second = collect(index);
        if (index >= reported && onSecond) {
            // Seconds a stop cut short, and completions after the schedule's end: reported too,
            // so the per-second record adds up to the total.
            if (index == last) {
                second.intervalMs = std::clamp<std::int64_t>(
                    static_cast<std::int64_t>(result.elapsedSeconds * 1000) - index * 1000, 1, 1000);
                second.offsetMs = index * 1000 + second.intervalMs;
            }
            onSecond(second);
        }
        result.total.merge(second);
        result.seconds.push_back(std::move(second));
    }
    result.total.intervalMs = static_cast<std::int64_t>(result.elapsedSeconds * 1000);
    result.total.offsetMs = result.total.intervalMs;
    return result;
}

} // namespace gaetwae::engine::loadgen
