// Route matching order, host normalization and target rewrites.
#include "engine/routing/route_table.hpp"

#include <QtTest>

using namespace gaetwae::engine::routing;
using gaetwae::model::RouteConfig;

namespace {

RouteConfig route(std::string name, std::string prefix, std::vector<std::string> hosts = {},
                  std::vector<std::string> methods = {}) {
    RouteConfig r;
    r.name = std::move(name);
    r.match.pathPrefix = std::move(prefix);
    r.match.hosts = std::move(hosts);
    r.match.methods = std::move(methods);
    r.pool = "p";
    return r;
}

} // namespace

class TestRouteTable : public QObject {
    Q_OBJECT

private slots:
    void firstMatchWins_data() {
        QTest::addColumn<QString>("host");
        QTest::addColumn<QString>("path");
        QTest::addColumn<QString>("method");
        QTest::addColumn<QString>("expected");
        QTest::newRow("host + prefix + method") << "api.example.com" << "/api/users" << "POST" << "api-write";
        QTest::newRow("method falls through") << "api.example.com" << "/api/users" << "GET" << "api";
        QTest::newRow("other host") << "www.example.com" << "/api/users" << "GET" << "catch-all";
        QTest::newRow("plain string prefix") << "api.example.com" << "/apiv2" << "GET" << "api";
        QTest::newRow("catch-all") << "x" << "/" << "DELETE" << "catch-all";
    }
    void firstMatchWins() {
        QFETCH(QString, host);
        QFETCH(QString, path);
        QFETCH(QString, method);
        QFETCH(QString, expected);
        const std::vector<RouteConfig> routes{route("api-write", "/api", {"api.example.com"}, {"POST", "PUT"}),
                                              route("api", "/api", {"API.Example.com"}),
                                              route("catch-all", "/")};
        const RouteTable table(routes, [](const std::string&) { return std::size_t{0}; });
        const Route* r = table.match(host.toStdString(), path.toStdString(), method.toStdString());
        QVERIFY(r != nullptr);
        QCOMPARE(QString::fromStdString(r->name), expected);
    }

    void noMatch() {
        const std::vector<RouteConfig> routes{route("api", "/api")};
        const RouteTable table(routes, [](const std::string&) { return std::size_t{0}; });
        QVERIFY(table.match("x", "/other", "GET") == nullptr);
    }

    void normalizesHosts_data() {
        QTest::addColumn<QString>("raw");
        QTest::addColumn<QString>("expected");
        QTest::newRow("case") << "API.Example.COM" << "api.example.com";
        QTest::newRow("port") << "example.com:8080" << "example.com";
        QTest::newRow("trailing dot") << "example.com." << "example.com";
        QTest::newRow("ipv6") << "[::1]:8080" << "::1";
        QTest::newRow("empty") << "" << "";
    }
    void normalizesHosts() {
        QFETCH(QString, raw);
        QFETCH(QString, expected);
        std::string out;
        normalizeHost(raw.toStdString(), out);
        QCOMPARE(QString::fromStdString(out), expected);
    }

    void rewritesTargets_data() {
        QTest::addColumn<QString>("prefix");
        QTest::addColumn<bool>("strip");
        QTest::addColumn<QString>("rewrite");
        QTest::addColumn<QString>("path");
        QTest::addColumn<QString>("query");
        QTest::addColumn<QString>("expected");
        QTest::newRow("untouched") << "/api" << false << "" << "/api/users" << "a=1" << "/api/users?a=1";
        QTest::newRow("strip") << "/api" << true << "" << "/api/users" << "" << "/users";
        QTest::newRow("strip trailing slash prefix") << "/api/" << true << "" << "/api/users" << "" << "/users";
        QTest::newRow("strip to root") << "/api" << true << "" << "/api" << "q" << "/?q";
        QTest::newRow("rewrite") << "/v1/" << false << "/api/v1/" << "/v1/items" << "" << "/api/v1/items";
        QTest::newRow("rewrite keeps query") << "/old" << false << "/new" << "/old/x" << "k=v" << "/new/x?k=v";
    }
    void rewritesTargets() {
        QFETCH(QString, prefix);
        QFETCH(bool, strip);
        QFETCH(QString, rewrite);
        QFETCH(QString, path);
        QFETCH(QString, query);
        QFETCH(QString, expected);
        Route r;
        r.pathPrefix = prefix.toStdString();
        r.stripPrefix = strip;
        r.rewritePrefix = rewrite.toStdString();
        std::string out;
        rewriteTarget(r, path.toStdString(), query.toStdString(), out);
        QCOMPARE(QString::fromStdString(out), expected);
    }
};

QTEST_APPLESS_MAIN(TestRouteTable)
#include "tst_route_table.moc"
