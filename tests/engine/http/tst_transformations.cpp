// Route transformations through real sockets: request and response header edits with variables,
// hidden backend headers, CORS (preflights answered at the gateway, actual requests, origins,
// credentials), config errors with file:line and field, admin changes and reloads.
#include "engine/config/config_loader.hpp"
#include "shared/model/config_codec.hpp"
#include "tests/support/fake_backend.hpp"
#include "tests/support/test_client.hpp"
#include "tests/support/test_gateway.hpp"
#include "tests/support/ws_admin_client.hpp"

#include <fmt/format.h>

#include <QtTest>

using namespace gaetwae::test;
using namespace gaetwae::engine;

namespace {

// Route "api" on /api with `routeExtra` (YAML lines indented by four spaces), route "plain" on
// /plain without transformations, both to one backend.
std::string yamlWith(const FakeBackend& backend, const std::string& routeExtra) {
    return "listeners: [{address: \"127.0.0.1:0\"}]\naccess_log: {enabled: false}\n"
           "routes:\n"
           "  - name: api\n    match: {path_prefix: /api}\n    pool: p\n" +
           routeExtra + "  - name: plain\n    match: {path_prefix: /plain}\n    pool: p\n" +
           fmt::format("pools:\n  - name: p\n    instances:\n      - {{id: inst-a, address: \"{}\"}}\n",
                       backend.address());
}

const std::string kCors = "    cors:\n"
                          "      allow_origins: [\"https://app.example.com\", \"https://*.example.org\"]\n"
                          "      allow_methods: [GET, POST, PUT, DELETE]\n"
                          "      allow_headers: [Authorization, X-Trace]\n"
                          "      expose_headers: [X-Request-ID, X-Total]\n"
                          "      allow_credentials: true\n"
                          "      max_age: 10m\n";

using Headers = std::vector<std::pair<std::string, std::string>>;

Reply replyWith(Headers headers, std::string body = "ok") {
    Reply reply;
    reply.headers = std::move(headers);
    reply.body = std::move(body);
    return reply;
}

} // namespace

class TestTransformations : public QObject {
    Q_OBJECT

private slots:
    // ---------------------------------------------------------------- header edits
    void requestHeadersAreSetAddedAndRemovedWithVariables() {
        FakeBackend backend("b");
        TestGateway gateway(yamlWith(backend, "    request_headers:\n"
                                              "      set:\n"
                                              "        X-Client-IP: \"${client_ip}\"\n"
                                              "        X-Trace: \"id=${request_id}; route=${route}\"\n"
                                              "        X-Upstream: \"${pool}/${instance}\"\n"
                                              "        X-Original: \"${method} ${scheme}://${host}${path}\"\n"
                                              "      add:\n"
                                              "        X-Extra: \"gateway $5 ${route}\"\n"
                                              "      remove: [X-Secret, Cookie]\n"));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TestClient client(gateway.port());
        const auto response = client.request("GET", "/api/items?limit=5",
                                             {{"X-Secret", "s3cret"},
                                              {"Cookie", "session=1"},
                                              {"X-Trace", "spoofed"},
                                              {"X-Client-IP", "6.6.6.6"},
                                              {"X-Extra", "from-client"}});
        QVERIFY2(response, client.error().c_str());
        QCOMPARE(response->status, 200);
        QVERIFY(backend.waitForRequests(1, 5s));
        const auto received = backend.received().at(0);
        const std::string requestId = received.header("X-Request-ID");
        QVERIFY(!requestId.empty());
        QCOMPARE(response->header("X-Request-ID"), requestId); // the same id on both sides
        QCOMPARE(received.header("X-Client-IP"), std::string("127.0.0.1"));
        QCOMPARE(received.headerCount("X-Client-IP"), std::size_t(1)); // set replaced the client's
        QCOMPARE(received.header("X-Trace"), "id=" + requestId + "; route=api");
        QCOMPARE(received.headerCount("X-Trace"), std::size_t(1));
        QCOMPARE(received.header("X-Upstream"), std::string("p/inst-a"));
        QCOMPARE(received.header("X-Original"), std::string("GET http://test.local/api/items"));
        QCOMPARE(received.headerCount("X-Extra"), std::size_t(2)); // add keeps the client's
        QCOMPARE(received.header("X-Extra"), std::string("from-client"));
        bool added = false;
        for (const auto& [name, value] : received.headers) {
            added = added || (name == "X-Extra" && value == "gateway $5 api");
        }
        QVERIFY(added);
        QCOMPARE(received.headerCount("X-Secret"), std::size_t(0));
        QCOMPARE(received.headerCount("Cookie"), std::size_t(0));
        QCOMPARE(received.target, std::string("/api/items?limit=5"));

        // Another route carries the same headers untouched.
        const auto plain = client.request("GET", "/plain", {{"X-Secret", "s3cret"}, {"X-Trace", "mine"}});
        QVERIFY2(plain && plain->status == 200, client.error().c_str());
        QVERIFY(backend.waitForRequests(2, 5s));
        const auto second = backend.received().at(1);
        QCOMPARE(second.header("X-Secret"), std::string("s3cret"));
        QCOMPARE(second.header("X-Trace"), std::string("mine"));
        QCOMPARE(second.headerCount("X-Client-IP"), std::size_t(0));
    }

