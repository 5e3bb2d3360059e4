// Route matching (hosts with wildcards, path prefix / exact / regex, methods, headers, query),
// priorities, host normalization, rewrites with captures, redirect locations, the config rules
// with their file:line errors, and bounded regex matching.
#include "engine/balancing/balancer.hpp"
#include "engine/config/config_loader.hpp"
#include "engine/routing/route_table.hpp"
#include "shared/model/config_codec.hpp"
#include "shared/model/regex.hpp"
#include "shared/model/route_rules_codec.hpp"

#include <QtTest>

#include <map>

using namespace gaetwae::engine::routing;
using gaetwae::model::RouteConfig;
using gaetwae::model::ValueMatch;
using gaetwae::model::ValueMatchKind;

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

const std::size_t kPool = 0;
auto poolZero = [](const std::string&) { return kPool; };

// Headers for RequestView, looked up case-insensitively like the session's HeaderBlock.
class Headers final : public gaetwae::engine::balancing::HeaderLookup {
public:
    explicit Headers(std::map<std::string, std::string> values) {
        for (auto& [name, value] : values) {
            m_values[lowered(name)] = value;
        }
    }
    std::optional<std::string_view> header(std::string_view name) const override {
        const auto it = m_values.find(lowered(std::string(name)));
        return it == m_values.end() ? std::nullopt : std::optional<std::string_view>(it->second);
    }

private:
    static std::string lowered(std::string text) {
        for (char& c : text) {
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        return text;
    }
    std::map<std::string, std::string> m_values;
};

// The name of the route a request picks, "" for none.
QString routed(const RouteTable& table, std::string_view host, std::string_view path, std::string_view method = "GET",
               std::string_view query = {}, const Headers* headers = nullptr) {
    gaetwae::model::RegexScratch scratch;
    gaetwae::model::Captures groups;
    const Route* r = table.match(RequestView{host, path, method, query, headers}, scratch, groups);
    return r == nullptr ? QString() : QString::fromStdString(r->name);
}

// Load errors of a config whose routes: list is `routesYaml`, starting at line 3.
std::string errorsOf(const std::string& routesYaml) {
    const std::string yaml = "listeners: [{address: \"127.0.0.1:0\"}]\nroutes:\n" + routesYaml +
                             "pools:\n  - name: p\n    instances: [{id: a, address: \"127.0.0.1:9\"}]\n";
    const auto result = gaetwae::engine::config::loadConfigText(yaml, "gw.yaml");
    return result.ok() ? std::string() : result.errorText();
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
        gaetwae::model::RegexScratch scratch;
        const std::string p = path.toStdString();
        const std::string q = query.toStdString();
        rewriteTarget(r, TemplateInputs{"", p, q, nullptr}, scratch, out);
        QCOMPARE(QString::fromStdString(out), expected);
    }

    // ---------------------------------------------------------------- hosts
    void wildcardHosts_data() {
        QTest::addColumn<QString>("pattern");
        QTest::addColumn<QString>("host");
        QTest::addColumn<bool>("matches");
        QTest::newRow("subdomain") << "*.example.com" << "api.example.com" << true;
        QTest::newRow("deeper subdomain") << "*.example.com" << "a.b.example.com" << true;
        QTest::newRow("apex is not a subdomain") << "*.example.com" << "example.com" << false;
        QTest::newRow("suffix without the dot") << "*.example.com" << "badexample.com" << false;
        QTest::newRow("other domain") << "*.example.com" << "api.example.org" << false;
        QTest::newRow("pattern case") << "*.Example.COM" << "www.example.com" << true;
        QTest::newRow("any last labels") << "api.*" << "api.example.com" << true;
        QTest::newRow("any last labels, other tld") << "api.*" << "api.example.org" << true;
        QTest::newRow("api alone") << "api.*" << "api" << false;
        QTest::newRow("label must be whole") << "api.*" << "xapi.example.com" << false;
        QTest::newRow("exact") << "example.com" << "example.com" << true;
        QTest::newRow("exact is not a suffix") << "example.com" << "www.example.com" << false;
    }
    void wildcardHosts() {
        QFETCH(QString, pattern);
        QFETCH(QString, host);
        QFETCH(bool, matches);
        const RouteTable table(std::vector<RouteConfig>{route("r", "/", {pattern.toStdString()})}, poolZero);
        QCOMPARE(!routed(table, host.toStdString(), "/").isEmpty(), matches);
    }

