// WebSocket and other Upgrade requests through real sockets: QWebSocket clients through the
// gateway to QWebSocketServer echo backends, raw TCP backends for half-close, the admin API and
// reloads changing the pool under open tunnels, the idle timeout, draining, the answers that are
// not a switch (relayed, or 502), h2c never tunnelled, and the tunnel metrics.
#include "engine/http/upgrade.hpp"
#include "tests/support/fake_backend.hpp"
#include "tests/support/test_client.hpp"
#include "tests/support/test_gateway.hpp"
#include "tests/support/ws_admin_client.hpp"

#include <QElapsedTimer>
#include <QFile>
#include <QRandomGenerator>
#include <QTemporaryDir>
#include <QWebSocket>
#include <QWebSocketServer>
#include <QtTest>

#include <arpa/inet.h>
#include <cerrno>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <memory>
#include <thread>

using namespace gaetwae;
using namespace gaetwae::test;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kWait = 10'000; // ms: a deadline for conditions that hold within milliseconds normally

// A WebSocket echo server on 127.0.0.1:0, on the test's thread (its event loop runs while the
// test waits). Counts the connections it accepted and the messages it echoed.
class EchoBackend {
public:
    EchoBackend()
        : m_server(QStringLiteral("echo"), QWebSocketServer::NonSecureMode) {
        m_server.listen(QHostAddress::LocalHost, 0);
        QObject::connect(&m_server, &QWebSocketServer::newConnection, [this] {
            while (QWebSocket* socket = m_server.nextPendingConnection()) {
                ++m_connections;
                m_sockets.push_back(socket);
                QObject::connect(socket, &QWebSocket::textMessageReceived,
                                 [this, socket](const QString& text) {
                                     ++m_echoed;
                                     socket->sendTextMessage(text);
                                 });
                QObject::connect(socket, &QWebSocket::binaryMessageReceived,
                                 [this, socket](const QByteArray& bytes) {
                                     ++m_echoed;
                                     socket->sendBinaryMessage(bytes);
                                 });
            }
        });
    }
    ~EchoBackend() {
        for (QWebSocket* socket : m_sockets) {
            socket->abort();
            delete socket;
        }
    }

    std::string address() const { return "127.0.0.1:" + std::to_string(m_server.serverPort()); }
    int connections() const { return m_connections; }
    int echoed() const { return m_echoed; }

private:
    QWebSocketServer m_server;
    std::vector<QWebSocket*> m_sockets;
    int m_connections = 0;
    int m_echoed = 0;
};

// A QWebSocket client through the gateway that keeps what it receives.
class WsClient {
public:
    WsClient() {
        QObject::connect(&m_socket, &QWebSocket::connected, [this] { m_connected = true; });
        QObject::connect(&m_socket, &QWebSocket::disconnected, [this] { m_disconnected = true; });
        // A refused handshake (any answer but 101) may leave the connection open.
        QObject::connect(&m_socket, qOverload<QAbstractSocket::SocketError>(&QWebSocket::error),
                         [this] { m_failed = true; });
        QObject::connect(&m_socket, &QWebSocket::textMessageReceived,
                         [this](const QString& text) { m_texts.push_back(text); });
        QObject::connect(&m_socket, &QWebSocket::binaryMessageReceived,
                         [this](const QByteArray& bytes) { m_binaries.push_back(bytes); });
    }

    bool open(std::uint16_t port, const QString& path = QStringLiteral("/ws")) {
        m_socket.open(QUrl(QStringLiteral("ws://127.0.0.1:%1%2").arg(port).arg(path)));
        return QTest::qWaitFor([this] { return m_connected || m_disconnected || m_failed; }, kWait) &&
               m_connected;
    }
    // True when the echo of `text` comes back.
    bool echo(const QString& text) {
        const std::size_t before = m_texts.size();
        m_socket.sendTextMessage(text);
        return QTest::qWaitFor([&] { return m_texts.size() > before || m_disconnected; }, kWait) &&
               m_texts.size() > before && m_texts.back() == text;
    }
    bool echoBinary(const QByteArray& bytes) {
        const std::size_t before = m_binaries.size();
        m_socket.sendBinaryMessage(bytes);
        return QTest::qWaitFor([&] { return m_binaries.size() > before || m_disconnected; }, kWait) &&
               m_binaries.size() > before && m_binaries.back() == bytes;
    }
    bool close() {
        m_socket.close();
        return QTest::qWaitFor([this] { return m_disconnected; }, kWait);
    }
    bool waitForDisconnect(int ms = kWait) {
        return QTest::qWaitFor([this] { return m_disconnected; }, ms);
    }
    bool connected() const { return m_connected && !m_disconnected; }
    bool disconnected() const { return m_disconnected; }

private:
    QWebSocket m_socket;
    std::vector<QString> m_texts;
    std::vector<QByteArray> m_binaries;
    bool m_connected = false;
    bool m_disconnected = false;
    bool m_failed = false;
};

int msLeft(Clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return static_cast<int>(std::max<std::int64_t>(0, left));
}

// Reads from a blocking-with-deadline socket until `done(received)` or EOF; false on timeout.
// `eof` tells whether the peer closed its side.
bool readUntil(int fd, std::string& received, bool& eof, const std::function<bool(const std::string&)>& done,
               Clock::time_point deadline) {
    char buffer[16 * 1024];
    while (!done(received)) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, msLeft(deadline)) <= 0) {
            return false;
        }
        const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n == 0) {
            eof = true;
            return true;
        }
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                continue;
            }
            return false;
        }
        received.append(buffer, static_cast<std::size_t>(n));
    }
    return true;
}

