// Every error the gateway answers itself, provoked through real sockets with misbehaving clients
// and backends: status, JSON body with the request id, and what happens to the connection.
#include "tests/support/blackhole_listener.hpp"
#include "tests/support/fake_backend.hpp"
#include "tests/support/test_client.hpp"
#include "tests/support/test_gateway.hpp"

#include <fmt/format.h>

#include <QtTest>

using namespace gaetwae::test;

namespace {

std::string gatewayYaml(const std::vector<std::string>& addresses, const std::string& extra = "") {
    std::string yaml = "listeners: [{address: \"127.0.0.1:0\"}]\naccess_log: {enabled: false}\n" + extra +
                       "routes:\n  - name: api\n    match: {path_prefix: /api}\n    pool: p\n"
                       "pools:\n  - name: p\n    instances:";
    if (addresses.empty()) {
        yaml += " []\n";
    }
    yaml += "\n";
    int i = 0;
    for (const auto& address : addresses) {
        yaml += fmt::format("      - {{id: i{}, address: \"{}\"}}\n", ++i, address);
    }
    return yaml;
}

// Checks status, the JSON error body and that the body's request id matches the header.
void verifyError(const std::optional<Response>& response, int status, const std::string& code) {
    QVERIFY(response.has_value());
    QCOMPARE(response->status, status);
    QCOMPARE(response->header("Content-Type"), std::string("application/json"));
    const auto body = response->json();
    QVERIFY2(body.is_object(), response->body.c_str());
    QCOMPARE(body["error"].get<std::string>(), code);
    QVERIFY(!body["message"].get<std::string>().empty());
    QVERIFY(!body["requestId"].get<std::string>().empty());
    QCOMPARE(body["requestId"].get<std::string>(), response->header("X-Request-ID"));
}

} // namespace

class TestProxyErrors : public QObject {
    Q_OBJECT

private slots:
    void malformedRequestIs400AndCloses() {
        FakeBackend backend("b");
        TestGateway gateway(gatewayYaml({backend.address()}));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TestClient client(gateway.port());
        QVERIFY(client.sendRaw("THIS IS NOT HTTP\r\n\r\n"));
        verifyError(client.readResponse(), 400, "bad_request");
        QVERIFY(client.waitForClose(5s));
        QCOMPARE(backend.requestsReceived(), std::uint64_t(0));
    }

    void unmatchedRouteIs404AndKeepsTheConnection() {
        FakeBackend backend("b");
        TestGateway gateway(gatewayYaml({backend.address()}));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TestClient client(gateway.port());
        const auto response = client.get("/elsewhere");
        verifyError(response, 404, "no_route");
        QVERIFY(response->keepAlive);
        QCOMPARE(client.get("/api/x")->status, 200);
    }

    void slowHeaderIs408() {
        FakeBackend backend("b");
        TestGateway gateway(gatewayYaml({backend.address()}, "timeouts: {client_header: 200ms}\n"));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TestClient client(gateway.port());
        QVERIFY(client.sendRaw("GET /api/x HTTP/1.1\r\nHost: h\r\n")); // never finished
        verifyError(client.readResponse(), 408, "header_timeout");
        QVERIFY(client.waitForClose(5s));
    }

    void idleKeepAliveConnectionIsClosedSilently() {
        FakeBackend backend("b");
        TestGateway gateway(gatewayYaml({backend.address()}, "timeouts: {client_keepalive: 200ms}\n"));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TestClient client(gateway.port());
        QCOMPARE(client.get("/api/x")->status, 200);
        QVERIFY(client.waitForClose(5s));
        QVERIFY(!client.readResponse()); // closed without a 408: nothing was asked
    }

