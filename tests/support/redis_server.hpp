#pragma once

#include <QProcess>
#include <QString>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace gaetwae::test {

using namespace std::chrono_literals;

// A real redis-server child process for distributed rate limit tests: loopback only, on a free
// port found by binding 127.0.0.1:0, no persistence (--save "" --appendonly no), so a restart
// comes back empty. start() fails loudly (error()) when redis-server is not installed
// (installer/deps.sh installs it). The destructor kills the process.
class RedisServer {
public:
    // `password`: started with --requirepass.
    explicit RedisServer(std::string password = {});
    ~RedisServer();
    RedisServer(const RedisServer&) = delete;
    RedisServer& operator=(const RedisServer&) = delete;

    // Starts (or restarts on the same port) and waits until it answers PING.
    bool start(std::chrono::milliseconds timeout = 10s);
    // SIGKILL, like a crash; waits until the process is gone.
    void kill();
    // SIGSTOP / SIGCONT: a server that accepts connections but never answers.
    void pause();
    void resume();

    bool running() const { return m_process.state() == QProcess::Running; }
    std::uint16_t port() const { return m_port; }
    std::string address() const { return "127.0.0.1:" + std::to_string(m_port); }
    const std::string& error() const { return m_error; }

    // Sends one command on a fresh connection (authenticated, in `db`) and returns the reply's
    // first line without its type character ("PONG", "1", an error text), or "" with error().
    std::string command(const std::vector<std::string>& args, int db = 0);

private:
    QProcess m_process;
    std::string m_password;
    std::uint16_t m_port = 0;
    std::string m_error;
};

} // namespace gaetwae::test