// The same while this thread's event loop runs (for Qt servers on this thread): until a
// complete head has arrived, or EOF.
bool readHeadSpinning(int fd, std::string& received) {
    bool eof = false;
    const bool ok = QTest::qWaitFor(
        [&] {
            char buffer[4096];
            pollfd p{fd, POLLIN, 0};
            while (!eof && ::poll(&p, 1, 0) > 0) {
                const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
                if (n <= 0) {
                    eof = true;
                    break;
                }
                received.append(buffer, static_cast<std::size_t>(n));
            }
            return eof || received.find("\r\n\r\n") != std::string::npos;
        },
        kWait);
    return ok && received.find("\r\n\r\n") != std::string::npos;
}

bool sendAll(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

int connectTo(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// A backend that answers one upgrade request with 101 and then runs `script` on the raw
// connection (with the bytes that came behind the head), on its own thread. What the script
// observed is read after join().
class RawUpgradeBackend {
public:
    using Script = std::function<void(int fd, std::string afterHead)>;

    explicit RawUpgradeBackend(std::string greeting, Script script)
        : m_greeting(std::move(greeting))
        , m_script(std::move(script)) {
        m_listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof address;
        ::bind(m_listener, reinterpret_cast<sockaddr*>(&address), sizeof address);
        ::listen(m_listener, 4);
        ::getsockname(m_listener, reinterpret_cast<sockaddr*>(&address), &length);
        m_port = ntohs(address.sin_port);
        m_thread = std::thread([this] { serveOne(); });
    }
    ~RawUpgradeBackend() {
        join();
        ::close(m_listener);
    }

    std::string address() const { return "127.0.0.1:" + std::to_string(m_port); }
    void join() {
        if (m_thread.joinable()) {
            m_thread.join();
        }
    }
    const std::string& requestHead() const { return m_head; }

private:
    void serveOne() {
        const auto deadline = Clock::now() + std::chrono::milliseconds(kWait);
        pollfd p{m_listener, POLLIN, 0};
        if (::poll(&p, 1, msLeft(deadline)) <= 0) {
            return;
        }
        const int fd = ::accept4(m_listener, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) {
            return;
        }
        bool eof = false;
        std::string received;
        if (readUntil(
                fd, received, eof,
                [](const std::string& r) { return r.find("\r\n\r\n") != std::string::npos; }, deadline) &&
            !eof) {
            const std::size_t headEnd = received.find("\r\n\r\n") + 4;
            m_head = received.substr(0, headEnd);
            // The 101 and the first bytes of the new protocol in one write: the gateway must
            // relay bytes that arrive together with the head.
            sendAll(fd,
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: test-proto\r\nConnection: Upgrade\r\n\r\n" +
                        m_greeting);
            m_script(fd, received.substr(headEnd));
        }
        ::close(fd);
    }

    std::string m_greeting;
    Script m_script;
    int m_listener = -1;
    std::uint16_t m_port = 0;
    std::thread m_thread;
    std::string m_head;
};

std::string poolYaml(const std::string& name,
                     const std::vector<std::pair<std::string, std::string>>& instances,
                     const std::string& extra = "") {
    std::string yaml = "  - name: " + name + "\n" + extra + "    instances:\n";
    for (const auto& [id, address] : instances) {
        yaml += "      - {id: " + id + ", address: \"" + address + "\"}\n";
    }
    return yaml;
}

// Route "ws" (/ws, default upgrade list) to pool "ws"; `routes` and `pools` add more.
std::string gatewayYaml(const std::string& wsPool, const std::string& top = "",
                        const std::string& routes = "", const std::string& pools = "") {
    const std::string quiet =
        top.find("access_log:") == std::string::npos ? "access_log: {enabled: false}\n" : "";
    return "listeners: [{address: \"127.0.0.1:0\"}]\n" + quiet + top +
           "routes:\n  - name: ws\n    match: {path_prefix: /ws}\n    pool: ws\n" + routes + "pools:\n" +
           wsPool + pools;
}

// The value of one Prometheus sample, or -1 when absent.
long long metric(TestGateway& gateway, const std::string& sample) {
    const std::string text = gateway.engine().prometheusText();
    const auto at = text.find("\n" + sample + " ");
    if (at == std::string::npos) {
        return -1;
    }
    return std::stoll(text.substr(at + sample.size() + 2));
}

// Engine::shutdown() (a graceful stop, as on SIGTERM) on its own thread, since it blocks while
// draining. Leaving the scope cuts a drain still running short and joins, so a failed check
// cannot leave the thread behind.
class GracefulStop {
public:
    explicit GracefulStop(engine::core::Engine& engine)
        : m_engine(engine)
        , m_thread([this] {
            m_engine.shutdown();
            m_done = true;
        }) {}
    ~GracefulStop() {
        m_engine.interruptDrain();
        m_thread.join();
    }
    bool done() const { return m_done; }

private:
    engine::core::Engine& m_engine;
    std::atomic<bool> m_done{false};
    std::thread m_thread;
};

// True when nothing accepts a connection on `port` any more.
bool refused(std::uint16_t port) {
    const int fd = connectTo(port);
    if (fd < 0) {
        return true;
    }
    ::close(fd);
    return false;
}

std::string upgradeRequest(const std::string& path, const std::string& protocol,
                           const std::string& extra = "") {
    return "GET " + path + " HTTP/1.1\r\nHost: gw.test\r\nConnection: Upgrade\r\nUpgrade: " + protocol +
           "\r\n" + extra + "\r\n";
}

} // namespace

class TestUpgrade : public QObject {
    Q_OBJECT

private slots:
    void filtersTheOffer_data() {
        QTest::addColumn<QString>("upgrade");
        QTest::addColumn<QStringList>("allowed");
        QTest::addColumn<QString>("forwarded");
        const QStringList websocket{QStringLiteral("websocket")};
        QTest::newRow("websocket") << "websocket" << websocket << "websocket";
        QTest::newRow("any case, version kept") << "WebSocket/13" << websocket << "WebSocket/13";
        QTest::newRow("h2c never") << "h2c" << QStringList{QStringLiteral("h2c")} << "";
        QTest::newRow("h2c dropped from a list") << "h2c, websocket" << websocket << "websocket";
        QTest::newRow("not allowed") << "mqtt" << websocket << "";
        QTest::newRow("route allows none") << "websocket" << QStringList() << "";
        QTest::newRow("order kept") << "b, x, a" << QStringList{QStringLiteral("a"), QStringLiteral("b")}
                                    << "b, a";
    }
    void filtersTheOffer() {
        QFETCH(QString, upgrade);
        QFETCH(QStringList, allowed);
        QFETCH(QString, forwarded);
        const std::string raw =
            "GET / HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\nUpgrade: " + upgrade.toStdString() +
            "\r\n\r\n";
        engine::http::RequestHead head;
        engine::http::BodySink sink;
        engine::http::RequestParser parser(head, sink, 8192, 100, 32768);
        boost::system::error_code ec;
        parser.put(boost::asio::const_buffer(raw.data(), raw.size()), ec);
        QVERIFY(!ec);
        QVERIFY(parser.upgrade());
        std::vector<std::string> protocols;
        for (const auto& a : allowed) {
            protocols.push_back(a.toStdString());
        }
        std::string out;
        engine::http::filterUpgradeOffer(head, protocols, out);
        QCOMPARE(QString::fromStdString(out), forwarded);
    }

    void judgesTheSwitch_data() {
        QTest::addColumn<QString>("answer");
        QTest::addColumn<bool>("accepted");
        QTest::newRow("same") << "Upgrade: websocket\r\n" << true;
        QTest::newRow("case and version") << "Upgrade: WEBSOCKET/13\r\n" << true;
        QTest::newRow("other") << "Upgrade: mqtt\r\n" << false;
        QTest::newRow("missing") << "" << false;
    }
    void judgesTheSwitch() {
        QFETCH(QString, answer);
        QFETCH(bool, accepted);
        const std::string raw =
            "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\n" + answer.toStdString() + "\r\n";
        engine::http::ResponseHead head;
        engine::http::BodySink sink;
        engine::http::ResponseParser parser(head, sink, 100, 32768);
        boost::system::error_code ec;
        parser.put(boost::asio::const_buffer(raw.data(), raw.size()), ec);
        QVERIFY(!ec);
        QCOMPARE(engine::http::upgradeAccepted(head, "websocket"), accepted);
    }

    void echoTextAndLargeBinary() {
        EchoBackend backend;
        QTemporaryDir dir;
        const std::string logPath = dir.filePath("access.log").toStdString();
        TestGateway gateway(gatewayYaml(poolYaml("ws", {{"a", backend.address()}}),
                                        "access_log: {format: json, path: \"" + logPath + "\"}\n"));
        QVERIFY2(gateway.ok(), gateway.error().c_str());

        WsClient client;
        QVERIFY(client.open(gateway.port()));
        QVERIFY(client.echo(QStringLiteral("hello through the gateway")));
        QByteArray large(3 * 1024 * 1024 + 17, Qt::Uninitialized);
        QRandomGenerator generator(7);
        for (auto& byte : large) {
            byte = static_cast<char>(generator.bounded(256));
        }
        QVERIFY(client.echoBinary(large));
        QVERIFY(client.echo(QStringLiteral("and again")));
        QCOMPARE(backend.connections(), 1);
        QCOMPARE(backend.echoed(), 3);

        // While open: one tunnel on the route, one active request on the instance (what
        // least-connections balancing sees), bytes counted as they move.
        QCOMPARE(metric(gateway, "proxy_tunnels_open{route=\"ws\"}"), 1LL);
        QCOMPARE(metric(gateway, "proxy_tunnels_total{route=\"ws\"}"), 1LL);
        QCOMPARE(metric(gateway, "proxy_instance_active_requests{service=\"ws\",instance=\"a\"}"), 1LL);
        QVERIFY(metric(gateway, "proxy_tunnel_bytes_received_total{route=\"ws\"}") > large.size());
        QVERIFY(metric(gateway, "proxy_tunnel_bytes_sent_total{route=\"ws\"}") > large.size());

        // The end of a tunnel gives everything back.
        QVERIFY(client.close());
        QTRY_COMPARE_WITH_TIMEOUT(metric(gateway, "proxy_tunnels_open{route=\"ws\"}"), 0LL, kWait);
        QTRY_COMPARE_WITH_TIMEOUT(
            metric(gateway, "proxy_instance_active_requests{service=\"ws\",instance=\"a\"}"), 0LL, kWait);
        QTRY_COMPARE_WITH_TIMEOUT(metric(gateway, "proxy_active_requests{service=\"ws\"}"), 0LL, kWait);
        QTRY_COMPARE_WITH_TIMEOUT(gateway.engine().activeConnections(), 0LL, kWait);
        QCOMPARE(metric(gateway, "proxy_tunnels_total{route=\"ws\"}"), 1LL);

        // One access log line when the tunnel ended: status 101, bytes both ways, its duration.
        gateway.engine().shutdown(); // flushes the access log (its writer thread may still be at it)
        QByteArray content;
        auto logged = [&] {
            QFile log(QString::fromStdString(logPath));
            content = log.open(QIODevice::ReadOnly) ? log.readAll() : QByteArray();
            return content.contains("\"status\":101");
        };
        QTRY_VERIFY_WITH_TIMEOUT(logged(), kWait);
        const auto lines = content.split('\n');
        int tunnels = 0;
        for (const auto& line : lines) {
            if (line.isEmpty()) {
                continue;
            }
            const auto record = nlohmann::json::parse(line.toStdString());
            if (record["status"] == 101) {
                ++tunnels;
                QVERIFY(record["bytes_in"].get<long long>() > large.size());
                QVERIFY(record["bytes_out"].get<long long>() > large.size());
                QVERIFY(record.contains("duration_ms"));
                QCOMPARE(record["instance"].get<std::string>(), std::string("a"));
            }
        }
        QVERIFY2(tunnels == 1, content.constData());
    }

    void tunnelSurvivesPoolChangesAndReloads() {
        EchoBackend a;
        EchoBackend b;
        TestGateway gateway(gatewayYaml(poolYaml("ws", {{"a", a.address()}})));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        WsClient first;
        QVERIFY(first.open(gateway.port()));
        QVERIFY(first.echo(QStringLiteral("before")));
        QCOMPARE(a.connections(), 1);

        WsAdminClient admin;
        QVERIFY2(admin.connect(gateway.adminPort(), gateway.adminToken()), admin.error().c_str());
        auto change = [&](const std::string& method, nlohmann::json params) {
            params["expectedVersion"] = gateway.engine().configVersion();
            const auto answer = admin.call(method, params);
            return answer && answer->result;
        };
        nlohmann::json instanceB;
        instanceB["id"] = "b";
        instanceB["address"] = b.address();
        nlohmann::json put;
        put["pool"] = "ws";
        put["instance"] = instanceB;
        QVERIFY(change("instance.put", put));
        QVERIFY(first.echo(QStringLiteral("after b was added")));
        // Draining a: its tunnel stays, and is what its drain progress (active requests) shows.
        nlohmann::json drain;
        drain["pool"] = "ws";
        drain["id"] = "a";
        drain["state"] = "draining";
        QVERIFY(change("instance.setState", drain));
        QVERIFY(first.echo(QStringLiteral("while a drains")));
        QCOMPARE(metric(gateway, "proxy_instance_active_requests{service=\"ws\",instance=\"a\"}"), 1LL);
        nlohmann::json removeA;
        removeA["pool"] = "ws";
        removeA["id"] = "a";
        QVERIFY(change("instance.remove", removeA));
        QVERIFY(first.echo(QStringLiteral("after a was removed")));
        nlohmann::json weight;
        weight["pool"] = "ws";
        weight["id"] = "b";
        weight["weight"] = 7;
        QVERIFY(change("instance.setWeight", weight));
        QVERIFY(first.echo(QStringLiteral("after a weight change")));

        // New tunnels go to the new instance while the old one keeps its tunnel.
        WsClient second;
        QVERIFY(second.open(gateway.port()));
        QVERIFY(second.echo(QStringLiteral("second client")));
        QCOMPARE(b.connections(), 1);
        QCOMPARE(a.connections(), 1);

        // A reload with a different pool (b only, another strategy) and timeouts.
        QCOMPARE(gateway.apply(gatewayYaml(poolYaml("ws", {{"b", b.address()}}, "    strategy: random\n"),
                                           "timeouts: {client_header: 5s}\n")),
                 std::string());
        QVERIFY(first.echo(QStringLiteral("after a reload")));
        QVERIFY(second.echo(QStringLiteral("second after a reload")));
        QByteArray large(512 * 1024, 'x');
        QVERIFY(first.echoBinary(large));
        QCOMPARE(a.connections(), 1);
        QCOMPARE(a.echoed(), 7); // every message of the first client went to a, over one connection
        QCOMPARE(metric(gateway, "proxy_tunnels_open{route=\"ws\"}"), 2LL);

        WsClient third;
        QVERIFY(third.open(gateway.port()));
        QVERIFY(third.echo(QStringLiteral("third")));
        QCOMPARE(b.connections(), 2);

        QVERIFY(first.close());
        QVERIFY(second.close());
        QVERIFY(third.close());
        QTRY_COMPARE_WITH_TIMEOUT(metric(gateway, "proxy_tunnels_open{route=\"ws\"}"), 0LL, kWait);
        QTRY_COMPARE_WITH_TIMEOUT(
            metric(gateway, "proxy_instance_active_requests{service=\"ws\",instance=\"b\"}"), 0LL, kWait);
        QCOMPARE(metric(gateway, "proxy_tunnels_total{route=\"ws\"}"), 3LL);
    }

    void routeChangesApplyToNewUpgradesOnly() {
        EchoBackend backend;
        TestGateway gateway(gatewayYaml(poolYaml("ws", {{"a", backend.address()}})));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        WsClient open;
        QVERIFY(open.open(gateway.port()));
        QVERIFY(open.echo(QStringLiteral("before")));
        // The admin API turns upgrades off on the route: the open tunnel is not touched, a new
        // upgrade request reaches the backend as a plain request (which no WebSocket server takes).
        WsAdminClient admin;
        QVERIFY2(admin.connect(gateway.adminPort(), gateway.adminToken()), admin.error().c_str());
        nlohmann::json params;
        params["expectedVersion"] = gateway.engine().configVersion();
        params["route"] = nlohmann::json::parse("{\"name\": \"ws\", \"match\": {\"path_prefix\": \"/ws\"}, "
                                                "\"pool\": \"ws\", \"upgrade\": []}");
        const auto changed = admin.call("route.put", params);
        QVERIFY2(changed && changed->result, admin.error().c_str());
        QVERIFY(gateway.engine().config().routes[0].upgrade.empty());
        WsClient refused;
        QVERIFY(!refused.open(gateway.port()));
        QCOMPARE(backend.connections(), 1);
        QVERIFY(open.echo(QStringLiteral("after")));
        QCOMPARE(metric(gateway, "proxy_tunnels_open{route=\"ws\"}"), 1LL);
        QVERIFY(open.close());
        QTRY_COMPARE_WITH_TIMEOUT(metric(gateway, "proxy_tunnels_open{route=\"ws\"}"), 0LL, kWait);
    }

    void leastConnectionsCountsTunnels() {
        EchoBackend a;
        EchoBackend b;
        TestGateway gateway(gatewayYaml(
            poolYaml("ws", {{"a", a.address()}, {"b", b.address()}}, "    strategy: least_connections\n")));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        // Each open tunnel is an active request on its instance, so the next one goes elsewhere.
        std::vector<std::unique_ptr<WsClient>> clients;
        for (int i = 0; i < 4; ++i) {
            clients.push_back(std::make_unique<WsClient>());
            QVERIFY(clients.back()->open(gateway.port()));
            QVERIFY(clients.back()->echo(QStringLiteral("hi")));
        }
        QCOMPARE(a.connections(), 2);
        QCOMPARE(b.connections(), 2);
        for (auto& client : clients) {
            QVERIFY(client->close());
        }
        QTRY_COMPARE_WITH_TIMEOUT(metric(gateway, "proxy_active_requests{service=\"ws\"}"), 0LL, kWait);
    }

    void stickySessionsChooseTheTunnelsInstance() {
        EchoBackend a;
        EchoBackend b;
        TestGateway gateway(gatewayYaml(poolYaml("ws", {{"a", a.address()}, {"b", b.address()}},
                                                 "    sticky: {mode: cookie, cookie: WS_STICKY}\n")));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        const std::string handshake =
            "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
        // The 101 binds the client to its instance like any response would.
        const int first = connectTo(gateway.port());
        QVERIFY(first >= 0);
        QVERIFY(sendAll(first, upgradeRequest("/ws", "websocket", handshake)));
        std::string head;
        QVERIFY(readHeadSpinning(first, head));
        QVERIFY2(head.starts_with("HTTP/1.1 101 "), head.c_str());
        const auto at = head.find("Set-Cookie: WS_STICKY=");
        QVERIFY2(at != std::string::npos, head.c_str());
        const std::string cookie = head.substr(at + 12, head.find_first_of(";\r", at) - at - 12);
        QTRY_COMPARE_WITH_TIMEOUT(a.connections() + b.connections(), 1, kWait);
        EchoBackend& chosen = a.connections() == 1 ? a : b;
        // Round robin would pick the other instance next; the cookie keeps the client where it was.
        for (int i = 0; i < 2; ++i) {
            const int again = connectTo(gateway.port());
            QVERIFY(again >= 0);
            QVERIFY(
                sendAll(again, upgradeRequest("/ws", "websocket", handshake + "Cookie: " + cookie + "\r\n")));
            std::string answer;
            QVERIFY(readHeadSpinning(again, answer));
            QVERIFY2(answer.starts_with("HTTP/1.1 101 "), answer.c_str());
            QVERIFY(answer.find("Set-Cookie") == std::string::npos);
            ::close(again);
        }
        QTRY_COMPARE_WITH_TIMEOUT(chosen.connections(), 3, kWait);
        ::close(first);
        QTRY_COMPARE_WITH_TIMEOUT(metric(gateway, "proxy_tunnels_open{route=\"ws\"}"), 0LL, kWait);
    }

    void idleTimeoutClosesBothSides() {
        EchoBackend backend;
        TestGateway gateway(gatewayYaml(poolYaml("ws", {{"a", backend.address()}}),
                                        "timeouts: {tunnel_idle: 1s, client_header: 1s}\n"));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        WsClient client;
        QVERIFY(client.open(gateway.port()));
        // Traffic keeps a tunnel open well past the idle limit (and past the header timeout,
        // which no longer applies once upgraded).
        QElapsedTimer busy;
        busy.start();
        for (int i = 0; i < 100'000 && busy.elapsed() < 2500; ++i) {
            QVERIFY(client.echo(QStringLiteral("busy %1").arg(i)));
        }
        QVERIFY(client.connected());
        // Silence closes it.
        QVERIFY(client.waitForDisconnect());
        QTRY_COMPARE_WITH_TIMEOUT(metric(gateway, "proxy_tunnels_open{route=\"ws\"}"), 0LL, kWait);
        QTRY_COMPARE_WITH_TIMEOUT(gateway.engine().activeConnections(), 0LL, kWait);
    }

    void routeIdleTimeoutOverridesTheGlobalOne() {
        EchoBackend backend;
        TestGateway gateway(gatewayYaml(poolYaml("ws", {{"a", backend.address()}}),
                                        "timeouts: {tunnel_idle: 1h}\n",
                                        "  - name: quick\n    match: {path_prefix: /quick}\n    pool: ws\n"
                                        "    tunnel_idle: 1s\n"));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        WsClient patient;
        QVERIFY(patient.open(gateway.port()));
        WsClient quick;
        QVERIFY(quick.open(gateway.port(), QStringLiteral("/quick/x")));
        QVERIFY(quick.echo(QStringLiteral("hi")));
        QVERIFY(patient.echo(QStringLiteral("hi")));
        QVERIFY(quick.waitForDisconnect());
        QVERIFY(patient.echo(QStringLiteral("still open: the global limit is an hour")));
        QVERIFY(patient.close());
        QTRY_COMPARE_WITH_TIMEOUT(gateway.engine().activeConnections(), 0LL, kWait);
    }

    void clientHalfCloseKeepsTheOtherDirection() {
        // The client sends, then shuts down its side; the backend reads to its end of stream
        // and only then answers: the answer must still reach the client.
        std::string backendReceived;
        bool backendSawEof = false;
        RawUpgradeBackend backend("", [&](int fd, std::string afterHead) {
            backendReceived = std::move(afterHead);
            readUntil(
                fd, backendReceived, backendSawEof, [](const std::string&) { return false; },
                Clock::now() + std::chrono::milliseconds(kWait));
            if (backendSawEof) {
                sendAll(fd, "got:" + backendReceived);
            }
        });
        TestGateway gateway(gatewayYaml(poolYaml("ws", {{"a", "127.0.0.1:1"}}), "",
                                        "  - name: raw\n    match: {path_prefix: /raw}\n    pool: raw\n"
                                        "    upgrade: [websocket, test-proto]\n",
                                        poolYaml("raw", {{"r", backend.address()}})));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        const int fd = connectTo(gateway.port());
        QVERIFY(fd >= 0);
        // Bytes right behind the request head are part of the new protocol and go through too.
        QVERIFY(sendAll(fd, upgradeRequest("/raw/x", "test-proto") + "early|"));
        std::string received;
        bool eof = false;
        const auto deadline = Clock::now() + std::chrono::milliseconds(kWait);
        QVERIFY(readUntil(
            fd, received, eof, [](const std::string& r) { return r.find("\r\n\r\n") != std::string::npos; },
            deadline));
        QVERIFY2(received.starts_with("HTTP/1.1 101 "), received.c_str());
        QVERIFY(received.find("Upgrade: test-proto\r\n") != std::string::npos);
        QVERIFY(received.find("Connection: upgrade\r\n") != std::string::npos);
        received.erase(0, received.find("\r\n\r\n") + 4);
        QVERIFY(sendAll(fd, "one|two"));
        ::shutdown(fd, SHUT_WR);
        QVERIFY(readUntil(
            fd, received, eof, [](const std::string&) { return false; }, deadline));
        QVERIFY(eof);
        QCOMPARE(received, std::string("got:early|one|two"));
        ::close(fd);
        backend.join();
        QVERIFY(backendSawEof);
        QVERIFY(backend.requestHead().find("Upgrade: test-proto\r\n") != std::string::npos);
        QVERIFY(backend.requestHead().find("Connection: upgrade\r\n") != std::string::npos);
        QTRY_COMPARE_WITH_TIMEOUT(metric(gateway, "proxy_tunnels_open{route=\"raw\"}"), 0LL, kWait);
    }

    void requestBodyGoesFirst() {
        // An upgrade request with a body: the body reaches the instance in full before any byte
        // of the new protocol, and is not part of the tunnel's bytes.
        std::string backendReceived;
        bool backendSawEof = false;
        RawUpgradeBackend backend("", [&](int fd, std::string afterHead) {
            backendReceived = std::move(afterHead);
            readUntil(
                fd, backendReceived, backendSawEof, [](const std::string&) { return false; },
                Clock::now() + std::chrono::milliseconds(kWait));
            sendAll(fd, "got:" + backendReceived);
        });
        TestGateway gateway(gatewayYaml(poolYaml("ws", {{"a", "127.0.0.1:1"}}), "",
                                        "  - name: raw\n    match: {path_prefix: /raw}\n    pool: raw\n"
                                        "    upgrade: [test-proto]\n",
                                        poolYaml("raw", {{"r", backend.address()}})));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        const int fd = connectTo(gateway.port());
        QVERIFY(fd >= 0);
        QVERIFY(sendAll(fd, upgradeRequest("/raw/x", "test-proto", "Content-Length: 6\r\n") + "body!|"));
        std::string received;
        bool eof = false;
        const auto deadline = Clock::now() + std::chrono::milliseconds(kWait);
        QVERIFY(readUntil(
            fd, received, eof, [](const std::string& r) { return r.find("\r\n\r\n") != std::string::npos; },
            deadline));
        QVERIFY2(received.starts_with("HTTP/1.1 101 "), received.c_str());
        received.erase(0, received.find("\r\n\r\n") + 4);
        QVERIFY(sendAll(fd, "tunnel"));
        ::shutdown(fd, SHUT_WR);
        QVERIFY(readUntil(
            fd, received, eof, [](const std::string&) { return false; }, deadline));
        QCOMPARE(received, std::string("got:body!|tunnel"));
        ::close(fd);
        backend.join();
        QVERIFY(backend.requestHead().find("Content-Length: 6\r\n") != std::string::npos);
        QVERIFY(backendSawEof);
        QTRY_COMPARE_WITH_TIMEOUT(metric(gateway, "proxy_tunnel_bytes_received_total{route=\"raw\"}"), 6LL,
                                  kWait);
    }

    void backendHalfCloseKeepsTheOtherDirection() {
        // The backend says goodbye and shuts down its side; the client still sends afterwards.
        std::string backendReceived;
        bool backendSawEof = false;
        RawUpgradeBackend backend("bye", [&](int fd, std::string afterHead) {
            backendReceived = std::move(afterHead);
            ::shutdown(fd, SHUT_WR);
            readUntil(
                fd, backendReceived, backendSawEof, [](const std::string&) { return false; },
                Clock::now() + std::chrono::milliseconds(kWait));
        });
        TestGateway gateway(gatewayYaml(poolYaml("ws", {{"a", "127.0.0.1:1"}}), "",
                                        "  - name: raw\n    match: {path_prefix: /raw}\n    pool: raw\n"
                                        "    upgrade: [test-proto]\n",
                                        poolYaml("raw", {{"r", backend.address()}})));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        const int fd = connectTo(gateway.port());
        QVERIFY(fd >= 0);
        QVERIFY(sendAll(fd, upgradeRequest("/raw/x", "test-proto")));
        std::string received;
        bool eof = false;
        const auto deadline = Clock::now() + std::chrono::milliseconds(kWait);
        QVERIFY(readUntil(
            fd, received, eof, [](const std::string&) { return false; }, deadline));
        QVERIFY(eof); // the backend's end of stream arrived as ours
        QVERIFY2(received.starts_with("HTTP/1.1 101 "), received.c_str());
        QCOMPARE(received.substr(received.find("\r\n\r\n") + 4), std::string("bye"));
        QVERIFY(sendAll(fd, "still here"));
        ::shutdown(fd, SHUT_WR);
        backend.join();
        QCOMPARE(backendReceived, std::string("still here"));
        QVERIFY(backendSawEof);
        ::close(fd);
        QTRY_COMPARE_WITH_TIMEOUT(metric(gateway, "proxy_tunnels_open{route=\"raw\"}"), 0LL, kWait);
        QTRY_COMPARE_WITH_TIMEOUT(gateway.engine().activeConnections(), 0LL, kWait);
    }

    void drainWaitsForTunnelsUpToTheLimit() {
        EchoBackend backend;
        TestGateway gateway(
            gatewayYaml(poolYaml("ws", {{"a", backend.address()}}), "timeouts: {drain: 3s}\n"));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        WsClient client;
        QVERIFY(client.open(gateway.port()));
        QVERIFY(client.echo(QStringLiteral("before the drain")));

        GracefulStop stop(gateway.engine());
        QTRY_VERIFY_WITH_TIMEOUT(!gateway.engine().ready(), kWait);
        QTRY_VERIFY_WITH_TIMEOUT(refused(gateway.port()), kWait); // the worker has begun draining
        // Draining: the open tunnel still works, a new connection is not accepted.
        QVERIFY(client.echo(QStringLiteral("during the drain")));
        QVERIFY(!stop.done());
        WsClient late;
        QVERIFY(!late.open(gateway.port()));
        // At the limit the tunnel is closed and the stop completes.
        QVERIFY(client.waitForDisconnect());
        QTRY_VERIFY_WITH_TIMEOUT(stop.done(), kWait);
    }

    void drainEndsWhenTheLastTunnelCloses() {
        EchoBackend backend;
        TestGateway gateway(
            gatewayYaml(poolYaml("ws", {{"a", backend.address()}}), "timeouts: {drain: 10m}\n"));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        WsClient client;
        QVERIFY(client.open(gateway.port()));
        QVERIFY(client.echo(QStringLiteral("before the drain")));
        // An upgrade request whose head started before the drain is refused once it completes.
        const int partial = connectTo(gateway.port());
        QVERIFY(partial >= 0);
        QVERIFY(sendAll(partial, "GET /ws HTTP/1.1\r\nHost: gw.test\r\n"));
        QVERIFY(client.echo(QStringLiteral("the worker read the partial head by now")));

        GracefulStop stop(gateway.engine());
        QTRY_VERIFY_WITH_TIMEOUT(!gateway.engine().ready(), kWait);
        QTRY_VERIFY_WITH_TIMEOUT(refused(gateway.port()), kWait); // the worker has begun draining
        QVERIFY(sendAll(partial, "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"));
        std::string refused;
        bool eof = false;
        QVERIFY(readUntil(
            partial, refused, eof, [](const std::string&) { return false; },
            Clock::now() + std::chrono::milliseconds(kWait)));
        QVERIFY2(refused.starts_with("HTTP/1.1 503 "), refused.c_str());
        QVERIFY(refused.find("shutting_down") != std::string::npos);
        ::close(partial);

        QVERIFY(client.echo(QStringLiteral("during the drain")));
        QVERIFY(!stop.done());
        // The limit is ten minutes: the stop completes because the last tunnel ended.
        QVERIFY(client.close());
        QTRY_VERIFY_WITH_TIMEOUT(stop.done(), kWait);
    }

    void nonSwitchingAnswersAreRelayed() {
        FakeBackend backend("b", [](const ReceivedRequest& request) {
            Reply reply;
            if (!request.header("Upgrade").empty()) {
                reply.status = 426;
                reply.body =
                    "upgrade to what? " + request.header("Upgrade") + " / " + request.header("Connection");
            } else {
                reply.body = "plain";
            }
            return reply;
        });
        TestGateway gateway(gatewayYaml(poolYaml("ws", {{"b", backend.address()}})));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TestClient client(gateway.port());
        QCOMPARE(client.get("/ws/first")->status, 200); // leaves a pooled connection behind
        QVERIFY(client.sendRaw(upgradeRequest("/ws", "websocket", "Sec-WebSocket-Version: 13\r\n")));
        const auto refused = client.readResponse();
        QVERIFY2(refused, client.error().c_str());
        QCOMPARE(refused->status, 426);
        QCOMPARE(refused->body, std::string("upgrade to what? websocket / upgrade"));
        // Not upgraded: the connection serves the next request as usual.
        const auto next = client.get("/ws/plain");
        QVERIFY2(next, client.error().c_str());
        QCOMPARE(next->status, 200);
        QCOMPARE(next->body, std::string("plain"));
        QCOMPARE(backend.connectionsAccepted(), 2u); // an upgrade request never takes a pooled connection
        QCOMPARE(metric(gateway, "proxy_tunnels_total{route=\"ws\"}"), 0LL);
    }

    void switchNobodyAskedForIsBadGateway() {
        FakeBackend backend("b", [](const ReceivedRequest&) {
            Reply reply;
            reply.action = Reply::Action::RawBytes;
            reply.raw =
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
            reply.closeAfter = true;
            return reply;
        });
        // Every try fails the same way: no retries, breaker or ejection to change the answer.
        const std::string strict = "    retry: {attempts: 0}\n    circuit_breaker: {enabled: false}\n"
                                   "    outlier_detection: {consecutive_gateway_failures: 0}\n";
        TestGateway gateway(gatewayYaml(poolYaml("ws", {{"b", backend.address()}}, strict), "",
                                        "  - name: closed\n    match: {path_prefix: /closed}\n    pool: ws\n"
                                        "    upgrade: []\n"));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        // A plain request, and an upgrade on a route that allows none (sent upstream without it).
        for (const std::string& request : {std::string("GET /ws HTTP/1.1\r\nHost: gw.test\r\n\r\n"),
                                           upgradeRequest("/closed", "websocket")}) {
            TestClient client(gateway.port());
            QVERIFY(client.sendRaw(request));
            const auto response = client.readResponse();
            QVERIFY2(response, client.error().c_str());
            QCOMPARE(response->status, 502);
            QCOMPARE(response->json()["error"].get<std::string>(), std::string("upstream_protocol_error"));
        }
        QVERIFY(backend.waitForRequests(2, std::chrono::milliseconds(kWait)));
        for (const auto& request : backend.received()) {
            QCOMPARE(request.header("Upgrade"), std::string());
        }
        // A switch to another protocol than the one asked for is refused too.
        backend.setHandler([](const ReceivedRequest&) {
            Reply reply;
            reply.action = Reply::Action::RawBytes;
            reply.raw =
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: something-else\r\nConnection: Upgrade\r\n\r\n";
            reply.closeAfter = true;
            return reply;
        });
        TestClient client(gateway.port());
        QVERIFY(client.sendRaw(upgradeRequest("/ws", "websocket")));
        const auto response = client.readResponse();
        QVERIFY2(response, client.error().c_str());
        QCOMPARE(response->status, 502);
        QCOMPARE(metric(gateway, "proxy_tunnels_total{route=\"ws\"}"), 0LL);
    }

    void h2cIsNeverTunnelled() {
        FakeBackend backend("b");
        TestGateway gateway(gatewayYaml(poolYaml("ws", {{"b", backend.address()}})));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TestClient client(gateway.port());
        QVERIFY(client.sendRaw("GET /ws HTTP/1.1\r\nHost: gw.test\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                               "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n"));
        const auto response = client.readResponse();
        QVERIFY2(response, client.error().c_str());
        QCOMPARE(response->status, 200);
        QCOMPARE(response->body, std::string("b"));
        QVERIFY(backend.waitForRequests(1, std::chrono::milliseconds(kWait)));
        const auto received = backend.received().front();
        QCOMPARE(received.header("Upgrade"), std::string());
        QCOMPARE(received.header("HTTP2-Settings"), std::string());
        QVERIFY(received.header("Connection").find("pgrade") == std::string::npos);
        // The client's connection stays plain HTTP/1.1.
        QCOMPARE(client.get("/ws/again")->status, 200);
        // h2c offered next to websocket: only websocket is forwarded.
        FakeBackend second("c");
        QCOMPARE(gateway.apply(gatewayYaml(poolYaml("ws", {{"c", second.address()}}))), std::string());
        TestClient other(gateway.port());
        QVERIFY(other.sendRaw(upgradeRequest("/ws", "h2c, websocket")));
        QCOMPARE(other.readResponse()->status, 200); // a FakeBackend does not switch
        QVERIFY(second.waitForRequests(1, std::chrono::milliseconds(kWait)));
        QCOMPARE(second.received().front().header("Upgrade"), std::string("websocket"));
    }
};

QTEST_GUILESS_MAIN(TestUpgrade)
#include "tst_upgrade.moc"
