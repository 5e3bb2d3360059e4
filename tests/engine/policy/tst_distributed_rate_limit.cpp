// Distributed rate limiting and quotas: engines sharing one real redis-server (started by the
// test on a free loopback port) enforce one limit; Redis killed, paused and restarted mid-test
// follows each limit's on_error; quotas per UTC day and month through Redis; local quota counts
// survive a restart; config errors name their field.
#include "engine/config/config_loader.hpp"
#include "engine/policy/quota_store.hpp"
#include "tests/support/fake_backend.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/test_client.hpp"
#include "tests/support/test_gateway.hpp"

#include <fmt/format.h>

#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include <mutex>
#include <set>
#include <thread>

using namespace gaetwae::test;
using namespace gaetwae::engine;
using gaetwae::model::QuotaPeriod;

namespace {

// One pool "p" with `backend`; `routes` is the YAML of the routes list; `redis` the redis
// section's body (flow mapping), or "" for none.
std::string yamlWith(const FakeBackend& backend, const std::string& routes, const std::string& redis,
                     const std::string& more = "") {
    std::string yaml =
        "listeners: [{address: \"127.0.0.1:0\"}]\naccess_log: {enabled: false}\nroutes:\n" + routes;
    yaml += fmt::format("pools:\n  - name: p\n    instances:\n      - {{id: a, address: \"{}\"}}\n",
                        backend.address());
    if (!redis.empty()) {
        yaml += "redis: " + redis + "\n";
    }
    return yaml + more;
}

// A route on /<name> whose list `entries` goes under `field` (rate_limit or quota).
std::string route(const std::string& name, const std::string& field, const std::string& entries) {
    return fmt::format("  - name: {0}\n    match: {{path_prefix: /{0}}}\n    pool: p\n    {1}:\n{2}", name,
                       field, entries);
}

core::Engine::Options workers(unsigned count) {
    return core::Engine::Options{count, nullptr, 0, std::nullopt};
}

int headerInt(const Response& response, std::string_view name) {
    const auto value = response.header(name);
    return value.empty() ? -1 : std::stoi(value);
}

bool metricIs(TestGateway& gateway, const std::string& line) {
    return gateway.engine().prometheusText().find("\n" + line + "\n") != std::string::npos;
}

std::size_t redisEvents(TestGateway& gateway, const std::string& to) {
    std::size_t n = 0;
    for (const auto& event : gateway.engine().events().since(0)) {
        n += event.kind == core::EngineEvent::Kind::Redis && event.to == to ? 1 : 0;
    }
    return n;
}

// `perThread` requests from each of `threads` threads, alternating between the gateways' ports
// and spreading over several connections, all at once.
std::vector<Response> burst(const std::vector<std::uint16_t>& ports, const std::string& target, int threads,
                            int perThread, std::vector<std::string>& failures,
                            const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    std::mutex mutex;
    std::vector<Response> responses;
    std::vector<std::thread> running;
    for (int t = 0; t < threads; ++t) {
        running.emplace_back([&, t] {
            for (int i = 0; i < perThread; ++i) {
                TestClient client(ports[static_cast<std::size_t>(t + i) % ports.size()]);
                auto response = client.request("GET", target, headers);
                std::lock_guard lock(mutex);
                if (response) {
                    responses.push_back(std::move(*response));
                } else {
                    failures.push_back(client.error());
                }
            }
        });
    }
    for (auto& thread : running) {
        thread.join();
    }
    return responses;
}

std::int64_t secondsUntil(std::chrono::system_clock::time_point end) {
    return std::chrono::duration_cast<std::chrono::seconds>(end - std::chrono::system_clock::now()).count();
}

} // namespace

