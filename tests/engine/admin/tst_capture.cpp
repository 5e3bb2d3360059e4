// Live traffic capture through the admin API (capture.*), against a real engine and a fake
// backend over real sockets: exactly the requests of the captured route, only the kept headers,
// body sizes for both framings, offsets consistent with the client's own clock, exact sampling
// and caps under concurrent workers, refusals, captures that end by themselves, paging, and
// `gaetwaed ctl capture` writing a schedule file.
#include "shared/loadtest/schedule.hpp"
#include "shared/protocol/admin_messages.hpp"
#include "tests/support/engine_process.hpp"
#include "tests/support/fake_backend.hpp"
#include "tests/support/load.hpp"
#include "tests/support/test_client.hpp"
#include "tests/support/test_gateway.hpp"
#include "tests/support/ws_admin_client.hpp"

#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <chrono>
#include <fstream>
#include <set>
#include <string>
#include <vector>

using namespace gaetwae;
using namespace gaetwae::test;
namespace rpc = protocol::rpc;
using Steady = std::chrono::steady_clock;

namespace {

std::string gatewayYaml(const FakeBackend& backend) {
    return "listeners: [{address: \"127.0.0.1:0\"}]\naccess_log: {enabled: false}\n"
           "routes:\n"
           "  - {name: api, match: {path_prefix: /api}, pool: p}\n"
           "  - {name: other, match: {path_prefix: /other}, pool: p}\n"
           "pools:\n  - name: p\n    instances:\n      - {id: b, address: \"" +
           backend.address() + "\"}\n";
}

// Decodes a result with the shared codec and encodes it again: the engine's JSON must survive.
template <class T> bool roundTrips(const nlohmann::json& json, T& value, std::string& why) {
    model::Diagnostics diagnostics;
    if (!protocol::fromJson(json, value, diagnostics)) {
        why = diagnostics.empty() ? "?"
                                  : diagnostics.items()[0].pointer + ": " + diagnostics.items()[0].message;
        return false;
    }
    if (protocol::toJson(value) != json) {
        why = "re-encoded differently:\n" + protocol::toJson(value).dump() + "\nvs\n" + json.dump();
        return false;
    }
    return true;
}

// The error of a call expected to fail, or nullopt (with a warning) when it did not.
std::optional<protocol::RpcError> callError(WsAdminClient& admin, const std::string& method,
                                            const nlohmann::json& params, int code) {
    const auto response = admin.call(method, params);
    if (!response || !response->error || response->error->code != code) {
        qWarning("%s %s: expected error %d, got %s", method.c_str(), params.dump().c_str(), code,
                 !response ? admin.error().c_str()
                 : response->error
                     ? (std::to_string(response->error->code) + " " + response->error->message).c_str()
                     : response->result->dump().c_str());
        return std::nullopt;
    }
    return response->error;
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

// Waits (processing events) until `duration` has passed: spacing between requests, so offsets
// have something to show. Nothing waits on an effect this way.
bool letTimePass(std::chrono::milliseconds duration) {
    const auto until = Steady::now() + duration;
    return QTest::qWaitFor([&] { return Steady::now() >= until; }, static_cast<int>(duration.count()) + 5000);
}

std::int64_t micros(Steady::duration d) {
    return std::chrono::duration_cast<std::chrono::microseconds>(d).count();
}

// Every entry of a capture, paged with `limit`, checking each page against the codec and that
// `complete` comes only with the last page. Fails the calling test on any problem.
std::vector<loadtest::ScheduleEntry> allEntries(WsAdminClient& admin, std::uint64_t id, int limit,
                                                int* pages = nullptr) {
    std::vector<loadtest::ScheduleEntry> entries;
    std::uint64_t after = 0;
    for (int page = 1; page <= 10'000; ++page) {
        auto json = admin.result("capture.get", {{"captureId", id}, {"after", after}, {"limit", limit}});
        protocol::CaptureGetResult result;
        std::string why;
        if (json.is_null() || !roundTrips(json, result, why)) {
            qWarning("capture.get: %s", json.is_null() ? admin.error().c_str() : why.c_str());
            return {};
        }
        if (result.next != after + result.entries.size() ||
            result.entries.size() > static_cast<std::size_t>(limit)) {
            qWarning("capture.get after %llu: %zu entries, next %llu", static_cast<unsigned long long>(after),
                     result.entries.size(), static_cast<unsigned long long>(result.next));
            return {};
        }
        entries.insert(entries.end(), result.entries.begin(), result.entries.end());
        after = result.next;
        if (result.complete) {
            if (pages != nullptr) {
                *pages = page;
            }
            return entries;
        }
        if (result.entries.empty()) {
            qWarning("capture.get: an empty page of a capture that is not complete (state %s)",
                     result.state.c_str());
            return {};
        }
    }
    return {};
}

protocol::CaptureStatus statusOf(WsAdminClient& admin, std::uint64_t id) {
    protocol::CaptureStatus status;
    std::string why;
    auto json = admin.result("capture.status", {{"captureId", id}});
    if (json.is_null() || !roundTrips(json, status, why)) {
        qWarning("capture.status: %s", json.is_null() ? admin.error().c_str() : why.c_str());
    }
    return status;
}

std::uint64_t startCapture(WsAdminClient& admin, const nlohmann::json& params) {
    auto json = admin.result("capture.start", params);
    protocol::CaptureStartResult started;
    std::string why;
    if (json.is_null() || !roundTrips(json, started, why)) {
        qWarning("capture.start: %s", json.is_null() ? admin.error().c_str() : why.c_str());
        return 0;
    }
    return started.captureId;
}

} // namespace

class TestCapture : public QObject {
    Q_OBJECT

private slots:
    void recordsExactlyTheRequestsOfItsRoute() {
        FakeBackend backend("b");
        TestGateway gateway(gatewayYaml(backend));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        WsAdminClient admin;
        QVERIFY2(admin.connect(gateway.adminPort(), gateway.adminToken()), admin.error().c_str());
        auto hello = admin.result("hello");
        QVERIFY(std::find(hello["capabilities"].begin(), hello["capabilities"].end(), "capture") !=
                hello["capabilities"].end());

        const auto callStart = Steady::now();
        auto started = admin.result("capture.start", {{"route", "api"}, {"headers", {"Accept", "x-trace"}}});
        const auto callEnd = Steady::now();
        protocol::CaptureStartResult start;
        std::string why;
        QVERIFY2(roundTrips(started, start, why), why.c_str());
        QCOMPARE(start.route, std::string("api"));
        QCOMPARE(start.endsAtMs - start.startedAtMs, std::int64_t(60'000)); // the default duration

        // The requests, each with the client's send and answer times.
        TestClient client(gateway.port());
        std::vector<Steady::time_point> sent, answered;
        auto timed = [&](auto&& send) {
            sent.push_back(Steady::now());
            const auto response = send();
            answered.push_back(Steady::now());
            return response;
        };
        auto response = timed([&] {
            return client.request("GET", "/api/items?x=1&y=two",
                                  {{"Accept", "text/plain"},
                                   {"X-Trace", "t1"},
                                   {"X-Other", "no"},
                                   {"Authorization", "Bearer secret"}});
        });
        QVERIFY2(response && response->status == 200, client.error().c_str());
        QVERIFY(letTimePass(30ms));
        response = timed([&] {
            return client.request("POST", "/api/orders", {{"Accept", "application/json"}}, "hello");
        });
        QVERIFY2(response && response->status == 200, client.error().c_str());
        // Another route and no route at all: not captured (and not timed: they are not entries).
        QCOMPARE(client.request("GET", "/other/thing?x=1", {{"Accept", "text/plain"}})->status, 200);
        QCOMPARE(client.request("GET", "/nowhere")->status, 404);
        QVERIFY(letTimePass(30ms));
        const std::string chunk1(400, 'a'), chunk2(600, 'b');
        response = timed([&] {
            client.sendRaw(
                "POST /api/upload?part=1 HTTP/1.1\r\nHost: test.local\r\nTransfer-Encoding: chunked\r\n"
                "X-Trace: up\r\n\r\n190\r\n" +
                chunk1 + "\r\n258\r\n" + chunk2 + "\r\n0\r\n\r\n");
            return client.readResponse();
        });
        QVERIFY2(response && response->status == 200, client.error().c_str());
        QVERIFY(letTimePass(30ms));
        response = timed([&] {
            return client.request("PUT", "/api/items/7?z=3", {{"x-trace", "first"}, {"X-TRACE", "second"}},
                                  "0123456789");
        });
        QVERIFY2(response && response->status == 200, client.error().c_str());
        QVERIFY(backend.waitForRequests(5, 10s)); // all but the one without a route
        const auto upload = backend.received()[3];
        QCOMPARE(upload.target, std::string("/api/upload?part=1"));
        QCOMPARE(upload.bodyBytes, std::uint64_t(1000));

        auto stopped = admin.result("capture.stop", {{"captureId", start.captureId}});
        protocol::CaptureStatus status;
        QVERIFY2(roundTrips(stopped, status, why), why.c_str());
        QCOMPARE(status.state, std::string("stopped"));
        QCOMPARE(status.captured, std::uint64_t(4));
        QCOMPARE(status.skipped, std::uint64_t(0));
        QCOMPARE(status.dropped, std::uint64_t(0));
        QVERIFY(status.headers == (std::vector<std::string>{"accept", "x-trace"}));
        QVERIFY(status.endsAtMs >= status.startedAtMs && status.endsAtMs < start.endsAtMs);

        const auto entries = allEntries(admin, start.captureId, 1000);
        QCOMPARE(entries.size(), std::size_t(4));
        using Headers = std::vector<std::pair<std::string, std::string>>;
        QCOMPARE(entries[0].method, std::string("GET"));
        QCOMPARE(entries[0].target, std::string("/api/items?x=1&y=two"));
        QVERIFY(entries[0].headers == (Headers{{"accept", "text/plain"}, {"x-trace", "t1"}}));
        QCOMPARE(entries[0].bodyBytes, std::uint64_t(0));
        QCOMPARE(entries[1].method, std::string("POST"));
        QCOMPARE(entries[1].target, std::string("/api/orders"));
        QVERIFY(entries[1].headers == (Headers{{"accept", "application/json"}}));
        QCOMPARE(entries[1].bodyBytes, std::uint64_t(5));
        QCOMPARE(entries[2].method, std::string("POST"));
        QCOMPARE(entries[2].target, std::string("/api/upload?part=1"));
        QVERIFY(entries[2].headers == (Headers{{"x-trace", "up"}}));
        QCOMPARE(entries[2].bodyBytes, std::uint64_t(1000)); // chunked: the bytes forwarded
        QCOMPARE(entries[3].method, std::string("PUT"));
        QCOMPARE(entries[3].target, std::string("/api/items/7?z=3"));
        QVERIFY(entries[3].headers == (Headers{{"x-trace", "first"}})); // the first occurrence
        QCOMPARE(entries[3].bodyBytes, std::uint64_t(10));

        // Each arrival lies between the client's send and its answer; the capture started
        // between the call and its answer. Bounds only, from the same steady clock.
        for (std::size_t i = 0; i < entries.size(); ++i) {
            const auto offset = entries[i].offsetUs;
            QVERIFY2(offset >= micros(sent[i] - callEnd) && offset <= micros(answered[i] - callStart),
                     qPrintable(QString("entry %1 at %2 us").arg(i).arg(offset)));
            if (i > 0) {
                const auto spacing = offset - entries[i - 1].offsetUs;
                QVERIFY(spacing >= 0);
                QVERIFY2(
                    spacing >= micros(sent[i] - answered[i - 1]) && spacing >= 30'000 &&
                        spacing <= micros(answered[i] - sent[i - 1]) + 1, // +1: both offsets truncated
                    qPrintable(QString("entries %1 and %2 are %3 us apart").arg(i - 1).arg(i).arg(spacing)));
            }
        }

        // Start and end are on the event timeline.
        auto events = admin.result("events.recent");
        int captureEvents = 0;
        for (const auto& event : events["events"]) {
            if (event["kind"] == "capture" && event["data"]["captureId"] == start.captureId) {
                ++captureEvents;
                QVERIFY(event["to"] == "running" ||
                        (event["to"] == "stopped" && event["data"]["captured"] == 4));
            }
        }
        QCOMPARE(captureEvents, 2);
        // Stopping again changes nothing.
        QVERIFY(statusOf(admin, start.captureId) == status);
        QVERIFY(admin.result("capture.stop", {{"captureId", start.captureId}}) == stopped);
    }

    void samplingAndCapsAreExactUnderConcurrentWorkers() {
        FakeBackend backend("b");
        TestGateway gateway(gatewayYaml(backend), 2);
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        WsAdminClient admin;
        QVERIFY2(admin.connect(gateway.adminPort(), gateway.adminToken()), admin.error().c_str());

        const auto half = startCapture(admin, {{"route", "api"}, {"sample", 0.5}});
        const auto tenth = startCapture(admin, {{"route", "api"}, {"sample", 0.1}});
        const auto capped = startCapture(admin, {{"route", "api"}, {"maxRequests", 30}});
        const auto elsewhere = startCapture(admin, {{"route", "other"}});
        QVERIFY(half != 0 && tenth != 0 && capped != 0 && elsewhere != 0);

        KeepAliveLoad load(gateway.port(), KeepAliveLoad::Options{4, 60s, 50, "/api/load"});
        load.join();
        QCOMPARE(load.failures(), std::uint64_t(0));
        QCOMPARE(load.ok(), std::uint64_t(200));

        auto check = [&](std::uint64_t id, std::uint64_t captured, std::uint64_t skipped,
                         std::uint64_t dropped) {
            const auto status = statusOf(admin, id);
            if (status.state != "running" || status.captured != captured || status.skipped != skipped ||
                status.dropped != dropped) {
                qWarning("capture %llu: %s", static_cast<unsigned long long>(id),
                         protocol::toJson(status).dump().c_str());
                return false;
            }
            return true;
        };
        QVERIFY(check(half, 100, 100, 0));
        QVERIFY(check(tenth, 20, 180, 0));
        QVERIFY(check(capped, 30, 0, 170));
        QVERIFY(check(elsewhere, 0, 0, 0));

        protocol::CaptureListResult list;
        std::string why;
        QVERIFY2(roundTrips(admin.result("capture.list"), list, why), why.c_str());
        QCOMPARE(list.captures.size(), std::size_t(4));
        QCOMPARE(list.captures[0].captureId, half);

        for (const auto id : {half, tenth, capped, elsewhere}) {
            QCOMPARE(admin.result("capture.stop", {{"captureId", id}})["state"].get<std::string>(),
                     std::string("stopped"));
        }
        const auto entries = allEntries(admin, half, 1000);
        QCOMPARE(entries.size(), std::size_t(100));
        for (std::size_t i = 0; i < entries.size(); ++i) {
            QCOMPARE(entries[i].target, std::string("/api/load"));
            QVERIFY(entries[i].headers.empty()); // none asked for
            QVERIFY(i == 0 || entries[i].offsetUs >= entries[i - 1].offsetUs);
        }
        QCOMPARE(allEntries(admin, capped, 1000).size(), std::size_t(30));
        QCOMPARE(allEntries(admin, elsewhere, 1000).size(), std::size_t(0));
    }

    void badRequestsAreRefusedClearly() {
        FakeBackend backend("b");
        TestGateway gateway(gatewayYaml(backend));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        WsAdminClient admin;
        QVERIFY2(admin.connect(gateway.adminPort(), gateway.adminToken()), admin.error().c_str());

        for (const std::string header :
             {"Authorization", "proxy-authorization", "Cookie", "set-cookie", "X-Api-Key"}) {
            const auto error =
                callError(admin, "capture.start", {{"route", "api"}, {"headers", {"accept", header}}},
                          rpc::kInvalidParams);
            QVERIFY(error);
            QString lower = QString::fromStdString(header).toLower();
            QVERIFY2(contains(error->message, lower.toStdString()) &&
                         contains(error->message, "credentials are never captured"),
                     error->message.c_str());
            QCOMPARE(error->data["errors"][0]["path"].get<std::string>(), std::string("/headers/1"));
        }
        auto error = callError(admin, "capture.start", {{"route", "nope"}}, rpc::kInvalidParams);
        QVERIFY(error);
        QVERIFY2(contains(error->message, "route 'nope' does not exist"), error->message.c_str());
        QVERIFY(callError(admin, "capture.start", nlohmann::json::object(), rpc::kInvalidParams));
        error = callError(admin, "capture.start", {{"route", "api"}, {"duration", 5}}, rpc::kInvalidParams);
        QVERIFY(error);
        QVERIFY2(contains(error->message, "duration"), error->message.c_str());
        QVERIFY(
            callError(admin, "capture.start", {{"route", "api"}, {"durationMs", 0}}, rpc::kInvalidParams));
        QVERIFY(callError(admin, "capture.start", {{"route", "api"}, {"durationMs", 3'600'001}},
                          rpc::kInvalidParams));
        QVERIFY(callError(admin, "capture.start", {{"route", "api"}, {"sample", 0}}, rpc::kInvalidParams));
        QVERIFY(callError(admin, "capture.start", {{"route", "api"}, {"sample", 1.5}}, rpc::kInvalidParams));
        QVERIFY(
            callError(admin, "capture.start", {{"route", "api"}, {"maxRequests", 0}}, rpc::kInvalidParams));
        QVERIFY(callError(admin, "capture.start", {{"route", "api"}, {"headers", {"bad header"}}},
                          rpc::kInvalidParams));
        QVERIFY(callError(admin, "capture.list", {{"all", true}}, rpc::kInvalidParams));
        QVERIFY(callError(admin, "capture.status", nlohmann::json::object(), rpc::kInvalidParams));
        error = callError(admin, "capture.status", {{"captureId", 77}}, rpc::kNotFound);
        QVERIFY(error);
        QVERIFY2(contains(error->message, "no capture 77"), error->message.c_str());
        QVERIFY(callError(admin, "capture.stop", {{"captureId", 77}}, rpc::kNotFound));
        QVERIFY(callError(admin, "capture.get", {{"captureId", 77}}, rpc::kNotFound));
        QCOMPARE(admin.result("capture.list")["captures"].size(), std::size_t(0)); // nothing was started

        // At most four at once.
        std::vector<std::uint64_t> ids;
        for (int i = 0; i < 4; ++i) {
            ids.push_back(startCapture(admin, {{"route", i % 2 == 0 ? "api" : "other"}}));
            QVERIFY(ids.back() != 0);
        }
        QCOMPARE(std::set<std::uint64_t>(ids.begin(), ids.end()).size(), std::size_t(4));
        error = callError(admin, "capture.start", {{"route", "api"}}, rpc::kLimitReached);
        QVERIFY(error);
        QVERIFY2(contains(error->message, "4 captures are running"), error->message.c_str());
        QVERIFY(!admin.result("capture.stop", {{"captureId", ids[0]}}).is_null());
        QVERIFY(startCapture(admin, {{"route", "api"}}) > ids.back()); // ids are never reused
        QVERIFY(callError(admin, "capture.get", {{"captureId", ids[1]}, {"limit", 0}}, rpc::kInvalidParams));
        QVERIFY(
            callError(admin, "capture.get", {{"captureId", ids[1]}, {"limit", 10'001}}, rpc::kInvalidParams));
        QVERIFY(callError(admin, "capture.get", {{"captureId", ids[1]}, {"after", 1}}, rpc::kInvalidParams));
        QVERIFY(callError(admin, "capture.get", {{"captureId", ids[1]}, {"page", 1}}, rpc::kInvalidParams));
    }

    void aShortCaptureEndsByItself() {
        FakeBackend backend("b");
        TestGateway gateway(gatewayYaml(backend));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        WsAdminClient admin;
        QVERIFY2(admin.connect(gateway.adminPort(), gateway.adminToken()), admin.error().c_str());
        QVERIFY(!admin.result("subscribe", {{"topics", {"events"}}}).is_null());

        auto started = admin.result("capture.start", {{"route", "api"}, {"durationMs", 300}});
        QCOMPARE(started["endsAt"].get<std::int64_t>() - started["startedAt"].get<std::int64_t>(),
                 std::int64_t(300));
        const auto id = started["captureId"].get<std::uint64_t>();
        QCOMPARE(fetch(gateway.port(), "/api/early")->status, 200);
        // Nobody asks about it: its end comes from the engine alone.
        auto ended = admin.waitNotification(
            "event", [&](const nlohmann::json& e) { return e["kind"] == "capture" && e["to"] == "finished"; },
            10s);
        QVERIFY2(ended, admin.error().c_str());
        QCOMPARE(ended->params["data"]["captureId"].get<std::uint64_t>(), id);

        const auto status = statusOf(admin, id);
        QCOMPARE(status.state, std::string("finished"));
        QCOMPARE(status.endsAtMs, started["endsAt"].get<std::int64_t>());
        const auto captured = status.captured; // the early request, unless this machine was very slow
        QVERIFY(captured <= 1);
        for (int i = 0; i < 3; ++i) {
            QCOMPARE(fetch(gateway.port(), "/api/late")->status, 200);
        }
        QCOMPARE(statusOf(admin, id).captured, captured);
        const auto entries = allEntries(admin, id, 10);
        QCOMPARE(entries.size(), static_cast<std::size_t>(captured));
        if (!entries.empty()) {
            QCOMPARE(entries[0].target, std::string("/api/early"));
        }
        QCOMPARE(admin.result("capture.list")["captures"][0]["state"].get<std::string>(),
                 std::string("finished"));
        // A new capture can start once it ended, and it has a new id.
        QVERIFY(startCapture(admin, {{"route", "api"}}) > id);
    }

    void pagingReturnsEveryEntryOnce() {
        FakeBackend backend("b");
        TestGateway gateway(gatewayYaml(backend));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        WsAdminClient admin;
        QVERIFY2(admin.connect(gateway.adminPort(), gateway.adminToken()), admin.error().c_str());

        const auto id = startCapture(admin, {{"route", "api"}});
        QVERIFY(id != 0);
        TestClient client(gateway.port());
        constexpr int kCount = 57;
        for (int i = 0; i < kCount; ++i) {
            const auto response = client.get("/api/p/" + std::to_string(i));
            QVERIFY2(response && response->status == 200, client.error().c_str());
        }
        // While it runs, pages come but the capture is never complete.
        std::vector<std::string> targets;
        std::uint64_t after = 0;
        for (int page = 0; page < 6; ++page) {
            auto result = admin.result("capture.get", {{"captureId", id}, {"after", after}, {"limit", 10}});
            QCOMPARE(result["state"].get<std::string>(), std::string("running"));
            QVERIFY(!result["complete"].get<bool>());
            for (const auto& entry : result["entries"]) {
                targets.push_back(entry["target"].get<std::string>());
            }
            after = result["next"].get<std::uint64_t>();
        }
        QCOMPARE(after, std::uint64_t(kCount));
        auto tail = admin.result("capture.get", {{"captureId", id}, {"after", after}});
        QVERIFY(tail["entries"].empty() && !tail["complete"].get<bool>());
        QVERIFY(!admin.result("capture.stop", {{"captureId", id}}).is_null());
        auto last = admin.result("capture.get", {{"captureId", id}, {"after", after}});
        QVERIFY(last["entries"].empty() && last["complete"].get<bool>());
        QCOMPARE(last["next"].get<std::uint64_t>(), after);
        QVERIFY(
            callError(admin, "capture.get", {{"captureId", id}, {"after", kCount + 1}}, rpc::kInvalidParams));

        // Again from the start in pages of 7: 9 pages, every request once, in order.
        int pages = 0;
        const auto entries = allEntries(admin, id, 7, &pages);
        QCOMPARE(pages, 9);
        QCOMPARE(entries.size(), std::size_t(kCount));
        for (int i = 0; i < kCount; ++i) {
            QCOMPARE(entries[static_cast<std::size_t>(i)].target, "/api/p/" + std::to_string(i));
            QCOMPARE(targets[static_cast<std::size_t>(i)], "/api/p/" + std::to_string(i));
        }
    }

    void theLastEightEndedCapturesAreKept() {
        FakeBackend backend("b");
        TestGateway gateway(gatewayYaml(backend));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        WsAdminClient admin;
        QVERIFY2(admin.connect(gateway.adminPort(), gateway.adminToken()), admin.error().c_str());
        std::vector<std::uint64_t> ids;
        for (int i = 0; i < 9; ++i) {
            ids.push_back(startCapture(admin, {{"route", "api"}}));
            QVERIFY(!admin.result("capture.stop", {{"captureId", ids.back()}}).is_null());
        }
        QVERIFY(callError(admin, "capture.get", {{"captureId", ids[0]}}, rpc::kNotFound));
        for (std::size_t i = 1; i < ids.size(); ++i) {
            QCOMPARE(statusOf(admin, ids[i]).state, std::string("stopped"));
        }
        QCOMPARE(admin.result("capture.list")["captures"].size(), std::size_t(8));
    }

    void ctlWritesAScheduleFile() {
        FakeBackend backend("b");
        TestGateway gateway(gatewayYaml(backend));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        WsAdminClient admin;
        QVERIFY2(admin.connect(gateway.adminPort(), gateway.adminToken()), admin.error().c_str());
        QTemporaryDir dir;
        const auto tokenPath = dir.filePath("token").toStdString();
        std::ofstream(tokenPath) << gateway.adminToken() << '\n';
        const auto outPath = dir.filePath("capture.jsonl").toStdString();

        QProcess ctl;
        ctl.start(EngineProcess::binary(),
                  {"ctl", "--url", QString("ws://127.0.0.1:%1/admin").arg(gateway.adminPort()),
                   "--token-file", QString::fromStdString(tokenPath), "capture", "api", "--for", "1m",
                   "--sample", "0.5", "--header", "Accept", "--out", QString::fromStdString(outPath)});
        QVERIFY(ctl.waitForStarted(10000));
        QTRY_VERIFY_WITH_TIMEOUT(admin.result("capture.list")["captures"].size() == 1, 10000);
        const auto id = admin.result("capture.list")["captures"][0]["captureId"].get<std::uint64_t>();
        TestClient client(gateway.port());
        for (int i = 0; i < 10; ++i) {
            const auto response =
                client.request("GET", "/api/c/" + std::to_string(i), {{"Accept", "a/" + std::to_string(i)}});
            QVERIFY2(response && response->status == 200, client.error().c_str());
        }
        QVERIFY(!admin.result("capture.stop", {{"captureId", id}}).is_null());
        QTRY_VERIFY_WITH_TIMEOUT(ctl.state() == QProcess::NotRunning, 20000);
        const auto output = ctl.readAllStandardError();
        QVERIFY2(ctl.exitStatus() == QProcess::NormalExit && ctl.exitCode() == 0, output.constData());
        QVERIFY2(output.contains("5 request(s) captured"), output.constData());

        std::ifstream file(outPath);
        std::vector<loadtest::ScheduleEntry> entries;
        std::string error;
        QVERIFY2(loadtest::readSchedule(file, entries, error), error.c_str());
        QCOMPARE(entries.size(), std::size_t(5));
        for (std::size_t i = 0; i < entries.size(); ++i) {
            const int n = static_cast<int>(2 * i + 1); // every second request, from the second on
            QCOMPARE(entries[i].target, "/api/c/" + std::to_string(n));
            QVERIFY(entries[i].headers ==
                    (std::vector<std::pair<std::string, std::string>>{{"accept", "a/" + std::to_string(n)}}));
        }

        // A refused capture is an exit status 1 with the engine's reason.
        QProcess refused;
        refused.start(EngineProcess::binary(),
                      {"ctl", "--url", QString("ws://127.0.0.1:%1/admin").arg(gateway.adminPort()),
                       "--token-file", QString::fromStdString(tokenPath), "capture", "api", "--header",
                       "Cookie"});
        QVERIFY(refused.waitForFinished(20000));
        QCOMPARE(refused.exitCode(), 1);
        QVERIFY(refused.readAllStandardError().contains("credentials are never captured"));
        QProcess usage;
        usage.start(EngineProcess::binary(), {"ctl", "capture", "api", "--for", "forever"});
        QVERIFY(usage.waitForFinished(20000));
        QCOMPARE(usage.exitCode(), 2);
    }
};

QTEST_GUILESS_MAIN(TestCapture)
#include "tst_capture.moc"
