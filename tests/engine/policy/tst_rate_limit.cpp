// Rate limiting, local mode: token bucket math on a manual clock, the striped limiter under
// threads and key pressure, then end to end through real sockets (concurrency, keys, refill,
// headers, dry run, shared limiters, bad config, admin changes and reloads).
#include "engine/config/config_loader.hpp"
#include "engine/core/clock.hpp"
#include "engine/policy/local_rate_limiter.hpp"
#include "engine/policy/rate_limit_check.hpp"
#include "engine/policy/token_bucket.hpp"
#include "shared/model/rate_limit.hpp"
#include "tests/support/fake_backend.hpp"
#include "tests/support/test_client.hpp"
#include "tests/support/test_gateway.hpp"
#include "tests/support/ws_admin_client.hpp"

#include <fmt/format.h>

#include <QtTest>

#include <mutex>
#include <set>
#include <thread>
#include <tuple>

using namespace gaetwae::test;
using namespace gaetwae::engine;
using gaetwae::model::RateLimitConfig;
using gaetwae::model::RateLimitKeyKind;

namespace {

constexpr std::int64_t kSecond = 1'000'000'000;

RateLimitConfig limitOf(std::uint32_t count, std::chrono::milliseconds period, std::uint32_t burst,
                        RateLimitKeyKind key = RateLimitKeyKind::ClientIp) {
    RateLimitConfig config;
    config.count = count;
    config.period = period;
    config.burst = burst;
    config.key = key;
    return config;
}

// One route "api" on /api to one backend; `limits` is the YAML list under rate_limit (or empty).
std::string yamlWith(const FakeBackend& backend, const std::string& limits,
                     const std::string& moreRoutes = "") {
    std::string yaml = "listeners: [{address: \"127.0.0.1:0\"}]\naccess_log: {enabled: false}\n"
                       "routes:\n  - name: api\n    match: {path_prefix: /api}\n    pool: p\n";
    if (!limits.empty()) {
        yaml += "    rate_limit:\n" + limits;
    }
    yaml += moreRoutes;
    yaml += fmt::format("pools:\n  - name: p\n    instances:\n      - {{id: a, address: \"{}\"}}\n",
                        backend.address());
    return yaml;
}

core::Engine::Options withClock(const core::Clock& clock, unsigned workers = 1) {
    return core::Engine::Options{workers, &clock, 0, std::nullopt};
}

int headerInt(const Response& response, std::string_view name) {
    const auto value = response.header(name);
    return value.empty() ? -1 : std::stoi(value);
}

} // namespace

class TestRateLimit : public QObject {
    Q_OBJECT

private slots:
    // ---------------------------------------------------------------- token bucket math
    void bucketGivesRatePlusBurstThenRefillsOneIntervalAtATime() {
        const auto shape = policy::BucketShape::of(limitOf(5, std::chrono::minutes(1), 3));
        QCOMPARE(shape.capacity, std::int64_t(8));
        QCOMPARE(shape.intervalNs, 12 * kSecond);
        core::ManualClock clock;
        auto now = [&] { return core::toNanos(clock.now()); };
        std::int64_t tat = now(); // a new bucket is full
        for (std::int64_t i = 1; i <= 8; ++i) {
            const auto d = policy::takeToken(tat, now(), shape);
            QVERIFY(d.allowed);
            QCOMPARE(d.limit, std::int64_t(8));
            QCOMPARE(d.remaining, 8 - i);
            QCOMPARE(d.resetNs, i * 12 * kSecond);
            QCOMPARE(d.retryAfterNs, std::int64_t(0));
        }
        const auto before = tat;
        auto refused = policy::takeToken(tat, now(), shape);
        QVERIFY(!refused.allowed);
        QCOMPARE(tat, before); // a refusal takes nothing
        QCOMPARE(refused.remaining, std::int64_t(0));
        QCOMPARE(refused.retryAfterNs, 12 * kSecond);
        QCOMPARE(refused.resetNs, 96 * kSecond);

        clock.advance(std::chrono::seconds(11));
        refused = policy::takeToken(tat, now(), shape);
        QVERIFY(!refused.allowed);
        QCOMPARE(refused.retryAfterNs, 1 * kSecond);
        clock.advance(std::chrono::seconds(1));
        auto d = policy::takeToken(tat, now(), shape);
        QVERIFY(d.allowed);
        QCOMPARE(d.remaining, std::int64_t(0));
        QVERIFY(!policy::takeToken(tat, now(), shape).allowed);

        clock.advance(std::chrono::seconds(96));
        QVERIFY(policy::bucketFull(tat, now()));
        d = policy::takeToken(tat, now(), shape);
        QCOMPARE(d.remaining, std::int64_t(7)); // refilled to capacity, never beyond
        QCOMPARE(policy::ceilSeconds(1), std::int64_t(1));
        QCOMPARE(policy::ceilSeconds(kSecond), std::int64_t(1));
        QCOMPARE(policy::ceilSeconds(kSecond + 1), std::int64_t(2));
        QCOMPARE(policy::ceilSeconds(0), std::int64_t(0));
    }

