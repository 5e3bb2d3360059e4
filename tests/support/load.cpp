#include "tests/support/load.hpp"

#include "tests/support/test_client.hpp"

namespace gaetwae::test {

KeepAliveLoad::KeepAliveLoad(std::uint16_t port, Options options)
    : m_deadline(std::chrono::steady_clock::now() + options.duration) {
    for (int i = 0; i < options.clients; ++i) {
        m_threads.emplace_back([this, port, options] { run(port, options); });
    }
}

KeepAliveLoad::KeepAliveLoad(std::uint16_t port, int clients, std::chrono::milliseconds duration)
    : KeepAliveLoad(port, Options{clients, duration, 200'000, "/"}) {}

KeepAliveLoad::~KeepAliveLoad() {
    stop();
}

void KeepAliveLoad::run(std::uint16_t port, const Options& options) {
    TestClient client(port, 10s);
    for (std::uint64_t n = 0; n < options.maxPerClient && !m_stop && std::chrono::steady_clock::now() < m_deadline;
         ++n) {
        const auto started = std::chrono::steady_clock::now();
        const auto response = client.get(options.target);
        const auto micros = static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count());
        std::lock_guard lock(m_mutex);
        if (!response || response->status != 200) {
            ++m_failures;
            m_lastError = response ? std::to_string(response->status) + " " + response->body : client.error();
            m_changed.notify_all();
            if (!response) {
                return; // the connection is gone
            }
            continue;
        }
        ++m_ok;
        m_latencies.push_back(micros);
        m_byBackend[response->header("Server")]++;
        m_changed.notify_all();
    }
}

void KeepAliveLoad::stop() {
    m_stop = true;
    join();
}

void KeepAliveLoad::join() {
    for (auto& thread : m_threads) {
        if (thread.joinable()) {
            thread.join();
        }
    }
}

std::string KeepAliveLoad::lastError() const {
    std::lock_guard lock(m_mutex);
    return m_lastError;
}

std::map<std::string, std::uint64_t> KeepAliveLoad::byBackend() const {
    std::lock_guard lock(m_mutex);
    return m_byBackend;
}

std::vector<std::uint64_t> KeepAliveLoad::latenciesMicros() const {
    std::lock_guard lock(m_mutex);
    return m_latencies;
}

bool KeepAliveLoad::waitForOk(std::uint64_t count, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(m_mutex);
    m_changed.wait_for(lock, timeout, [&] { return m_ok >= count || m_failures > 0; });
    return m_ok >= count;
}

bool KeepAliveLoad::waitForMore(std::uint64_t count, std::chrono::milliseconds timeout) const {
    return waitForOk(m_ok + count, timeout);
}

} // namespace gaetwae::test
