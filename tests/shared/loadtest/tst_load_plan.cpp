// The load-test plan and captured-schedule formats shared by the console and gaetwae-load:
// round trips are exact, and every bad plan is refused with the field and the reason.
#include "shared/loadtest/plan.hpp"
#include "shared/loadtest/schedule.hpp"

#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <fstream>
#include <sstream>

using namespace gaetwae;
using namespace gaetwae::loadtest;

namespace {

// JSON written with single quotes (readable in C++ strings; raw string literals confuse moc).
nlohmann::json json(std::string text) {
    std::replace(text.begin(), text.end(), '\'', '"');
    return nlohmann::json::parse(text);
}

nlohmann::json validPlan() {
    return json("{"
                "'name': 'orders at 200/s', 'target': 'http://127.0.0.1:8080/api/orders', 'route': 'orders',"
                "'model': 'open', 'connections': 16, 'threads': 2, 'schedule': '10s@100,30s@100-1000',"
                "'timeout': '5s',"
                "'requests': [{'method': 'GET', 'path': '/api/orders', 'weight': 3,"
                "  'headers': {'accept': 'application/json'}},"
                " {'method': 'POST', 'path': '/api/orders', 'weight': 1}],"
                "'slo': {'p99Ms': 50, 'maxErrorRate': 0.01}}");
}

} // namespace

class TestLoadPlan : public QObject {
    Q_OBJECT

private slots:
    void aPlanRoundTripsExactly() {
        model::Diagnostics d;
        LoadTestPlan plan;
        QVERIFY2(fromJson(validPlan(), plan, d), describe(d).c_str());
        QCOMPARE(plan.model, LoadTestPlan::Model::Open);
        QCOMPARE(plan.schedule.size(), std::size_t(2));
        QCOMPARE(plan.schedule[1].toRps, 1000.0);
        QCOMPARE(plan.length(), model::Duration(40'000));
        QCOMPARE(plan.rateAt(model::Duration(25'000)), 550.0); // half way up the ramp
        QCOMPARE(*plan.slo.p99Ms, 50.0);
        QVERIFY(!plan.slo.p50Ms);
        LoadTestPlan again;
        QVERIFY(fromJson(toJson(plan), again, d));
        QVERIFY(again == plan);
        // The canonical form is stable: equal plans hash equal.
        QCOMPARE(toJson(again).dump(), toJson(plan).dump());
    }

    void badPlansAreRefusedWithFieldAndReason_data() {
        QTest::addColumn<QString>("patch"); // JSON merge patch, single-quoted
        QTest::addColumn<QString>("expected");
        QTest::newRow("negative rate") << QString("{'schedule': '10s@-50'}") << "schedule: '10s@-50': a rate cannot be negative";
        QTest::newRow("negative ramp") << QString("{'schedule': '10s@100--50'}") << "a rate cannot be negative";
        QTest::newRow("zero everywhere") << QString("{'schedule': '10s@0'}") << "nothing would be sent";
        QTest::newRow("no duration") << QString("{'schedule': '@100'}") << "the duration must be positive";
        QTest::newRow("open without schedule") << QString("{'schedule': null}") << "the open model needs a schedule";
        QTest::newRow("bad url") << QString("{'target': 'ftp://x'}") << "target: expected http://HOST:PORT/PATH";
        QTest::newRow("bad port") << QString("{'target': 'http://127.0.0.1:99999/'}") << "target: expected http://";
        QTest::newRow("zero connections") << QString("{'connections': 0}") << "connections:";
        QTest::newRow("unknown model") << QString("{'model': 'burst'}") << "model: unknown value 'burst'";
        QTest::newRow("replay without file") << QString("{'model': 'replay'}") << "replayFile: the replay model needs";
        QTest::newRow("negative speed") << QString("{'speed': -2}") << "speed: must be between";
        QTest::newRow("bad method") << QString("{'requests': [{'method': 'GE T'}]}") << "requests[0].method: not an HTTP method";
        QTest::newRow("relative path") << QString("{'requests': [{'path': 'api'}]}") << "requests[0].path: expected a path";
        QTest::newRow("zero weight") << QString("{'requests': [{'weight': 0}]}") << "requests[0].weight";
        QTest::newRow("negative slo") << QString("{'slo': {'p99Ms': -1}}") << "slo.p99Ms: must be between";
        QTest::newRow("typo") << QString("{'conections': 5}") << "unknown";
    }

    void badPlansAreRefusedWithFieldAndReason() {
        QFETCH(QString, patch);
        QFETCH(QString, expected);
        auto document = validPlan();
        document.merge_patch(json(patch.toStdString()));
        model::Diagnostics d;
        LoadTestPlan plan;
        QVERIFY(!fromJson(document, plan, d));
        const auto text = describe(d);
        QVERIFY2(text.find(expected.toStdString()) != std::string::npos, text.c_str());
    }

    void missingFilesAreFoundBeforeRunning() {
        QTemporaryDir dir;
        const auto body = dir.filePath("body.json").toStdString();
        std::ofstream(body) << "{\"item\": 1}";
        auto document = validPlan();
        document["requests"][1]["bodyFile"] = body;
        model::Diagnostics d;
        LoadTestPlan plan;
        QVERIFY(fromJson(document, plan, d));
        QVERIFY(checkFiles(plan, d));
        plan.requests[0].bodyFile = dir.filePath("gone.json").toStdString();
        QVERIFY(!checkFiles(plan, d));
        QVERIFY2(describe(d).find("requests[0].bodyFile: cannot read '" + plan.requests[0].bodyFile + "'") !=
                     std::string::npos,
                 describe(d).c_str());
    }

    void schedulesRoundTripThroughJsonLines() {
        std::vector<ScheduleEntry> entries = {
            {0, "GET", "/a?x=1", {{"accept", "application/json"}}, 0},
            {1500, "POST", "/b", {}, 312},
        };
        std::stringstream file;
        writeSchedule(file, entries);
        std::vector<ScheduleEntry> read;
        std::string error;
        QVERIFY2(readSchedule(file, read, error), error.c_str());
        QVERIFY(read == entries);
    }

    void badScheduleLinesNameTheLine() {
        std::stringstream file("{\"offsetUs\": 0, \"method\": \"GET\", \"target\": \"/a\"}\n"
                               "{\"offsetUs\": 10, \"method\": \"GET\", \"target\": \"no-slash\"}\n");
        std::vector<ScheduleEntry> read;
        std::string error;
        QVERIFY(!readSchedule(file, read, error));
        QVERIFY2(error.find("line 2: target: expected an origin-form target") != std::string::npos, error.c_str());
        std::stringstream garbage("{\"offsetUs\": 0, \"method\": \"GET\", \"target\": \"/\"}\nnot json\n");
        QVERIFY(!readSchedule(garbage, read, error));
        QCOMPARE(error, std::string("line 2: not a JSON object"));
    }
};

QTEST_GUILESS_MAIN(TestLoadPlan)
#include "tst_load_plan.moc"
