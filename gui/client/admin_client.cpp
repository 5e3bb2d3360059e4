#include "gui/client/admin_client.hpp"

#include <QFile>
#include <QNetworkRequest>
#include <QRegularExpression>

#include <algorithm>
#include <cmath>

namespace gaetwae::console {

namespace {

constexpr int kTickMs = 250;

protocol::RpcError transportError(const QString& message) {
    return protocol::RpcError{kTransportError, message.toStdString(), nullptr};
}

// The first line of a token file, or an error.
std::optional<QString> readToken(const QString& path, QString& error) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        error = QStringLiteral("cannot read the token file %1: %2").arg(path, file.errorString());
        return std::nullopt;
    }
    const QString token = QString::fromUtf8(file.readLine()).trimmed();
    if (token.isEmpty()) {
        error = QStringLiteral("the token file %1 is empty").arg(path);
        return std::nullopt;
    }
    return token;
}

} // namespace

AdminClient::AdminClient(QObject* parent) : AdminClient(Options{}, parent) {}

AdminClient::AdminClient(Options options, QObject* parent) : QObject(parent), m_options(std::move(options)) {
    m_clock.start();
    m_retryTimer.setSingleShot(true);
    connect(&m_retryTimer, &QTimer::timeout, this, [this] { connectNow(); });
    m_tick.setInterval(kTickMs);
    connect(&m_tick, &QTimer::timeout, this, [this] { onTick(); });
    m_tick.start();
    connect(&m_socket, &QWebSocket::connected, this, [this] { onConnected(); });
    connect(&m_socket, &QWebSocket::disconnected, this, [this] { onDisconnected(); });
    connect(&m_socket, qOverload<QAbstractSocket::SocketError>(&QWebSocket::error), this,
            [this](QAbstractSocket::SocketError) { onSocketError(); });
    connect(&m_socket, &QWebSocket::textMessageReceived, this, [this](const QString& text) { onText(text); });
    connect(&m_socket, &QWebSocket::binaryMessageReceived, this,
            [this](const QByteArray& bytes) { onText(QString::fromUtf8(bytes)); });
    connect(&m_socket, &QWebSocket::pong, this, [this](quint64 elapsed, const QByteArray&) {
        m_lastHeardAt = m_clock.elapsed();
        m_rttMs = static_cast<int>(elapsed);
        emit rttChanged(m_rttMs);
    });
}

AdminClient::~AdminClient() {
    m_wanted = false;
    m_socket.blockSignals(true);
    m_socket.abort();
    failAllPending(QStringLiteral("the client was closed"));
}

QString AdminClient::describe(State state) {
    switch (state) {
    case State::Disconnected: return QStringLiteral("disconnected");
    case State::Connecting: return QStringLiteral("connecting");
    case State::Connected: return QStringLiteral("connected");
    case State::Reconnecting: return QStringLiteral("reconnecting");
    case State::Unauthorized: return QStringLiteral("token refused");
    }
    return {};
}

void AdminClient::open(const EngineEndpoint& endpoint) {
    close();
    m_endpoint = endpoint;
    m_wanted = true;
    m_attempt = 0;
    m_lastError.clear();
    connectNow();
}

void AdminClient::close() {
    m_wanted = false;
    m_retryTimer.stop();
    if (m_socket.state() != QAbstractSocket::UnconnectedState) {
        m_socket.blockSignals(true);
        m_socket.abort();
        m_socket.blockSignals(false);
    }
    failAllPending(QStringLiteral("the connection was closed"));
    m_backfilling = false;
    m_heldBack.clear();
    setState(State::Disconnected);
}

qint64 AdminClient::dataAgeMs() const {
    return m_lastFrameAt < 0 ? -1 : m_clock.elapsed() - m_lastFrameAt;
}

int AdminClient::nextRetryInMs() const {
    return m_retryTimer.isActive() ? std::max(0, m_retryTimer.remainingTime()) : 0;
}

void AdminClient::setState(State state) {
    if (m_state != state) {
        m_state = state;
        emit stateChanged(state);
    }
}

void AdminClient::connectNow() {
    if (!m_wanted) {
        return;
    }
    QNetworkRequest request(m_endpoint.url);
    QString token = m_endpoint.token;
    if (!m_endpoint.tokenFile.isEmpty()) {
        QString error;
        const auto fromFile = readToken(m_endpoint.tokenFile, error);
        if (!fromFile) {
            m_lastError = error; // the engine may not have created it yet: keep trying
            emit errorOccurred(error);
            scheduleReconnect();
            return;
        }
        token = *fromFile;
    }
    if (!token.isEmpty()) {
        request.setRawHeader("Authorization", "Bearer " + token.toUtf8());
    }
    setState(m_attempt == 0 ? State::Connecting : State::Reconnecting);
    m_socket.open(request);
}