    void responseHeadersAreEditedAndBackendIdentityHidden() {
        FakeBackend backend("b", [](const ReceivedRequest&) {
            return replyWith({{"Server", "b"},
                              {"X-Powered-By", "PHP/8"},
                              {"X-AspNet-Version", "4.0"},
                              {"X-Backend", "node-7"},
                              {"X-Cache", "HIT"},
                              {"X-Cache", "MISS"},
                              {"X-Internal", "yes"},
                              {"X-Keep", "kept"}});
        });
        TestGateway gateway(
            yamlWith(backend, "    response_headers:\n"
                              "      set: {X-Cache: \"gateway\"}\n"
                              "      add: {X-Served-By: \"${instance} for ${client_ip}\", "
                              "X-Echo-ID: \"${request_id}\"}\n"
                              "      remove: [X-Internal]\n"
                              "    hide_headers: [Server, X-Powered-By, X-AspNet-Version, X-Backend]\n"));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TestClient client(gateway.port());
        const auto response = client.get("/api/x");
        QVERIFY2(response, client.error().c_str());
        QCOMPARE(response->status, 200);
        QCOMPARE(response->body, std::string("ok"));
        for (const char* hidden : {"Server", "X-Powered-By", "X-AspNet-Version", "X-Backend", "X-Internal"}) {
            QVERIFY2(response->headerCount(hidden) == 0, hidden);
        }
        QCOMPARE(response->headerCount("X-Cache"), std::size_t(1));
        QCOMPARE(response->header("X-Cache"), std::string("gateway"));
        QCOMPARE(response->header("X-Served-By"), std::string("inst-a for 127.0.0.1"));
        QCOMPARE(response->header("X-Echo-ID"), response->header("X-Request-ID"));
        QCOMPARE(response->header("X-Keep"), std::string("kept"));

        // The route without edits passes the backend's identity through.
        const auto plain = client.get("/plain");
        QVERIFY2(plain, client.error().c_str());
        QCOMPARE(plain->header("Server"), std::string("b"));
        QCOMPARE(plain->header("X-Backend"), std::string("node-7"));
        QCOMPARE(plain->headerCount("X-Cache"), std::size_t(2));
        QCOMPARE(plain->headerCount("X-Served-By"), std::size_t(0));
    }