    void oversizedBodiesAre413() {
        FakeBackend backend("b");
        TestGateway gateway(gatewayYaml({backend.address()}, "limits: {max_body_bytes: 1KiB}\n"));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        {
            TestClient client(gateway.port());
            QVERIFY(client.sendRaw("POST /api/x HTTP/1.1\r\nHost: h\r\nContent-Length: 5000\r\n\r\n"));
            verifyError(client.readResponse(), 413, "body_too_large"); // before any body byte is sent
            QVERIFY(client.waitForClose(5s));
        }
        {
            TestClient client(gateway.port());
            QVERIFY(client.sendRaw("POST /api/x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"));
            std::uint64_t hash = 0;
            client.sendGenerated(3000, hash, true); // may fail midway once the gateway answers
            verifyError(client.readResponse(), 413, "body_too_large");
        }
        QCOMPARE(backend.requestsReceived(), std::uint64_t(0));
        const auto fits = TestClient(gateway.port()).request("POST", "/api/x", {}, std::string(1024, 'k'));
        QVERIFY(fits);
        QCOMPARE(fits->status, 200);
    }

    void oversizedHeadsAre414And431() {
        FakeBackend backend("b");
        TestGateway gateway(gatewayYaml({backend.address()},
                                        "limits: {max_uri_bytes: 100, max_header_count: 10, max_header_bytes: 2KiB}\n"));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        verifyError(TestClient(gateway.port()).get("/api/" + std::string(200, 'u')), 414, "uri_too_long");
        std::vector<std::pair<std::string, std::string>> many;
        for (int i = 0; i < 12; ++i) {
            many.emplace_back("X-H" + std::to_string(i), "v");
        }
        verifyError(TestClient(gateway.port()).request("GET", "/api/x", many), 431, "headers_too_large");
        verifyError(TestClient(gateway.port()).request("GET", "/api/x", {{"X-Big", std::string(3000, 'b')}}), 431,
                    "headers_too_large");
        QCOMPARE(backend.requestsReceived(), std::uint64_t(0));
    }

    void unsupportedExpectationAndConnect() {
        FakeBackend backend("b");
        TestGateway gateway(gatewayYaml({backend.address()}));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        verifyError(TestClient(gateway.port()).request("GET", "/api/x", {{"Expect", "something-else"}}), 417,
                    "expectation_failed");
        TestClient client(gateway.port());
        QVERIFY(client.sendRaw("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"));
        verifyError(client.readResponse(), 405, "method_not_allowed");
    }

    void refusedConnectIs502() {
        TestGateway gateway(gatewayYaml({"127.0.0.1:" + std::to_string(closedPort())}));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TestClient client(gateway.port());
        const auto response = client.get("/api/x");
        verifyError(response, 502, "upstream_connect_failed");
        QVERIFY(response->keepAlive); // the client did nothing wrong
    }

    void connectTimeoutIs504() {
        BlackholeListener blackhole;
        TestGateway gateway(gatewayYaml({"127.0.0.1:" + std::to_string(blackhole.port())},
                                        "timeouts: {upstream_connect: 300ms}\n"));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        verifyError(TestClient(gateway.port()).get("/api/x"), 504, "upstream_connect_timeout");
    }

    void garbageResponseIs502() {
        FakeBackend backend("b", [](const ReceivedRequest&) {
            Reply reply;
            reply.action = Reply::Action::RawBytes;
            reply.raw = "SMTP READY\r\n\r\n";
            reply.closeAfter = true;
            return reply;
        });
        TestGateway gateway(gatewayYaml({backend.address()}));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        verifyError(TestClient(gateway.port()).get("/api/x"), 502, "upstream_protocol_error");
    }

    void closeBeforeResponseIs502() {
        FakeBackend backend("b", [](const ReceivedRequest&) {
            Reply reply;
            reply.action = Reply::Action::CloseBeforeHead;
            return reply;
        });
        TestGateway gateway(gatewayYaml({backend.address()}));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        verifyError(TestClient(gateway.port()).get("/api/x"), 502, "upstream_reset");
        QCOMPARE(backend.requestsReceived(), std::uint64_t(3)); // the default policy retries a GET twice

        std::string noRetries = gatewayYaml({backend.address()});
        noRetries += "    retry: {attempts: 0}\n";
        TestGateway strict(noRetries);
        QVERIFY2(strict.ok(), strict.error().c_str());
        verifyError(TestClient(strict.port()).get("/api/x"), 502, "upstream_reset");
        QCOMPARE(backend.requestsReceived(), std::uint64_t(4));
    }

