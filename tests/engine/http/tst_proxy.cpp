// The proxy data path through real sockets: balancing order, keep-alive reuse, pipelining,
// framing conversions, header rules as the backend sees them, rewrites, retries and reloads.
#include "tests/support/fake_backend.hpp"
#include "tests/support/test_client.hpp"
#include "tests/support/test_gateway.hpp"

#include <fmt/format.h>

#include <QTemporaryDir>
#include <QtTest>

#include <fstream>

using namespace gaetwae::test;

namespace {

// YAML for one listener on port 0, a catch-all route and one pool of `backends`.
std::string gatewayYaml(const std::vector<const FakeBackend*>& backends, const std::string& extra = "",
                        const std::string& routeExtra = "") {
    std::string yaml = "listeners: [{address: \"127.0.0.1:0\"}]\naccess_log: {enabled: false}\n" + extra +
                       "routes:\n  - name: all\n    match: {path_prefix: /}\n    pool: p\n" + routeExtra +
                       "pools:\n  - name: p\n    instances:\n";
    for (const auto* backend : backends) {
        yaml += fmt::format("      - {{id: {}, address: \"{}\"}}\n", backend->name(), backend->address());
    }
    return yaml;
}

Reply echoTarget(const ReceivedRequest& request) {
    Reply reply;
    reply.body = request.target;
    return reply;
}

} // namespace

class TestProxy : public QObject {
    Q_OBJECT

private slots:
    void roundRobinAcrossFourBackends() {
        FakeBackend s1("s1"), s2("s2"), s3("s3"), s4("s4");
        TestGateway gateway(gatewayYaml({&s1, &s2, &s3, &s4}));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TestClient client(gateway.port());
        std::string order;
        for (int i = 0; i < 12; ++i) {
            const auto response = client.get("/");
            QVERIFY2(response, client.error().c_str());
            QCOMPARE(response->status, 200);
            order += response->header("Server") + " ";
        }
        QCOMPARE(order, std::string("s1 s2 s3 s4 s1 s2 s3 s4 s1 s2 s3 s4 "));
    }

    void keepAliveReusesUpstreamConnections() {
        FakeBackend backend("b");
        TestGateway gateway(gatewayYaml({&backend}));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        {
            TestClient client(gateway.port());
            for (int i = 0; i < 100; ++i) {
                const auto response = client.get("/");
                QVERIFY2(response && response->status == 200, client.error().c_str());
                QVERIFY(response->keepAlive);
            }
        }
        for (int c = 0; c < 20; ++c) { // new client connections, sequentially: the pool carries over
            TestClient client(gateway.port());
            for (int i = 0; i < 5; ++i) {
                const auto response = client.get("/");
                QVERIFY2(response && response->status == 200, client.error().c_str());
            }
        }
        QCOMPARE(backend.requestsReceived(), std::uint64_t(200));
        QCOMPARE(backend.connectionsAccepted(), std::uint64_t(1));
        QCOMPARE(gateway.engine().upstreamConnectionsOpened(), std::uint64_t(1));
    }

    void pipelinedRequestsAnswerInOrder() {
        FakeBackend backend("b", echoTarget);
        TestGateway gateway(gatewayYaml({&backend}));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TestClient client(gateway.port());
        QVERIFY(client.sendRaw("GET /one HTTP/1.1\r\nHost: h\r\n\r\n"
                               "POST /two HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
                               "GET /three HTTP/1.1\r\nHost: h\r\n\r\n"));
        for (const char* expected : {"/one", "/two", "/three"}) {
            const auto response = client.readResponse();
            QVERIFY2(response, client.error().c_str());
            QCOMPARE(response->body, std::string(expected));
        }
        QCOMPARE(backend.received()[1].body, std::string("abc"));
    }

