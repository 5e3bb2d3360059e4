// Routing through real sockets: every match kind picks its pool, priorities, regex rewrites
// arrive upstream, redirects are answered by the gateway, per-route timeouts and body limits
// replace the global ones, API versioning by path and by header, live admin changes of the new
// fields, and `gaetwaed --check` warning about a route that can never match.
#include "tests/support/blackhole_listener.hpp"
#include "tests/support/engine_process.hpp"
#include "tests/support/fake_backend.hpp"
#include "tests/support/test_client.hpp"
#include "tests/support/test_gateway.hpp"
#include "tests/support/ws_admin_client.hpp"

#include <fmt/format.h>

#include <QTemporaryDir>
#include <QtTest>

#include <fstream>

using namespace gaetwae::test;

namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

// Pools named after the backends, one instance each; `routes` is the YAML under routes:.
std::string yamlWith(const std::vector<const FakeBackend*>& backends, const std::string& routes,
                     const std::string& extra = "") {
    std::string yaml = "listeners: [{address: \"127.0.0.1:0\"}]\naccess_log: {enabled: false}\n" + extra +
                       "routes:\n" + routes + "pools:\n";
    for (const auto* backend : backends) {
        yaml += fmt::format("  - name: {}\n    instances: [{{id: a, address: \"{}\"}}]\n", backend->name(),
                            backend->address());
    }
    return yaml;
}

// The backend that served the request ("" when the gateway answered it, e.g. 404).
std::string servedBy(TestClient& client, std::string_view method, std::string_view target,
                     const Headers& headers = {}) {
    const auto response = client.request(method, target, headers);
    if (!response) {
        return "no response: " + client.error();
    }
    return response->status == 200 ? response->header("Server") : std::to_string(response->status);
}

// The target of the last request `backend` received.
std::string lastTarget(const FakeBackend& backend) {
    const auto received = backend.received();
    return received.empty() ? std::string() : received.back().target;
}

} // namespace

class TestRouting : public QObject {
    Q_OBJECT

private slots:
    void eachMatchKindPicksItsPool() {
        FakeBackend exactHost("exact-host"), wildcard("wildcard"), anyTld("any-tld"), exactPath("exact-path"),
            regexPath("regex-path"), method("method"), header("header"), headerRegex("header-regex"),
            present("present"), absent("absent"), query("query"), queryRegex("query-regex"), fallback("fallback");
        const std::string routes =
            "  - {name: exact-host, match: {hosts: [api.example.com], path_prefix: /h}, pool: exact-host}\n"
            "  - {name: wildcard, match: {hosts: [\"*.example.com\"], path_prefix: /h}, pool: wildcard}\n"
            "  - {name: any-tld, match: {hosts: [\"shop.*\"], path_prefix: /h}, pool: any-tld}\n"
            "  - {name: exact-path, match: {path_exact: /status}, pool: exact-path}\n"
            "  - {name: regex-path, match: {path_regex: \"^/items/[0-9]+$\"}, pool: regex-path}\n"
            "  - {name: method, match: {path_prefix: /m, methods: [DELETE]}, pool: method}\n"
            "  - {name: header, match: {path_prefix: /x, headers: {X-Tenant: blue}}, pool: header}\n"
            "  - {name: header-regex, match: {path_prefix: /x, headers: {User-Agent: {regex: \"(?i)bot\"}}}, "
            "pool: header-regex}\n"
            "  - {name: present, match: {path_prefix: /x, headers: {X-Debug: {present: true}}}, pool: present}\n"
            "  - {name: absent, match: {path_prefix: /x, headers: {Cookie: {present: false}}}, pool: absent}\n"
            "  - {name: query, match: {path_prefix: /q, query: {beta: \"1\"}}, pool: query}\n"
            "  - {name: query-regex, match: {path_prefix: /q, query: {id: {regex: \"^[0-9]+$\"}}}, pool: query-regex}\n"
            "  - {name: fallback, match: {path_prefix: /}, pool: fallback}\n";
        TestGateway gateway(yamlWith({&exactHost, &wildcard, &anyTld, &exactPath, &regexPath, &method, &header,
                                      &headerRegex, &present, &absent, &query, &queryRegex, &fallback},
                                     routes));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TestClient c(gateway.port());
        auto host = [](std::string name) { return Headers{{"Host", std::move(name)}}; };
        // Hosts: exact first, then any subdomain (not the apex), then "shop.*".
        QCOMPARE(servedBy(c, "GET", "/h", host("API.example.com:8080")), std::string("exact-host"));
        QCOMPARE(servedBy(c, "GET", "/h", host("www.example.com")), std::string("wildcard"));
        QCOMPARE(servedBy(c, "GET", "/h", host("a.b.example.com")), std::string("wildcard"));
        QCOMPARE(servedBy(c, "GET", "/h", host("example.com")), std::string("fallback"));
        QCOMPARE(servedBy(c, "GET", "/h", host("shop.example.org")), std::string("any-tld"));
        // Paths.
        QCOMPARE(servedBy(c, "GET", "/status"), std::string("exact-path"));
        QCOMPARE(servedBy(c, "GET", "/status/x"), std::string("fallback"));
        QCOMPARE(servedBy(c, "GET", "/items/42?x=1"), std::string("regex-path")); // the query is not the path
        QCOMPARE(servedBy(c, "GET", "/items/42a"), std::string("fallback"));
        // Methods.
        QCOMPARE(servedBy(c, "DELETE", "/m"), std::string("method"));
        QCOMPARE(servedBy(c, "GET", "/m"), std::string("fallback"));
        // Headers, in route order.
        QCOMPARE(servedBy(c, "GET", "/x", {{"x-tenant", "blue"}, {"Cookie", "a=b"}}), std::string("header"));
        QCOMPARE(servedBy(c, "GET", "/x", {{"X-Tenant", "Blue"}, {"Cookie", "a=b"}}), std::string("fallback"));
        QCOMPARE(servedBy(c, "GET", "/x", {{"User-Agent", "GoogleBot/2"}, {"Cookie", "a=b"}}),
                 std::string("header-regex"));
        QCOMPARE(servedBy(c, "GET", "/x", {{"X-Debug", "1"}, {"Cookie", "a=b"}}), std::string("present"));
        QCOMPARE(servedBy(c, "GET", "/x"), std::string("absent"));
        QCOMPARE(servedBy(c, "GET", "/x", {{"Cookie", "a=b"}}), std::string("fallback"));
        // Query parameters.
        QCOMPARE(servedBy(c, "GET", "/q?a=2&beta=1"), std::string("query"));
        QCOMPARE(servedBy(c, "GET", "/q?beta=10"), std::string("fallback"));
        QCOMPARE(servedBy(c, "GET", "/q?id=77"), std::string("query-regex"));
        QCOMPARE(servedBy(c, "GET", "/q?id=7x"), std::string("fallback"));
    }

