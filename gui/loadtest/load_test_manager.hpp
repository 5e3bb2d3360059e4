#pragma once

#include "gui/loadtest/load_runner.hpp"
#include "gui/loadtest/session_store.hpp"

#include <QObject>
#include <QPointer>
#include <QTimer>

#include <functional>
#include <optional>

namespace gaetwae::model {
struct GatewayConfig;
}

namespace gaetwae::console {

class EngineSession;

// What to capture from an engine's live traffic into a stored schedule.
struct CaptureRequest {
    std::string name; // for the schedule list; default "<route> <time>"
    std::string route;
    std::int64_t durationMs = 30'000;
    double sample = 1.0;
    std::vector<std::string> headers; // kept header names (credentials are refused by the engine)
};

// Load-test sessions: runs a plan through gaetwae-load and records the run as it goes (the
// generator's seconds, the engine's frames and events over the same time, the plan and the
// engine's configuration at the start) in the SessionStore. Also the three replays' engine
// half: re-running a stored plan against today's gateway with the old run as baseline, and
// re-sending a captured schedule; and the capture that produces such schedules.
class LoadTestManager : public QObject {
    Q_OBJECT

public:
    struct StartOptions {
        std::optional<std::int64_t> baselineRun;
        std::optional<std::int64_t> scheduleId;
        std::string notes;
    };

    explicit LoadTestManager(SessionStore& store, QObject* parent = nullptr);

    SessionStore& store() { return m_store; }
    LoadRunner& runner() { return m_runner; }

    // Checks the plan (values, files, gaetwae-load, target reachable) before anything runs and
    // before anything is stored; then stores the run and starts it. `engine` may be null: the
    // run then has no gateway view.
    std::optional<std::int64_t> start(const loadtest::LoadTestPlan& plan, EngineSession* engine,
                                      const StartOptions& options, QString* error);
    // Replay (2): the stored run's plan again, today, with that run as the baseline.
    std::optional<std::int64_t> rerun(std::int64_t run, EngineSession* engine, QString* error);
    // Replay (3): a captured schedule re-sent to `target` at its timing divided by `speed`.
    std::optional<std::int64_t> replaySchedule(std::int64_t schedule, const std::string& target, double speed,
                                               unsigned connections, EngineSession* engine, QString* error);
    void stop(); // the run ends as interrupted; everything measured is kept
    bool running() const { return m_current != 0; }
    std::int64_t currentRun() const { return m_current; }

    // Captures live traffic through the engine's admin API, then stores it as a schedule.
    // `done` gets the schedule id, or 0 and the reason.
    void capture(EngineSession* engine, const CaptureRequest& request,
                 std::function<void(std::int64_t schedule, const QString& error)> done);

    // http://<first listener, 0.0.0.0 as 127.0.0.1><route's path prefix>
    static std::string suggestTarget(const model::GatewayConfig& config, const std::string& route);

signals:
    void runStarted(std::int64_t run);
    void secondAdded(std::int64_t run, const gaetwae::loadtest::IntervalStats& second);
    void frameRecorded(std::int64_t run, const gaetwae::protocol::StatsFrame& frame);
    void eventRecorded(std::int64_t run, const gaetwae::protocol::EventRecord& event);
    void runFinished(std::int64_t run, gaetwae::console::RunStatus status, const QString& error);
    void schedulesChanged();
    void captureProgress(quint64 captured);

private:
    void onFinished(RunStatus status, const std::optional<loadtest::IntervalStats>& total, const QString& error);
    void watchEngine(EngineSession* engine);
    std::string exportSchedule(std::int64_t schedule, QString* error); // "" with the reason

    SessionStore& m_store;
    LoadRunner m_runner;
    std::int64_t m_current = 0;
    std::int64_t m_startedAtMs = 0;
    std::int64_t m_lastSecondMs = 0;
    QPointer<EngineSession> m_engine;
    QMetaObject::Connection m_frameConnection;
    QMetaObject::Connection m_eventConnection;
    QTimer m_tail; // keeps recording engine frames briefly after the run: they lag by a second
};

} // namespace gaetwae::console