    void chunkedBodiesBothWays() {
        FakeBackend backend("b", [](const ReceivedRequest& request) {
            Reply reply;
            reply.framing = Reply::Framing::Chunked;
            reply.body = "echo:" + request.body;
            return reply;
        });
        TestGateway gateway(gatewayYaml({&backend}));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TestClient client(gateway.port());
        QVERIFY(client.sendRaw("POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                               "5\r\nhello\r\n1;ext=1\r\n \r\n5\r\nworld\r\n0\r\nTrailer-X: t\r\n\r\n"));
        const auto response = client.readResponse();
        QVERIFY2(response, client.error().c_str());
        QVERIFY(response->chunked);
        QCOMPARE(response->body, std::string("echo:hello world"));
        const auto received = backend.received().at(0);
        QCOMPARE(received.body, std::string("hello world"));
        QCOMPARE(received.header("Transfer-Encoding"), std::string("chunked"));
        QCOMPARE(received.header("Trailer-X"), std::string()); // trailers are not forwarded
        QVERIFY(client.get("/again")); // still keep-alive
    }

    void closeDelimitedResponseBecomesChunked() {
        FakeBackend backend("b", [](const ReceivedRequest&) {
            Reply reply;
            reply.framing = Reply::Framing::UntilClose;
            reply.body = std::string(100'000, 'z');
            return reply;
        });
        TestGateway gateway(gatewayYaml({&backend}));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TestClient client(gateway.port());
        for (int i = 0; i < 2; ++i) { // the client connection survives: the gateway re-frames
            const auto response = client.get("/");
            QVERIFY2(response, client.error().c_str());
            QVERIFY(response->chunked);
            QVERIFY(response->keepAlive);
            QCOMPARE(response->bodyBytes, std::uint64_t(100'000));
        }
        QCOMPARE(backend.connectionsAccepted(), std::uint64_t(2)); // never reused after close
    }

    void http10Clients() {
        FakeBackend backend("b", [](const ReceivedRequest& request) {
            Reply reply;
            reply.framing = request.target == "/stream" ? Reply::Framing::Chunked : Reply::Framing::ContentLength;
            reply.body = "v10";
            return reply;
        });
        TestGateway gateway(gatewayYaml({&backend}));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        {
            TestClient client(gateway.port());
            QVERIFY(client.sendRaw("GET /stream HTTP/1.0\r\n\r\n"));
            const auto response = client.readResponse();
            QVERIFY2(response, client.error().c_str());
            QVERIFY(!response->chunked); // HTTP/1.0 cannot take chunked: delimited by close instead
            QCOMPARE(response->body, std::string("v10"));
            QVERIFY(client.waitForClose(5s));
            const auto received = backend.received().back();
            QCOMPARE(received.version, 11); // upstream always HTTP/1.1
            QCOMPARE(received.header("Host"), backend.address()); // no Host from the client
        }
        {
            TestClient client(gateway.port());
            QVERIFY(client.sendRaw("GET /len HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
            const auto response = client.readResponse();
            QVERIFY2(response, client.error().c_str());
            QCOMPARE(response->header("Connection"), std::string("keep-alive"));
            QVERIFY(client.sendRaw("GET /len HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
            QVERIFY2(client.readResponse(), client.error().c_str());
        }
    }

    void bodilessResponses() {
        FakeBackend backend("b", [](const ReceivedRequest& request) {
            Reply reply;
            reply.body = "0123456789";
            if (request.target == "/204") {
                reply.status = 204;
            } else if (request.target == "/304") {
                reply.status = 304;
                reply.headers.emplace_back("ETag", "\"v1\"");
            }
            return reply;
        });
        TestGateway gateway(gatewayYaml({&backend}));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TestClient client(gateway.port());
        const auto head = client.request("HEAD", "/");
        QVERIFY2(head, client.error().c_str());
        QCOMPARE(head->header("Content-Length"), std::string("10")); // the length a GET would have
        QCOMPARE(head->bodyBytes, std::uint64_t(0));
        const auto noContent = client.get("/204");
        QVERIFY2(noContent, client.error().c_str());
        QCOMPARE(noContent->status, 204);
        QCOMPARE(noContent->bodyBytes, std::uint64_t(0));
        const auto notModified = client.get("/304");
        QVERIFY2(notModified, client.error().c_str());
        QCOMPARE(notModified->status, 304);
        QCOMPARE(notModified->header("ETag"), std::string("\"v1\""));
        const auto after = client.get("/"); // framing stayed in sync
        QVERIFY2(after, client.error().c_str());
        QCOMPARE(after->body, std::string("0123456789"));
    }

    void expectContinue() {
        FakeBackend backend("b", [](const ReceivedRequest& request) {
            Reply reply;
            reply.body = request.body;
            return reply;
        });
        TestGateway gateway(gatewayYaml({&backend}));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TestClient client(gateway.port());
        QVERIFY(client.sendRaw("PUT /up HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"));
        // The gateway invites the body itself, once it knows where the request goes.
        const auto interim = client.readUntil("\r\n\r\n");
        QVERIFY2(interim, client.error().c_str());
        QCOMPARE(*interim, std::string("HTTP/1.1 100 Continue\r\n\r\n"));
        QVERIFY(client.sendRaw("hello"));
        const auto response = client.readResponse();
        QVERIFY2(response, client.error().c_str());
        QCOMPARE(response->status, 200);
        QCOMPARE(response->body, std::string("hello"));
        QCOMPARE(backend.received().back().header("Expect"), std::string()); // handled at the gateway
    }

    void forwardingHeadersAsTheBackendSeesThem() {
        FakeBackend backend("b");
        TestGateway gateway(gatewayYaml({&backend}));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TestClient client(gateway.port());
        const auto generated = client.request("GET", "/x", {{"Host", "shop.example:8443"}, {"Connection", "X-Hop"},
                                                              {"X-Hop", "secret"}, {"Accept", "text/plain"}});
        QVERIFY2(generated, client.error().c_str());
        auto received = backend.received().back();
        QCOMPARE(received.header("X-Forwarded-For"), std::string("127.0.0.1"));
        QCOMPARE(received.header("X-Forwarded-Proto"), std::string("http"));
        QCOMPARE(received.header("X-Forwarded-Host"), std::string("shop.example:8443"));
        QCOMPARE(received.header("Host"), std::string("shop.example:8443"));
        QCOMPARE(received.header("Via"), std::string("1.1 gaetwae"));
        QCOMPARE(received.header("X-Hop"), std::string());
        QCOMPARE(received.header("Accept"), std::string("text/plain"));
        const auto id = received.header("X-Request-ID");
        QCOMPARE(id.size(), size_t(32));
        QCOMPARE(generated->header("X-Request-ID"), id); // echoed to the client

        const auto passed = client.request("GET", "/x", {{"X-Request-ID", "client-chosen-42"}});
        QVERIFY2(passed, client.error().c_str());
        QCOMPARE(backend.received().back().header("X-Request-ID"), std::string("client-chosen-42"));
        QCOMPARE(passed->header("X-Request-ID"), std::string("client-chosen-42"));

        const auto replaced = client.request("GET", "/x", {{"X-Request-ID", "bad id with spaces"}});
        QVERIFY2(replaced, client.error().c_str());
        QCOMPARE(backend.received().back().header("X-Request-ID").size(), size_t(32));
        QCOMPARE(backend.received().back().headerCount("X-Request-ID"), size_t(1));
    }

    void hidesBackendIdentityWhenAsked() {
        FakeBackend backend("b", [](const ReceivedRequest&) {
            Reply reply;
            reply.headers = {{"Server", "Apache/2.4.1"}, {"X-Powered-By", "PHP/5"}, {"X-App", "kept"}};
            return reply;
        });
        TestGateway gateway(gatewayYaml({&backend}, "headers: {hide_server: true, hide_powered_by: true, via: \"\"}\n"));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        const auto response = fetch(gateway.port(), "/");
        QVERIFY(response);
        QCOMPARE(response->header("Server"), std::string());
        QCOMPARE(response->header("X-Powered-By"), std::string());
        QCOMPARE(response->header("Via"), std::string());
        QCOMPARE(response->header("X-App"), std::string("kept"));
        QCOMPARE(backend.received().back().header("Via"), std::string());
    }

    void routesByHostMethodAndPrefixWithRewrites() {
        FakeBackend api("api", echoTarget), web("web", echoTarget);
        const std::string yaml = fmt::format(R"(listeners: [{{address: "127.0.0.1:0"}}]
access_log: {{enabled: false}}
routes:
  - name: api-write
    match: {{hosts: [api.example], path_prefix: /api/, methods: [POST]}}
    pool: api
    rewrite_prefix: /v2/
  - name: api
    match: {{hosts: [api.example], path_prefix: /api}}
    pool: api
    strip_prefix: true
  - name: web
    match: {{path_prefix: /}}
    pool: web
pools:
  - name: api
    instances: [{{id: api, address: "{}"}}]
  - name: web
    instances: [{{id: web, address: "{}"}}]
)",
                                             api.address(), web.address());
        TestGateway gateway(yaml);
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TestClient client(gateway.port());
        auto r = client.request("GET", "/api/users?page=2", {{"Host", "API.example:80"}});
        QVERIFY2(r, client.error().c_str());
        QCOMPARE(r->body, std::string("/users?page=2"));
        r = client.request("POST", "/api/users", {{"Host", "api.example"}}, "{}");
        QVERIFY2(r, client.error().c_str());
        QCOMPARE(r->body, std::string("/v2/users"));
        r = client.request("GET", "/api/users", {{"Host", "www.example"}});
        QVERIFY2(r, client.error().c_str());
        QCOMPARE(r->body, std::string("/api/users"));
        QCOMPARE(web.requestsReceived(), std::uint64_t(1));
        r = client.request("GET", "http://api.example/api/abs", {{"Host", "api.example"}});
        QVERIFY2(r, client.error().c_str());
        QCOMPARE(r->body, std::string("/abs")); // absolute-form: routed on the URI's authority
        QCOMPARE(api.received().back().header("Host"), std::string("api.example"));
        // A Host that disagrees with the absolute-form authority is refused (tst_hardening), not
        // resolved in the URI's favour as RFC 9112 3.2.2 would allow: a backend reading Host
        // would route the same request elsewhere.
        r = client.request("GET", "http://api.example/api/abs", {{"Host", "ignored.example"}});
        QVERIFY2(r, client.error().c_str());
        QCOMPARE(r->status, 400);
        QCOMPARE(api.requestsReceived(), std::uint64_t(3));
    }

    void deadPooledConnectionIsRetriedOnceForIdempotentRequests() {
        // The backend drops every keep-alive connection when its second request arrives,
        // without answering: the race between reuse and a backend's idle close.
        FakeBackend backend("b", [](const ReceivedRequest& request) {
            Reply reply;
            if (request.indexOnConnection == 2) {
                reply.action = Reply::Action::CloseBeforeHead;
            }
            reply.body = "ok";
            return reply;
        });
        TestGateway gateway(gatewayYaml({&backend}));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TestClient client(gateway.port());
        for (int i = 0; i < 3; ++i) {
            const auto response = client.get("/");
            QVERIFY2(response, client.error().c_str());
            QCOMPARE(response->status, 200);
        }
        // 3 answered requests + 2 dropped ones, on 3 connections.
        QCOMPARE(backend.requestsReceived(), std::uint64_t(5));
        QCOMPARE(backend.connectionsAccepted(), std::uint64_t(3));

        // A POST is not repeated: the backend may have acted on it.
        const auto post = client.request("POST", "/", {}, "x");
        QVERIFY2(post, client.error().c_str());
        QCOMPARE(post->status, 502);
        QCOMPARE(post->json()["error"].get<std::string>(), std::string("upstream_reset"));
    }

    void reloadChangesPoolsWithoutDroppingConnections() {
        FakeBackend a("a"), b("b");
        TestGateway gateway(gatewayYaml({&a}));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TestClient client(gateway.port());
        QCOMPARE(client.get("/")->header("Server"), std::string("a"));
        const auto version = gateway.engine().configVersion();
        QCOMPARE(gateway.apply(gatewayYaml({&b})), std::string());
        QCOMPARE(gateway.engine().configVersion(), version + 1);
        const auto response = client.get("/"); // same client connection
        QVERIFY2(response, client.error().c_str());
        QCOMPARE(response->header("Server"), std::string("b"));

        // A config the engine cannot honour changes nothing.
        const auto error = gateway.apply(gatewayYaml({&a}) + "bogus: 1\n");
        QVERIFY(error.find("unknown field 'bogus'") != std::string::npos);
        QCOMPARE(gateway.engine().configVersion(), version + 1);
        QCOMPARE(client.get("/")->header("Server"), std::string("b"));
    }

    void reloadAddsAndRemovesListeners() {
        FakeBackend backend("b");
        TestGateway gateway(gatewayYaml({&backend}));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        const auto first = gateway.port(0);
        std::string yaml = gatewayYaml({&backend});
        yaml.replace(0, yaml.find('\n'),
                     fmt::format("listeners: [{{address: \"127.0.0.1:{}\"}}, {{address: \"127.0.0.1:0\"}}]", first));
        QCOMPARE(gateway.apply(yaml), std::string());
        const auto second = gateway.port(1);
        QVERIFY(second != 0 && second != first);
        QCOMPARE(fetch(second, "/")->status, 200);
        QCOMPARE(fetch(first, "/")->status, 200);
        std::string only = gatewayYaml({&backend});
        only.replace(0, only.find('\n'), fmt::format("listeners: [{{address: \"127.0.0.1:{}\"}}]", second));
        QCOMPARE(gateway.apply(only), std::string());
        QVERIFY(connectionRefused(first));
        QCOMPARE(fetch(second, "/")->status, 200);
    }

    void accessLogAsJsonLines() {
        QTemporaryDir dir;
        const std::string path = dir.filePath("access.log").toStdString();
        FakeBackend backend("b");
        std::string yaml = gatewayYaml({&backend});
        yaml.replace(yaml.find("access_log: {enabled: false}"), 28,
                     "access_log: {format: json, path: \"" + path + "\"}");
        TestGateway gateway(yaml);
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TestClient client(gateway.port());
        QVERIFY(client.request("GET", "/a?token=secret", {{"X-Request-ID", "log-1"}}));
        QVERIFY(client.request("GET", "/b"));
        std::vector<nlohmann::json> entries;
        QTRY_VERIFY_WITH_TIMEOUT(
            [&] {
                entries.clear();
                std::ifstream in(path);
                for (std::string line; std::getline(in, line);) {
                    entries.push_back(nlohmann::json::parse(line, nullptr, false));
                }
                return entries.size() == 2;
            }(),
            10000);
        QCOMPARE(entries[0]["request_id"].get<std::string>(), std::string("log-1"));
        QCOMPARE(entries[0]["path"].get<std::string>(), std::string("/a")); // query omitted by default
        QCOMPARE(entries[0]["status"].get<int>(), 200);
        QCOMPARE(entries[0]["route"].get<std::string>(), std::string("all"));
        QCOMPARE(entries[0]["instance"].get<std::string>(), std::string("b"));
        QVERIFY(entries[0].contains("time"));
        QVERIFY(entries[1]["duration_ms"].get<double>() >= 0.0);
    }
};

QTEST_GUILESS_MAIN(TestProxy)
#include "tst_proxy.moc"