    void hangingBackendIs504() {
        FakeBackend backend("b", [](const ReceivedRequest&) {
            Reply reply;
            reply.action = Reply::Action::Hang;
            return reply;
        });
        TestGateway gateway(gatewayYaml({backend.address()}, "timeouts: {upstream_response: 300ms}\n"));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TestClient client(gateway.port());
        const auto response = client.get("/api/x");
        verifyError(response, 504, "upstream_timeout");
        QVERIFY(response->keepAlive);
        backend.release();
    }

    void closeMidBodyTruncatesTheClientResponse() {
        FakeBackend backend("b", [](const ReceivedRequest&) {
            Reply reply;
            reply.action = Reply::Action::CloseMidBody;
            reply.generatedBytes = 200'000;
            return reply;
        });
        TestGateway gateway(gatewayYaml({backend.address()}));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TestClient client(gateway.port());
        const auto response = client.get("/api/x");
        QVERIFY(!response); // the head said 200 000 bytes; the connection ends before them
        QCOMPARE(client.error(), std::string("connection closed mid-response"));
    }

    void noInstanceIs503() {
        TestGateway empty(gatewayYaml({}));
        QVERIFY2(empty.ok(), empty.error().c_str());
        verifyError(TestClient(empty.port()).get("/api/x"), 503, "no_healthy_instance");

        FakeBackend backend("b");
        std::string yaml = gatewayYaml({backend.address()});
        yaml.replace(yaml.find("\"}", yaml.find("id: i1")), 2, "\", weight: 0}");
        TestGateway weightless(yaml);
        QVERIFY2(weightless.ok(), weightless.error().c_str());
        verifyError(TestClient(weightless.port()).get("/api/x"), 503, "no_healthy_instance");
        QCOMPARE(backend.requestsReceived(), std::uint64_t(0));
    }

    void connectionCapHoldsNewClientsInTheBacklog() {
        FakeBackend backend("b");
        TestGateway gateway(gatewayYaml({backend.address()}, "limits: {max_connections: 2}\n"));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        auto first = std::make_unique<TestClient>(gateway.port());
        TestClient second(gateway.port());
        QCOMPARE(first->get("/api/1")->status, 200);
        QCOMPARE(second.get("/api/2")->status, 200);
        TestClient third(gateway.port(), 10s); // connects (kernel backlog), but is not accepted yet
        QVERIFY(third.sendRaw("GET /api/3 HTTP/1.1\r\nHost: h\r\n\r\n"));
        // Held back: an uncapped gateway answers in about a millisecond, so 300 ms of silence
        // is a clear signal (and a capped one can never answer here, so this cannot flake).
        third.setTimeout(300ms);
        QVERIFY(!third.readResponse());
        QCOMPARE(third.error(), std::string("recv: timed out"));
        QCOMPARE(gateway.engine().activeConnections(), std::int64_t(2));
        QCOMPARE(backend.requestsReceived(), std::uint64_t(2));
        first.reset(); // frees a slot: the waiting client is accepted and served
        third.setTimeout(10s);
        const auto response = third.readResponse();
        QVERIFY2(response, third.error().c_str());
        QCOMPARE(response->status, 200);
        QCOMPARE(backend.requestsReceived(), std::uint64_t(3));
    }

    void upstreamHeaderTooLargeIs502() {
        FakeBackend backend("b", [](const ReceivedRequest&) {
            Reply reply;
            reply.headers.emplace_back("X-Huge", std::string(8000, 'h'));
            return reply;
        });
        TestGateway gateway(gatewayYaml({backend.address()}, "limits: {max_response_header_bytes: 4KiB}\n"));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        verifyError(TestClient(gateway.port()).get("/api/x"), 502, "upstream_protocol_error");
    }
};

QTEST_GUILESS_MAIN(TestProxyErrors)
#include "tst_proxy_errors.moc"