    void priorityBeatsFileOrder() {
        FakeBackend general("general"), admin("admin");
        const std::string routes = "  - {name: general, match: {path_prefix: /api}, pool: general}\n"
                                   "  - {name: admin, priority: 10, match: {path_prefix: /api/admin}, pool: admin}\n";
        TestGateway gateway(yamlWith({&general, &admin}, routes));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TestClient c(gateway.port());
        QCOMPARE(servedBy(c, "GET", "/api/admin/users"), std::string("admin"));
        QCOMPARE(servedBy(c, "GET", "/api/users"), std::string("general"));
        // Without the priority, the earlier route wins: file order.
        QCOMPARE(gateway.apply(yamlWith({&general, &admin},
                                        "  - {name: general, match: {path_prefix: /api}, pool: general}\n"
                                        "  - {name: admin, match: {path_prefix: /api/admin}, pool: admin}\n")),
                 std::string());
        QCOMPARE(servedBy(c, "GET", "/api/admin/users"), std::string("general"));
    }

    void rewritesArriveUpstream() {
        FakeBackend b("b");
        const std::string routes =
            "  - name: versioned\n    match: {path_regex: \"^/api/v([0-9]+)/(.*)$\"}\n    pool: b\n"
            "    rewrite: {replacement: \"/v$1/$2\"}\n"
            "  - name: own-regex\n    match: {path_prefix: /legacy/}\n    pool: b\n"
            "    rewrite: {regex: \"^/legacy/([a-z]+)\\\\.php$\", replacement: \"/pages/$1\"}\n"
            "  - {name: strip, match: {path_prefix: /strip}, pool: b, strip_prefix: true}\n"
            "  - {name: prefix, match: {path_prefix: /old/}, pool: b, rewrite_prefix: /new/}\n";
        TestGateway gateway(yamlWith({&b}, routes));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TestClient c(gateway.port());
        QCOMPARE(servedBy(c, "GET", "/api/v3/users/42?expand=1&x=%20"), std::string("b"));
        QCOMPARE(lastTarget(b), std::string("/v3/users/42?expand=1&x=%20"));
        QCOMPARE(servedBy(c, "GET", "/legacy/about.php?lang=en"), std::string("b"));
        QCOMPARE(lastTarget(b), std::string("/pages/about?lang=en"));
        QCOMPARE(servedBy(c, "GET", "/legacy/dir/index.html"), std::string("b")); // no match: unchanged
        QCOMPARE(lastTarget(b), std::string("/legacy/dir/index.html"));
        QCOMPARE(servedBy(c, "GET", "/strip/a?q"), std::string("b"));
        QCOMPARE(lastTarget(b), std::string("/a?q"));
        QCOMPARE(servedBy(c, "GET", "/old/x"), std::string("b"));
        QCOMPARE(lastTarget(b), std::string("/new/x"));
    }

