// The shared config model: units, addresses, JSON codec round trips and validation messages.
#include "shared/model/address.hpp"
#include "shared/model/config_codec.hpp"
#include "shared/model/config_validation.hpp"
#include "shared/model/units.hpp"

#include <QtTest>

using namespace gaetwae::model;
using namespace std::chrono_literals;

namespace {

// A small valid config as JSON, to be broken in specific ways by each test.
nlohmann::json validDocument() {
    return nlohmann::json::parse(R"({
        "listeners": [{"address": "127.0.0.1:8080"}],
        "routes": [{"name": "api", "match": {"path_prefix": "/api"}, "pool": "backend"}],
        "pools": [{"name": "backend", "instances": [
            {"id": "a", "address": "127.0.0.1:9001"},
            {"id": "b", "address": "127.0.0.1:9002", "weight": 3}]}]
    })");
}

bool hasDiagnostic(const Diagnostics& d, const std::string& pointer, const std::string& fragment) {
    for (const auto& item : d.items()) {
        if (item.pointer == pointer && item.message.find(fragment) != std::string::npos) {
            return true;
        }
    }
    return false;
}

QString dump(const Diagnostics& d) {
    QString out;
    for (const auto& item : d.items()) {
        out += QString::fromStdString(item.pointer + ": " + item.message + "\n");
    }
    return out;
}

} // namespace

class TestConfigModel : public QObject {
    Q_OBJECT

private slots:
    void parsesDurations_data() {
        QTest::addColumn<QString>("text");
        QTest::addColumn<qint64>("milliseconds");
        QTest::newRow("ms") << "250ms" << qint64(250);
        QTest::newRow("seconds") << "5s" << qint64(5000);
        QTest::newRow("fraction") << "1.5s" << qint64(1500);
        QTest::newRow("minutes") << "2m" << qint64(120000);
        QTest::newRow("hours") << "1h" << qint64(3600000);
        QTest::newRow("bare number") << "5" << qint64(-1);
        QTest::newRow("unknown unit") << "5d" << qint64(-1);
        QTest::newRow("sub-millisecond") << "0.5ms" << qint64(-1);
        QTest::newRow("empty") << "" << qint64(-1);
    }
    void parsesDurations() {
        QFETCH(QString, text);
        QFETCH(qint64, milliseconds);
        const auto parsed = parseDuration(text.toStdString());
        if (milliseconds < 0) {
            QVERIFY(!parsed);
        } else {
            QVERIFY(parsed);
            QCOMPARE(parsed->count(), milliseconds);
            QCOMPARE(parseDuration(formatDuration(*parsed)), parsed); // round trip
        }
    }

    void parsesSizes_data() {
        QTest::addColumn<QString>("text");
        QTest::addColumn<qint64>("bytes");
        QTest::newRow("plain") << "4096" << qint64(4096);
        QTest::newRow("KiB") << "16KiB" << qint64(16384);
        QTest::newRow("MiB") << "10MiB" << qint64(10485760);
        QTest::newRow("nginx k") << "64k" << qint64(65536);
        QTest::newRow("decimal KB") << "10KB" << qint64(10000);
        QTest::newRow("garbage") << "lots" << qint64(-1);
    }
    void parsesSizes() {
        QFETCH(QString, text);
        QFETCH(qint64, bytes);
        const auto parsed = parseSize(text.toStdString());
        if (bytes < 0) {
            QVERIFY(!parsed);
        } else {
            QVERIFY(parsed);
            QCOMPARE(static_cast<qint64>(*parsed), bytes);
            QCOMPARE(parseSize(formatSize(*parsed)), parsed);
        }
    }

    void parsesAddresses_data() {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("host");
        QTest::addColumn<int>("port");
        QTest::newRow("ipv4") << "127.0.0.1:8080" << "127.0.0.1" << 8080;
        QTest::newRow("ipv6") << "[::1]:9000" << "::1" << 9000;
        QTest::newRow("name") << "backend.local:80" << "backend.local" << 80;
        QTest::newRow("no port") << "127.0.0.1" << "" << -1;
        QTest::newRow("bad port") << "127.0.0.1:http" << "" << -1;
        QTest::newRow("port too big") << "127.0.0.1:70000" << "" << -1;
        QTest::newRow("bare ipv6") << "::1:80" << "" << -1;
        QTest::newRow("scheme") << "http://a:80" << "" << -1;
    }
    void parsesAddresses() {
        QFETCH(QString, text);
        QFETCH(QString, host);
        QFETCH(int, port);
        std::string error;
        const auto parsed = parseHostPort(text.toStdString(), &error);
        if (port < 0) {
            QVERIFY(!parsed);
            QVERIFY(!error.empty());
        } else {
            QVERIFY2(parsed, error.c_str());
            QCOMPARE(QString::fromStdString(parsed->host), host);
            QCOMPARE(int(parsed->port), port);
            QCOMPARE(QString::fromStdString(formatHostPort(*parsed)), text);
        }
    }

