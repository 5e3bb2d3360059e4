#include "tests/support/ws_admin_client.hpp"

#include <QCoreApplication>
#include <QNetworkRequest>
#include <QRegularExpression>
#include <QThread>
#include <QUrl>

namespace gaetwae::test {

WsAdminClient::WsAdminClient() {
    QObject::connect(&m_socket, &QWebSocket::textMessageReceived, [this](const QString& text) {
        std::string error;
        auto incoming = protocol::parseIncoming(text.toStdString(), &error);
        if (!incoming) {
            m_error = "unreadable message from the engine: " + error;
            return;
        }
        (incoming->isNotification() ? m_notifications : m_responses).push_back(std::move(*incoming));
    });
    QObject::connect(&m_socket, &QWebSocket::disconnected, [this] { m_disconnected = true; });
    QObject::connect(&m_socket, qOverload<QAbstractSocket::SocketError>(&QWebSocket::error), [this](QAbstractSocket::SocketError) {
        m_error = m_socket.errorString().toStdString();
        const auto match = QRegularExpression(QStringLiteral("status code: (\\d{3})")).match(m_socket.errorString());
        if (match.hasMatch()) {
            m_refusedStatus = match.captured(1).toInt();
        }
    });
}

WsAdminClient::~WsAdminClient() {
    m_socket.abort();
}

bool WsAdminClient::spinUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline) {
            return false;
        }
        QCoreApplication::processEvents(QEventLoop::AllEvents, 20);
        if (!done()) {
            QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents, 20);
        }
    }
    return true;
}

bool WsAdminClient::connect(std::uint16_t port, const std::string& token, std::chrono::milliseconds timeout) {
    QNetworkRequest request(QUrl(QStringLiteral("ws://127.0.0.1:%1/admin").arg(port)));
    if (!token.empty()) {
        request.setRawHeader("Authorization", QByteArray("Bearer ") + QByteArray::fromStdString(token));
    }
    m_error.clear();
    m_disconnected = false;
    m_socket.open(request);
    const bool settled = spinUntil(
        [this] { return m_socket.state() == QAbstractSocket::ConnectedState || !m_error.empty() || m_disconnected; },
        timeout);
    if (!settled) {
        m_error = "no connection within the deadline";
    }
    return m_socket.state() == QAbstractSocket::ConnectedState;
}

bool WsAdminClient::connected() const {
    return m_socket.state() == QAbstractSocket::ConnectedState && !m_disconnected;
}

void WsAdminClient::sendText(const std::string& text) {
    m_socket.sendTextMessage(QString::fromStdString(text));
}

void WsAdminClient::sendBinary(const std::string& bytes) {
    m_socket.sendBinaryMessage(QByteArray::fromStdString(bytes));
}

std::optional<protocol::RpcIncoming> WsAdminClient::nextResponse(std::chrono::milliseconds timeout) {
    if (!spinUntil([this] { return !m_responses.empty() || m_disconnected; }, timeout) || m_responses.empty()) {
        m_error = m_disconnected ? "the engine closed the connection" : "no response within the deadline";
        return std::nullopt;
    }
    auto response = std::move(m_responses.front());
    m_responses.pop_front();
    return response;
}

std::optional<protocol::RpcIncoming> WsAdminClient::call(const std::string& method, const nlohmann::json& params,
                                                         std::chrono::milliseconds timeout) {
    const std::int64_t id = m_nextId++;
    sendText(protocol::makeRequest(id, method, params));
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        auto response = nextResponse(std::max(left, std::chrono::milliseconds(0)));
        if (!response) {
            return std::nullopt;
        }
        if (response->id == id) {
            return response;
        }
    }
}

nlohmann::json WsAdminClient::result(const std::string& method, const nlohmann::json& params) {
    const auto response = call(method, params);
    if (!response) {
        return nullptr;
    }
    if (response->error) {
        m_error = method + ": " + response->error->message;
        return nullptr;
    }
    return response->result.value_or(nlohmann::json());
}

std::optional<protocol::RpcIncoming> WsAdminClient::waitNotification(
    const std::string& method, const std::function<bool(const nlohmann::json&)>& match,
    std::chrono::milliseconds timeout) {
    std::optional<protocol::RpcIncoming> found;
    auto scan = [&] {
        while (!m_notifications.empty() && !found) {
            auto next = std::move(m_notifications.front());
            m_notifications.pop_front();
            if (next.method == method && (!match || match(next.params))) {
                found = std::move(next);
            }
        }
        return found.has_value() || m_disconnected;
    };
    if (!spinUntil(scan, timeout) || !found) {
        m_error = "no '" + method + "' notification within the deadline";
    }
    return found;
}

bool WsAdminClient::waitForDisconnect(std::chrono::milliseconds timeout) {
    return spinUntil([this] { return m_disconnected || m_socket.state() == QAbstractSocket::UnconnectedState; },
                     timeout);
}

void WsAdminClient::close() {
    m_socket.close();
    waitForDisconnect(5s);
}

} // namespace gaetwae::test