    void ratesParse_data() {
        QTest::addColumn<QString>("text");
        QTest::addColumn<int>("count");
        QTest::addColumn<int>("periodSeconds"); // 0: invalid
        QTest::newRow("per second") << "100/s" << 100 << 1;
        QTest::newRow("per minute") << "60/m" << 60 << 60;
        QTest::newRow("per hour") << "1000/h" << 1000 << 3600;
        QTest::newRow("long unit") << "5/min" << 5 << 60;
        QTest::newRow("unknown unit") << "100/x" << 0 << 0;
        QTest::newRow("zero") << "0/s" << 0 << 0;
        QTest::newRow("fraction") << "1.5/s" << 0 << 0;
        QTest::newRow("no unit") << "100" << 0 << 0;
        QTest::newRow("negative") << "-1/s" << 0 << 0;
        QTest::newRow("too many") << "1000001/s" << 0 << 0;
    }

    void ratesParse() {
        QFETCH(QString, text);
        QFETCH(int, count);
        QFETCH(int, periodSeconds);
        const auto rate = gaetwae::model::parseRate(text.toStdString());
        QCOMPARE(rate.has_value(), periodSeconds != 0);
        if (rate) {
            QCOMPARE(rate->count, std::uint32_t(count));
            QCOMPARE(rate->period, gaetwae::model::Duration(std::chrono::seconds(periodSeconds)));
            QCOMPARE(gaetwae::model::formatRate(rate->count, rate->period).substr(0, text.indexOf('/')),
                     text.toStdString().substr(0, text.indexOf('/')));
        }
    }

    // ---------------------------------------------------------------- the in-process limiter
    void limiterIsExactAcrossThreads() {
        core::ManualClock clock; // frozen: no refill while the threads race
        policy::LocalRateLimiter limiter(limitOf(50, std::chrono::seconds(1), 25));
        std::atomic<int> allowed{0};
        std::vector<std::thread> threads;
        for (int t = 0; t < 8; ++t) {
            threads.emplace_back([&] {
                for (int i = 0; i < 500; ++i) {
                    allowed += limiter.acquire("same", clock.now()).allowed ? 1 : 0;
                    limiter.acquire("other-" + std::to_string(i % 7), clock.now());
                }
            });
        }
        for (auto& thread : threads) {
            thread.join();
        }
        QCOMPARE(allowed.load(), 75);
    }

