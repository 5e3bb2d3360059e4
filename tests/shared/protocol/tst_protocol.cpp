// The admin protocol both engine and console compile: histogram bucket math, JSON-RPC framing,
// every message's codec, and configuration operations (apply, validate, diff, describe).
#include "shared/model/config_codec.hpp"
#include "shared/protocol/admin_messages.hpp"
#include "shared/protocol/config_ops.hpp"
#include "shared/protocol/histogram.hpp"
#include "shared/protocol/jsonrpc.hpp"
#include "shared/protocol/stats.hpp"

#include <QtTest>

#include <algorithm>
#include <cmath>
#include <random>

using namespace gaetwae;
using namespace gaetwae::protocol;
using Histogram = LatencyHistogram;

namespace {

model::GatewayConfig baseConfig() {
    model::Diagnostics d;
    auto config = model::decodeGatewayConfig(nlohmann::json::parse(R"({
        "listeners": [{"address": "127.0.0.1:8080"}],
        "routes": [{"name": "api", "match": {"path_prefix": "/api"}, "pool": "backend", "x-owner": "team-a"}],
        "pools": [{"name": "backend", "x-ticket": "OPS-1", "instances": [
            {"id": "a", "address": "127.0.0.1:9001"},
            {"id": "b", "address": "127.0.0.1:9002", "weight": 3, "x-zone": "eu"}]}]
    })"), d);
    return config;
}

bool hasError(const model::Diagnostics& d, const std::string& pointerPrefix, const std::string& fragment) {
    for (const auto& item : d.items()) {
        if (item.pointer.rfind(pointerPrefix, 0) == 0 && item.message.find(fragment) != std::string::npos) {
            return true;
        }
    }
    return false;
}

QString dump(const model::Diagnostics& d) {
    QString out;
    for (const auto& item : d.items()) {
        out += QString::fromStdString(item.pointer + ": " + item.message + "\n");
    }
    return out;
}

template <class T>
T roundTrip(const T& value) {
    T decoded;
    model::Diagnostics d;
    if (!fromJson(toJson(value), decoded, d)) {
        qWarning("decode failed: %s", qPrintable(dump(d)));
    }
    return decoded;
}

TrafficStats sampleTraffic(std::uint64_t seed) {
    TrafficStats t;
    t.requests = 100 + seed;
    t.responses = {0, 90 + seed, 0, 7, 3};
    t.errors = {{"no_route", 2}, {"upstream_timeout", 1 + seed}};
    t.retries = 4;
    t.bytesIn = 1234;
    t.bytesOut = 98765;
    t.activeRequests = 3;
    for (std::uint64_t v : {5ull, 150ull, 2'000ull, 45'000ull + seed, 1'000'000ull}) {
        t.latency.record(v);
        t.upstream.record(v / 2);
    }
    return t;
}

} // namespace

class TestProtocol : public QObject {
    Q_OBJECT

private slots:
    void histogramBucketsTileTheRangeAt6Percent() {
        for (std::size_t b = 0; b + 1 < Histogram::kBucketCount; ++b) {
            QCOMPARE(Histogram::upperBound(b), Histogram::lowerBound(b + 1));
            QVERIFY(Histogram::lowerBound(b) < Histogram::upperBound(b));
        }
        std::mt19937_64 random(42);
        for (int i = 0; i < 200'000; ++i) {
            const std::uint64_t v = i < 70'000 ? static_cast<std::uint64_t>(i) : random() % (1ull << 32);
            const auto b = Histogram::bucketOf(v);
            QVERIFY(b < Histogram::kBucketCount);
            if (Histogram::lowerBound(b) > v || v >= Histogram::upperBound(b)) {
                QFAIL(qPrintable(QString("%1 outside bucket %2").arg(v).arg(b)));
            }
            if (v >= Histogram::kSubBuckets) {
                const double width = static_cast<double>(Histogram::upperBound(b) - Histogram::lowerBound(b));
                QVERIFY(width / static_cast<double>(Histogram::lowerBound(b)) <= 1.0 / 16 + 1e-12);
            } else {
                QCOMPARE(b, static_cast<std::size_t>(v)); // exact below 16 us
            }
        }
        // Beyond about 71 minutes everything lands in the last bucket.
        QCOMPARE(Histogram::bucketOf(~0ull), Histogram::kBucketCount - 1);
    }

