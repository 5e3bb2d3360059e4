#include "engine/loadgen/load_generator.hpp"

#include "engine/net/asio.hpp"

#include "engine/loadgen/response_reader.hpp"

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
            wireIsHead.push_back(tmpl.method == "HEAD");
        }
        // Replay: this worker sends every `workers`-th captured request, bodies as filler bytes.
        for (std::size_t i = index; plan.model == LoadPlan::Model::Replay && i < plan.replay.size(); i += workers) {
            const auto& entry = plan.replay[i];
            replayDue.push_back(std::chrono::duration_cast<Clock::duration>(
                std::chrono::duration<double, std::micro>(static_cast<double>(entry.offsetUs) / plan.speed)));
            replayWire.push_back(wire.size());
            wire.push_back(serialize(host, entry.method, entry.target, entry.headers,
                                     std::string(static_cast<std::size_t>(entry.bodyBytes), 'x')));
            wireIsHead.push_back(entry.method == "HEAD");
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
    // One thread runs it: no locking in the reactor's I/O (posts from other threads stay safe).
    asio::io_context io{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
    std::thread thread;
    std::mt19937_64 random;
    std::atomic<bool>& stopFlag;
    std::uint64_t totalWeight = 0;
    std::vector<std::string> wire; // serialized requests: plan.requests, then this worker's replay
    std::vector<bool> wireIsHead;  // ... whose answers have no body
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

    std::size_t pick() {
        if (plan.requests.size() == 1 || totalWeight == 0) {
            return 0;
        }
        std::uniform_int_distribution<std::uint64_t> dist(0, totalWeight - 1);
        auto ticket = dist(random);
        for (std::size_t i = 0; i < plan.requests.size(); ++i) {
            if (ticket < plan.requests[i].weight) {
                return i;
            }
            ticket -= plan.requests[i].weight;
        }
        return plan.requests.size() - 1;
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

    static std::string causeOf(const error_code& ec, bool connecting, bool timedOut) {
        if (timedOut) {
            return "timeout";
        }
        if (connecting) {
            return "connect_failure";
        }
        if (ec == asio::error::eof || ec == asio::error::connection_reset || ec == asio::error::broken_pipe) {
            return "reset";
        }
        return "protocol";
    }

    // An operation in progress on a connection, with its deadline. The sweeper cancels the
    // socket of one that is overdue: one timer per thread instead of one per read and write.
    struct Pending {
        tcp::socket* socket = nullptr;
        Clock::time_point deadline = Clock::time_point::max();
        bool timedOut = false;
    };
    std::vector<Pending*> pendings;
    unsigned liveConnections = 0;

    Task<void> sweep() {
        SteadyTimer timer(io);
        while (liveConnections > 0) {
            timer.expires_after(std::chrono::milliseconds(50));
            error_code ec;
            co_await timer.async_wait(noThrow(ec));
            const auto now = Clock::now();
            for (auto* pending : pendings) {
                if (now > pending->deadline && !pending->timedOut) {
                    pending->timedOut = true;
                    error_code ignored;
                    pending->socket->cancel(ignored);
                }
            }
        }
    }

    Task<void> connection() {
        const tcp::endpoint endpoint(asio::ip::make_address(plan.host), plan.port);
        tcp::socket socket(io);
        Pending pending{&socket};
        pendings.push_back(&pending);
        bool connected = false;
        std::vector<char> buffer(64 * 1024);
        std::size_t begin = 0; // unread bytes are buffer[begin, end)
        std::size_t end = 0;
        ResponseReader reader;
        const auto connect = [&]() -> Task<error_code> {
            error_code ec;
            socket = tcp::socket(io);
            pending.timedOut = false;
            pending.deadline = Clock::now() + plan.timeout;
            co_await socket.async_connect(endpoint, noThrow(ec));
            pending.deadline = Clock::time_point::max();
            if (!ec) {
                socket.set_option(tcp::no_delay(true), ec);
                begin = end = 0;
            }
            co_return ec;
        };
        if (plan.model != LoadPlan::Model::Closed) {
            // Open and replay models connect before the first request is due (run() starts the
            // clock a little later), so connecting does not make the first requests late.
            connected = !(co_await connect()); // tried again when a request is due; counted then
        }
        Clock::time_point now = Clock::now();
        for (;;) {
            Clock::time_point due;
            std::size_t wireIndex = std::string::npos;
            if (plan.model == LoadPlan::Model::Closed) {
                if (stopFlag || now >= this->end) {
                    break;
                }
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
            if (!connected) {
                const auto ec = co_await connect();
                if (ec) {
                    error_code ignored;
                    socket.close(ignored);
                    const auto cause = causeOf(ec, true, pending.timedOut);
                    now = Clock::now();
                    record(now, [&](IntervalStats& s) { s.errors[cause]++; });
                    if (plan.model == LoadPlan::Model::Closed) {
                        // Do not spin on a refused port: try again a little later.
                        SteadyTimer pause(io);
                        pause.expires_after(std::chrono::milliseconds(10));
                        error_code waited;
                        co_await pause.async_wait(noThrow(waited));
                        now = Clock::now();
                    }
                    continue;
                }
                connected = true;
            }
            if (wireIndex == std::string::npos) {
                wireIndex = pick();
            }
            const auto sentAt = Clock::now();
            if (plan.model == LoadPlan::Model::Closed) {
                due = sentAt; // nothing is due before it is sent (connecting is not a request's time)
            }
            pending.timedOut = false;
            pending.deadline = sentAt + plan.timeout;
            error_code ec;
            co_await asio::async_write(socket, asio::buffer(wire[wireIndex]), noThrow(ec));
            reader.reset(wireIsHead[wireIndex]);
            while (!ec && !reader.done() && !reader.failed()) {
                if (begin == end) {
                    begin = end = 0;
                    const auto n = co_await socket.async_read_some(asio::buffer(buffer), noThrow(ec));
                    if (ec == asio::error::eof) {
                        reader.closed();
                        ec = reader.done() ? error_code() : ec;
                        break;
                    }
                    end = n;
                }
                begin += reader.feed(buffer.data() + begin, end - begin);
            }
            pending.deadline = Clock::time_point::max();
            now = Clock::now();
            if (ec || reader.failed()) {
                error_code ignored;
                socket.close(ignored);
                connected = false;
                const auto cause = causeOf(ec, false, pending.timedOut);
                record(now, [&](IntervalStats& s) {
                    s.sent++;
                    s.errors[cause]++;
                });
                continue;
            }
            const auto status = reader.status();
            const auto corrected = std::chrono::duration_cast<std::chrono::microseconds>(now - due).count();
            const auto uncorrected = std::chrono::duration_cast<std::chrono::microseconds>(now - sentAt).count();
            const auto bytes = reader.bodyBytes();
            record(now, [&](IntervalStats& s) {
                s.sent++; // counted with its outcome: one record per request
                s.completed++;
                if (status >= 100 && status < 600) {
                    s.responses[static_cast<std::size_t>(status / 100 - 1)]++;
                }
                s.bytesIn += bytes;
                s.corrected.record(static_cast<std::uint64_t>(std::max<std::int64_t>(corrected, 0)));
                s.uncorrected.record(static_cast<std::uint64_t>(std::max<std::int64_t>(uncorrected, 0)));
            });
            if (!reader.keepAlive()) {
                error_code ignored;
                socket.close(ignored);
                connected = false;
            }
        }
        error_code ignored;
        socket.shutdown(tcp::socket::shutdown_both, ignored);
        socket.close(ignored);
        pendings.erase(std::find(pendings.begin(), pendings.end(), &pending));
        --liveConnections;
    }

    void launch(Clock::time_point startAt) {
        start = startAt;
        end = startAt + plan.length();
        if (plan.model == LoadPlan::Model::Open) {
            asio::co_spawn(io, schedule(), asio::detached);
        } else if (plan.model == LoadPlan::Model::Replay) {
            asio::co_spawn(io, replaySchedule(), asio::detached);
        }
        liveConnections = connections;
        for (unsigned i = 0; i < connections; ++i) {
            asio::co_spawn(io, connection(), asio::detached);
        }
        asio::co_spawn(io, sweep(), asio::detached);
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