    void limiterMemoryIsBoundedAndKeysAreSeparate() {
        core::ManualClock clock;
        constexpr std::size_t kMaxKeys = 128; // 8 per shard
        policy::LocalRateLimiter limiter(limitOf(1, std::chrono::hours(1), 9), kMaxKeys);
        for (int i = 0; i < 10; ++i) {
            QVERIFY(limiter.acquire("hot", clock.now()).allowed);
        }
        QVERIFY(!limiter.acquire("hot", clock.now()).allowed);
        QVERIFY(limiter.acquire("other", clock.now()).allowed); // its own bucket
        for (int i = 0; i < 10'000; ++i) {
            QVERIFY(limiter.acquire("flood-" + std::to_string(i), clock.now()).allowed);
            QVERIFY(limiter.trackedKeys() <= kMaxKeys);
        }
        // Under pressure the buckets closest to full are forgotten first: the drained one stays.
        QVERIFY(!limiter.acquire("hot", clock.now()).allowed);
        QVERIFY(limiter.trackedKeys() > kMaxKeys / 2);
        // Full buckets are forgotten without loss: after a refill everything starts over.
        clock.advance(std::chrono::hours(10));
        QVERIFY(limiter.acquire("hot", clock.now()).allowed);
        QCOMPARE(limiter.acquire("hot", clock.now()).remaining, std::int64_t(8));
    }

    void keysComeFromTheConfiguredSource() {
        struct Headers final : balancing::HeaderLookup {
            std::optional<std::string_view> header(std::string_view name) const override {
                return name == "X-API-Key" ? std::optional<std::string_view>("k1") : std::nullopt;
            }
        } headers;
        balancing::RequestKey request{"10.0.0.1", "example.com", "/api", "a=1&api_key=q1&b", &headers};
        std::string scratch;
        auto keyOf = [&](RateLimitKeyKind kind, std::string name) {
            RateLimitConfig config;
            config.key = kind;
            config.keyName = std::move(name);
            return std::string(policy::rateLimitKey(config, request, "api", scratch));
        };
        QCOMPARE(keyOf(RateLimitKeyKind::ClientIp, ""), std::string("10.0.0.1"));
        QCOMPARE(keyOf(RateLimitKeyKind::Header, "X-API-Key"), std::string("k:k1"));
        QCOMPARE(keyOf(RateLimitKeyKind::Header, "X-Other"), std::string("ip:10.0.0.1"));
        QCOMPARE(keyOf(RateLimitKeyKind::Query, "api_key"), std::string("k:q1"));
        QCOMPARE(keyOf(RateLimitKeyKind::Query, "b"), std::string("ip:10.0.0.1")); // present but empty
        QCOMPARE(keyOf(RateLimitKeyKind::Query, "api"), std::string("ip:10.0.0.1"));
        QCOMPARE(keyOf(RateLimitKeyKind::Route, ""), std::string("api"));
        QCOMPARE(keyOf(RateLimitKeyKind::Global, ""), std::string());
        const std::string longQuery = "api_key=" + std::string(policy::kMaxKeyBytes + 1, 'x');
        const std::string longerQuery = longQuery + "y";
        request.query = longQuery;
        const auto hashed = keyOf(RateLimitKeyKind::Query, "api_key");
        QVERIFY(hashed.starts_with("h:") && hashed.size() <= 18);
        request.query = longerQuery;
        QVERIFY(keyOf(RateLimitKeyKind::Query, "api_key") != hashed);
    }