    void histogramPercentilesFallInTheExactValuesBucket() {
        std::mt19937_64 random(7);
        std::lognormal_distribution<double> latency(8.0, 1.2); // median ~3 ms, long tail
        std::vector<std::uint64_t> values;
        Histogram histogram;
        for (int i = 0; i < 50'000; ++i) {
            const auto v = static_cast<std::uint64_t>(latency(random));
            values.push_back(v);
            histogram.record(v);
        }
        std::sort(values.begin(), values.end());
        for (const double q : {0.0, 0.01, 0.5, 0.9, 0.99, 0.999, 1.0}) {
            const auto rank = std::max<std::size_t>(1, static_cast<std::size_t>(std::ceil(q * values.size())));
            const auto exact = values[rank - 1];
            const auto reported = histogram.percentile(q);
            QVERIFY2(exact < reported, qPrintable(QString("q=%1").arg(q)));
            QCOMPARE(Histogram::bucketOf(reported - 1), Histogram::bucketOf(exact));
        }
        QCOMPARE(histogram.count(), std::uint64_t(values.size()));
        std::uint64_t sum = 0;
        for (const auto v : values) {
            sum += v;
        }
        QCOMPARE(histogram.sum(), sum);
        QCOMPARE(histogram.maxBound(), Histogram::upperBound(Histogram::bucketOf(values.back())));
        QCOMPARE(Histogram().percentile(0.5), std::uint64_t(0));
    }

    void histogramsMergeByAddition() {
        std::mt19937_64 random(3);
        Histogram all;
        std::array<Histogram, 3> parts;
        for (int i = 0; i < 30'000; ++i) {
            const auto v = random() % 5'000'000;
            all.record(v);
            parts[random() % 3].record(v);
        }
        Histogram merged;
        for (const auto& part : parts) {
            merged.merge(part);
        }
        QVERIFY(merged == all);
        QCOMPARE(merged.percentile(0.99), all.percentile(0.99));
    }