    void redirectsAreAnsweredByTheGateway() {
        FakeBackend b("b");
        const std::string routes =
            "  - name: https\n    match: {hosts: [shop.example.com], path_prefix: /}\n"
            "    redirect: {to: \"https://$host$path\", status: 301}\n"
            "  - name: docs\n    match: {path_regex: \"^/docs/v([0-9]+)/(.*)$\"}\n"
            "    redirect: {to: \"https://docs.example.com/$2?version=$1\", status: 308}\n"
            "  - name: moved\n    match: {path_exact: /old}\n    redirect: {to: /new, keep_query: false}\n"
            "  - {name: rest, match: {path_prefix: /}, pool: b}\n";
        TestGateway gateway(yamlWith({&b}, routes));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TestClient c(gateway.port());
        auto response = c.request("GET", "/cart?item=3", {{"Host", "Shop.Example.com"}});
        QVERIFY2(response, c.error().c_str());
        QCOMPARE(response->status, 301);
        QCOMPARE(response->header("Location"), std::string("https://shop.example.com/cart?item=3"));
        QCOMPARE(response->body, std::string());
        QVERIFY(!response->header("X-Request-ID").empty());
        QVERIFY(response->keepAlive);

        response = c.request("GET", "/docs/v2/guide/intro?lang=de");
        QCOMPARE(response->status, 308);
        QCOMPARE(response->header("Location"), std::string("https://docs.example.com/guide/intro?version=2&lang=de"));

        response = c.request("GET", "/old?x=1");
        QCOMPARE(response->status, 302); // the default status
        QCOMPARE(response->header("Location"), std::string("/new"));

        // A redirected request with a body: answered, and the connection closes (the body was not read).
        TestClient withBody(gateway.port());
        response = withBody.request("POST", "/old", {}, "payload");
        QCOMPARE(response->status, 302);
        QVERIFY(!response->keepAlive);

        // No backend saw any of it; the keep-alive connection still serves a proxied request.
        QCOMPARE(b.requestsReceived(), std::uint64_t(0));
        QCOMPARE(servedBy(c, "GET", "/other"), std::string("b"));
    }

    void perRouteTimeoutGives504WhereTheGlobalOneWouldNot() {
        FakeBackend slow("slow", [](const ReceivedRequest&) {
            Reply reply;
            reply.delay = std::chrono::milliseconds(600);
            reply.body = "late";
            return reply;
        });
        const std::string routes =
            "  - name: strict\n    match: {path_prefix: /strict}\n    pool: slow\n"
            "    timeouts: {upstream_response: 150ms, upstream_connect: 1s}\n"
            "  - {name: relaxed, match: {path_prefix: /}, pool: slow}\n";
        TestGateway gateway(yamlWith({&slow}, routes, "timeouts: {upstream_response: 10s}\n"));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TestClient c(gateway.port());
        auto response = c.get("/strict/x"); // answered at 600 ms: in time for the global 10 s, not for 150 ms
        QVERIFY2(response, c.error().c_str());
        QCOMPARE(response->status, 504);
        TestClient other(gateway.port());
        response = other.get("/relaxed");
        QVERIFY2(response, other.error().c_str());
        QCOMPARE(response->status, 200);
        QCOMPARE(response->body, std::string("late"));
    }

    void perRouteConnectTimeoutGives504WhereTheGlobalOneWouldNot() {
        BlackholeListener blackhole; // connects hang instead of being refused
        const std::string yaml = fmt::format(
            "listeners: [{{address: \"127.0.0.1:0\"}}]\naccess_log: {{enabled: false}}\n"
            "timeouts: {{upstream_connect: 30s}}\n"
            "routes:\n"
            "  - {{name: strict, match: {{path_prefix: /strict}}, pool: hole, timeouts: {{upstream_connect: 200ms}}}}\n"
            "  - {{name: relaxed, match: {{path_prefix: /}}, pool: hole}}\n"
            "pools:\n  - name: hole\n    retry: {{attempts: 0}}\n"
            "    instances: [{{id: a, address: \"127.0.0.1:{}\"}}]\n",
            blackhole.port());
        TestGateway gateway(yaml);
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TestClient strict(gateway.port());
        const auto response = strict.get("/strict/x");
        QVERIFY2(response, strict.error().c_str());
        QCOMPARE(response->status, 504);
        QCOMPARE(response->json()["error"].get<std::string>(), std::string("upstream_connect_timeout"));
        // The other route keeps the global 30 s: still waiting after 1 s.
        TestClient relaxed(gateway.port(), 1s);
        QVERIFY(!relaxed.get("/relaxed"));
    }