void AdminClient::onConnected() {
    m_lastHeardAt = m_clock.elapsed();
    m_lastPingAt = m_lastHeardAt;
    startSession();
}

void AdminClient::startSession() {
    m_backfilling = true;
    nlohmann::json helloParams = nlohmann::json::object();
    helloParams["client"] = m_options.clientName;
    helloParams["protocolVersion"] = protocol::kProtocolVersion;
    call(protocol::method::kHello, helloParams, [this](const RpcOutcome& hello) {
        model::Diagnostics diagnostics;
        if (!hello.ok() || !protocol::fromJson(hello.result, m_hello, diagnostics)) {
            m_lastError = hello.ok() ? QStringLiteral("unreadable hello from the engine")
                                     : QString::fromStdString(hello.error->message);
            emit errorOccurred(m_lastError);
            m_socket.abort();
            return;
        }
        noteConfigVersion(m_hello.configVersion);
        call(protocol::method::kEngineInfo, nlohmann::json::object(), [this](const RpcOutcome& info) {
            protocol::EngineInfo engineInfo;
            model::Diagnostics ignored;
            if (info.ok() && protocol::fromJson(info.result, engineInfo, ignored)) {
                if (engineInfo.startedAtMs != m_engineInfo.startedAtMs || engineInfo.pid != m_engineInfo.pid) {
                    m_lastEventSequence = 0; // a restarted engine numbers its events from 1 again
                }
                m_engineInfo = engineInfo;
            }
            protocol::SubscribeParams subscribe;
            subscribe.topics = m_options.topics;
            call(protocol::method::kSubscribe, protocol::toJson(subscribe), [](const RpcOutcome&) {});
            nlohmann::json since = nlohmann::json::object();
            if (m_lastFrameTimeMs > 0) {
                since["since"] = m_lastFrameTimeMs + 1;
            }
            call(protocol::method::kStatsHistory, since, [this](const RpcOutcome& outcome) {
                std::vector<protocol::StatsFrame> frames;
                model::Diagnostics diagnostics;
                if (outcome.ok() && protocol::fromJson(outcome.result, frames, diagnostics)) {
                    for (const auto& frame : frames) {
                        deliverFrame(frame, true);
                    }
                }
            });
            nlohmann::json after = nlohmann::json::object();
            after["after"] = m_lastEventSequence;
            call(protocol::method::kEventsRecent, after, [this](const RpcOutcome& outcome) {
                std::vector<protocol::EventRecord> events;
                model::Diagnostics diagnostics;
                if (outcome.ok() && protocol::fromJson(outcome.result, events, diagnostics)) {
                    for (const auto& event : events) {
                        deliverEvent(event, true);
                    }
                }
                // Answers come in order: this is the last one of the start-up exchange.
                m_backfilling = false;
                auto held = std::move(m_heldBack);
                m_heldBack.clear();
                for (const auto& incoming : held) {
                    dispatchNotification(incoming);
                }
                m_attempt = 0;
                m_lastError.clear();
                setState(State::Connected);
                emit ready(m_hello);
            });
        });
    });
}

void AdminClient::onDisconnected() {
    failAllPending(QStringLiteral("the connection to the engine was lost"));
    m_backfilling = false;
    m_heldBack.clear();
    if (m_state == State::Unauthorized) {
        return;
    }
    if (m_wanted) {
        scheduleReconnect();
    } else {
        setState(State::Disconnected);
    }
}

void AdminClient::onSocketError() {
    m_lastError = m_socket.errorString();
    const auto match = QRegularExpression(QStringLiteral("status code: (\\d{3})")).match(m_lastError);
    if (match.hasMatch() && (match.captured(1) == QLatin1String("401") || match.captured(1) == QLatin1String("403"))) {
        m_lastError = QStringLiteral("the engine refused the token (HTTP %1)").arg(match.captured(1));
        m_retryTimer.stop();
        setState(State::Unauthorized); // retrying cannot help until the token changes
        emit errorOccurred(m_lastError);
        return;
    }
    emit errorOccurred(m_lastError);
    if (m_wanted && m_socket.state() == QAbstractSocket::UnconnectedState) {
        scheduleReconnect(); // a refused connect emits no disconnected()
    }
}

void AdminClient::scheduleReconnect() {
    if (!m_wanted || m_retryTimer.isActive()) {
        return;
    }
    // Exponential backoff with jitter, so consoles do not reconnect in lockstep after a restart.
    const double ceiling = std::min<double>(m_options.maxBackoffMs,
                                            m_options.initialBackoffMs * std::pow(2.0, std::min(m_attempt, 20)));
    std::uniform_real_distribution<double> jitter(0.5, 1.0);
    ++m_attempt;
    setState(State::Reconnecting);
    m_retryTimer.start(static_cast<int>(ceiling * jitter(m_random)));
}