class TestDistributedRateLimit : public QObject {
    Q_OBJECT

private slots:
    // ---------------------------------------------------------------- quota periods (UTC)
    void quotaPeriodsAreUtcCalendarDaysAndMonths() {
        using namespace std::chrono;
        auto at = [](int y, unsigned m, unsigned d, int hour) {
            return sys_days{year{y} / month{m} / day{d}} + hours{hour};
        };
        auto epoch = [](sys_days day) { return day.time_since_epoch().count() * 86'400; };
        auto w = policy::quotaWindow(QuotaPeriod::Day, at(2026, 12, 2, 10));
        QCOMPARE(w.start, epoch(sys_days{year{2026} / 12 / 2}));
        QCOMPARE(w.end, epoch(sys_days{year{2026} / 12 / 3}));
        w = policy::quotaWindow(QuotaPeriod::Month, at(2026, 12, 31, 23));
        QCOMPARE(w.start, epoch(sys_days{year{2026} / 12 / 1}));
        QCOMPARE(w.end, epoch(sys_days{year{2027} / 1 / 1}));
        w = policy::quotaWindow(QuotaPeriod::Month, at(2028, 2, 29, 0)); // leap day
        QCOMPARE(w.start, epoch(sys_days{year{2028} / 2 / 1}));
        QCOMPARE(w.end, epoch(sys_days{year{2028} / 3 / 1}));
    }

    // ---------------------------------------------------------------- through Redis
    void twoEnginesSharingRedisEnforceOneGlobalLimit() {
        RedisServer redis("s3cret-pass");
        QVERIFY2(redis.start(), redis.error().c_str());
        QTemporaryDir dir;
        QFile password(dir.filePath(QStringLiteral("redis.pass")));
        QVERIFY(password.open(QIODevice::WriteOnly));
        password.write("s3cret-pass\n");
        password.close();
        FakeBackend backend("b");
        // 1/h refills nothing during the test: exactly 1 + 9 tokens for both engines together.
        const std::string yaml = yamlWith(
            backend,
            route("api", "rate_limit",
                  "      - {key: global, rate: 1/h, burst: 9, backend: redis, on_error: deny}\n"),
            fmt::format(
                "{{address: \"{}\", password_file: \"{}\", db: 3, key_prefix: \"t1:\", command_timeout: 1s}}",
                redis.address(), password.fileName().toStdString()));
        TestGateway a(yaml, workers(2));
        TestGateway b(yaml, workers(2));
        QVERIFY2(a.ok(), a.error().c_str());
        QVERIFY2(b.ok(), b.error().c_str());
        QTRY_VERIFY_WITH_TIMEOUT(
            metricIs(a, "proxy_redis_connections 2") && metricIs(b, "proxy_redis_connections 2"), 10000);

        std::vector<std::string> failures;
        const auto responses = burst({a.port(), b.port()}, "/api/x", 8, 5, failures);
        QVERIFY2(failures.empty(), failures.empty() ? "" : failures.front().c_str());
        QCOMPARE(responses.size(), std::size_t(40));
        int passed = 0;
        std::set<int> remaining;
        for (const auto& response : responses) {
            QCOMPARE(headerInt(response, "X-RateLimit-Limit"), 10);
            if (response.status == 200) {
                ++passed;
                remaining.insert(headerInt(response, "X-RateLimit-Remaining"));
                continue;
            }
            QCOMPARE(response.status, 429);
            QCOMPARE(response.json()["error"].get<std::string>(), std::string("rate_limited"));
            QCOMPARE(headerInt(response, "X-RateLimit-Remaining"), 0);
            const int retryAfter = headerInt(response, "Retry-After"); // one token an hour
            QVERIFY2(retryAfter > 3500 && retryAfter <= 3600, response.header("Retry-After").c_str());
            QVERIFY(headerInt(response, "X-RateLimit-Reset") > 35000);
        }
        QCOMPARE(passed, 10);
        QCOMPARE(remaining, (std::set<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})); // each token handed out once
        QCOMPARE(backend.requestsReceived(), std::uint64_t(10));

        // The bucket is one key in the configured db under the configured prefix, expiring when full.
        QCOMPARE(redis.command({"EXISTS", "t1:rl:api#0:"}, 3), std::string("1"));
        QVERIFY(std::stoi(redis.command({"PTTL", "t1:rl:api#0:"}, 3)) > 0);
        QCOMPARE(redis.command({"EXISTS", "t1:rl:api#0:"}, 0), std::string("0"));

        // The server forgets its scripts: the next request reloads it (NOSCRIPT -> EVAL).
        QCOMPARE(redis.command({"SCRIPT", "FLUSH"}), std::string("OK"));
        const auto again = fetch(a.port(), "/api/x");
        QVERIFY(again);
        QCOMPARE(again->status, 429);
        QCOMPARE(headerInt(*again, "X-RateLimit-Limit"), 10);
        QVERIFY(metricIs(a, "proxy_redis_up 1"));
        QCOMPARE(redisEvents(a, "up"), std::size_t(1)); // two workers connected, one transition
        QCOMPARE(redisEvents(a, "down"), std::size_t(0));
    }