    // ---------------------------------------------------------------- paths
    void pathKinds_data() {
        QTest::addColumn<QString>("path");
        QTest::addColumn<QString>("expected");
        QTest::newRow("exact") << "/health" << "exact";
        QTest::newRow("exact is whole") << "/health/x" << "prefix";
        QTest::newRow("regex") << "/users/42" << "regex";
        QTest::newRow("regex anchored by the pattern") << "/users/42/posts" << "prefix";
        QTest::newRow("regex needs digits") << "/users/me" << "prefix";
        QTest::newRow("prefix stays a string prefix") << "/healthz" << "prefix";
    }
    void pathKinds() {
        QFETCH(QString, path);
        QFETCH(QString, expected);
        RouteConfig exact = route("exact", "/");
        exact.match.pathExact = "/health";
        RouteConfig regex = route("regex", "/");
        regex.match.pathRegex = "^/users/(\\d+)$";
        const RouteTable table(std::vector<RouteConfig>{exact, regex, route("prefix", "/")}, poolZero);
        QCOMPARE(routed(table, "h", path.toStdString()), expected);
    }

    void regexGroupsComeWithTheMatch() {
        RouteConfig users = route("users", "/");
        users.match.pathRegex = "^/api/v(\\d+)/(\\w+)(/.*)?$";
        const RouteTable table(std::vector<RouteConfig>{users}, poolZero);
        gaetwae::model::RegexScratch scratch;
        gaetwae::model::Captures groups;
        const std::string path = "/api/v3/orders/17";
        QVERIFY(table.match(RequestView{"h", path, "GET", {}, nullptr}, scratch, groups) != nullptr);
        QCOMPARE(groups.count, std::size_t(4));
        QCOMPARE(groups.group(0), std::string_view("/api/v3/orders/17"));
        QCOMPARE(groups.group(1), std::string_view("3"));
        QCOMPARE(groups.group(2), std::string_view("orders"));
        QCOMPARE(groups.group(3), std::string_view("/17"));
        QCOMPARE(groups.group(7), std::string_view()); // no such group
        QVERIFY(table.match(RequestView{"h", "/api/vX/orders", "GET", {}, nullptr}, scratch, groups) == nullptr);
        QCOMPARE(groups.count, std::size_t(0));
    }

    // ---------------------------------------------------------------- headers, query, methods
    void headerAndQueryConditions_data() {
        QTest::addColumn<QString>("headerName");
        QTest::addColumn<QString>("headerValue");
        QTest::addColumn<QString>("query");
        QTest::addColumn<QString>("expected");
        QTest::newRow("exact header") << "X-API-Version" << "2" << "" << "v2-header";
        QTest::newRow("header name case") << "x-api-version" << "2" << "" << "v2-header";
        QTest::newRow("header value case matters") << "X-API-Version" << "2a" << "" << "default";
        QTest::newRow("regex header") << "Accept" << "text/html, application/vnd.example.v2+json" << ""
                                      << "v2-accept";
        QTest::newRow("regex header no match") << "Accept" << "application/json" << "" << "default";
        QTest::newRow("present header") << "X-Debug" << "" << "" << "debug";
        QTest::newRow("exact query") << "" << "" << "a=1&version=2" << "v2-query";
        QTest::newRow("query value is exact") << "" << "" << "version=22" << "default";
        QTest::newRow("present query") << "" << "" << "trace" << "trace";
        QTest::newRow("regex query") << "" << "" << "id=12345" << "numeric-id";
        QTest::newRow("regex query no match") << "" << "" << "id=12a" << "default";
    }
    void headerAndQueryConditions() {
        QFETCH(QString, headerName);
        QFETCH(QString, headerValue);
        QFETCH(QString, query);
        QFETCH(QString, expected);
        auto with = [](std::string name, std::vector<ValueMatch> headers, std::vector<ValueMatch> query) {
            RouteConfig r = route(std::move(name), "/");
            r.match.headers = std::move(headers);
            r.match.query = std::move(query);
            return r;
        };
        const std::vector<RouteConfig> routes{
            with("v2-header", {{"X-API-Version", ValueMatchKind::Exact, "2"}}, {}),
            with("v2-accept", {{"Accept", ValueMatchKind::Regex, "application/vnd\\.example\\.v2\\+json"}}, {}),
            with("debug", {{"X-Debug", ValueMatchKind::Present, ""}}, {}),
            with("v2-query", {}, {{"version", ValueMatchKind::Exact, "2"}}),
            with("trace", {}, {{"trace", ValueMatchKind::Present, ""}}),
            with("numeric-id", {}, {{"id", ValueMatchKind::Regex, "^[0-9]+$"}}),
            route("default", "/")};
        const RouteTable table(routes, poolZero);
        std::map<std::string, std::string> values;
        if (!headerName.isEmpty()) {
            values[headerName.toStdString()] = headerValue.toStdString();
        }
        const Headers headers(values);
        QCOMPARE(routed(table, "h", "/x", "GET", query.toStdString(), &headers), expected);
    }

