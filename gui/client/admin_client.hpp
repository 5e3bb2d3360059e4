#pragma once

#include "shared/protocol/admin_messages.hpp"
#include "shared/protocol/jsonrpc.hpp"

#include <QElapsedTimer>
#include <QObject>
#include <QString>
#include <QTimer>
#include <QUrl>
#include <QWebSocket>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <random>

namespace gaetwae::console {

// Where an engine's admin API is and how to authenticate to it. The token is either given
// (stored in the console's connection file) or read from a token file at every connect, so a
// console started next to an engine follows the engine's own file.
struct EngineEndpoint {
    QString name;
    QUrl url;
    QString token;
    QString tokenFile;

    bool operator==(const EngineEndpoint&) const = default;
};

// Error code of a call that failed in the console (not connected, connection lost, timed out),
// beside the engine's JSON-RPC codes.
inline constexpr int kTransportError = -32090;

// The answer to one call: a result, or the engine's (or the transport's) error.
struct RpcOutcome {
    nlohmann::json result;
    std::optional<protocol::RpcError> error;

    bool ok() const { return !error; }
};

// One engine's admin API over QWebSocket, on the thread that owns it (the UI thread). Never
// blocks: calls answer through callbacks, everything else through typed signals.
//
// After open() it connects, says hello, subscribes, and backfills: frames the engine kept
// (`stats.history`) and events (`events.recent`) newer than the last ones received are
// delivered first, flagged `backfill`, then live ones, so a console that connects late or
// reconnects has no gap and no duplicate. A lost connection is retried with exponential backoff
// and jitter; a refused token stops retrying (state Unauthorized) until open() is called again.
// Pings measure the round trip; a connection silent for three ping intervals is dropped.
class AdminClient : public QObject {
    Q_OBJECT
public:
    enum class State { Disconnected, Connecting, Connected, Reconnecting, Unauthorized };
    Q_ENUM(State)

    struct Options {
        int initialBackoffMs = 500;
        int maxBackoffMs = 30'000;
        int pingIntervalMs = 2'000;
        int requestTimeoutMs = 15'000;
        std::vector<std::string> topics{"stats", "events"};
        std::string clientName = "gaetwae-console";
    };

    explicit AdminClient(QObject* parent = nullptr);
    AdminClient(Options options, QObject* parent = nullptr);
    ~AdminClient() override;

    void open(const EngineEndpoint& endpoint);
    void close();

    State state() const { return m_state; }
    const EngineEndpoint& endpoint() const { return m_endpoint; }
    QString lastError() const { return m_lastError; }
    int rttMs() const { return m_rttMs; }              // -1 until the first pong
    qint64 dataAgeMs() const;                           // since the last stats frame; -1 before any
    int nextRetryInMs() const;                          // while Reconnecting
    const protocol::HelloResult& hello() const { return m_hello; }
    const protocol::EngineInfo& engineInfo() const { return m_engineInfo; }
    std::uint64_t configVersion() const { return m_configVersion; }
    std::int64_t lastFrameTimeMs() const { return m_lastFrameTimeMs; }
    // Seeds backfill (e.g. from the history store) so the first connect asks only for what is missing.
    void setLastFrameTime(std::int64_t timeMs) { m_lastFrameTimeMs = timeMs; }

    using Callback = std::function<void(const RpcOutcome&)>;
    // Sends a request; `done` runs exactly once: with the answer, or with an error when the
    // connection is lost or the request times out. Without a connection it fails at once.
    void call(std::string_view method, const nlohmann::json& params, Callback done);

    static QString describe(State state);

signals:
    void stateChanged(gaetwae::console::AdminClient::State state);
    void ready(const gaetwae::protocol::HelloResult& hello); // connected, subscribed, backfilled
    void statsReceived(const gaetwae::protocol::StatsFrame& frame, bool backfill);
    void eventReceived(const gaetwae::protocol::EventRecord& event, bool backfill);
    void configVersionChanged(std::uint64_t version);
    void rttChanged(int ms);
    void errorOccurred(const QString& message);

private:
    struct Pending {
        Callback done;
        qint64 deadline = 0;
    };

    void setState(State state);
    void connectNow();
    void onConnected();
    void onDisconnected();
    void onSocketError();
    void onText(const QString& text);
    void dispatchNotification(const protocol::RpcIncoming& incoming);
    void onTick();
    void scheduleReconnect();
    void failAllPending(const QString& why);
    void startSession();
    void deliverFrame(const protocol::StatsFrame& frame, bool backfill);
    void deliverEvent(const protocol::EventRecord& event, bool backfill);
    void noteConfigVersion(std::uint64_t version);

    Options m_options;
    EngineEndpoint m_endpoint;
    QWebSocket m_socket;
    QTimer m_retryTimer;
    QTimer m_tick;
    QElapsedTimer m_clock;
    State m_state = State::Disconnected;
    QString m_lastError;
    bool m_wanted = false;
    int m_attempt = 0;
    qint64 m_retryAt = 0;
    int m_rttMs = -1;
    qint64 m_lastPingAt = 0;
    qint64 m_lastHeardAt = 0;
    qint64 m_lastFrameAt = -1;
    std::uint64_t m_nextId = 1;
    std::map<std::uint64_t, Pending> m_pending;
    protocol::HelloResult m_hello;
    protocol::EngineInfo m_engineInfo;
    std::uint64_t m_configVersion = 0;
    std::int64_t m_lastFrameTimeMs = 0;
    std::uint64_t m_lastEventSequence = 0;
    bool m_backfilling = false;
    std::deque<protocol::RpcIncoming> m_heldBack; // live notifications that arrive during backfill
    std::mt19937 m_random{std::random_device{}()};
};

} // namespace gaetwae::console