    // ---------------------------------------------------------------- through the gateway
    void concurrentRequestsPassExactlyRatePlusBurst() {
        FakeBackend backend("b");
        core::ManualClock clock; // frozen: the bucket cannot refill during the test
        TestGateway gateway(yamlWith(backend, "      - {key: client_ip, rate: 5/m, burst: 3}\n"),
                            withClock(clock, 2));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        std::mutex mutex;
        std::vector<Response> responses;
        std::vector<std::string> failures;
        std::vector<std::thread> threads;
        for (int t = 0; t < 6; ++t) {
            threads.emplace_back([&] {
                for (int c = 0; c < 3; ++c) {
                    TestClient client(gateway.port()); // several connections spread over both workers
                    for (int i = 0; i < 3; ++i) {
                        auto response = client.get("/api/x");
                        std::lock_guard lock(mutex);
                        if (response) {
                            responses.push_back(std::move(*response));
                        } else {
                            failures.push_back(client.error());
                        }
                    }
                }
            });
        }
        for (auto& thread : threads) {
            thread.join();
        }
        QVERIFY2(failures.empty(), failures.empty() ? "" : failures.front().c_str());
        QCOMPARE(responses.size(), std::size_t(54));
        int passed = 0;
        std::set<int> remaining;
        for (const auto& response : responses) {
            QCOMPARE(headerInt(response, "X-RateLimit-Limit"), 8);
            if (response.status == 200) {
                ++passed;
                remaining.insert(headerInt(response, "X-RateLimit-Remaining"));
                QCOMPARE(response.header("Retry-After"), std::string());
                continue;
            }
            QCOMPARE(response.status, 429);
            QCOMPARE(headerInt(response, "X-RateLimit-Remaining"), 0);
            QCOMPARE(headerInt(response, "Retry-After"), 12);       // one token every 12 s
            QCOMPARE(headerInt(response, "X-RateLimit-Reset"), 96); // 8 tokens to refill
            const auto body = response.json();
            QCOMPARE(body["error"].get<std::string>(), std::string("rate_limited"));
            QVERIFY(!body["requestId"].get<std::string>().empty());
            QCOMPARE(response.header("Content-Type"), std::string("application/json"));
        }
        QCOMPARE(passed, 8);
        QCOMPARE(remaining, (std::set<int>{0, 1, 2, 3, 4, 5, 6, 7})); // each token handed out once
        QCOMPARE(backend.requestsReceived(), std::uint64_t(8));
        const auto metrics = gateway.engine().prometheusText();
        QVERIFY2(metrics.find("proxy_rate_limited_total{route=\"api\",limit=\"api#0\",key=\"client_ip\","
                              "dry_run=\"false\"} 46") != std::string::npos,
                 metrics.c_str());
    }

    void apiKeysHaveSeparateBucketsAndMissingKeysFallBackToTheClientIp() {
        FakeBackend backend("b");
        core::ManualClock clock;
        TestGateway gateway(yamlWith(backend, "      - {key: \"header:X-API-Key\", rate: 2/m}\n"),
                            withClock(clock));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TestClient client(gateway.port());
        auto withKey = [&](const std::string& key) {
            std::vector<std::pair<std::string, std::string>> headers;
            if (!key.empty()) {
                headers.emplace_back("X-API-Key", key);
            }
            return client.request("GET", "/api/x", headers)->status;
        };
        QCOMPARE(withKey("alpha"), 200);
        QCOMPARE(withKey("alpha"), 200);
        QCOMPARE(withKey("alpha"), 429);
        QCOMPARE(withKey("beta"), 200); // another consumer is not affected
        QCOMPARE(withKey(""), 200);     // no key: the client's address has its own bucket
        QCOMPARE(withKey(""), 200);
        QCOMPARE(withKey(""), 429);
        QCOMPARE(withKey("beta"), 200);
        QCOMPARE(withKey("beta"), 429);
        QCOMPARE(withKey("127.0.0.1"), 200); // a key equal to an address is still a key
    }