    void redisKilledFollowsOnErrorAndARestartSharesLimitsAgain() {
        RedisServer redis;
        QVERIFY2(redis.start(), redis.error().c_str());
        FakeBackend backend("b");
        auto limited = [](const std::string& name, const std::string& onError) {
            return route(name, "rate_limit",
                         "      - {key: global, rate: 1/h, burst: 1, backend: redis, on_error: " + onError +
                             "}\n");
        };
        const std::string yaml =
            yamlWith(backend, limited("allow", "allow") + limited("deny", "deny") + limited("local", "local"),
                     fmt::format("{{address: \"{}\", command_timeout: 300ms, connect_timeout: 300ms}}",
                                 redis.address()));
        TestGateway a(yaml, workers(2));
        TestGateway b(yaml, workers(1));
        QVERIFY2(a.ok(), a.error().c_str());
        QVERIFY2(b.ok(), b.error().c_str());
        QTRY_VERIFY_WITH_TIMEOUT(
            metricIs(a, "proxy_redis_connections 2") && metricIs(b, "proxy_redis_connections 1"), 10000);
        // Shared: 2 tokens per route for both engines together.
        for (const std::string path : {"/allow/x", "/deny/x", "/local/x"}) {
            QCOMPARE(fetch(a.port(), path)->status, 200);
            QCOMPARE(fetch(b.port(), path)->status, 200);
            QCOMPARE(fetch(a.port(), path)->status, 429);
            QCOMPARE(fetch(b.port(), path)->status, 429);
        }

        redis.kill();
        QTRY_VERIFY_WITH_TIMEOUT(metricIs(a, "proxy_redis_up 0") && metricIs(b, "proxy_redis_up 0"), 10000);
        for (auto* gateway : {&a, &b}) {
            // allow: everything passes, without headers of a limit nobody could check.
            for (int i = 0; i < 4; ++i) {
                const auto started = std::chrono::steady_clock::now();
                const auto response = fetch(gateway->port(), "/allow/x");
                QVERIFY(response);
                QCOMPARE(response->status, 200);
                QCOMPARE(response->header("X-RateLimit-Limit"), std::string());
                QVERIFY(std::chrono::steady_clock::now() - started < std::chrono::milliseconds(1500));
            }
            // deny: a clear 503.
            const auto denied = fetch(gateway->port(), "/deny/x");
            QVERIFY(denied);
            QCOMPARE(denied->status, 503);
            QCOMPARE(denied->json()["error"].get<std::string>(), std::string("rate_limit_unavailable"));
            // local: this engine's own bucket of the same definition (fresh: 2 tokens).
            QCOMPARE(fetch(gateway->port(), "/local/x")->status, 200);
            QCOMPARE(headerInt(*fetch(gateway->port(), "/local/x"), "X-RateLimit-Remaining"), 0);
            const auto local = fetch(gateway->port(), "/local/x");
            QCOMPARE(local->status, 429);
            QCOMPARE(headerInt(*local, "X-RateLimit-Limit"), 2);
        }
        QCOMPARE(redisEvents(a, "down"), std::size_t(1)); // logged and published once, not per request
        QVERIFY(metricIs(a, "proxy_redis_fallbacks_total{on_error=\"allow\"} 4"));
        QVERIFY(metricIs(a, "proxy_redis_fallbacks_total{on_error=\"deny\"} 1"));
        QVERIFY(metricIs(a, "proxy_redis_fallbacks_total{on_error=\"local\"} 3"));

        // Back (empty: no persistence): both engines share fresh buckets again.
        QVERIFY2(redis.start(), redis.error().c_str());
        QTRY_VERIFY_WITH_TIMEOUT(
            metricIs(a, "proxy_redis_connections 2") && metricIs(b, "proxy_redis_connections 1"), 10000);
        QCOMPARE(redisEvents(a, "up"), std::size_t(2));
        std::vector<std::string> failures;
        const auto responses = burst({a.port(), b.port()}, "/deny/x", 4, 3, failures);
        QVERIFY2(failures.empty(), failures.empty() ? "" : failures.front().c_str());
        int passed = 0;
        for (const auto& response : responses) {
            QVERIFY(response.status == 200 || response.status == 429);
            passed += response.status == 200 ? 1 : 0;
        }
        QCOMPARE(passed, 2);
    }

