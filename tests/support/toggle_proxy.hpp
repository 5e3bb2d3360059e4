#pragma once

#include <QHostAddress>
#include <QObject>
#include <QTcpServer>
#include <QTcpSocket>

#include <cstdint>
#include <memory>
#include <vector>

namespace gaetwae::test {

// A TCP relay on 127.0.0.1 between a client and a server, driven by the test's event loop,
// that can cut every connection and refuse new ones for a while: a network outage on demand.
class ToggleProxy : public QObject {
public:
    explicit ToggleProxy(std::uint16_t target);
    ~ToggleProxy() override;

    std::uint16_t port() const { return m_port; }
    int connectionsAccepted() const { return m_accepted; }

    void cut();    // closes every relayed connection and stops listening: connects are refused
    bool resume(); // listens again on the same port

private:
    struct Pair {
        std::unique_ptr<QTcpSocket> client;
        std::unique_ptr<QTcpSocket> server;
    };
    void onConnection();

    std::uint16_t m_target;
    std::uint16_t m_port = 0;
    int m_accepted = 0;
    QTcpServer m_server;
    std::vector<std::unique_ptr<Pair>> m_pairs;
};

} // namespace gaetwae::test