    void perRouteBodyLimitGives413() {
        FakeBackend b("b");
        const std::string routes = "  - {name: small, match: {path_prefix: /small}, pool: b, "
                                   "limits: {max_body_bytes: 1KiB}}\n"
                                   "  - {name: large, match: {path_prefix: /}, pool: b}\n";
        TestGateway gateway(yamlWith({&b}, routes, "limits: {max_body_bytes: 1MiB}\n"));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        const std::string body(2048, 'x');
        {
            TestClient c(gateway.port());
            const auto response = c.request("POST", "/small/upload", {}, body);
            QVERIFY2(response, c.error().c_str());
            QCOMPARE(response->status, 413);
            QCOMPARE(response->json()["error"].get<std::string>(), std::string("body_too_large"));
        }
        {
            TestClient c(gateway.port());
            QCOMPARE(c.request("POST", "/small/upload", {}, std::string(1024, 'x'))->status, 200);
            QCOMPARE(c.request("POST", "/other", {}, body)->status, 200);
        }
        {
            // Chunked: the size is known only while relaying; the limit still holds.
            TestClient c(gateway.port());
            std::string request = "POST /small/stream HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
            for (int i = 0; i < 4; ++i) {
                request += "200\r\n" + std::string(512, 'y') + "\r\n";
            }
            request += "0\r\n\r\n";
            QVERIFY(c.sendRaw(request));
            const auto response = c.readResponse();
            QVERIFY2(response, c.error().c_str());
            QCOMPARE(response->status, 413);
        }
        // Nothing over the limit reached the backend whole (a chunked body may be cut off in transit).
        for (const auto& request : b.received()) {
            QVERIFY(request.target != "/small/upload" || request.bodyBytes <= 1024);
            QVERIFY(request.target != "/small/stream" || request.bodyBytes < 2048);
        }
    }

    void apiVersioningByPathAndHeader() {
        FakeBackend v1("v1"), v2("v2");
        const std::string routes =
            "  - name: v2-path\n    match: {path_prefix: /v2/}\n    pool: v2\n    strip_prefix: true\n"
            "  - name: v1-path\n    match: {path_prefix: /v1/}\n    pool: v1\n    strip_prefix: true\n"
            "  - name: v2-header\n    match: {path_prefix: /, headers: {X-API-Version: 2}}\n    pool: v2\n"
            "  - name: v2-accept\n    match:\n      path_prefix: /\n      headers:\n"
            "        Accept: {regex: \"application/vnd\\\\.example\\\\.v2\\\\+json\"}\n    pool: v2\n"
            "  - {name: default-version, match: {path_prefix: /}, pool: v1}\n";
        TestGateway gateway(yamlWith({&v1, &v2}, routes));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TestClient c(gateway.port());
        QCOMPARE(servedBy(c, "GET", "/v2/orders"), std::string("v2"));
        QCOMPARE(lastTarget(v2), std::string("/orders"));
        QCOMPARE(servedBy(c, "GET", "/v1/orders"), std::string("v1"));
        QCOMPARE(lastTarget(v1), std::string("/orders"));
        QCOMPARE(servedBy(c, "GET", "/orders", {{"X-API-Version", "2"}}), std::string("v2"));
        QCOMPARE(servedBy(c, "GET", "/orders", {{"x-api-version", "2"}}), std::string("v2"));
        QCOMPARE(servedBy(c, "GET", "/orders", {{"X-API-Version", "1"}}), std::string("v1"));
        QCOMPARE(servedBy(c, "GET", "/orders", {{"Accept", "application/vnd.example.v2+json; q=1, */*"}}),
                 std::string("v2"));
        QCOMPARE(servedBy(c, "GET", "/orders", {{"Accept", "application/vnd.example.v1+json"}}), std::string("v1"));
        QCOMPARE(servedBy(c, "GET", "/orders"), std::string("v1"));
    }