void AdminClient::failAllPending(const QString& why) {
    auto pending = std::move(m_pending);
    m_pending.clear();
    for (auto& [id, request] : pending) {
        request.done(RpcOutcome{nullptr, transportError(why)});
    }
}

void AdminClient::call(std::string_view method, const nlohmann::json& params, Callback done) {
    if (m_socket.state() != QAbstractSocket::ConnectedState) {
        const QString why = QStringLiteral("not connected to %1").arg(m_endpoint.name);
        QMetaObject::invokeMethod(
            this, [done = std::move(done), why] { done(RpcOutcome{nullptr, transportError(why)}); },
            Qt::QueuedConnection);
        return;
    }
    const std::uint64_t id = m_nextId++;
    m_pending.emplace(id, Pending{std::move(done), m_clock.elapsed() + m_options.requestTimeoutMs});
    m_socket.sendTextMessage(QString::fromStdString(protocol::makeRequest(id, method, params)));
}

void AdminClient::onText(const QString& text) {
    m_lastHeardAt = m_clock.elapsed();
    std::string error;
    auto incoming = protocol::parseIncoming(text.toStdString(), &error);
    if (!incoming) {
        emit errorOccurred(QStringLiteral("unreadable message from the engine: %1").arg(QString::fromStdString(error)));
        return;
    }
    if (!incoming->isNotification()) {
        if (!incoming->id.is_number_unsigned()) {
            return;
        }
        const auto it = m_pending.find(incoming->id.get<std::uint64_t>());
        if (it == m_pending.end()) {
            return; // timed out already
        }
        auto done = std::move(it->second.done);
        m_pending.erase(it);
        done(RpcOutcome{incoming->result.value_or(nullptr), incoming->error});
        return;
    }
    if (m_backfilling) {
        m_heldBack.push_back(std::move(*incoming));
        return;
    }
    dispatchNotification(*incoming);
}

void AdminClient::dispatchNotification(const protocol::RpcIncoming& incoming) {
    if (incoming.method == protocol::notification::kStats) {
        protocol::StatsFrame frame;
        std::string why;
        if (protocol::fromJson(incoming.params, frame, &why)) {
            deliverFrame(frame, false);
        } else {
            emit errorOccurred(QStringLiteral("unreadable stats frame: %1").arg(QString::fromStdString(why)));
        }
    } else if (incoming.method == protocol::notification::kEvent) {
        protocol::EventRecord event;
        model::Diagnostics diagnostics;
        if (protocol::fromJson(incoming.params, event, diagnostics)) {
            deliverEvent(event, false);
        }
    }
}

void AdminClient::deliverFrame(const protocol::StatsFrame& frame, bool backfill) {
    if (frame.timeMs <= m_lastFrameTimeMs) {
        return; // already delivered (backfill overlapping live frames)
    }
    m_lastFrameTimeMs = frame.timeMs;
    m_lastFrameAt = m_clock.elapsed();
    noteConfigVersion(frame.configVersion);
    emit statsReceived(frame, backfill);
}

void AdminClient::deliverEvent(const protocol::EventRecord& event, bool backfill) {
    if (event.sequence <= m_lastEventSequence) {
        return;
    }
    m_lastEventSequence = event.sequence;
    if (event.kind == "config") {
        noteConfigVersion(std::strtoull(event.to.c_str(), nullptr, 10));
    }
    emit eventReceived(event, backfill);
}

void AdminClient::noteConfigVersion(std::uint64_t version) {
    if (version > 0 && version != m_configVersion) {
        m_configVersion = version;
        emit configVersionChanged(version);
    }
}

void AdminClient::onTick() {
    const qint64 now = m_clock.elapsed();
    std::vector<std::uint64_t> expired;
    for (const auto& [id, request] : m_pending) {
        if (request.deadline <= now) {
            expired.push_back(id);
        }
    }
    for (const auto id : expired) {
        auto done = std::move(m_pending[id].done);
        m_pending.erase(id);
        done(RpcOutcome{nullptr, transportError(QStringLiteral("the engine did not answer in time"))});
    }
    if (m_socket.state() != QAbstractSocket::ConnectedState) {
        return;
    }
    if (now - m_lastHeardAt > 3 * m_options.pingIntervalMs) {
        m_lastError = QStringLiteral("the engine stopped answering");
        emit errorOccurred(m_lastError);
        m_socket.abort(); // disconnected() follows and schedules the reconnect
        return;
    }
    if (now - m_lastPingAt >= m_options.pingIntervalMs) {
        m_lastPingAt = now;
        m_socket.ping();
    }
}

} // namespace gaetwae::console