    void bucketsRefillOnTheEngineClockAndHeadersTellWhen() {
        FakeBackend backend("b");
        core::ManualClock clock;
        TestGateway gateway(yamlWith(backend, "      - {key: \"query:api_key\", rate: 2/s, burst: 1}\n"),
                            withClock(clock));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TestClient client(gateway.port());
        // Capacity 3, one token per 500 ms.
        const std::vector<std::pair<int, int>> expected{
            {2, 1}, {1, 1}, {0, 2}}; // remaining, reset (s, rounded up)
        for (const auto& [remaining, reset] : expected) {
            const auto response = client.get("/api/x?api_key=k");
            QCOMPARE(response->status, 200);
            QCOMPARE(headerInt(*response, "X-RateLimit-Limit"), 3);
            QCOMPARE(headerInt(*response, "X-RateLimit-Remaining"), remaining);
            QCOMPARE(headerInt(*response, "X-RateLimit-Reset"), reset);
        }
        auto refused = client.get("/api/x?api_key=k");
        QCOMPARE(refused->status, 429);
        QCOMPARE(headerInt(*refused, "Retry-After"), 1); // 500 ms, rounded up
        QCOMPARE(headerInt(*refused, "X-RateLimit-Reset"), 2);

        clock.advance(std::chrono::milliseconds(499));
        QCOMPARE(client.get("/api/x?api_key=k")->status, 429);
        clock.advance(std::chrono::milliseconds(1));
        QCOMPARE(client.get("/api/x?api_key=k")->status, 200);
        QCOMPARE(client.get("/api/x?api_key=k")->status, 429);

        clock.advance(std::chrono::milliseconds(1500)); // full again
        const auto full = client.get("/api/x?api_key=k");
        QCOMPARE(full->status, 200);
        QCOMPARE(headerInt(*full, "X-RateLimit-Remaining"), 2);
    }

    void dryRunNeverRefusesButReports() {
        FakeBackend backend("b");
        core::ManualClock clock;
        TestGateway gateway(yamlWith(backend, "      - {key: route, rate: 1/m, dry_run: true}\n"),
                            withClock(clock));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TestClient client(gateway.port());
        for (int i = 0; i < 5; ++i) {
            const auto response = client.get("/api/x");
            QCOMPARE(response->status, 200);
            QCOMPARE(headerInt(*response, "X-RateLimit-Limit"), 1);
            QCOMPARE(headerInt(*response, "X-RateLimit-Remaining"), 0);
            QCOMPARE(headerInt(*response, "X-RateLimit-Reset"), 60); // would-be values
            QCOMPARE(response->header("Retry-After"), std::string());
        }
        QCOMPARE(backend.requestsReceived(), std::uint64_t(5));
        const auto metrics = gateway.engine().prometheusText();
        QVERIFY2(
            metrics.find(
                "proxy_rate_limited_total{route=\"api\",limit=\"api#0\",key=\"route\",dry_run=\"true\"} 4") !=
                std::string::npos,
            metrics.c_str());
    }

    void theStrictestOfSeveralLimitsAnswers() {
        FakeBackend backend("b");
        core::ManualClock clock;
        TestGateway gateway(yamlWith(backend, "      - {key: client_ip, rate: 10/m}\n"
                                              "      - {key: route, rate: 2/m, dry_run: true}\n"
                                              "      - {key: global, rate: 4/m}\n"),
                            withClock(clock));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TestClient client(gateway.port());
        std::vector<std::tuple<int, int, int>> seen; // status, limit, remaining
        for (int i = 0; i < 5; ++i) {
            const auto r = client.get("/api/x");
            seen.emplace_back(r->status, headerInt(*r, "X-RateLimit-Limit"),
                              headerInt(*r, "X-RateLimit-Remaining"));
        }
        const std::vector<std::tuple<int, int, int>> expected{
            {200, 2, 1}, {200, 2, 0}, // the dry-run limit has the fewest tokens left
            {200, 2, 0},              // it would refuse now: still the strictest report, but served
            {200, 2, 0}, {429, 4, 0}, // the enforcing global limit refuses: it answers
        };
        QCOMPARE(seen, expected);
        // A route without limits carries no rate limit headers.
        const auto plain = fetch(gateway.port(), "/other");
        QCOMPARE(plain->status, 404);
        QCOMPARE(plain->header("X-RateLimit-Limit"), std::string());
    }