    void decodesWithDefaults() {
        Diagnostics d;
        const auto config = decodeGatewayConfig(validDocument(), d);
        QVERIFY2(d.empty(), qPrintable(dump(d)));
        QCOMPARE(config.pools.size(), size_t(1));
        QCOMPARE(config.pools[0].instances[0].weight, 1u);
        QCOMPARE(config.pools[0].instances[1].weight, 3u);
        QCOMPARE(config.timeouts.clientHeader, 10s);
        QCOMPARE(config.limits.maxBodyBytes, std::uint64_t{10 * 1024 * 1024});
        QCOMPARE(config.limits.maxConnectionsPerIp, 256u);
        QCOMPARE(config.limits.minBodyRate, std::uint64_t{1024});
        QCOMPARE(config.limits.minBodyRateWindow, 10s);
        QCOMPARE(config.listeners[0].name, std::string("127.0.0.1:8080")); // defaults to the address
    }

    void encodeDecodeRoundTrip() {
        Diagnostics d;
        auto config = decodeGatewayConfig(validDocument(), d);
        config.timeouts.upstreamResponse = 1500ms;
        config.limits.maxHeaderBytes = 20 * 1024;
        config.limits.maxConnectionsPerIp = 0;
        config.limits.minBodyRate = 512;
        config.limits.minBodyRateWindow = 2500ms;
        config.routes[0].stripPrefix = true;
        config.accessLog.format = AccessLogFormat::Json;
        Diagnostics again;
        const auto decoded = decodeGatewayConfig(encodeGatewayConfig(config), again);
        QVERIFY2(again.empty(), qPrintable(dump(again)));
        QVERIFY(decoded == config);
    }

    void rateLimitsRoundTripAndAreValidated() {
        auto document = validDocument();
        document["routes"][0]["rate_limit"] = nlohmann::json::parse(
            R"([{"key": "header:X-API-Key", "rate": "100/s", "burst": 50},
                {"name": "shared", "key": "global", "rate": "10/h", "dry_run": true}])");
        Diagnostics d;
        const auto config = decodeGatewayConfig(document, d);
        QVERIFY2(d.empty(), qPrintable(dump(d)));
        const auto& limits = config.routes[0].rateLimits;
        QCOMPARE(limits.size(), std::size_t(2));
        QVERIFY(limits[0].key == RateLimitKeyKind::Header);
        QCOMPARE(limits[0].keyName, std::string("X-API-Key"));
        QCOMPARE(limits[0].count, 100u);
        QCOMPARE(limits[0].period, Duration(1s));
        QCOMPARE(limits[0].burst, 50u);
        QCOMPARE(limits[1].period, Duration(1h));
        QVERIFY(limits[1].dryRun);
        Diagnostics again;
        QVERIFY(decodeGatewayConfig(encodeGatewayConfig(config), again) == config);
        QVERIFY2(again.empty(), qPrintable(dump(again)));