    void absentHeaderAndMethods() {
        RouteConfig internal = route("no-auth", "/", {}, {"GET", "HEAD"});
        internal.match.headers = {{"Authorization", ValueMatchKind::Absent, ""}};
        const RouteTable table(std::vector<RouteConfig>{internal, route("other", "/")}, poolZero);
        const Headers none(std::map<std::string, std::string>{});
        const Headers auth(std::map<std::string, std::string>{{"authorization", "Bearer x"}});
        QCOMPARE(routed(table, "h", "/", "GET", {}, &none), QString("no-auth"));
        QCOMPARE(routed(table, "h", "/", "HEAD", {}, &none), QString("no-auth"));
        QCOMPARE(routed(table, "h", "/", "POST", {}, &none), QString("other"));
        QCOMPARE(routed(table, "h", "/", "GET", {}, &auth), QString("other"));
    }

    // ---------------------------------------------------------------- priorities
    void priorityOrdersRoutesStably() {
        RouteConfig catchAll = route("catch-all", "/");
        catchAll.priority = -1;
        RouteConfig a = route("a", "/api");
        RouteConfig b = route("b", "/api");
        RouteConfig urgent = route("urgent", "/api/admin");
        urgent.priority = 10;
        RouteConfig late = route("late", "/api/admin");
        late.priority = 10;
        const std::vector<RouteConfig> routes{catchAll, a, b, late, urgent};
        const RouteTable table(routes, poolZero);
        QCOMPARE(routed(table, "h", "/api/admin/x"), QString("late")); // equal priority: file order
        QCOMPARE(routed(table, "h", "/api/x"), QString("a"));           // a before b, both priority 0
        QCOMPARE(routed(table, "h", "/other"), QString("catch-all"));   // tried last despite coming first
        // Config order is kept for stats and rate limits, which index routes() by config position.
        QCOMPARE(QString::fromStdString(table.routes()[0].name), QString("catch-all"));
        QCOMPARE(gaetwae::model::routeEvaluationOrder(routes), (std::vector<std::size_t>{3, 4, 1, 2, 0}));
    }

    void shadowedRoutesAreFound() {
        RouteConfig dup = route("dup", "/api", {"example.com"});
        const std::vector<RouteConfig> routes{route("api", "/api", {"example.com"}), dup, route("all", "/"),
                                              route("never", "/x")};
        gaetwae::model::Diagnostics warnings;
        gaetwae::model::findShadowedRoutes(routes, warnings);
        QCOMPARE(warnings.size(), std::size_t(2));
        QCOMPARE(QString::fromStdString(warnings.items()[0].pointer), QString("/routes/1"));
        QVERIFY(warnings.items()[0].message.find("route 'dup' can never match: route 'api'") != std::string::npos);
        QCOMPARE(QString::fromStdString(warnings.items()[1].pointer), QString("/routes/3"));

        // A higher priority lifts a route out of the catch-all's shadow.
        std::vector<RouteConfig> lifted = routes;
        lifted[3].priority = 1;
        gaetwae::model::Diagnostics none;
        gaetwae::model::findShadowedRoutes(std::vector<RouteConfig>{route("all", "/"), lifted[3]}, none);
        QVERIFY(none.empty());
    }