    void gatewayErrorsOfALimitedRouteCarryTheHeadersAndRefusedBodiesCloseTheConnection() {
        core::ManualClock clock;
        const std::string yaml =
            "listeners: [{address: \"127.0.0.1:0\"}]\naccess_log: {enabled: false}\n"
            "routes:\n  - name: api\n    match: {path_prefix: /api}\n    pool: p\n"
            "    rate_limit: [{key: client_ip, rate: 2/m}]\n"
            "pools:\n  - name: p\n    instances:\n      - {id: dead, address: \"127.0.0.1:" +
            std::to_string(closedPort()) + "\"}\n";
        TestGateway gateway(yaml, withClock(clock));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TestClient client(gateway.port());
        const auto failed = client.get("/api/x");
        QCOMPARE(failed->status, 502); // allowed by the limit, then the backend refused
        QCOMPARE(headerInt(*failed, "X-RateLimit-Limit"), 2);
        QCOMPARE(headerInt(*failed, "X-RateLimit-Remaining"), 1);
        QCOMPARE(client.get("/api/x")->status, 502);
        // A refused request with a body that was never read: answered, then the connection closes.
        const auto refused = client.request("POST", "/api/x", {}, "payload");
        QCOMPARE(refused->status, 429);
        QCOMPARE(refused->json()["error"].get<std::string>(), std::string("rate_limited"));
        QVERIFY(client.waitForClose(5s));
    }

    void namedLimitersAreSharedAcrossRoutes() {
        FakeBackend backend("b");
        core::ManualClock clock;
        const std::string shared = "      - {name: team, key: global, rate: 3/m}\n";
        TestGateway gateway(
            yamlWith(backend, shared,
                     "  - name: web\n    match: {path_prefix: /web}\n    pool: p\n    rate_limit:\n" +
                         shared),
            withClock(clock));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TestClient client(gateway.port());
        QCOMPARE(client.get("/api/1")->status, 200);
        QCOMPARE(client.get("/web/1")->status, 200);
        QCOMPARE(client.get("/api/2")->status, 200);
        QCOMPARE(client.get("/web/2")->status, 429); // one bucket for both routes
        QCOMPARE(client.get("/api/3")->status, 429);
        const auto metrics = gateway.engine().prometheusText();
        QVERIFY(metrics.find("proxy_rate_limited_total{route=\"web\",limit=\"team\",key=\"global\",dry_run="
                             "\"false\"} 1") != std::string::npos);
        QVERIFY(metrics.find("proxy_rate_limited_total{route=\"api\",limit=\"team\",key=\"global\",dry_run="
                             "\"false\"} 1") != std::string::npos);
    }

    void badLimitsAreRejectedWithFileLineAndField() {
        FakeBackend backend("b");
        const std::string yaml = yamlWith(backend, "      - {key: client_ip, rate: 100/x}\n"
                                                   "      - {key: client_ip, rate: 10/s, burst: -1}\n"
                                                   "      - {key: cookie, rate: 10/s}\n"
                                                   "      - {key: \"header:\", rate: 10/s}\n"
                                                   "      - {key: client_ip}\n");
        const auto result = config::loadConfigText(yaml, "gw.yaml");
        QVERIFY(!result.ok());
        const std::string text = result.errorText();
        auto has = [&](const std::string& fragment) { return text.find(fragment) != std::string::npos; };
        QVERIFY2(has("gw.yaml:8:") && has("routes[0].rate_limit[0].rate") && has("'100/x' is not a rate"),
                 text.c_str());
        QVERIFY2(has("gw.yaml:9:") && has("routes[0].rate_limit[1].burst") && has("between 0 and"),
                 text.c_str());
        QVERIFY2(has("gw.yaml:10:") && has("routes[0].rate_limit[2].key") && has("unknown key kind 'cookie'"),
                 text.c_str());
        QVERIFY2(has("routes[0].rate_limit[3].key") && has("names no header"), text.c_str());
        QVERIFY2(has("routes[0].rate_limit[4]: missing required field 'rate'"), text.c_str());
        QCOMPARE(result.errors.size(), std::size_t(5));

        // A shared limiter must be defined alike everywhere.
        const auto mismatch = config::loadConfigText(
            yamlWith(backend, "      - {name: team, key: global, rate: 3/m}\n",
                     "  - name: web\n    match: {path_prefix: /web}\n    pool: p\n    rate_limit:\n"
                     "      - {name: team, key: global, rate: 4/m}\n"),
            "gw.yaml");
        QVERIFY(!mismatch.ok());
        QVERIFY2(mismatch.errorText().find("routes[1].rate_limit[0]") != std::string::npos &&
                     mismatch.errorText().find("defined differently on route 'api'") != std::string::npos,
                 mismatch.errorText().c_str());
    }

