// Hostile clients through real sockets: request-smuggling shapes and other malformed heads are
// refused before anything reaches a backend; slowloris, slow POST and one address hoarding
// connections cannot starve normal clients.
#include "tests/support/fake_backend.hpp"
#include "tests/support/test_client.hpp"
#include "tests/support/test_gateway.hpp"

#include <fmt/format.h>

#include <QtTest>

#include <arpa/inet.h>
#include <cerrno>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>

using namespace gaetwae::test;
using Clock = std::chrono::steady_clock;

namespace {

std::string gatewayYaml(const std::string& backendAddress, const std::string& extra = "") {
    return "listeners: [{address: \"127.0.0.1:0\"}]\naccess_log: {enabled: false}\n" + extra +
           "routes:\n  - name: api\n    match: {path_prefix: /api}\n    pool: p\n"
           "pools:\n  - name: p\n    instances:\n      - {id: i1, address: \"" +
           backendAddress + "\"}\n";
}

int msLeft(Clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return static_cast<int>(std::max<std::int64_t>(0, left));
}

// A bare non-blocking client socket, for tests that hold many connections or must see exactly
// what (if anything) the gateway sends before closing.
class RawConnection {
public:
    explicit RawConnection(std::uint16_t port) {
        m_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(port);
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (m_fd >= 0 && ::connect(m_fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
            ::close(m_fd);
            m_fd = -1;
        }
        if (m_fd >= 0) {
            const int one = 1;
            ::setsockopt(m_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            const int flags = ::fcntl(m_fd, F_GETFL);
            ::fcntl(m_fd, F_SETFL, flags | O_NONBLOCK);
        }
    }
    ~RawConnection() { close(); }
    RawConnection(const RawConnection&) = delete;
    RawConnection& operator=(const RawConnection&) = delete;

    int fd() const { return m_fd; }
    bool open() const { return m_fd >= 0 && !m_closedByPeer; }
    bool closedByPeer() const { return m_closedByPeer; }
    bool reset() const { return m_reset; }
    const std::string& received() const { return m_received; }

    // False once the peer is gone.
    bool send(std::string_view bytes) {
        while (!bytes.empty() && open()) {
            const ssize_t n = ::send(m_fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
            if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
                pollfd p{m_fd, POLLOUT, 0};
                ::poll(&p, 1, 1000);
                continue;
            }
            if (n < 0) {
                m_closedByPeer = true;
                m_reset = true;
                return false;
            }
            bytes.remove_prefix(static_cast<std::size_t>(n));
        }
        return open();
    }
    // Reads what is available without waiting; notices EOF and resets.
    void drain() {
        char buffer[4096];
        while (open()) {
            const ssize_t n = ::recv(m_fd, buffer, sizeof buffer, 0);
            if (n > 0) {
                m_received.append(buffer, static_cast<std::size_t>(n));
                continue;
            }
            if (n == 0) {
                m_closedByPeer = true;
            } else if (errno != EAGAIN && errno != EINTR) {
                m_closedByPeer = true;
                m_reset = true;
            }
            return;
        }
    }
    // Waits until the peer closes, reading whatever it sends first.
    bool waitForClose(Clock::time_point deadline) {
        while (open()) {
            drain();
            if (!open()) {
                break;
            }
            pollfd p{m_fd, POLLIN, 0};
            if (::poll(&p, 1, msLeft(deadline)) <= 0) {
                return false;
            }
        }
        return true;
    }
    void close() {
        if (m_fd >= 0) {
            ::close(m_fd);
            m_fd = -1;
        }
    }

private:
    int m_fd = -1;
    bool m_closedByPeer = false;
    bool m_reset = false;
    std::string m_received;
};

// 2,000 connections need more descriptors than some defaults allow (both ends live here).
void raiseDescriptorLimit(rlim_t wanted) {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < wanted) {
        limit.rlim_cur = std::min(wanted, limit.rlim_max);
        ::setrlimit(RLIMIT_NOFILE, &limit);
    }
}

std::string slowBody(std::size_t n) {
    return std::string(n, 'a');
}

} // namespace

class TestHardening : public QObject {
    Q_OBJECT

private slots:
    void initTestCase() {
        m_backend = std::make_unique<FakeBackend>("b");
        // Small caps, so the 413/414/431 rows stay short; everything else at its default.
        m_gateway = std::make_unique<TestGateway>(
            gatewayYaml(m_backend->address(), "limits: {max_body_bytes: 1KiB, max_uri_bytes: 1KiB, "
                                              "max_header_bytes: 4KiB, max_header_count: 20}\n"));
        QVERIFY2(m_gateway->ok(), m_gateway->error().c_str());
    }