    void badTransformsAreRejectedWithFileLineAndField() {
        FakeBackend backend("b");
        const std::string yaml =
            yamlWith(backend, "    request_headers:\n"
                              "      set: {X-Who: \"${user}\"}\n"
                              "      add: {X-Line: \"a\\r\\nInjected: 1\"}\n"
                              "      remove: [Host]\n"
                              "    response_headers:\n"
                              "      set: {Content-Length: \"5\", \"Bad Name\": x}\n"
                              "      add: {X-Open: \"${route\"}\n"
                              "    hide_headers: [Transfer-Encoding]\n"
                              "    cors: {allow_origins: [\"*\"], allow_credentials: true}\n"
                              "    compression: {algorithms: [zstd], types: [html], level: 12}\n");
        const auto result = config::loadConfigText(yaml, "gw.yaml");
        QVERIFY(!result.ok());
        const std::string text = result.errorText();
        auto has = [&](const std::string& fragment) { return text.find(fragment) != std::string::npos; };
        QVERIFY2(has("gw.yaml:16:") && has("routes[0].compression.algorithms[0]") &&
                     has("unknown algorithm 'zstd'"),
                 text.c_str());
        QVERIFY2(has("routes[0].compression.level") && has("between 1 and 9"), text.c_str());
        QCOMPARE(result.errors.size(), std::size_t(2));
        // Decoding errors come first; once they are fixed, validation names every other field.
        const auto fixedCompression = config::loadConfigText(
            yamlWith(
                backend,
                "    request_headers:\n"
                "      set: {X-Who: \"${user}\"}\n"
                "      add: {X-Line: \"a\\r\\nInjected: 1\"}\n"
                "      remove: [Host]\n"
                "    response_headers:\n"
                "      set: {Content-Length: \"5\", \"Bad Name\": x}\n"
                "      add: {X-Open: \"${route\"}\n"
                "    hide_headers: [Transfer-Encoding]\n"
                "    cors: {allow_origins: [\"*\", \"https://App.example.com/\"], allow_credentials: true}\n"
                "    compression: {types: [html]}\n"),
            "gw.yaml");
        QVERIFY(!fixedCompression.ok());
        const std::string text2 = fixedCompression.errorText();
        auto has2 = [&](const std::string& fragment) { return text2.find(fragment) != std::string::npos; };
        QVERIFY2(has2("gw.yaml:8:") && has2("routes[0].request_headers.set.X-Who") &&
                     has2("unknown variable '${user}'"),
                 text2.c_str());
        QVERIFY2(has2("gw.yaml:9:") && has2("routes[0].request_headers.add.X-Line") &&
                     has2("control characters"),
                 text2.c_str());
        QVERIFY2(has2("routes[0].request_headers.remove[0]") && has2("'Host' is written by the gateway"),
                 text2.c_str());
        QVERIFY2(has2("routes[0].response_headers.set.Content-Length") &&
                     has2("'Content-Length' is written by the gateway"),
                 text2.c_str());
        QVERIFY2(has2("'Bad Name' is not a valid header name"), text2.c_str());
        QVERIFY2(has2("routes[0].response_headers.add.X-Open") && has2("unterminated"), text2.c_str());
        QVERIFY2(has2("routes[0].hide_headers[0]") && has2("'Transfer-Encoding' is written by the gateway"),
                 text2.c_str());
        QVERIFY2(has2("routes[0].cors.allow_origins[0]") && has2("allow_credentials"), text2.c_str());
        QVERIFY2(has2("routes[0].cors.allow_origins[1]") && has2("is not an origin"), text2.c_str());
        QVERIFY2(has2("routes[0].compression.types[0]") && has2("'html' is not a media type"), text2.c_str());
        QCOMPARE(fixedCompression.errors.size(), std::size_t(10));

        // Unknown keys are errors too.
        const auto unknown =
            config::loadConfigText(yamlWith(backend, "    cors: {allow_origin: [\"*\"]}\n"), "gw.yaml");
        QVERIFY(!unknown.ok());
        QVERIFY2(unknown.errorText().find("routes[0].cors.allow_origin") != std::string::npos,
                 unknown.errorText().c_str());
    }