    // ---------------------------------------------------------------- rewrites and redirects
    void regexRewrites_data() {
        QTest::addColumn<QString>("pathRegex");
        QTest::addColumn<QString>("rewriteRegex");
        QTest::addColumn<QString>("replacement");
        QTest::addColumn<QString>("path");
        QTest::addColumn<QString>("query");
        QTest::addColumn<QString>("expected");
        QTest::newRow("path_regex groups") << "^/api/v(\\d+)/(.*)$" << "" << "/v$1/$2" << "/api/v2/users/7" << "a=1"
                                           << "/v2/users/7?a=1";
        QTest::newRow("own regex") << "" << "^/old/(\\w+)" << "/new/$1/index" << "/old/page/x" << ""
                                   << "/new/page/index";
        QTest::newRow("own regex no match leaves the path") << "" << "^/old/(\\w+)" << "/new/$1" << "/other" << "q"
                                                            << "/other?q";
        QTest::newRow("braces and dollar") << "^/(\\w+)$" << "" << "/${1}s/$$x" << "/item" << "" << "/items/$x";
        QTest::newRow("empty group starting it") << "^/a(/.*)?$" << "" << "$1" << "/a" << "" << "/";
        QTest::newRow("whole match and host") << "^/p/.*$" << "" << "/$host$0" << "/p/q" << "" << "/h.example/p/q";
    }
    void regexRewrites() {
        QFETCH(QString, pathRegex);
        QFETCH(QString, rewriteRegex);
        QFETCH(QString, replacement);
        QFETCH(QString, path);
        QFETCH(QString, query);
        QFETCH(QString, expected);
        RouteConfig config = route("r", "/");
        config.match.pathRegex = pathRegex.toStdString();
        config.rewrite = gaetwae::model::RewriteConfig{rewriteRegex.toStdString(), replacement.toStdString()};
        if (pathRegex.isEmpty()) {
            config.match.pathPrefix = "/";
        }
        const RouteTable table(std::vector<RouteConfig>{config}, poolZero);
        gaetwae::model::RegexScratch scratch;
        gaetwae::model::Captures groups;
        const std::string p = path.toStdString();
        const std::string q = query.toStdString();
        const Route* r = table.match(RequestView{"h.example", p, "GET", q, nullptr}, scratch, groups);
        QVERIFY(r != nullptr);
        std::string out;
        rewriteTarget(*r, TemplateInputs{"h.example", p, q, &groups}, scratch, out);
        QCOMPARE(QString::fromStdString(out), expected);
    }

    void redirectLocations_data() {
        QTest::addColumn<QString>("to");
        QTest::addColumn<bool>("keepQuery");
        QTest::addColumn<QString>("query");
        QTest::addColumn<QString>("expected");
        QTest::newRow("https upgrade") << "https://$host$path" << true << "a=1" << "https://shop.example/docs/7?a=1";
        QTest::newRow("captures") << "https://docs.example/v$2/$1" << true << "" << "https://docs.example/v7/docs";
        QTest::newRow("query dropped") << "/new$path" << false << "a=1" << "/new/docs/7";
        QTest::newRow("query joined") << "/search?from=old" << true << "q=x" << "/search?from=old&q=x";
    }
    void redirectLocations() {
        QFETCH(QString, to);
        QFETCH(bool, keepQuery);
        QFETCH(QString, query);
        QFETCH(QString, expected);
        RouteConfig config = route("r", "/");
        config.match.pathRegex = "^/(\\w+)/(\\d+)$";
        config.pool.clear();
        config.redirect = gaetwae::model::RedirectConfig{to.toStdString(), 301, keepQuery};
        const RouteTable table(std::vector<RouteConfig>{config}, poolZero);
        gaetwae::model::RegexScratch scratch;
        gaetwae::model::Captures groups;
        const std::string q = query.toStdString();
        const Route* r = table.match(RequestView{"shop.example", "/docs/7", "GET", q, nullptr}, scratch, groups);
        QVERIFY(r != nullptr && r->hasRedirect);
        std::string out;
        redirectLocation(*r, TemplateInputs{"shop.example", "/docs/7", q, &groups}, out);
        QCOMPARE(QString::fromStdString(out), expected);
    }