    void anAdminRouteChangeAddsALimitAndLaterChangesKeepItsBuckets() {
        FakeBackend backend("b");
        core::ManualClock clock;
        TestGateway gateway(yamlWith(backend, ""), withClock(clock));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TestClient client(gateway.port());
        for (int i = 0; i < 3; ++i) {
            QCOMPARE(client.get("/api/x")->status, 200);
        }
        WsAdminClient admin;
        QVERIFY2(admin.connect(gateway.adminPort(), gateway.adminToken()), admin.error().c_str());
        auto putRoute = [&](const nlohmann::json& route) {
            nlohmann::json params;
            params["expectedVersion"] = gateway.engine().configVersion();
            params["route"] = route;
            return admin.call("route.put", params);
        };
        nlohmann::json route = nlohmann::json::parse(
            R"({"name": "api", "match": {"path_prefix": "/api"}, "pool": "p",
                "rate_limit": [{"key": "client_ip", "rate": "2/m"}]})");
        auto changed = putRoute(route);
        QVERIFY2(changed && changed->result, admin.error().c_str());
        QCOMPARE(client.get("/api/x")->status, 200);
        QCOMPARE(client.get("/api/x")->status, 200);
        QCOMPARE(client.get("/api/x")->status, 429);

        // The route's other settings change; its limit does not, so the bucket stays empty.
        route["strip_prefix"] = true;
        changed = putRoute(route);
        QVERIFY2(changed && changed->result, admin.error().c_str());
        QCOMPARE(client.get("/api/x")->status, 429);
        const auto config = admin.result("config.get");
        QCOMPARE(config["config"]["routes"][0]["rate_limit"][0]["rate"].get<std::string>(),
                 std::string("2/m"));

        // A changed definition starts full.
        route["rate_limit"][0]["rate"] = "3/m";
        changed = putRoute(route);
        QVERIFY2(changed && changed->result, admin.error().c_str());
        QCOMPARE(client.get("/api/x")->status, 200);

        // A bad limit is refused with the field named, and nothing changes.
        route["rate_limit"][0]["rate"] = "3/fortnight";
        changed = putRoute(route);
        QVERIFY(changed && changed->error);
        QVERIFY2(changed->error->data.dump().find("rate_limit/0/rate") != std::string::npos,
                 changed->error->data.dump().c_str());
        QCOMPARE(gateway.engine().config().routes[0].rateLimits[0].count, 3u);
    }

    void reloadsKeepUnchangedLimiters() {
        FakeBackend backend("b");
        core::ManualClock clock;
        const std::string limited = yamlWith(backend, "      - {key: client_ip, rate: 1/m}\n");
        TestGateway gateway(limited, withClock(clock));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        QCOMPARE(fetch(gateway.port(), "/api/x")->status, 200);
        QCOMPARE(fetch(gateway.port(), "/api/x")->status, 429);
        QCOMPARE(gateway.apply(limited + "timeouts: {client_header: 5s}\n"), std::string());
        QCOMPARE(fetch(gateway.port(), "/api/x")->status, 429);
        QCOMPARE(gateway.apply(yamlWith(backend, "")), std::string()); // limit removed
        QCOMPARE(fetch(gateway.port(), "/api/x")->status, 200);
        QCOMPARE(fetch(gateway.port(), "/api/x")->header("X-RateLimit-Limit"), std::string());
    }
};

QTEST_GUILESS_MAIN(TestRateLimit)
#include "tst_rate_limit.moc"
