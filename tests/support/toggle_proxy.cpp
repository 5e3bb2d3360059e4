#include "tests/support/toggle_proxy.hpp"

namespace gaetwae::test {

ToggleProxy::ToggleProxy(std::uint16_t target) : m_target(target) {
    connect(&m_server, &QTcpServer::newConnection, this, [this] { onConnection(); });
    m_server.listen(QHostAddress::LocalHost, 0);
    m_port = m_server.serverPort();
}

ToggleProxy::~ToggleProxy() {
    cut();
}

void ToggleProxy::onConnection() {
    while (QTcpSocket* incoming = m_server.nextPendingConnection()) {
        ++m_accepted;
        auto pair = std::make_unique<Pair>();
        pair->client.reset(incoming);
        incoming->setParent(nullptr);
        pair->server = std::make_unique<QTcpSocket>();
        QTcpSocket* client = pair->client.get();
        QTcpSocket* server = pair->server.get();
        connect(client, &QTcpSocket::readyRead, server, [client, server] { server->write(client->readAll()); });
        connect(server, &QTcpSocket::readyRead, client, [client, server] { client->write(server->readAll()); });
        connect(server, &QTcpSocket::connected, server, [client, server] { server->write(client->readAll()); });
        connect(client, &QTcpSocket::disconnected, server, [server] { server->disconnectFromHost(); });
        connect(server, &QTcpSocket::disconnected, client, [client] { client->disconnectFromHost(); });
        server->connectToHost(QHostAddress::LocalHost, m_target);
        m_pairs.push_back(std::move(pair));
    }
}

void ToggleProxy::cut() {
    m_server.close();
    for (auto& pair : m_pairs) {
        pair->client->blockSignals(true);
        pair->server->blockSignals(true);
        pair->client->abort();
        pair->server->abort();
    }
    m_pairs.clear();
}

bool ToggleProxy::resume() {
    return m_server.isListening() || m_server.listen(QHostAddress::LocalHost, m_port);
}

} // namespace gaetwae::test