    // ---------------------------------------------------------------- config rules
    void badRoutingConfigNamesFileLineAndField_data() {
        QTest::addColumn<QString>("routes");
        QTest::addColumn<QString>("expected"); // fragments that must all occur, separated by '|'
        QTest::newRow("bad path regex")
            << "  - name: r\n    match:\n      path_regex: \"^/(a\"\n    pool: p\n"
            << "gw.yaml:5:|routes[0].match.path_regex|invalid regular expression '^/(a'|missing closing parenthesis";
        QTest::newRow("two path kinds") << "  - name: r\n    match: {path_prefix: /a, path_exact: /a}\n    pool: p\n"
                                        << "gw.yaml:4:|routes[0].match|use one of path_prefix, path_exact";
        QTest::newRow("missing group")
            << "  - name: r\n    match: {path_regex: \"^/(a)/(b)$\"}\n    pool: p\n"
               "    rewrite: {replacement: \"/$1/$3\"}\n"
            << "gw.yaml:6:|routes[0].rewrite.replacement|$3 refers to a capture group that match.path_regex "
               "does not have (it has 2)";
        QTest::newRow("groups without a regex")
            << "  - name: r\n    match: {path_prefix: /a}\n    pool: p\n    rewrite: {replacement: \"/$1\"}\n"
            << "routes[0].rewrite.regex|needs a regex";
        QTest::newRow("unknown variable")
            << "  - name: r\n    redirect: {to: \"https://$hostname/\"}\n"
            << "gw.yaml:4:|routes[0].redirect.to|unknown variable '$hostname'";
        QTest::newRow("redirect status") << "  - name: r\n    redirect: {to: /x, status: 305}\n"
                                         << "routes[0].redirect.status|301, 302, 303, 307 or 308";
        QTest::newRow("pool and redirect") << "  - name: r\n    pool: p\n    redirect: {to: /x}\n"
                                           << "gw.yaml:4:|routes[0].pool|either a pool or a redirect";
        QTest::newRow("neither pool nor redirect") << "  - name: r\n    match: {path_prefix: /}\n"
                                                   << "routes[0]: missing required field 'pool'";
        QTest::newRow("bad header regex")
            << "  - name: r\n    match:\n      headers:\n        Accept: {regex: \"[\"}\n    pool: p\n"
            << "gw.yaml:6:|routes[0].match.headers.Accept.regex|invalid regular expression";
        QTest::newRow("two header kinds")
            << "  - name: r\n    match:\n      headers: {X-A: {regex: a, present: true}}\n    pool: p\n"
            << "routes[0].match.headers.X-A|exactly one of exact, regex, present";
        QTest::newRow("bad header name") << "  - name: r\n    match:\n      headers: {\"X A\": \"1\"}\n    pool: p\n"
                                         << "routes[0].match.headers.X A|not a valid header name";
        QTest::newRow("bad wildcard") << "  - name: r\n    match: {hosts: [\"a.*.com\"]}\n    pool: p\n"
                                      << "routes[0].match.hosts[0]|is not a host name or a wildcard";
        QTest::newRow("per-route timeout")
            << "  - name: r\n    pool: p\n    timeouts: {upstream_response: 5}\n"
            << "gw.yaml:5:|routes[0].timeouts.upstream_response|add a unit";
        QTest::newRow("unknown key") << "  - name: r\n    pool: p\n    redirect: {to: /x, code: 301}\n"
                                     << "routes[0].redirect.code";
        QTest::newRow("strip with regex")
            << "  - name: r\n    match: {path_regex: \"^/a\"}\n    pool: p\n    strip_prefix: true\n"
            << "routes[0].match.path_regex|need a path_prefix";
    }
    void badRoutingConfigNamesFileLineAndField() {
        QFETCH(QString, routes);
        QFETCH(QString, expected);
        const std::string text = errorsOf(routes.toStdString());
        for (const QString& fragment : expected.split('|')) {
            QVERIFY2(text.find(fragment.toStdString()) != std::string::npos,
                     qPrintable(QString("missing '%1' in: %2").arg(fragment, QString::fromStdString(text))));
        }
    }