    void transformsRoundTripThroughTheCodec() {
        FakeBackend backend("b");
        const auto loaded = config::loadConfigText(
            yamlWith(backend,
                     "    request_headers: {set: {X-A: \"${route}\"}, add: {X-B: b}, remove: [X-C]}\n"
                     "    response_headers: {remove: [X-D]}\n"
                     "    hide_headers: [Server]\n" +
                         kCors + "    compression: {algorithms: [gzip], min_size: 2KiB, level: 3}\n") +
                "compression: {types: [text/html]}\n",
            "gw.yaml");
        QVERIFY2(loaded.ok(), loaded.errorText().c_str());
        const auto& config = loaded.loaded->config;
        QCOMPARE(config.routes[0].requestHeaders.set.at(0).second, std::string("${route}"));
        QCOMPARE(config.routes[0].cors->maxAge, gaetwae::model::Duration(std::chrono::minutes(10)));
        QCOMPARE(config.routes[0].compression->minSize, std::uint64_t(2048));
        QVERIFY(!config.routes[1].compression); // the document's default applies to it
        QCOMPARE(config.compression->types, std::vector<std::string>{"text/html"});
        gaetwae::model::Diagnostics diagnostics;
        const auto again =
            gaetwae::model::decodeGatewayConfig(gaetwae::model::encodeGatewayConfig(config), diagnostics);
        QVERIFY(diagnostics.empty());
        QVERIFY(again == config);
    }

    // ---------------------------------------------------------------- CORS
    void preflightsAreAnsweredAtTheGateway() {
        FakeBackend backend("b");
        TestGateway gateway(yamlWith(backend, kCors));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TestClient client(gateway.port());
        const auto allowed = client.request("OPTIONS", "/api/items",
                                            {{"Origin", "https://app.example.com"},
                                             {"Access-Control-Request-Method", "PUT"},
                                             {"Access-Control-Request-Headers", "authorization, x-trace"}});
        QVERIFY2(allowed, client.error().c_str());
        QCOMPARE(allowed->status, 204);
        QCOMPARE(allowed->header("Access-Control-Allow-Origin"), std::string("https://app.example.com"));
        QCOMPARE(allowed->header("Access-Control-Allow-Credentials"), std::string("true"));
        QCOMPARE(allowed->header("Access-Control-Allow-Methods"), std::string("GET, POST, PUT, DELETE"));
        QCOMPARE(allowed->header("Access-Control-Allow-Headers"), std::string("authorization, x-trace"));
        QCOMPARE(allowed->header("Access-Control-Max-Age"), std::string("600"));
        QVERIFY(allowed->header("Vary").find("Origin") != std::string::npos);
        QVERIFY(!allowed->header("X-Request-ID").empty());
        QVERIFY(allowed->keepAlive);

        // A subdomain of a wildcard origin, on the same connection.
        const auto subdomain = client.request(
            "OPTIONS", "/api/items",
            {{"Origin", "https://shop.eu.example.org"}, {"Access-Control-Request-Method", "DELETE"}});
        QVERIFY2(subdomain, client.error().c_str());
        QCOMPARE(subdomain->status, 204);
        QCOMPARE(subdomain->header("Access-Control-Allow-Origin"),
                 std::string("https://shop.eu.example.org"));

        // Refused: an unknown origin, the bare wildcard domain, a look-alike, a method, a header.
        const std::vector<Headers> refused{
            {{"Origin", "https://evil.com"}, {"Access-Control-Request-Method", "GET"}},
            {{"Origin", "https://example.org"}, {"Access-Control-Request-Method", "GET"}},
            {{"Origin", "https://evil-example.org"}, {"Access-Control-Request-Method", "GET"}},
            {{"Origin", "http://app.example.com"}, {"Access-Control-Request-Method", "GET"}},
            {{"Origin", "https://app.example.com"}, {"Access-Control-Request-Method", "PATCH"}},
            {{"Origin", "https://app.example.com"},
             {"Access-Control-Request-Method", "GET"},
             {"Access-Control-Request-Headers", "X-Admin"}},
        };
        for (const auto& headers : refused) {
            TestClient other(gateway.port());
            const auto response = other.request("OPTIONS", "/api/items", headers);
            QVERIFY2(response, other.error().c_str());
            QCOMPARE(response->status, 403);
            QCOMPARE(response->json()["error"].get<std::string>(), std::string("cors_rejected"));
            QCOMPARE(response->headerCount("Access-Control-Allow-Origin"), std::size_t(0));
            QCOMPARE(response->json()["requestId"].get<std::string>(), response->header("X-Request-ID"));
        }
        QCOMPARE(backend.requestsReceived(), std::uint64_t(0)); // no preflight reached the backend

        // OPTIONS that is not a preflight is the backend's.
        const auto options = client.request("OPTIONS", "/api/items", {{"Origin", "https://app.example.com"}});
        QVERIFY2(options, client.error().c_str());
        QCOMPARE(options->status, 200);
        QVERIFY(backend.waitForRequests(1, 5s));
        QCOMPARE(backend.received().at(0).method, std::string("OPTIONS"));
    }

