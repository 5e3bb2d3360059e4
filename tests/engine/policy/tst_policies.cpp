// Retry decisions, backoff, Retry-After, budgets and sticky cookies.
#include "engine/policy/retry_policy.hpp"
#include "engine/policy/sticky_session.hpp"

#include <QtTest>

using namespace gaetwae::engine;
using namespace gaetwae::engine::policy;
using health::Outcome;
using namespace std::chrono_literals;

class TestPolicies : public QObject {
    Q_OBJECT

private slots:
    void whatIsRetryable_data() {
        QTest::addColumn<int>("outcome");
        QTest::addColumn<int>("status");
        QTest::addColumn<bool>("sent");
        QTest::addColumn<bool>("idempotent");
        QTest::addColumn<bool>("replayable");
        QTest::addColumn<bool>("expected");
        QTest::newRow("connect failure, POST") << int(Outcome::ConnectFailure) << 0 << false << false << false << true;
        QTest::newRow("reset, GET") << int(Outcome::Reset) << 0 << true << true << true << true;
        QTest::newRow("reset, POST") << int(Outcome::Reset) << 0 << true << false << true << false;
        QTest::newRow("timeout, GET") << int(Outcome::Timeout) << 0 << true << true << true << true;
        QTest::newRow("503, GET") << int(Outcome::GatewayError) << 503 << true << true << true << true;
        QTest::newRow("503, POST") << int(Outcome::GatewayError) << 503 << true << false << true << false;
        QTest::newRow("500 not listed") << int(Outcome::ServerError) << 500 << true << true << true << false;
        QTest::newRow("streamed body gone") << int(Outcome::Reset) << 0 << true << true << false << false;
        QTest::newRow("200") << int(Outcome::Success) << 200 << true << true << true << false;
    }
    void whatIsRetryable() {
        QFETCH(int, outcome);
        QFETCH(int, status);
        QFETCH(bool, sent);
        QFETCH(bool, idempotent);
        QFETCH(bool, replayable);
        QFETCH(bool, expected);
        const gaetwae::model::RetryConfig config; // defaults: connect failure, reset, timeout, 502/503/504
        AttemptFacts facts{static_cast<Outcome>(outcome), status, sent, idempotent, replayable};
        QCOMPARE(retryable(config, facts), expected);
    }

    void policyOptions() {
        gaetwae::model::RetryConfig config;
        config.nonIdempotent = true;
        QVERIFY(retryable(config, {Outcome::GatewayError, 503, true, false, true}));
        config.statuses = {500};
        QVERIFY(retryable(config, {Outcome::ServerError, 500, true, true, true}));
        QVERIFY(!retryable(config, {Outcome::GatewayError, 503, true, true, true}));
        config.onConnectFailure = false;
        QVERIFY(!retryable(config, {Outcome::ConnectFailure, 0, false, true, true}));
        config.attempts = 0;
        QVERIFY(!retryable(config, {Outcome::ServerError, 500, true, true, true}));
    }

    void fullJitterBackoff() {
        gaetwae::model::RetryConfig config;
        config.backoffBase = 25ms;
        config.backoffMax = 250ms;
        QCOMPARE(backoff(config, 0, 0.0), 0ms);
        QCOMPARE(backoff(config, 0, 0.999), 24ms);
        QCOMPARE(backoff(config, 2, 0.5), 50ms);  // ceiling 100 ms
        QCOMPARE(backoff(config, 10, 0.5), 125ms); // capped at 250 ms
    }

    void retryAfter() {
        const auto now = std::chrono::system_clock::from_time_t(784111777); // Sun, 06 Nov 1994 08:49:37 GMT
        QCOMPARE(parseRetryAfter("120", now), std::optional<std::chrono::milliseconds>(120s));
        QCOMPARE(parseRetryAfter(" 0 ", now), std::optional<std::chrono::milliseconds>(0s));
        QCOMPARE(parseRetryAfter("Sun, 06 Nov 1994 08:49:40 GMT", now), std::optional<std::chrono::milliseconds>(3s));
        QCOMPARE(parseRetryAfter("Sun, 06 Nov 1994 08:49:00 GMT", now), std::optional<std::chrono::milliseconds>(0s));
        QCOMPARE(parseRetryAfter("soon", now), std::optional<std::chrono::milliseconds>());
    }

    void retryBudget() {
        gaetwae::model::RetryConfig config;
        config.budgetRatio = 0.2;
        config.budgetMinConcurrency = 3;
        QVERIFY(budgetAllows(config, 0, 1, 2));   // under the floor of 3
        QVERIFY(!budgetAllows(config, 0, 1, 3));
        QVERIFY(budgetAllows(config, 0, 100, 19)); // 20% of 100 active
        QVERIFY(!budgetAllows(config, 0, 100, 20));
        QVERIFY(!budgetAllows(config, 5, 100, 5)); // max_concurrent_retries
    }

    void stickyCookies() {
        const auto a = stickyCookieValue("api", "b1");
        QCOMPARE(a, stickyCookieValue("api", "b1")); // stable: survives restarts
        QVERIFY(a != stickyCookieValue("api", "b2"));
        QVERIFY(a != stickyCookieValue("web", "b1"));
        QVERIFY(a.find("b1") == std::string::npos); // opaque
        QCOMPARE(a.size(), size_t(16));

        gaetwae::model::StickyConfig config;
        config.cookieName = "route";
        QCOMPARE(stickySetCookieLine(config, "v"), std::string("Set-Cookie: route=v; Path=/; HttpOnly; SameSite=Lax\r\n"));
        config.cookieTtl = 1h;
        config.secure = true;
        config.httpOnly = false;
        config.sameSite = "None";
        QCOMPARE(stickySetCookieLine(config, "v"),
                 std::string("Set-Cookie: route=v; Path=/; Max-Age=3600; Secure; SameSite=None\r\n"));
    }
};

QTEST_APPLESS_MAIN(TestPolicies)
#include "tst_policies.moc"