    void everyRoutingFieldRoundTrips() {
        const std::string routes =
            "  - name: full\n    priority: 5\n    match:\n      hosts: [\"*.example.com\", \"api.*\"]\n"
            "      path_regex: \"^/api/v(\\\\d+)/(.*)$\"\n      methods: [GET]\n"
            "      headers: {X-API-Version: 2, Accept: {regex: v2}, X-Debug: {present: true}, X-Old: {present: false}}\n"
            "      query: {mode: {exact: fast}, trace: {present: true}}\n"
            "    pool: p\n    rewrite: {replacement: \"/v$1/$2\"}\n"
            "    timeouts: {upstream_connect: 250ms, upstream_response: 2s}\n    limits: {max_body_bytes: 1KiB}\n"
            "  - name: moved\n    match: {path_exact: /old}\n    redirect: {to: \"https://$host/new\", status: 308, "
            "keep_query: false}\n";
        QCOMPARE(QString::fromStdString(errorsOf(routes)), QString());
        const std::string yaml = "listeners: [{address: \"127.0.0.1:0\"}]\nroutes:\n" + routes +
                                 "pools:\n  - name: p\n    instances: [{id: a, address: \"127.0.0.1:9\"}]\n";
        const auto loaded = gaetwae::engine::config::loadConfigText(yaml, "gw.yaml");
        QVERIFY(loaded.ok());
        const auto& full = loaded.loaded->config.routes[0];
        QCOMPARE(full.priority, 5);
        QCOMPARE(full.match.headers.size(), std::size_t(4)); // by name: Accept, X-API-Version, X-Debug, X-Old
        QVERIFY((full.match.headers[1] == ValueMatch{"X-API-Version", ValueMatchKind::Exact, "2"}));
        QVERIFY((full.match.headers[2] == ValueMatch{"X-Debug", ValueMatchKind::Present, ""}));
        QCOMPARE(full.upstreamResponseTimeout.value(), gaetwae::model::Duration(2000));
        QCOMPARE(full.maxBodyBytes.value(), std::uint64_t(1024));
        const auto& moved = loaded.loaded->config.routes[1];
        QVERIFY(moved.redirect && moved.redirect->status == 308 && !moved.redirect->keepQuery);

        // The admin API's JSON carries every field: encode, decode, equal.
        for (const auto& original : loaded.loaded->config.routes) {
            const nlohmann::json json = gaetwae::model::encodeRoute(original);
            gaetwae::model::Diagnostics diagnostics;
            const RouteConfig decoded = gaetwae::model::decodeRoute(json, "/route", diagnostics,
                                                                    gaetwae::model::UnknownKeys::Reject);
            QVERIFY2(diagnostics.empty(), json.dump().c_str());
            QVERIFY2(decoded == original, json.dump().c_str());
        }
        QVERIFY(!gaetwae::model::encodeRoute(moved).contains("pool"));
    }

    // ---------------------------------------------------------------- bounded regexes
    void catastrophicPatternsAreBounded() {
        std::string error;
        const auto evil = gaetwae::model::Regex::compile("^(a+)+$", error);
        QVERIFY2(evil, error.c_str());
        gaetwae::model::RegexScratch scratch;
        // 2^40 backtracking paths without a limit; with it the search gives up and does not match.
        const std::string hostile = std::string(40, 'a') + "!";
        QVERIFY(!evil->search(hostile, scratch));
        QVERIFY(evil->search("aaaa", scratch)); // still a working pattern
        QVERIFY(!gaetwae::model::Regex::compile(std::string(2000, 'a'), error));
        QVERIFY(error.find("longer than") != std::string::npos);
        // Raw bytes that are not UTF-8 are just bytes.
        const auto any = gaetwae::model::Regex::compile("^/x/.+$", error);
        QVERIFY(any->search(std::string("/x/\xff\xfe"), scratch));
    }
};

QTEST_APPLESS_MAIN(TestRouteTable)
#include "tst_route_table.moc"