    void actualRequestsGetCorsHeadersOnlyForAllowedOrigins() {
        FakeBackend backend("b", [](const ReceivedRequest&) {
            // The gateway owns the route's CORS answer: a backend's own fields are replaced.
            return replyWith({{"Access-Control-Allow-Origin", "*"}, {"X-Total", "3"}});
        });
        TestGateway gateway(yamlWith(backend, kCors));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TestClient client(gateway.port());
        const auto allowed = client.request("GET", "/api/items", {{"Origin", "https://app.example.com"}});
        QVERIFY2(allowed, client.error().c_str());
        QCOMPARE(allowed->status, 200);
        QCOMPARE(allowed->headerCount("Access-Control-Allow-Origin"), std::size_t(1));
        QCOMPARE(allowed->header("Access-Control-Allow-Origin"), std::string("https://app.example.com"));
        QCOMPARE(allowed->header("Access-Control-Allow-Credentials"), std::string("true"));
        QCOMPARE(allowed->header("Access-Control-Expose-Headers"), std::string("X-Request-ID, X-Total"));
        QCOMPARE(allowed->header("Vary"), std::string("Origin"));

        const auto disallowed = client.request("POST", "/api/items", {{"Origin", "https://evil.com"}}, "{}");
        QVERIFY2(disallowed, client.error().c_str());
        QCOMPARE(disallowed->status, 200); // the browser withholds it; the gateway adds nothing
        QCOMPARE(disallowed->headerCount("Access-Control-Allow-Origin"), std::size_t(0));
        QCOMPARE(disallowed->headerCount("Access-Control-Allow-Credentials"), std::size_t(0));
        QCOMPARE(disallowed->header("Vary"), std::string("Origin"));

        const auto sameOrigin = client.get("/api/items");
        QVERIFY2(sameOrigin, client.error().c_str());
        QCOMPARE(sameOrigin->headerCount("Access-Control-Allow-Origin"), std::size_t(0));
        QVERIFY(backend.waitForRequests(3, 5s));

        // Any origin without credentials: "*".
        QCOMPARE(gateway.apply(yamlWith(backend, "    cors: {allow_origins: [\"*\"]}\n")), std::string());
        const auto any = client.request("GET", "/api/items", {{"Origin", "https://whoever.net"}});
        QVERIFY2(any, client.error().c_str());
        QCOMPARE(any->header("Access-Control-Allow-Origin"), std::string("*"));
        QCOMPARE(any->headerCount("Access-Control-Allow-Credentials"), std::size_t(0));
        QCOMPARE(any->headerCount("Vary"), std::size_t(0));
        const auto preflight =
            client.request("OPTIONS", "/api/items",
                           {{"Origin", "https://whoever.net"}, {"Access-Control-Request-Method", "POST"}});
        QVERIFY2(preflight, client.error().c_str());
        QCOMPARE(preflight->status, 204);
        QCOMPARE(preflight->header("Access-Control-Allow-Origin"), std::string("*"));
        QCOMPARE(preflight->headerCount("Access-Control-Max-Age"), std::size_t(0));
    }