    void aPausedRedisCostsAtMostTheCommandTimeout() {
        RedisServer redis;
        QVERIFY2(redis.start(), redis.error().c_str());
        FakeBackend backend("b");
        TestGateway gateway(yamlWith(
            backend,
            route("api", "rate_limit",
                  "      - {key: client_ip, rate: 1/h, burst: 5, backend: redis, on_error: allow}\n"),
            fmt::format("{{address: \"{}\", command_timeout: 200ms, connect_timeout: 200ms}}",
                        redis.address())));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        QTRY_VERIFY_WITH_TIMEOUT(metricIs(gateway, "proxy_redis_up 1"), 10000);
        QCOMPARE(headerInt(*fetch(gateway.port(), "/api/x"), "X-RateLimit-Remaining"), 5); // 1 + 5 tokens

        redis.pause(); // accepts connections, never answers
        for (int i = 0; i < 5; ++i) {
            const auto started = std::chrono::steady_clock::now();
            const auto response = fetch(gateway.port(), "/api/x");
            const auto took = std::chrono::steady_clock::now() - started;
            QVERIFY(response);
            QCOMPARE(response->status, 200);
            QVERIFY2(
                took < std::chrono::milliseconds(200 + 700),
                std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()).c_str());
        }
        QTRY_VERIFY_WITH_TIMEOUT(metricIs(gateway, "proxy_redis_up 0"), 5000);
        redis.resume();
        QTRY_VERIFY_WITH_TIMEOUT(metricIs(gateway, "proxy_redis_up 1"), 10000);
        // The same bucket: 5 left before the pause, and the one command that timed out may still
        // have run once Redis woke up (it was sent), so 4 or 3 are left now, never a fresh bucket.
        const int left = headerInt(*fetch(gateway.port(), "/api/x"), "X-RateLimit-Remaining");
        QVERIFY2(left == 4 || left == 3, std::to_string(left).c_str());
    }

    void aWrongPasswordKeepsRedisDownWithoutLoggingIt() {
        RedisServer redis("right-password");
        QVERIFY2(redis.start(), redis.error().c_str());
        QTemporaryDir dir;
        QFile password(dir.filePath(QStringLiteral("redis.pass")));
        QVERIFY(password.open(QIODevice::WriteOnly));
        password.write("wrong-password\n");
        password.close();
        FakeBackend backend("b");
        TestGateway gateway(yamlWith(
            backend,
            route("api", "rate_limit", "      - {key: global, rate: 1/h, backend: redis, on_error: deny}\n"),
            fmt::format("{{address: \"{}\", password_file: \"{}\"}}", redis.address(),
                        password.fileName().toStdString())));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        QTRY_VERIFY_WITH_TIMEOUT(redisEvents(gateway, "down") == 1, 10000);
        for (const auto& event : gateway.engine().events().since(0)) {
            if (event.kind == core::EngineEvent::Kind::Redis) {
                QVERIFY2(event.detail.find("AUTH failed") != std::string::npos, event.detail.c_str());
                QVERIFY(event.detail.find("wrong-password") == std::string::npos);
            }
        }
        QCOMPARE(fetch(gateway.port(), "/api/x")->status, 503);
        QVERIFY(metricIs(gateway, "proxy_redis_up 0"));
    }

    void aReloadMovesTheLimitsToAnotherRedis() {
        RedisServer first;
        RedisServer second;
        QVERIFY2(first.start(), first.error().c_str());
        QVERIFY2(second.start(), second.error().c_str());
        FakeBackend backend("b");
        const std::string routes =
            route("api", "rate_limit", "      - {key: global, rate: 1/h, backend: redis, on_error: deny}\n");
        TestGateway gateway(yamlWith(backend, routes, "{address: \"" + first.address() + "\"}"), workers(2));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        QTRY_VERIFY_WITH_TIMEOUT(metricIs(gateway, "proxy_redis_connections 2"), 10000);
        QCOMPARE(fetch(gateway.port(), "/api/x")->status, 200);
        QCOMPARE(fetch(gateway.port(), "/api/x")->status, 429);

        // The new server has no bucket yet: one more token there, none again after it.
        QCOMPARE(gateway.apply(yamlWith(backend, routes, "{address: \"" + second.address() + "\"}")),
                 std::string());
        QTRY_VERIFY_WITH_TIMEOUT(metricIs(gateway, "proxy_redis_connections 2"), 10000);
        QCOMPARE(fetch(gateway.port(), "/api/x")->status, 200);
        QCOMPARE(fetch(gateway.port(), "/api/x")->status, 429);
        QCOMPARE(second.command({"EXISTS", "gaetwae:rl:api#0:"}), std::string("1"));

        // An unchanged redis: section keeps the connections (no transition, no new "up").
        const auto ups = redisEvents(gateway, "up");
        QCOMPARE(gateway.apply(yamlWith(backend, routes, "{address: \"" + second.address() + "\"}") +
                               "timeouts: {client_header: 5s}\n"),
                 std::string());
        QVERIFY(metricIs(gateway, "proxy_redis_connections 2"));
        QCOMPARE(fetch(gateway.port(), "/api/x")->status, 429);
        QCOMPARE(redisEvents(gateway, "up"), ups);
    }

    void quotasPerDayAndMonthThroughRedis() {
        RedisServer redis;
        QVERIFY2(redis.start(), redis.error().c_str());
        FakeBackend backend("b");
        const std::string yaml = yamlWith(
            backend,
            route("daily", "quota",
                  "      - {key: \"header:X-API-Key\", limit: 3, period: day, backend: redis}\n") +
                route("monthly", "quota",
                      "      - {key: \"header:X-API-Key\", limit: 2, period: month, backend: redis}\n"),
            fmt::format("{{address: \"{}\", command_timeout: 1s}}", redis.address()));
        TestGateway a(yaml, workers(1));
        TestGateway b(yaml, workers(1));
        QVERIFY2(a.ok(), a.error().c_str());
        QVERIFY2(b.ok(), b.error().c_str());
        QTRY_VERIFY_WITH_TIMEOUT(metricIs(a, "proxy_redis_up 1") && metricIs(b, "proxy_redis_up 1"), 10000);

        using namespace std::chrono;
        const auto today = floor<days>(system_clock::now());
        const auto midnight = today + days{1};
        const year_month thisMonth = year_month_day{today}.year() / year_month_day{today}.month();
        const sys_days nextMonth{(thisMonth + months{1}) / day{1}};
        const std::vector<std::pair<std::string, std::string>> key1{{"X-API-Key", "k1"}};
        std::vector<std::string> failures;
        const auto responses = burst({a.port(), b.port()}, "/daily/x", 3, 2, failures, key1);
        QVERIFY2(failures.empty(), failures.empty() ? "" : failures.front().c_str());
        std::set<int> remaining;
        int refused = 0;
        for (const auto& response : responses) {
            QCOMPARE(headerInt(response, "X-Quota-Limit"), 3);
            const auto reset = headerInt(response, "X-Quota-Reset");
            QVERIFY2(std::abs(reset - secondsUntil(midnight)) <= 5, response.header("X-Quota-Reset").c_str());
            if (response.status == 200) {
                remaining.insert(headerInt(response, "X-Quota-Remaining"));
                continue;
            }
            ++refused;
            QCOMPARE(response.status, 429);
            QCOMPARE(response.json()["error"].get<std::string>(), std::string("quota_exceeded"));
            QCOMPARE(headerInt(response, "X-Quota-Remaining"), 0);
            QCOMPARE(headerInt(response, "Retry-After"), reset); // until the period ends
        }
        QCOMPARE(refused, 3);
        QCOMPARE(remaining, (std::set<int>{0, 1, 2}));
        // Another key has its own count.
        const auto other = TestClient(b.port()).request("GET", "/daily/x", {{"X-API-Key", "k2"}});
        QCOMPARE(other->status, 200);
        QCOMPARE(headerInt(*other, "X-Quota-Remaining"), 2);

        QCOMPARE(TestClient(a.port()).request("GET", "/monthly/x", key1)->status, 200);
        QCOMPARE(TestClient(b.port()).request("GET", "/monthly/x", key1)->status, 200);
        const auto monthly = TestClient(a.port()).request("GET", "/monthly/x", key1);
        QCOMPARE(monthly->status, 429);
        QVERIFY2(std::abs(headerInt(*monthly, "Retry-After") - secondsUntil(nextMonth)) <= 5,
                 monthly->header("Retry-After").c_str());
        QVERIFY(backend.requestsReceived() == 3 + 1 + 2);
    }

    void aRouteWithBothReportsBothAndRefusedRequestsDoNotCountAgainstTheQuota() {
        RedisServer redis;
        QVERIFY2(redis.start(), redis.error().c_str());
        QTemporaryDir dir;
        FakeBackend backend("b");
        const std::string yaml =
            yamlWith(backend,
                     "  - name: api\n    match: {path_prefix: /api}\n    pool: p\n    rate_limit:\n"
                     "      - {key: client_ip, rate: 1/h, burst: 1, backend: redis}\n"
                     "      - {key: client_ip, rate: 1/h, burst: 99, dry_run: true, backend: redis}\n"
                     "    quota:\n      - {key: client_ip, limit: 10, period: day}\n",
                     fmt::format("{{address: \"{}\", command_timeout: 1s}}", redis.address()),
                     "quota_state_file: \"" + dir.filePath(QStringLiteral("q.json")).toStdString() + "\"\n");
        TestGateway gateway(yaml);
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        QTRY_VERIFY_WITH_TIMEOUT(metricIs(gateway, "proxy_redis_up 1"), 10000);
        for (int i = 0; i < 2; ++i) {
            const auto response = fetch(gateway.port(), "/api/x");
            QCOMPARE(response->status, 200);
            QCOMPARE(headerInt(*response, "X-RateLimit-Limit"), 2); // the strictest: the enforcing one
            QCOMPARE(headerInt(*response, "X-RateLimit-Remaining"), 1 - i);
            QCOMPARE(headerInt(*response, "X-Quota-Limit"), 10);
            QCOMPARE(headerInt(*response, "X-Quota-Remaining"), 9 - i);
        }
        for (int i = 0; i < 3; ++i) {
            const auto refused = fetch(gateway.port(), "/api/x");
            QCOMPARE(refused->status, 429);
            QCOMPARE(refused->json()["error"].get<std::string>(), std::string("rate_limited"));
            QCOMPARE(refused->header("X-Quota-Remaining"), std::string()); // not counted, not reported
        }
        // The dry-run limit has its own bucket in Redis; it counted but refused nothing.
        QVERIFY(std::stoi(redis.command({"PTTL", "gaetwae:rl:api#1:127.0.0.1"})) > 0);
        QVERIFY(metricIs(gateway, "proxy_rate_limited_total{route=\"api\",limit=\"api#0\",key=\"client_ip\","
                                  "dry_run=\"false\"} 3"));
    }

    void localQuotaCountsSurviveARestart() {
        QTemporaryDir dir;
        const std::string state = dir.filePath(QStringLiteral("quotas.json")).toStdString();
        FakeBackend backend("b");
        const std::string yaml = yamlWith(
            backend, route("api", "quota", "      - {name: plan, key: client_ip, limit: 3, period: day}\n"),
            "", "quota_state_file: \"" + state + "\"\n");
        {
            TestGateway gateway(yaml, workers(2));
            QVERIFY2(gateway.ok(), gateway.error().c_str());
            QCOMPARE(headerInt(*fetch(gateway.port(), "/api/x"), "X-Quota-Remaining"), 2);
            QCOMPARE(headerInt(*fetch(gateway.port(), "/api/x"), "X-Quota-Remaining"), 1);
            // Saved while running (every few seconds), not only at shutdown.
            QTRY_VERIFY_WITH_TIMEOUT(QFile(QString::fromStdString(state)).exists(), 15000);
            policy::LocalQuotaStore saved;
            std::string error;
            QVERIFY2(saved.load(state, error), error.c_str());
            QCOMPARE(saved.size(), std::size_t(1));
        }
        TestGateway restarted(yaml, workers(1));
        QVERIFY2(restarted.ok(), restarted.error().c_str());
        QCOMPARE(headerInt(*fetch(restarted.port(), "/api/x"), "X-Quota-Remaining"), 0);
        const auto refused = fetch(restarted.port(), "/api/x");
        QCOMPARE(refused->status, 429);
        QCOMPARE(refused->json()["error"].get<std::string>(), std::string("quota_exceeded"));
        QCOMPARE(backend.requestsReceived(), std::uint64_t(3));
    }

    // ---------------------------------------------------------------- config
    void badDistributedConfigIsRejectedWithFileLineAndField() {
        FakeBackend backend("b");
        const auto noRedis = config::loadConfigText(
            yamlWith(backend,
                     route("api", "rate_limit", "      - {key: global, rate: 1/s, backend: redis}\n"), ""),
            "gw.yaml");
        QVERIFY(!noRedis.ok());
        QVERIFY2(noRedis.errorText().find("routes[0].rate_limit[0].backend") != std::string::npos &&
                     noRedis.errorText().find("needs a top-level redis: section") != std::string::npos,
                 noRedis.errorText().c_str());

        const auto bad = config::loadConfigText(
            yamlWith(backend,
                     route("api", "rate_limit",
                           "      - {key: global, rate: 1/s, backend: memcached, on_error: maybe}\n") +
                         route("q", "quota",
                               "      - {key: global, limit: 0, period: week}\n"
                               "      - {key: global, limit: 5}\n"
                               "      - {key: \"header:\", limit: 5, period: day, colour: red}\n"),
                     "{address: \"no-port\", db: -1, flavour: x}"),
            "gw.yaml");
        QVERIFY(!bad.ok());
        const std::string text = bad.errorText();
        auto has = [&](const std::string& fragment) { return text.find(fragment) != std::string::npos; };
        QVERIFY2(has("gw.yaml:") && has("routes[0].rate_limit[0].backend") && has("'memcached'"),
                 text.c_str());
        QVERIFY2(has("routes[0].rate_limit[0].on_error") && has("'maybe'"), text.c_str());
        QVERIFY2(has("routes[1].quota[0].limit"), text.c_str());
        QVERIFY2(has("routes[1].quota[0].period") && has("'week'"), text.c_str());
        QVERIFY2(has("routes[1].quota[1].period") && has("missing required field"), text.c_str());
        QVERIFY2(has("routes[1].quota[2].key") && has("names no header"), text.c_str());
        QVERIFY2(has("routes[1].quota[2].colour"), text.c_str());
        QVERIFY2(has("redis.db"), text.c_str());
        QVERIFY2(has("redis.flavour"), text.c_str());

        const auto address = config::loadConfigText(
            yamlWith(backend,
                     route("api", "quota", "      - {key: global, limit: 5, period: day, backend: redis}\n"),
                     "{address: \"no-port\"}"),
            "gw.yaml");
        QVERIFY(!address.ok());
        QVERIFY2(address.errorText().find("redis.address") != std::string::npos, address.errorText().c_str());

        // A password file that cannot be read stops the config from applying, naming the field.
        TestGateway gateway(yamlWith(backend,
                                     route("api", "quota", "      - {key: global, limit: 5, period: day}\n"),
                                     "{address: \"127.0.0.1:1\", password_file: /nonexistent/redis.pass}"));
        QVERIFY(!gateway.ok());
        QVERIFY2(gateway.error().find("password_file") != std::string::npos, gateway.error().c_str());
        QVERIFY2(gateway.error().find("nonexistent") != std::string::npos, gateway.error().c_str());
    }
};

QTEST_GUILESS_MAIN(TestDistributedRateLimit)
#include "tst_distributed_rate_limit.moc"
