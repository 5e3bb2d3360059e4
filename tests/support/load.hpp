#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace gaetwae::test {

using namespace std::chrono_literals;

// Keep-alive clients sending GET requests to 127.0.0.1:port from background threads until
// stopped, a duration passes or each has sent `maxPerClient`. Every client keeps one connection
// for its whole life: a response other than 200 counts as a failure; a broken connection counts
// as one and ends that client, so `failures() == 0` also means no keep-alive connection dropped.
class KeepAliveLoad {
public:
    struct Options {
        int clients = 4;
        std::chrono::milliseconds duration = 60s;
        std::uint64_t maxPerClient = 200'000;
        std::string target = "/";
    };

    KeepAliveLoad(std::uint16_t port, Options options);
    KeepAliveLoad(std::uint16_t port, int clients, std::chrono::milliseconds duration = 60s);
    ~KeepAliveLoad();
    KeepAliveLoad(const KeepAliveLoad&) = delete;
    KeepAliveLoad& operator=(const KeepAliveLoad&) = delete;

    void stop(); // asks every client to finish its request, then joins them
    void join(); // waits for the clients to reach their bound by themselves

    std::uint64_t ok() const { return m_ok; }
    std::uint64_t failures() const { return m_failures; }
    std::string lastError() const;
    std::map<std::string, std::uint64_t> byBackend() const; // 200s by their Server header
    // Each request's latency as the client saw it (send to last byte), in microseconds.
    std::vector<std::uint64_t> latenciesMicros() const;

    // Until ok() reaches `count` (waitForOk) or grows by `count` (waitForMore); false on a
    // failure or at the deadline.
    bool waitForOk(std::uint64_t count, std::chrono::milliseconds timeout) const;
    bool waitForMore(std::uint64_t count, std::chrono::milliseconds timeout) const;

private:
    void run(std::uint16_t port, const Options& options);

    std::chrono::steady_clock::time_point m_deadline;
    std::atomic<bool> m_stop{false};
    std::atomic<std::uint64_t> m_ok{0};
    std::atomic<std::uint64_t> m_failures{0};
    mutable std::mutex m_mutex;
    mutable std::condition_variable m_changed;
    std::string m_lastError;
    std::map<std::string, std::uint64_t> m_byBackend;
    std::vector<std::uint64_t> m_latencies;
    std::vector<std::thread> m_threads;
};

} // namespace gaetwae::test