    void gatewayErrorsOfACorsRouteAreReadableByAllowedPages() {
        const std::string yaml = "listeners: [{address: \"127.0.0.1:0\"}]\naccess_log: {enabled: false}\n"
                                 "routes:\n  - name: api\n    match: {path_prefix: /api}\n    pool: p\n" +
                                 kCors +
                                 fmt::format("pools:\n  - name: p\n    instances:\n"
                                             "      - {{id: gone, address: \"127.0.0.1:{}\"}}\n",
                                             closedPort());
        TestGateway gateway(yaml);
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TestClient client(gateway.port());
        const auto allowed = client.request("GET", "/api/x", {{"Origin", "https://app.example.com"}});
        QVERIFY2(allowed, client.error().c_str());
        QCOMPARE(allowed->status, 502);
        QCOMPARE(allowed->json()["error"].get<std::string>(), std::string("upstream_connect_failed"));
        QCOMPARE(allowed->header("Access-Control-Allow-Origin"), std::string("https://app.example.com"));
        QCOMPARE(allowed->header("Access-Control-Allow-Credentials"), std::string("true"));
        QCOMPARE(allowed->header("Vary"), std::string("Origin"));
        const auto other = client.request("GET", "/api/x", {{"Origin", "https://evil.com"}});
        QVERIFY2(other, client.error().c_str());
        QCOMPARE(other->status, 502);
        QCOMPARE(other->headerCount("Access-Control-Allow-Origin"), std::size_t(0));
    }

    void adminRouteChangesCarryTransformsAndApplyLive() {
        FakeBackend backend("b");
        TestGateway gateway(yamlWith(backend, ""));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TestClient client(gateway.port());
        QCOMPARE(client.get("/api/x")->header("Server"), std::string("b"));
        WsAdminClient admin;
        QVERIFY2(admin.connect(gateway.adminPort(), gateway.adminToken()), admin.error().c_str());
        nlohmann::json route = nlohmann::json::object();
        route["name"] = "api";
        route["match"] = nlohmann::json::object();
        route["match"]["path_prefix"] = "/api";
        route["pool"] = "p";
        route["hide_headers"] = nlohmann::json::array({"Server"});
        route["response_headers"] = nlohmann::json::object();
        route["response_headers"]["set"] = nlohmann::json::object();
        route["response_headers"]["set"]["X-Route"] = "${route}";
        auto putRoute = [&](const nlohmann::json& changed) {
            nlohmann::json params;
            params["expectedVersion"] = gateway.engine().configVersion();
            params["route"] = changed;
            return admin.call("route.put", params);
        };
        auto changed = putRoute(route);
        QVERIFY2(changed && changed->result, admin.error().c_str());
        const auto edited = client.get("/api/x");
        QVERIFY2(edited, client.error().c_str());
        QCOMPARE(edited->headerCount("Server"), std::size_t(0));
        QCOMPARE(edited->header("X-Route"), std::string("api"));
        const auto config = admin.result("config.get");
        QCOMPARE(config["config"]["routes"][0]["response_headers"]["set"]["X-Route"].get<std::string>(),
                 std::string("${route}"));

        // A bad template is refused with its field, and nothing changes.
        route["response_headers"]["set"]["X-Route"] = "${nope}";
        changed = putRoute(route);
        QVERIFY(changed && changed->error);
        QVERIFY2(changed->error->data.dump().find("response_headers/set/X-Route") != std::string::npos,
                 changed->error->data.dump().c_str());
        QCOMPARE(client.get("/api/x")->header("X-Route"), std::string("api"));

        // A reload without the edits restores the backend's headers.
        QCOMPARE(gateway.apply(yamlWith(backend, "")), std::string());
        const auto restored = client.get("/api/x");
        QVERIFY2(restored, client.error().c_str());
        QCOMPARE(restored->header("Server"), std::string("b"));
        QCOMPARE(restored->headerCount("X-Route"), std::size_t(0));
    }
};

QTEST_GUILESS_MAIN(TestTransformations)
#include "tst_transformations.moc"