    void malformedRequestIsRefused_data() {
        QTest::addColumn<QByteArray>("raw");
        QTest::addColumn<int>("status");
        QTest::addColumn<QString>("code");
        const auto row = [](const char* name, const std::string& raw, int status = 400,
                            const char* code = "bad_request") {
            QTest::newRow(name) << QByteArray(raw.data(), static_cast<int>(raw.size())) << status
                                << QString(code);
        };
        const std::string post = "POST /api/x HTTP/1.1\r\nHost: h\r\n";
        const std::string get = "GET /api/x HTTP/1.1\r\n";
        const std::string chunked = post + "Transfer-Encoding: chunked\r\n\r\n";

        // ---- framing: Content-Length and Transfer-Encoding (RFC 9112 6)
        row("cl-then-te", post + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
        row("te-then-cl", post + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n");
        row("cl-differing", post + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!");
        row("cl-repeated-equal", post + "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello");
        row("cl-list", post + "Content-Length: 5, 5\r\n\r\nhello");
        row("cl-negative", post + "Content-Length: -1\r\n\r\n");
        row("cl-plus-sign", post + "Content-Length: +5\r\n\r\nhello");
        row("cl-hex", post + "Content-Length: 0x5\r\n\r\nhello");
        row("cl-overflow", post + "Content-Length: 99999999999999999999999\r\n\r\n");
        row("te-chunked-gzip", post + "Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n");
        row("te-gzip-chunked", post + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n");
        row("te-xchunked", post + "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n");
        row("te-chunked-twice", post + "Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n");
        row("te-two-fields",
            post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
        row("te-identity", post + "Transfer-Encoding: identity\r\n\r\n");
        row("te-on-http10", "POST /api/x HTTP/1.0\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
        // ---- chunk lines
        row("chunk-size-not-hex", chunked + "zz\r\nhello\r\n0\r\n\r\n");
        row("chunk-size-overflow", chunked + "1ffffffffffffffffff\r\nhello\r\n0\r\n\r\n");
        row("chunk-size-negative", chunked + "-5\r\nhello\r\n0\r\n\r\n");
        row("chunk-size-leading-space", chunked + " 5\r\nhello\r\n0\r\n\r\n");
        row("chunk-size-trailing-space", chunked + "5 \r\nhello\r\n0\r\n\r\n");
        row("chunk-size-empty", chunked + "\r\nhello\r\n0\r\n\r\n");
        row("chunk-data-without-crlf", chunked + "5\r\nhelloXX0\r\n\r\n");
        row("chunk-line-bare-lf", chunked + "5\nhello\r\n0\r\n\r\n");
        row("chunk-extension-too-long", chunked + "5;e=" + std::string(2000, 'x') + "\r\nhello\r\n0\r\n\r\n");
        // ---- line syntax
        row("obs-fold-space", get + "Host: h\r\nX-A: one\r\n two\r\n\r\n");
        row("obs-fold-tab", get + "Host: h\r\nX-A: one\r\n\ttwo\r\n\r\n");
        row("bare-lf-request-line", "GET /api/x HTTP/1.1\nHost: h\r\n\r\n");
        row("bare-lf-header-line", get + "Host: h\nX-A: b\r\n\r\n");
        row("bare-lf-everywhere", "GET /api/x HTTP/1.1\nHost: h\n\n");
        row("bare-cr-request-line", "GET /api/x HTTP/1.1\rHost: h\r\n\r\n");
        row("bare-cr-header-value", get + "Host: h\r\nX-A: b\rX-B: c\r\n\r\n");
        row("header-without-colon", get + "Host: h\r\nX-A\r\n\r\n");
        row("space-before-colon", get + "Host: h\r\nX-A : b\r\n\r\n");
        row("host-space-before-colon", get + "Host : h\r\n\r\n");
        row("non-token-name", get + "Host: h\r\nX(A): b\r\n\r\n");
        row("empty-name", get + "Host: h\r\n: b\r\n\r\n");
        row("nul-in-value", get + "Host: h\r\nX-A: b" + std::string(1, '\0') + "c\r\n\r\n");
        row("ctl-in-value", get + "Host: h\r\nX-A: b\x01"
                                  "c\r\n\r\n");
        row("del-in-value", get + "Host: h\r\nX-A: b\x7f\r\n\r\n");
        row("nul-in-target", "GET /api/" + std::string(1, '\0') + "x HTTP/1.1\r\nHost: h\r\n\r\n");
        // ---- request line
        row("invalid-method", "G@T /api/x HTTP/1.1\r\nHost: h\r\n\r\n");
        row("double-space-after-method", "GET  /api/x HTTP/1.1\r\nHost: h\r\n\r\n");
        row("double-space-before-version", "GET /api/x  HTTP/1.1\r\nHost: h\r\n\r\n");
        row("trailing-space-after-version", "GET /api/x HTTP/1.1 \r\nHost: h\r\n\r\n");
        row("tab-separator", "GET\t/api/x HTTP/1.1\r\nHost: h\r\n\r\n");
        row("version-lower-case", "GET /api/x http/1.1\r\nHost: h\r\n\r\n");
        row("version-garbage", "GET /api/x HTTP/1.x\r\nHost: h\r\n\r\n");
        row("version-two", "GET /api/x HTTP/2.0\r\nHost: h\r\n\r\n");
        row("missing-version", "GET /api/x\r\nHost: h\r\n\r\n");
        row("raw-utf8-in-target", "GET /api/caf\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n");
        // ---- Host
        row("missing-host", get + "X-A: b\r\n\r\n");
        row("two-hosts", get + "Host: h\r\nHost: h\r\n\r\n");
        row("host-with-slash", get + "Host: h/evil\r\n\r\n");
        row("host-with-at", get + "Host: user@h\r\n\r\n");
        row("absolute-form-host-mismatch", "GET http://other.example/api/x HTTP/1.1\r\nHost: h\r\n\r\n");
        row("absolute-form-port-mismatch", "GET http://h:8080/api/x HTTP/1.1\r\nHost: h\r\n\r\n");
        // ---- size caps (precise statuses)
        row("uri-too-long", "GET /api/" + std::string(2000, 'u') + " HTTP/1.1\r\nHost: h\r\n\r\n", 414,
            "uri_too_long");
        row("head-too-large", get + "Host: h\r\nX-A: " + std::string(5000, 'v') + "\r\n\r\n", 431,
            "headers_too_large");
        std::string many = get + "Host: h\r\n";
        for (int i = 0; i < 25; ++i) {
            many += fmt::format("X-{}: v\r\n", i);
        }
        row("too-many-headers", many + "\r\n", 431, "headers_too_large");
        row("content-length-too-large", post + "Content-Length: 2000\r\n\r\n" + slowBody(2000), 413,
            "body_too_large");
        row("chunked-body-too-large", chunked + "7d0\r\n" + slowBody(2000) + "\r\n0\r\n\r\n", 413,
            "body_too_large");
        row("unsupported-expect", post + "Expect: tea\r\nContent-Length: 1\r\n\r\na", 417,
            "expectation_failed");
    }

    void malformedRequestIsRefused() {
        QFETCH(QByteArray, raw);
        QFETCH(int, status);
        QFETCH(QString, code);
        TestClient client(m_gateway->port());
        QVERIFY(client.connected());
        QVERIFY(client.sendRaw(std::string_view(raw.constData(), static_cast<std::size_t>(raw.size()))));
        const auto response = client.readResponse();
        QVERIFY2(response.has_value(), client.error().c_str());
        QCOMPARE(response->status, status);
        QCOMPARE(response->header("Content-Type"), std::string("application/json"));
        const auto body = response->json();
        QVERIFY2(body.is_object(), response->body.c_str());
        QCOMPARE(QString::fromStdString(body["error"].get<std::string>()), code);
        QVERIFY(!body["requestId"].get<std::string>().empty());
        QCOMPARE(response->header("Connection"), std::string("close"));
        QVERIFY(client.waitForClose(5s));
        QCOMPARE(m_backend->requestsReceived(), std::uint64_t(0));
    }

    void nothingReachedTheBackend() {
        // After every row above, and any late forwarding would have arrived by now: the gateway
        // closed each connection before this test began.
        QCOMPARE(m_backend->requestsReceived(), std::uint64_t(0));
    }

    void unusualButValidRequestIsServed_data() {
        QTest::addColumn<QByteArray>("raw");
        QTest::addColumn<QByteArray>("body"); // what the backend must receive
        const auto row = [](const char* name, const std::string& raw, const std::string& body = {}) {
            QTest::newRow(name) << QByteArray(raw.data(), static_cast<int>(raw.size()))
                                << QByteArray(body.data(), static_cast<int>(body.size()));
        };
        const std::string post = "POST /api/x HTTP/1.1\r\nHost: h\r\n";
        row("chunk-extensions",
            post + "Transfer-Encoding: chunked\r\n\r\n5;name=value;flag\r\nhello\r\n0\r\n\r\n", "hello");
        row("lower-case-transfer-encoding",
            post + "transfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", "hello");
        row("upper-case-chunked", post + "Transfer-Encoding: CHUNKED\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            "hello");
        row("chunked-with-trailer",
            post + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n", "hello");
        row("chunk-size-upper-hex", post + "Transfer-Encoding: chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n",
            "0123456789");
        row("content-length-leading-zeros", post + "Content-Length: 005\r\n\r\nhello", "hello");
        row("absolute-form-matching-host", "GET http://h/api/x HTTP/1.1\r\nHost: h\r\n\r\n");
        row("absolute-form-default-port", "GET http://H:80/api/x HTTP/1.1\r\nHost: h\r\n\r\n");
        row("host-with-port", "GET /api/x HTTP/1.1\r\nHost: h:8080\r\n\r\n");
        row("host-ipv6-literal", "GET /api/x HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n");
        row("http10-without-host", "GET /api/x HTTP/1.0\r\n\r\n");
        row("tab-and-obs-text-in-value", "GET /api/x HTTP/1.1\r\nHost: h\r\nX-A: a\tb caf\xc3\xa9\r\n\r\n");
        row("no-space-after-colon", "GET /api/x HTTP/1.1\r\nHost:h\r\nX-A:b\r\n\r\n");
        row("token-punctuation-in-name", "GET /api/x HTTP/1.1\r\nHost: h\r\nX-!#$%&'*+.^_`|~: b\r\n\r\n");
    }

    void unusualButValidRequestIsServed() {
        QFETCH(QByteArray, raw);
        QFETCH(QByteArray, body);
        FakeBackend backend("ok");
        TestGateway gateway(gatewayYaml(backend.address()));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TestClient client(gateway.port());
        QVERIFY(client.sendRaw(std::string_view(raw.constData(), static_cast<std::size_t>(raw.size()))));
        const auto response = client.readResponse();
        QVERIFY2(response.has_value(), client.error().c_str());
        QCOMPARE(response->status, 200);
        QCOMPARE(response->body, std::string("ok"));
        QVERIFY(backend.waitForRequests(1, 5s));
        QCOMPARE(QByteArray::fromStdString(backend.received().front().body), body);
    }

    void perIpLimitRefusesBeyondTheLimit() {
        FakeBackend backend("b");
        constexpr int kLimit = 4;
        // Two workers: the kernel spreads the connections over both, the limit counts them together.
        TestGateway gateway(gatewayYaml(backend.address(), "limits: {max_connections_per_ip: 4}\n"), 2);
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        // Served, so accepted and counted (a connect alone only reaches the kernel backlog).
        std::vector<std::unique_ptr<TestClient>> held;
        for (int i = 0; i < kLimit; ++i) {
            held.push_back(std::make_unique<TestClient>(gateway.port()));
            const auto response = held.back()->get("/api/x");
            QVERIFY2(response.has_value(), held.back()->error().c_str());
            QCOMPARE(response->status, 200);
            QVERIFY(response->keepAlive);
        }
        // Connection N+1 is closed at accept without a byte of response.
        RawConnection refused(gateway.port());
        QVERIFY(refused.fd() >= 0);
        QVERIFY(refused.waitForClose(Clock::now() + 5s));
        QVERIFY(refused.received().empty());
        QCOMPARE(gateway.engine().connectionsRefusedPerIp(), std::uint64_t(1));
        // The N held ones are unaffected.
        for (auto& client : held) {
            QCOMPARE(client->get("/api/x")->status, 200);
        }
        // One leaves; once the gateway has noticed, a new connection is accepted again.
        held.back()->close();
        held.pop_back();
        const auto deadline = Clock::now() + 10s;
        bool served = false;
        while (!served && Clock::now() < deadline) {
            TestClient again(gateway.port(), 2s);
            const auto response = again.get("/api/x");
            served = response.has_value() && response->status == 200;
        }
        QVERIFY(served);
        QCOMPARE(backend.requestsReceived(), std::uint64_t(2 * kLimit + 1));
    }

    void slowlorisDoesNotStarveNormalClients() {
        constexpr int kSlow = 2000;
        constexpr int kNormal = 50;
        raiseDescriptorLimit(3 * kSlow + 512);
        FakeBackend backend("b");
        // One worker serves everything, the hardest case; the per-address limit is off because
        // every client here is 127.0.0.1.
        TestGateway gateway(gatewayYaml(backend.address(), "timeouts: {client_header: 2s}\n"
                                                           "limits: {max_connections_per_ip: 0}\n"));
        QVERIFY2(gateway.ok(), gateway.error().c_str());

        std::vector<std::unique_ptr<RawConnection>> slow;
        slow.reserve(kSlow);
        for (int i = 0; i < kSlow; ++i) {
            slow.push_back(std::make_unique<RawConnection>(gateway.port()));
            QVERIFY2(slow.back()->fd() >= 0, "connect failed (descriptor limit?)");
            QVERIFY(slow.back()->send("GET /api/slow HTTP/1.1\r\nHost: h\r\nX-Slow: "));
        }
        const auto lastStarted = Clock::now();
        QVERIFY(QTest::qWaitFor([&] { return gateway.engine().activeConnections() >= kSlow; }, 10000));

        // While all of them hold a connection, normal clients are served.
        for (int i = 0; i < kNormal; ++i) {
            const auto response = fetch(gateway.port(), "/api/normal", 10s);
            QVERIFY2(response.has_value(), "a normal request did not complete");
            QCOMPARE(response->status, 200);
        }
        QCOMPARE(backend.requestsReceived(), std::uint64_t(kNormal));

        // They keep trickling a byte each round; the header deadline is total, so the gateway
        // closes every one about client_header after its first byte all the same.
        const auto deadline = lastStarted + 2s + 8s;
        std::vector<pollfd> fds;
        std::size_t open = kSlow;
        while (open > 0 && Clock::now() < deadline) {
            fds.clear();
            for (auto& connection : slow) {
                if (connection->open()) {
                    fds.push_back({connection->fd(), POLLIN, 0});
                }
            }
            // Waits for a close (or the 408 before it); the timeout paces the trickle.
            ::poll(fds.data(), fds.size(), std::min(100, msLeft(deadline)));
            open = 0;
            for (auto& connection : slow) {
                connection->drain();
                if (connection->open() && connection->send("a")) {
                    ++open;
                }
            }
        }
        QVERIFY2(open == 0, qPrintable(QString("%1 slow connection(s) still open, %2 at the gateway")
                                           .arg(open)
                                           .arg(gateway.engine().activeConnections())));
        std::size_t answered408 = 0;
        for (const auto& connection : slow) {
            // Each saw the 408 or, when a trickled byte raced the close, a reset.
            const bool got408 = connection->received().rfind("HTTP/1.1 408 ", 0) == 0;
            QVERIFY2(got408 || connection->reset(), connection->received().c_str());
            answered408 += got408 ? 1 : 0;
        }
        QVERIFY(answered408 > 0);
        QCOMPARE(backend.requestsReceived(), std::uint64_t(kNormal)); // no slow head was forwarded
        QVERIFY(QTest::qWaitFor([&] { return gateway.engine().activeConnections() == 0; }, 10000));
    }

    void slowPostBelowMinimumRateIs408_data() {
        QTest::addColumn<QByteArray>("head");
        const QByteArray post = "POST /api/upload HTTP/1.1\r\nHost: h\r\n";
        QTest::newRow("content-length-buffered") << post + "Content-Length: 1000\r\n\r\n";
        QTest::newRow("content-length-streamed") << post + "Content-Length: 1000000\r\n\r\n";
        QTest::newRow("chunked") << post + "Transfer-Encoding: chunked\r\n\r\nf4240\r\n";
    }

    void slowPostBelowMinimumRateIs408() {
        QFETCH(QByteArray, head);
        FakeBackend backend("b");
        // The silence timeout is far away: only the rate can end this body.
        TestGateway gateway(gatewayYaml(backend.address(),
                                        "timeouts: {client_body: 60s}\n"
                                        "limits: {max_body_bytes: 10MiB, min_body_rate: 1KiB,"
                                        " min_body_rate_window: 500ms}\n"));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        RawConnection client(gateway.port());
        QVERIFY(client.send(std::string_view(head.constData(), static_cast<std::size_t>(head.size()))));
        // About 100 bytes per second, a tenth of the minimum, never silent for long.
        const auto start = Clock::now();
        const auto deadline = start + 10s;
        while (client.open() && Clock::now() < deadline) {
            client.send("aaaaaaaaaa");
            pollfd p{client.fd(), POLLIN, 0};
            ::poll(&p, 1, std::min(100, msLeft(deadline)));
            client.drain();
        }
        QVERIFY2(!client.open(), "the slow body was not stopped");
        QVERIFY2(client.received().rfind("HTTP/1.1 408 ", 0) == 0, client.received().c_str());
        QVERIFY(client.received().find("\"body_timeout\"") != std::string::npos);
        QVERIFY(client.received().find("minimum rate") != std::string::npos);
    }

    void bodyAboveMinimumRatePasses() {
        FakeBackend backend("b");
        TestGateway gateway(gatewayYaml(backend.address(),
                                        "limits: {max_body_bytes: 10MiB, min_body_rate: 1KiB,"
                                        " min_body_rate_window: 500ms}\n"));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        // 40 KiB over about 2 s: several windows, each well above 1 KiB/s.
        constexpr std::size_t kPiece = 2048;
        constexpr std::size_t kPieces = 20;
        RawConnection client(gateway.port());
        QVERIFY(client.send(fmt::format("POST /api/upload HTTP/1.1\r\nHost: h\r\nContent-Length: {}\r\n\r\n",
                                        kPiece * kPieces)));
        for (std::size_t i = 0; i + 1 < kPieces; ++i) {
            QVERIFY(client.send(slowBody(kPiece)));
            pollfd p{client.fd(), POLLIN, 0};
            const int ready = ::poll(&p, 1, 100);
            client.drain();
            QVERIFY2(ready == 0, client.received().c_str()); // nothing from the gateway while the body flows
        }
        QVERIFY(client.send(slowBody(kPiece))); // the last piece completes the body
        QVERIFY(QTest::qWaitFor(
            [&] {
                client.drain();
                return client.received().find("\r\n\r\nb") != std::string::npos;
            },
            10000));
        QVERIFY2(client.received().rfind("HTTP/1.1 200 ", 0) == 0, client.received().c_str());
        QVERIFY(backend.waitForRequests(1, 5s));
        QCOMPARE(backend.received().front().bodyBytes, std::uint64_t(kPiece * kPieces));
    }

    void cleanupTestCase() {
        m_gateway.reset();
        m_backend.reset();
    }

private:
    std::unique_ptr<FakeBackend> m_backend;
    std::unique_ptr<TestGateway> m_gateway;
};

QTEST_GUILESS_MAIN(TestHardening)
#include "tst_hardening.moc"