    void adminRoutePutEditsTheNewFieldsLive() {
        FakeBackend b("b");
        TestGateway gateway(yamlWith({&b}, "  - {name: api, match: {path_prefix: /api}, pool: b}\n"));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        WsAdminClient admin;
        QVERIFY2(admin.connect(gateway.adminPort(), gateway.adminToken()), admin.error().c_str());
        auto putRoute = [&](const nlohmann::json& route) {
            nlohmann::json params;
            params["expectedVersion"] = gateway.engine().configVersion();
            params["route"] = route;
            return admin.call("route.put", params);
        };
        nlohmann::json route = nlohmann::json::parse(
            "{\"name\": \"api\", \"priority\": 3, \"match\": {\"path_regex\": \"^/api/(\\\\w+)$\", "
            "\"headers\": {\"X-Env\": {\"present\": false}}, \"query\": {\"v\": \"2\"}}, \"pool\": \"b\", "
            "\"rewrite\": {\"replacement\": \"/internal/$1\"}, \"timeouts\": {\"upstream_response\": \"3s\"}, "
            "\"limits\": {\"max_body_bytes\": \"2KiB\"}}");
        auto changed = putRoute(route);
        QVERIFY2(changed && changed->result, admin.error().c_str());
        TestClient c(gateway.port());
        QCOMPARE(servedBy(c, "GET", "/api/users?v=2"), std::string("b"));
        QCOMPARE(lastTarget(b), std::string("/internal/users?v=2"));
        QCOMPARE(servedBy(c, "GET", "/api/users?v=1"), std::string("404"));
        TestClient upload(gateway.port());
        QCOMPARE(upload.request("POST", "/api/users?v=2", {}, std::string(4096, 'x'))->status, 413);

        const auto config = admin.result("config.get");
        const auto& stored = config["config"]["routes"][0];
        QCOMPARE(stored["match"]["path_regex"].get<std::string>(), std::string("^/api/(\\w+)$"));
        QCOMPARE(stored["rewrite"]["replacement"].get<std::string>(), std::string("/internal/$1"));
        QCOMPARE(stored["timeouts"]["upstream_response"].get<std::string>(), std::string("3s"));
        QCOMPARE(stored["limits"]["max_body_bytes"].get<std::string>(), std::string("2KiB"));
        QCOMPARE(stored["priority"].get<int>(), 3);
        QVERIFY(stored["match"]["headers"]["X-Env"]["present"] == false);

        // Turned into a redirect: no pool needed.
        nlohmann::json redirect = nlohmann::json::parse(
            "{\"name\": \"api\", \"match\": {\"path_prefix\": \"/api\"}, \"redirect\": {\"to\": \"/v2$path\"}}");
        changed = putRoute(redirect);
        QVERIFY2(changed && changed->result, admin.error().c_str());
        const auto response = c.get("/api/x?y=1");
        QCOMPARE(response->status, 302);
        QCOMPARE(response->header("Location"), std::string("/v2/api/x?y=1"));

        // A bad pattern is refused with the field named, and nothing changes.
        route["match"]["path_regex"] = "^/api/(";
        changed = putRoute(route);
        QVERIFY(changed && changed->error);
        QVERIFY2(changed->error->data.dump().find("match/path_regex") != std::string::npos,
                 changed->error->data.dump().c_str());
        QVERIFY(gateway.engine().config().routes[0].redirect.has_value());
    }

    void checkWarnsAboutRoutesThatCanNeverMatch() {
        QTemporaryDir dir;
        const QString path = dir.filePath("shadowed.yaml");
        std::ofstream(path.toStdString()) << "listeners: [{address: \"127.0.0.1:0\"}]\n"
                                             "routes:\n"
                                             "  - {name: all, match: {path_prefix: /}, pool: p}\n"
                                             "  - {name: api, match: {path_prefix: /api}, pool: p}\n"
                                             "  - {name: urgent, priority: 1, match: {path_prefix: /u}, pool: p}\n"
                                             "pools:\n  - name: p\n    instances: [{id: a, address: \"127.0.0.1:9\"}]\n";
        const auto result = runGaetwaed({"--check", path});
        QVERIFY2(result.exitCode == 0, qPrintable(result.output)); // a warning, not an error
        QVERIFY2(result.output.contains("warning: ") && result.output.contains("shadowed.yaml:4:") &&
                     result.output.contains("route 'api' can never match: route 'all'"),
                 qPrintable(result.output));
        QVERIFY2(!result.output.contains("'urgent' can never match"), qPrintable(result.output));
    }
};

QTEST_GUILESS_MAIN(TestRouting)
#include "tst_routing.moc"