        document["routes"][0]["rate_limit"] = nlohmann::json::parse(
            R"([{"key": "header:bad name", "rate": "5/s"}, {"key": "client_ip", "rate": "5/s", "burst": 1000001},
                {"key": "client_ip", "rate": "5/s", "burst": 1, "per": "x"}])");
        Diagnostics bad;
        decodeGatewayConfig(document, bad);
        QVERIFY2(hasDiagnostic(bad, "/routes/0/rate_limit/1/burst", "between 0 and 1000000"), qPrintable(dump(bad)));
        QVERIFY2(hasDiagnostic(bad, "/routes/0/rate_limit/2/per", "unknown"), qPrintable(dump(bad)));
        // Cross-field rules run once the fields decode.
        document["routes"][0]["rate_limit"] = nlohmann::json::parse(R"([{"key": "header:bad name", "rate": "5/s"}])");
        Diagnostics invalid;
        decodeGatewayConfig(document, invalid);
        QVERIFY2(hasDiagnostic(invalid, "/routes/0/rate_limit/0/key", "not a valid header name"), qPrintable(dump(invalid)));
    }

    void tlsSettingsRoundTripAndAreValidated() {
        auto document = validDocument();
        document["listeners"][0]["tls"] = {
            {"certificates", nlohmann::json::array({nlohmann::json{{"cert", "/tls/a.crt"}, {"key", "/tls/a.key"}},
                                                    nlohmann::json{{"cert", "/tls/b.crt"}, {"key", "/tls/b.key"}}})},
            {"min_version", "1.3"},
            {"reject_unknown_sni", true},
            {"client_auth", "optional"},
            {"client_ca", "/tls/ca.crt"}};
        document["pools"][0]["tls"] = {{"ca_file", "/tls/ca.crt"}, {"server_name", "api.internal"}};
        Diagnostics d;
        const auto config = decodeGatewayConfig(document, d);
        QVERIFY2(d.empty(), qPrintable(dump(d)));
        const auto& tls = config.listeners[0].tls;
        QCOMPARE(tls.certificates.size(), std::size_t(2));
        QCOMPARE(tls.certificates[1].key, std::string("/tls/b.key"));
        QVERIFY(tls.minVersion == TlsVersion::Tls13);
        QVERIFY(tls.clientAuth == ClientAuth::Optional);
        QCOMPARE(tls.clientSubjectHeader, std::string("X-Client-Cert-Subject"));
        QVERIFY(config.pools[0].tls.enabled); // a tls block turns TLS on
        QVERIFY(config.pools[0].tls.verify);
        Diagnostics again;
        QVERIFY(decodeGatewayConfig(encodeGatewayConfig(config), again) == config);
        QVERIFY2(again.empty(), qPrintable(dump(again)));

        document["listeners"][0]["tls"] = {{"certificates", nlohmann::json::array()},
                                           {"min_version", "1.1"},
                                           {"alpn", nlohmann::json::array({"h2"})},
            {"client_auth", "required"}};
        document["pools"][0]["tls"] = {{"cert", "/tls/client.crt"}, {"verfy", false}};
        Diagnostics bad;
        decodeGatewayConfig(document, bad);
        QVERIFY2(hasDiagnostic(bad, "/listeners/0/tls/certificates", "at least one certificate"), qPrintable(dump(bad)));
        QVERIFY2(hasDiagnostic(bad, "/listeners/0/tls/min_version", "1.2, 1.3"), qPrintable(dump(bad)));
        QVERIFY2(hasDiagnostic(bad, "/pools/0/tls/verfy", "unknown"), qPrintable(dump(bad)));

        document["listeners"][0]["tls"] = {
            {"certificates", nlohmann::json::array({nlohmann::json{{"cert", "/a.crt"}, {"key", "/a.key"}}})},
            {"alpn", nlohmann::json::array({"h2"})},
            {"client_auth", "required"}};
        document["pools"][0]["tls"] = {{"cert", "/tls/client.crt"}};
        Diagnostics invalid;
        decodeGatewayConfig(document, invalid);
        QVERIFY2(hasDiagnostic(invalid, "/listeners/0/tls/alpn/0", "http/1.1"), qPrintable(dump(invalid)));
        QVERIFY2(hasDiagnostic(invalid, "/listeners/0/tls/client_ca", "needs client_ca"), qPrintable(dump(invalid)));
        QVERIFY2(hasDiagnostic(invalid, "/pools/0/tls/key", "both cert and key"), qPrintable(dump(invalid)));
    }

    void upgradesRoundTripAndAreValidated() {
        auto document = validDocument();
        Diagnostics d;
        auto config = decodeGatewayConfig(document, d);
        QVERIFY2(d.empty(), qPrintable(dump(d)));
        QCOMPARE(config.routes[0].upgrade, std::vector<std::string>{"websocket"}); // the default
        QCOMPARE(config.timeouts.tunnelIdle, Duration(1h));
        QVERIFY(!encodeRoute(config.routes[0]).contains("upgrade")); // defaults stay implicit

        document["routes"][0]["upgrade"] = nlohmann::json::array();
        document["routes"][0]["tunnel_idle"] = "2m";
        document["timeouts"]["tunnel_idle"] = "90s";
        Diagnostics none;
        config = decodeGatewayConfig(document, none);
        QVERIFY2(none.empty(), qPrintable(dump(none)));
        QVERIFY(config.routes[0].upgrade.empty());
        QCOMPARE(config.timeouts.tunnelIdle, Duration(90s));
        QCOMPARE(config.routes[0].tunnelIdle, Duration(2min));
        Diagnostics again;
        QVERIFY(decodeGatewayConfig(encodeGatewayConfig(config), again) == config);
        QVERIFY2(again.empty(), qPrintable(dump(again)));

        document["routes"][0]["upgrade"] = nlohmann::json::parse(R"(["websocket", "H2C", "bad name"])");
        document["timeouts"]["tunnel_idle"] = "0s";
        Diagnostics badIdle;
        decodeGatewayConfig(document, badIdle);
        QVERIFY2(hasDiagnostic(badIdle, "/timeouts/tunnel_idle", ""), qPrintable(dump(badIdle)));
        document["timeouts"]["tunnel_idle"] = "5m";
        Diagnostics bad;
        decodeGatewayConfig(document, bad);
        QVERIFY2(hasDiagnostic(bad, "/routes/0/upgrade/1", "h2c is never tunnelled"), qPrintable(dump(bad)));
        QVERIFY2(hasDiagnostic(bad, "/routes/0/upgrade/2", "not an upgrade protocol name"), qPrintable(dump(bad)));
        QCOMPARE(bad.items().size(), std::size_t(2));
    }

    void distributedLimitsAndQuotasRoundTripAndAreValidated() {
        auto document = validDocument();
        document["routes"][0]["rate_limit"] = nlohmann::json::parse(
            R"([{"key": "global", "rate": "100/s", "backend": "redis", "on_error": "deny"}])");
        document["routes"][0]["quota"] = nlohmann::json::parse(
            R"([{"name": "plan", "key": "header:X-API-Key", "limit": 5000, "period": "month", "backend": "redis",
                 "on_error": "allow"},
                {"key": "client_ip", "limit": 10, "period": "day"}])");
        document["redis"] = nlohmann::json::parse(
            R"({"address": "redis.internal:6380", "password_file": "/etc/redis.pass", "db": 2,
                "command_timeout": "20ms", "key_prefix": "gw:"})");
        document["quota_state_file"] = "/var/lib/gaetwae/quotas.json";
        Diagnostics d;
        const auto config = decodeGatewayConfig(document, d);
        QVERIFY2(d.empty(), qPrintable(dump(d)));
        QVERIFY(config.routes[0].rateLimits[0].backend == LimitBackend::Redis);
        QVERIFY(config.routes[0].rateLimits[0].onError == LimitOnError::Deny);
        const auto& quotas = config.routes[0].quotas;
        QCOMPARE(quotas.size(), std::size_t(2));
        QCOMPARE(quotas[0].limit, std::uint64_t(5000));
        QVERIFY(quotas[0].period == QuotaPeriod::Month);
        QVERIFY(quotas[0].onError == LimitOnError::Allow);
        QVERIFY(quotas[1].backend == LimitBackend::Local);
        QVERIFY(quotas[1].onError == LimitOnError::Local);
        QVERIFY(config.redis.has_value());
        QCOMPARE(config.redis->db, 2u);
        QCOMPARE(config.redis->commandTimeout, Duration(20ms));
        QCOMPARE(config.redis->connectTimeout, Duration(1s));
        QCOMPARE(config.quotaStateFile, std::string("/var/lib/gaetwae/quotas.json"));
        Diagnostics again;
        QVERIFY(decodeGatewayConfig(encodeGatewayConfig(config), again) == config);
        QVERIFY2(again.empty(), qPrintable(dump(again)));
        // Defaults stay out of a route's JSON, so routes without shared limits encode as before.
        QVERIFY(!encodeRoute(decodeGatewayConfig(validDocument(), again).routes[0]).contains("quota"));

        document.erase("redis");
        Diagnostics missing;
        decodeGatewayConfig(document, missing);
        QVERIFY2(hasDiagnostic(missing, "/routes/0/rate_limit/0/backend", "needs a top-level redis: section"),
                 qPrintable(dump(missing)));
        QVERIFY2(hasDiagnostic(missing, "/routes/0/quota/0/backend", "needs a top-level redis: section"),
                 qPrintable(dump(missing)));
        QVERIFY2(!hasDiagnostic(missing, "/routes/0/quota/1/backend", ""), qPrintable(dump(missing)));
    }

    void unknownFieldsAreRejectedWithAHint() {
        auto doc = validDocument();
        doc["pools"][0]["instances"][0]["weigth"] = 2;
        Diagnostics d;
        decodeGatewayConfig(doc, d);
        QVERIFY2(hasDiagnostic(d, "/pools/0/instances/0/weigth", "did you mean 'weight'"), qPrintable(dump(d)));
        QVERIFY(d.items()[0].atKey);
    }

    void unknownFieldsArePreservedOnRequest() {
        auto doc = validDocument();
        doc["pools"][0]["future_option"] = {{"x", 1}};
        doc["pools"][0]["instances"][0]["zone"] = "eu-1";
        Diagnostics d;
        const auto config = decodeGatewayConfig(doc, d, UnknownKeys::Preserve);
        QVERIFY2(d.empty(), qPrintable(dump(d)));
        const auto encoded = encodePool(config.pools[0]);
        QCOMPARE(encoded["future_option"]["x"].get<int>(), 1);
        QCOMPARE(encoded["instances"][0]["zone"].get<std::string>(), std::string("eu-1"));
    }

    void reportsEveryProblemAtOnce() {
        auto doc = validDocument();
        doc["pools"][0]["instances"][0]["address"] = "nowhere";
        doc["pools"][0]["instances"][1]["weight"] = "heavy";
        doc["timeouts"] = {{"client_header", 5}};
        doc["limits"] = {{"max_body_bytes", "huge"}};
        Diagnostics d;
        decodeGatewayConfig(doc, d);
        QVERIFY2(d.size() >= 3, qPrintable(dump(d)));
        QVERIFY(hasDiagnostic(d, "/pools/0/instances/1/weight", "expected an integer"));
        QVERIFY(hasDiagnostic(d, "/timeouts/client_header", "add a unit"));
        QVERIFY(hasDiagnostic(d, "/limits/max_body_bytes", "expected a size"));
    }

    void validatesCrossFieldRules_data() {
        QTest::addColumn<QString>("patch"); // JSON merge patch applied to the valid document
        QTest::addColumn<QString>("pointer");
        QTest::addColumn<QString>("fragment");
        QTest::newRow("duplicate instance id")
            << R"({"pools":[{"name":"backend","instances":[{"id":"a","address":"127.0.0.1:1"},{"id":"a","address":"127.0.0.1:2"}]}]})"
            << "/pools/0/instances/1/id" << "duplicate instance id 'a'";
        QTest::newRow("bad address")
            << R"({"pools":[{"name":"backend","instances":[{"id":"a","address":"localhost"}]}]})"
            << "/pools/0/instances/0/address" << "has no port";
        QTest::newRow("unknown pool")
            << R"({"routes":[{"name":"r","pool":"nope"}]})" << "/routes/0/pool" << "unknown pool 'nope'";
        QTest::newRow("relative prefix")
            << R"({"routes":[{"name":"r","pool":"backend","match":{"path_prefix":"api"}}]})"
            << "/routes/0/match/path_prefix" << "must start with '/'";
        QTest::newRow("lower-case method")
            << R"({"routes":[{"name":"r","pool":"backend","match":{"methods":["get"]}}]})"
            << "/routes/0/match/methods/0" << "upper case";
        QTest::newRow("no listeners") << R"({"listeners":[]})" << "" << "at least one listener";
        QTest::newRow("duplicate pool")
            << R"({"pools":[{"name":"backend"},{"name":"backend"}]})" << "/pools/1/name" << "duplicate pool name";
        QTest::newRow("strip and rewrite")
            << R"({"routes":[{"name":"r","pool":"backend","strip_prefix":true,"rewrite_prefix":"/v2"}]})"
            << "/routes/0/rewrite_prefix" << "not both";
        QTest::newRow("bad name")
            << R"({"routes":[{"name":"my route","pool":"backend"}]})" << "/routes/0/name" << "must be 1-64";
    }
    void validatesCrossFieldRules() {
        QFETCH(QString, patch);
        QFETCH(QString, pointer);
        QFETCH(QString, fragment);
        auto doc = validDocument();
        doc.merge_patch(nlohmann::json::parse(patch.toStdString()));
        Diagnostics d;
        decodeGatewayConfig(doc, d);
        QVERIFY2(hasDiagnostic(d, pointer.toStdString(), fragment.toStdString()), qPrintable(dump(d)));
    }

    void displaysPaths() {
        QCOMPARE(QString::fromStdString(displayPath("/pools/0/instances/12/address")),
                 QStringLiteral("pools[0].instances[12].address"));
        QCOMPARE(QString::fromStdString(displayPath("")), QStringLiteral("(document)"));
        QCOMPARE(QString::fromStdString(displayPath(childPointer("/a", "b/c~d"))), QStringLiteral("a.b/c~d"));
    }
};

QTEST_APPLESS_MAIN(TestConfigModel)
#include "tst_config_model.moc"