    void histogramJsonIsSparseAndChecked() {
        Histogram h;
        h.record(3, 2);
        h.record(40'000);
        const auto json = h.toJson();
        QCOMPARE(json["buckets"].size(), std::size_t(2));
        QCOMPARE(json["count"].get<std::uint64_t>(), std::uint64_t(3));
        Histogram back;
        QVERIFY(Histogram::fromJson(json, back));
        QVERIFY(back == h);

        std::string error;
        QVERIFY(!Histogram::fromJson(nlohmann::json::parse(R"({"buckets": [[99999, 1]]})"), back, &error));
        QVERIFY(error.find("range") != std::string::npos);
        QVERIFY(!Histogram::fromJson(nlohmann::json::parse(R"({"count": 5, "buckets": [[1, 1]]})"), back, &error));
        QVERIFY(error.find("count") != std::string::npos);
        QVERIFY(!Histogram::fromJson(nlohmann::json::parse(R"({"buckets": [[1, -1]]})"), back, &error));
        QVERIFY(!Histogram::fromJson(nlohmann::json::parse(R"({"buckets": [1, 2]})"), back, &error));
        QVERIFY(!Histogram::fromJson(nlohmann::json::array(), back, &error));
        QVERIFY(back == h); // failures leave the target alone
    }

    void jsonRpcRequestsAreParsedStrictly() {
        struct Case {
            const char* text;
            int code; // 0: valid
            nlohmann::json id;
        };
        const std::vector<Case> cases{
            {R"({"jsonrpc":"2.0","id":1,"method":"hello"})", 0, 1},
            {R"({"jsonrpc":"2.0","id":"a","method":"hello","params":{}})", 0, "a"},
            {R"({"jsonrpc":"2.0","method":"hello"})", 0, nullptr},
            {"{", rpc::kParseError, nullptr},
            {"", rpc::kParseError, nullptr},
            {"[]", rpc::kInvalidRequest, nullptr},
            {"42", rpc::kInvalidRequest, nullptr},
            {R"({"id":1,"method":"hello"})", rpc::kInvalidRequest, 1},
            {R"({"jsonrpc":2,"id":1,"method":"hello"})", rpc::kInvalidRequest, 1},
            {R"({"jsonrpc":"2.0","id":1.5,"method":"hello"})", rpc::kInvalidRequest, nullptr},
            {R"({"jsonrpc":"2.0","id":[1],"method":"hello"})", rpc::kInvalidRequest, nullptr},
            {R"({"jsonrpc":"2.0","id":1})", rpc::kInvalidRequest, 1},
            {R"({"jsonrpc":"2.0","id":1,"method":null})", rpc::kInvalidRequest, 1},
            {R"({"jsonrpc":"2.0","id":1,"method":"hello","params":[]})", rpc::kInvalidParams, 1},
            {R"({"jsonrpc":"2.0","id":1,"method":"hello","params":"x"})", rpc::kInvalidParams, 1},
        };
        for (const auto& c : cases) {
            const auto parsed = parseRequest(c.text);
            if (c.code == 0) {
                QVERIFY2(std::holds_alternative<RpcRequest>(parsed), c.text);
                QCOMPARE(std::get<RpcRequest>(parsed).id, c.id);
                QCOMPARE(std::get<RpcRequest>(parsed).method, std::string("hello"));
            } else {
                QVERIFY2(!std::holds_alternative<RpcRequest>(parsed), c.text);
                const auto& [id, error] = std::get<1>(parsed);
                QVERIFY2(error.code == c.code, c.text);
                QVERIFY2(id == c.id, c.text);
                QVERIFY(!error.message.empty());
            }
        }
    }

    void jsonRpcResponsesAndNotificationsRoundTrip() {
        auto result = parseIncoming(makeResult(7, {{"x", 1}}));
        QVERIFY(result && !result->isNotification() && result->result && !result->error);
        QCOMPARE(result->id, nlohmann::json(7));
        QCOMPARE((*result->result)["x"].get<int>(), 1);

        const RpcError conflict{rpc::kConflict, "stale", {{"currentVersion", 9}}};
        auto error = parseIncoming(makeError("q", conflict));
        QVERIFY(error && error->error);
        QCOMPARE(error->error->code, rpc::kConflict);
        QCOMPARE(error->error->data, conflict.data);
        QVERIFY(!nlohmann::json::parse(makeError(1, {rpc::kParseError, "bad", nullptr}))["error"].contains("data"));

        auto note = parseIncoming(makeNotification("stats", {{"timeMs", 1}}));
        QVERIFY(note && note->isNotification());
        QCOMPARE(note->method, std::string("stats"));

        const auto request = parseRequest(makeRequest(3, "pools.list", nlohmann::json::object()));
        QVERIFY(std::holds_alternative<RpcRequest>(request));

        // A client never throws on what a server sends, whatever it is.
        std::string why;
        for (const char* bad : {"{", "[]", R"({"jsonrpc":2})", R"({"jsonrpc":"2.0","id":1})",
                                R"({"jsonrpc":"2.0","id":1,"error":{"code":"x"}})", R"({"jsonrpc":"2.0","method":5})"}) {
            QVERIFY2(!parseIncoming(bad, &why), bad);
            QVERIFY(!why.empty());
        }
    }

    void everyMessageRoundTripsThroughItsCodec() {
        const HelloResult hello{1, "0.2.0", {"stats", "events"}, 12};
        QVERIFY(roundTrip(hello) == hello);
        const EngineInfo info{"0.2.0", 1, 12, "/etc/gaetwae.yaml", true, 4, 4321, 1'790'000'000'000, 17};
        QVERIFY(roundTrip(info) == info);

        const auto config = baseConfig();
        PoolsListResult pools;
        pools.version = 12;
        PoolView pool;
        pool.config = config.pools[0];
        pool.activeRequests = 5;
        pool.retries = 8;
        for (const auto& instance : config.pools[0].instances) {
            InstanceView view;
            view.config = instance;
            view.healthy = instance.id == "a";
            view.ejected = instance.id == "b";
            view.breaker = "half_open";
            view.activeRequests = 2;
            view.requests = 100;
            view.failures = 3;
            view.slowStart = 0.25;
            view.latencyEwmaMs = 1.5;
            pool.instances.push_back(view);
        }
        pools.pools.push_back(pool);
        const auto poolsBack = roundTrip(pools);
        QVERIFY2(poolsBack == pools, (toJson(poolsBack).dump() + "\n" + toJson(pools).dump()).c_str());
        QCOMPARE(poolsBack.pools[0].config.extra["x-ticket"].get<std::string>(), std::string("OPS-1"));
        QCOMPARE(poolsBack.pools[0].instances[1].config.extra["x-zone"].get<std::string>(), std::string("eu"));

        const RoutesListResult routes{12, config.routes};
        QVERIFY(roundTrip(routes) == routes);
        const ConfigGetResult whole{12, config};
        QVERIFY(roundTrip(whole) == whole);

        const ChangeRequest change{12, {setWeight("backend", "a", 4), setState("backend", "b", model::InstanceState::Draining),
                                        putInstance("backend", config.pools[0].instances[0]),
                                        removeInstance("backend", "a"), patchPool("backend", {{"strategy", "random"}}),
                                        replaceConfig(config)}};
        const auto changeBack = roundTrip(change);
        QCOMPARE(changeBack.expectedVersion, change.expectedVersion);
        QVERIFY(changeBack.operations == change.operations);

        const ChangeResult changed{13, nlohmann::json::array({{{"op", "replace"}, {"path", "/x"}, {"value", 1}}})};
        QVERIFY(roundTrip(changed) == changed);
        const ValidateResult invalid{false, {{"/operations/0/params/weight", "too heavy", false}}, nlohmann::json::array()};
        QVERIFY(roundTrip(invalid) == invalid);
        const AuditRecord audit{13, 1'790'000'000'123, "admin 127.0.0.1:5000", "set weight of backend/a to 4",
                                changed.diff};
        QVERIFY(roundTrip(audit) == audit);
        QVERIFY(roundTrip(std::vector<AuditRecord>{audit, audit}) == (std::vector<AuditRecord>{audit, audit}));
        const EventRecord event{"breaker", 55, 1'790'000'000'456, "backend", "a", "closed", "open", "5 failures",
                                {{"failures", 5}}};
        QVERIFY(roundTrip(event) == event);
        QVERIFY(roundTrip(std::vector<EventRecord>{event}) == std::vector<EventRecord>{event});
        const SubscribeParams topics{{"stats", "decisions"}};
        QVERIFY(roundTrip(topics).topics == topics.topics);

        StatsFrame frame;
        frame.timeMs = 1'790'000'001'000;
        frame.intervalMs = 1000;
        frame.configVersion = 13;
        frame.activeConnections = 9;
        frame.total = sampleTraffic(0);
        frame.routes["api"] = sampleTraffic(1);
        frame.pools["backend"] = sampleTraffic(2);
        InstanceStats instance;
        static_cast<TrafficStats&>(instance) = sampleTraffic(3);
        instance.pool = "backend";
        instance.id = "a";
        instance.weight = 4;
        instance.state = "draining";
        instance.healthy = false;
        instance.ejected = true;
        instance.breaker = "open";
        instance.slowStart = 0.5;
        instance.latencyEwmaMs = 12.25;
        frame.instances.push_back(instance);
        StatsFrame frameBack;
        QVERIFY(fromJson(toJson(frame), frameBack));
        QVERIFY(frameBack == frame);
        QVERIFY(roundTrip(std::vector<StatsFrame>{frame, frame}) == (std::vector<StatsFrame>{frame, frame}));
    }

    void decodersReportWrongTypesWithTheirPath() {
        model::Diagnostics d;
        EngineInfo info;
        auto json = toJson(EngineInfo{"0.2.0", 1, 1, "", false, 2, 1, 1, 0});
        json["workers"] = "two";
        QVERIFY(!fromJson(json, info, d));
        QVERIFY2(hasError(d, "/workers", ""), qPrintable(dump(d)));

        d = {};
        ChangeRequest change;
        QVERIFY(!fromJson({{"expectedVersion", -1}, {"operations", nlohmann::json::array()}}, change, d));
        QVERIFY2(hasError(d, "/expectedVersion", ""), qPrintable(dump(d)));

        d = {};
        QVERIFY(!fromJson({{"expectedVersion", 1},
                           {"operations", {{{"method", "instance.setWeight"}, {"params", {{"pool", "p"}, {"id", "a"}}}}}}},
                          change, d));
        QVERIFY2(hasError(d, "/operations/0", "weight"), qPrintable(dump(d)));

        d = {};
        QVERIFY(!fromJson({{"expectedVersion", 1}, {"operations", {{{"method", "no.such"}, {"params", nlohmann::json::object()}}}}},
                          change, d));
        QVERIFY2(hasError(d, "/operations/0", "no.such"), qPrintable(dump(d)));

        StatsFrame frame;
        std::string why;
        QVERIFY(!fromJson({{"time", "now"}}, frame, &why));
        QVERIFY(!why.empty());
    }

    void captureMessagesRoundTripAndParamsAreChecked() {
        const CaptureStartParams start{"api", 30'000, 0.25, 500, {"accept", "x-trace"}};
        QVERIFY(roundTrip(start) == start);
        const CaptureStartResult started{3, "api", 1'790'000'000'000, 1'790'000'030'000};
        QVERIFY(roundTrip(started) == started);
        const CaptureStatus status{
            3, "api", "finished", 120, 360, 2, 1'790'000'000'000, 1'790'000'030'000, {"accept"}, 0.25, 500};
        QVERIFY(roundTrip(status) == status);
        QVERIFY(roundTrip(CaptureListResult{{status, status}}) == (CaptureListResult{{status, status}}));
        CaptureGetResult page{3, "running", {}, 2, false};
        page.entries.push_back({0, "GET", "/api/a?x=1", {{"accept", "*/*"}}, 0});
        page.entries.push_back({1250, "POST", "/api/b", {}, 312});
        QVERIFY(roundTrip(page) == page);
        const auto get = roundTrip(CaptureGetParams{3, 20, 50});
        QVERIFY(get.captureId == 3 && get.after == 20 && get.limit == 50);
        QCOMPARE(roundTrip(CaptureIdParams{9}).captureId, std::uint64_t(9));

        // Defaults; header names are kept lower-case, once.
        model::Diagnostics d;
        CaptureStartParams decoded;
        QVERIFY(fromJson({{"route", "api"}, {"headers", {"Accept", "ACCEPT", "X-Trace"}}}, decoded, d));
        QCOMPARE(decoded.durationMs, std::int64_t(60'000));
        QCOMPARE(decoded.sample, 1.0);
        QCOMPARE(decoded.maxRequests, std::uint64_t(100'000));
        QVERIFY(decoded.headers == (std::vector<std::string>{"accept", "x-trace"}));

        // Credentials are refused by name, whatever their case.
        for (const char* name :
             {"Authorization", "proxy-authorization", "COOKIE", "Set-Cookie", "x-api-key"}) {
            d = {};
            QVERIFY(!fromJson({{"route", "api"}, {"headers", {"accept", name}}}, decoded, d));
            QVERIFY2(hasError(d, "/headers/1", "credentials are never captured"), qPrintable(dump(d)));
        }
        QVERIFY(isCredentialHeader("cookie") && !isCredentialHeader("accept"));
        d = {};
        QVERIFY(!fromJson(
            {{"route", "api"}, {"sample", 0.0}, {"durationMs", 3'600'001}, {"maxRequests", 0}, {"x", 1}},
            decoded, d));
        QVERIFY2(hasError(d, "/sample", "") && hasError(d, "/durationMs", "") &&
                     hasError(d, "/maxRequests", "") && hasError(d, "/x", ""),
                 qPrintable(dump(d)));
        d = {};
        QVERIFY(!fromJson(nlohmann::json::object(), decoded, d));
        QVERIFY2(hasError(d, "", "route"), qPrintable(dump(d)));
        CaptureGetParams getParams;
        d = {};
        QVERIFY(!fromJson({{"captureId", 1}, {"limit", 10'001}}, getParams, d));
        QVERIFY2(hasError(d, "/limit", ""), qPrintable(dump(d)));
        CaptureIdParams idParams;
        d = {};
        QVERIFY(!fromJson(nlohmann::json::object(), idParams, d));
        QVERIFY2(hasError(d, "", "captureId"), qPrintable(dump(d)));
    }

    void operationsEncodeAndDecodeForEveryKind() {
        const auto config = baseConfig();
        ConfigOperation putRoute;
        putRoute.kind = ConfigOperation::Kind::PutRoute;
        putRoute.name = "api";
        putRoute.value = model::encodeGatewayConfig(config)["routes"][0];
        putRoute.index = 0;
        ConfigOperation removeRoute;
        removeRoute.kind = ConfigOperation::Kind::RemoveRoute;
        removeRoute.name = "api";
        ConfigOperation putPool;
        putPool.kind = ConfigOperation::Kind::PutPool;
        putPool.pool = "backend";
        putPool.value = model::encodePool(config.pools[0]);
        ConfigOperation removePool;
        removePool.kind = ConfigOperation::Kind::RemovePool;
        removePool.pool = "backend";
        const std::vector<ConfigOperation> all{
            putPool, patchPool("backend", {{"strategy", "random"}}), removePool, putRoute, removeRoute,
            putInstance("backend", config.pools[0].instances[1]), removeInstance("backend", "a"),
            setWeight("backend", "a", 0), setState("backend", "a", model::InstanceState::Disabled), replaceConfig(config)};
        QCOMPARE(all.size(), std::size_t(10)); // one per kind
        for (const auto& op : all) {
            const auto encoded = encodeOperation(op);
            const auto method = encoded["method"].get<std::string>();
            QCOMPARE(kindOfMethod(method), std::optional(op.kind));
            QCOMPARE(methodOf(op.kind), std::string_view(method));
            model::Diagnostics d;
            const auto decoded = decodeOperation(method, encoded["params"], "", d);
            QVERIFY2(decoded, qPrintable(dump(d)));
            QVERIFY2(*decoded == op, method.c_str());
            QVERIFY(!describe(op).empty());
        }
        QCOMPARE(describe(setWeight("backend", "a", 3)), std::string("set weight of backend/a to 3"));
        QCOMPARE(kindOfMethod("hello"), std::nullopt);
    }

    void applyingOperationsEditsValidatesAndReportsEveryError() {
        const auto before = baseConfig();
        model::Diagnostics d;
        auto after = applyOperations(before,
                                     {setWeight("backend", "a", 5), setState("backend", "b", model::InstanceState::Draining),
                                      patchPool("backend", {{"strategy", "least_connections"}, {"name", "renamed"}})},
                                     d);
        QVERIFY2(d.empty(), qPrintable(dump(d)));
        QCOMPARE(after.pools[0].name, std::string("backend")); // a patch does not rename
        QCOMPARE(after.pools[0].instances[0].weight, 5u);
        QVERIFY(after.pools[0].instances[1].state == model::InstanceState::Draining);
        QVERIFY(after.pools[0].strategy == model::Strategy::LeastConnections);
        QCOMPARE(after.pools[0].extra["x-ticket"].get<std::string>(), std::string("OPS-1"));

        // The diff is an RFC 6902 patch from before to after.
        const auto diff = configDiff(before, after);
        QCOMPARE(model::encodeGatewayConfig(before).patch(diff), model::encodeGatewayConfig(after));
        QVERIFY(configDiff(before, before).empty());

        // Every problem, each pointing at its operation.
        d = {};
        applyOperations(before,
                        {setWeight("nope", "a", 1), removeInstance("backend", "zz"), patchPool("backend", {{"strategy", "fastest"}}),
                         ConfigOperation{ConfigOperation::Kind::RemoveRoute, "", "ghost", nullptr, 0,
                                         model::InstanceState::Enabled, std::nullopt}},
                        d);
        QVERIFY2(hasError(d, "/operations/0", "does not exist"), qPrintable(dump(d)));
        QVERIFY2(hasError(d, "/operations/1", "does not exist"), qPrintable(dump(d)));
        QVERIFY2(hasError(d, "/operations/2", "fastest"), qPrintable(dump(d)));
        QVERIFY2(hasError(d, "/operations/3", "does not exist"), qPrintable(dump(d)));

        // Removing the only pool a route uses fails validation of the result.
        d = {};
        ConfigOperation removePool;
        removePool.kind = ConfigOperation::Kind::RemovePool;
        removePool.pool = "backend";
        applyOperations(before, {removePool}, d);
        QVERIFY2(!d.empty(), "a route to a removed pool must be refused");

        // Unknown fields: typos are errors, extension fields are kept; Preserve keeps all.
        auto instance = model::encodeGatewayConfig(before)["pools"][0]["instances"][0];
        instance["wieght"] = 3;
        ConfigOperation put;
        put.kind = ConfigOperation::Kind::PutInstance;
        put.pool = "backend";
        put.name = "a";
        put.value = instance;
        d = {};
        applyOperations(before, {put}, d);
        QVERIFY2(hasError(d, "/operations/0/params/instance/wieght", "weight"), qPrintable(dump(d)));
        d = {};
        after = applyOperations(before, {put}, d, model::UnknownKeys::Preserve);
        QVERIFY2(d.empty(), qPrintable(dump(d)));
        QCOMPARE(after.pools[0].instances[0].extra["wieght"].get<int>(), 3);
        instance.erase("wieght");
        instance["x-rack"] = "r7";
        put.value = instance;
        d = {};
        after = applyOperations(before, {put}, d);
        QVERIFY2(d.empty(), qPrintable(dump(d)));
        QCOMPARE(after.pools[0].instances[0].extra["x-rack"].get<std::string>(), std::string("r7"));

        // A new route goes where it is asked to (match order matters).
        ConfigOperation route;
        route.kind = ConfigOperation::Kind::PutRoute;
        route.name = "first";
        route.value = {{"name", "first"}, {"match", {{"path_prefix", "/api/v2"}}}, {"pool", "backend"}};
        route.index = 0;
        d = {};
        after = applyOperations(before, {route}, d);
        QVERIFY2(d.empty(), qPrintable(dump(d)));
        QCOMPARE(after.routes.size(), std::size_t(2));
        QCOMPARE(after.routes[0].name, std::string("first"));
    }
};

QTEST_APPLESS_MAIN(TestProtocol)
#include "tst_protocol.moc"
