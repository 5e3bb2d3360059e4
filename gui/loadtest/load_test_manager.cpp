#include "gui/loadtest/load_test_manager.hpp"

#include "gui/client/engine_session.hpp"
#include "shared/model/config.hpp"
#include "shared/model/config_codec.hpp"

#include <QDateTime>
#include <QFileInfo>

namespace gaetwae::console {

LoadTestManager::LoadTestManager(SessionStore& store, QObject* parent)
    : QObject(parent), m_store(store) {
    connect(&m_runner, &LoadRunner::secondReceived, this, [this](const loadtest::IntervalStats& second) {
        if (m_current == 0) {
            return;
        }
        m_store.appendSecond(m_current, second);
        m_lastSecondMs = std::max(m_lastSecondMs, second.timeMs);
        auto relative = second;
        relative.offsetMs = second.timeMs - m_startedAtMs;
        emit secondAdded(m_current, relative);
    });
    connect(&m_runner, &LoadRunner::finished, this, &LoadTestManager::onFinished);
    m_tail.setSingleShot(true);
    m_tail.setInterval(1500);
    connect(&m_tail, &QTimer::timeout, this, [this] { watchEngine(nullptr); });
}

std::string LoadTestManager::suggestTarget(const model::GatewayConfig& config, const std::string& route) {
    std::string address = config.listeners.empty() ? "127.0.0.1:8080" : config.listeners.front().address;
    if (address.rfind("0.0.0.0:", 0) == 0) {
        address = "127.0.0.1" + address.substr(7);
    } else if (address.rfind("[::]:", 0) == 0) {
        address = "127.0.0.1" + address.substr(4);
    }
    std::string path = "/";
    for (const auto& r : config.routes) {
        if (r.name == route) {
            path = r.match.pathPrefix;
        }
    }
    return "http://" + address + path;
}

void LoadTestManager::watchEngine(EngineSession* engine) {
    disconnect(m_frameConnection);
    disconnect(m_eventConnection);
    m_engine = engine;
    if (engine == nullptr) {
        return;
    }
    const auto run = m_current;
    m_frameConnection = connect(engine, &EngineSession::frameAdded, this,
                                [this, run](const protocol::StatsFrame& frame, bool) {
                                    if (frame.timeMs >= m_startedAtMs - 1000) {
                                        m_store.appendFrame(run, frame);
                                        emit frameRecorded(run, frame);
                                    }
                                });
    m_eventConnection = connect(engine, &EngineSession::eventAdded, this,
                                [this, run](const protocol::EventRecord& event, bool) {
                                    if (event.timeMs >= m_startedAtMs - 1000) {
                                        m_store.appendEvent(run, event);
                                        emit eventRecorded(run, event);
                                    }
                                });
}

std::optional<std::int64_t> LoadTestManager::start(const loadtest::LoadTestPlan& plan, EngineSession* engine,
                                                   const StartOptions& options, QString* error) {
    if (running()) {
        if (error != nullptr) {
            *error = tr("a run is in progress");
        }
        return std::nullopt;
    }
    if (const auto problem = m_runner.check(plan); !problem.isEmpty()) {
        if (error != nullptr) {
            *error = problem;
        }
        return std::nullopt;
    }
    m_tail.stop();
    RunRecord record;
    record.plan = plan;
    record.engine = engine != nullptr ? engine->name().toStdString() : std::string();
    if (engine != nullptr && engine->config()) {
        record.configVersion = engine->configVersion();
        record.configSnapshot = model::encodeGatewayConfig(*engine->config()).dump();
    }
    record.startedAtMs = QDateTime::currentMSecsSinceEpoch();
    record.baselineRun = options.baselineRun;
    record.scheduleId = options.scheduleId;
    record.notes = options.notes;
    if (!m_store.beginRun(record)) {
        if (error != nullptr) {
            *error = QString::fromStdString(m_store.lastError());
        }
        return std::nullopt;
    }
    m_current = record.id;
    m_startedAtMs = record.startedAtMs;
    m_lastSecondMs = record.startedAtMs;
    watchEngine(engine);
    QString problem;
    if (!m_runner.start(plan, &problem)) {
        m_store.finishRun(record.id, RunStatus::Failed, QDateTime::currentMSecsSinceEpoch(), std::nullopt,
                          problem.toStdString());
        watchEngine(nullptr);
        m_current = 0;
        if (error != nullptr) {
            *error = problem;
        }
        return std::nullopt;
    }
    emit runStarted(record.id);
    return record.id;
}

std::string LoadTestManager::exportSchedule(std::int64_t schedule, QString* error) {
    // Beside the sessions file: <dir>/schedules/schedule-<id>.jsonl, rewritten for every run.
    const auto directory = QFileInfo(QString::fromStdString(m_store.path())).absolutePath() + QStringLiteral("/schedules");
    auto file = m_store.exportSchedule(schedule, directory.toStdString());
    if (file.empty() && error != nullptr) {
        *error = QString::fromStdString(m_store.lastError());
    }
    return file;
}

std::optional<std::int64_t> LoadTestManager::rerun(std::int64_t run, EngineSession* engine, QString* error) {
    const auto record = m_store.run(run);
    if (!record) {
        if (error != nullptr) {
            *error = tr("run %1 does not exist").arg(run);
        }
        return std::nullopt;
    }
    auto plan = record->plan;
    if (record->scheduleId) {
        // A replay's schedule file is exported again: the plan names where it was, and the
        // stored schedule (not the file) is what the run re-sent.
        plan.replayFile = exportSchedule(*record->scheduleId, error);
        if (plan.replayFile.empty()) {
            return std::nullopt;
        }
    }
    StartOptions options;
    options.baselineRun = run;
    options.scheduleId = record->scheduleId;
    options.notes = "re-run of #" + std::to_string(run);
    return start(plan, engine, options, error);
}

std::optional<std::int64_t> LoadTestManager::replaySchedule(std::int64_t schedule, const std::string& target,
                                                            double speed, unsigned connections, EngineSession* engine,
                                                            QString* error) {
    const auto file = exportSchedule(schedule, error);
    if (file.empty()) {
        return std::nullopt;
    }
    std::string name = "schedule #" + std::to_string(schedule);
    for (const auto& s : m_store.schedules()) {
        if (s.id == schedule) {
            name = s.name;
        }
    }
    loadtest::LoadTestPlan plan;
    plan.name = "replay of " + name + (speed != 1.0 ? " x" + QString::number(speed).toStdString() : std::string());
    plan.target = target;
    plan.model = loadtest::LoadTestPlan::Model::Replay;
    plan.replayFile = file;
    plan.speed = speed;
    plan.connections = connections;
    StartOptions options;
    options.scheduleId = schedule;
    return start(plan, engine, options, error);
}

void LoadTestManager::stop() {
    m_runner.stop();
}

void LoadTestManager::onFinished(RunStatus status, const std::optional<loadtest::IntervalStats>& total,
                                 const QString& error) {
    const auto run = m_current;
    if (run == 0) {
        return;
    }
    const std::int64_t ended = status == RunStatus::Interrupted ? m_lastSecondMs : QDateTime::currentMSecsSinceEpoch();
    m_store.finishRun(run, status, std::max(ended, m_startedAtMs), total, error.toStdString());
    m_current = 0;
    m_tail.start(); // the engine's frame of the last second arrives about a second later
    emit runFinished(run, status, error);
}

void LoadTestManager::capture(EngineSession* engine, const CaptureRequest& request,
                              std::function<void(std::int64_t, const QString&)> done) {
    if (engine == nullptr) {
        done(0, tr("no engine"));
        return;
    }
    protocol::CaptureStartParams params;
    params.route = request.route;
    params.durationMs = request.durationMs;
    params.sample = request.sample;
    params.headers = request.headers;
    QPointer<EngineSession> session(engine);
    engine->client().call(protocol::method::kCaptureStart, protocol::toJson(params), [=, this](const RpcOutcome& started) {
        if (!started.ok()) {
            done(0, QString::fromStdString(started.error->message));
            return;
        }
        model::Diagnostics diagnostics;
        protocol::CaptureStartResult result;
        if (!protocol::fromJson(started.result, result, diagnostics)) {
            done(0, tr("unexpected answer to capture.start"));
            return;
        }
        // Pages through capture.get until the capture is over and every entry is in.
        struct Progress {
            std::vector<loadtest::ScheduleEntry> entries;
            std::uint64_t next = 0;
        };
        auto progress = std::make_shared<Progress>();
        auto poll = std::make_shared<std::function<void()>>();
        // Every way out goes through `end`, which also breaks poll's reference to itself (later:
        // never while the function runs).
        const auto end = [poll, done](std::int64_t id, const QString& error) {
            done(id, error);
            QTimer::singleShot(0, [poll] { *poll = nullptr; });
        };
        *poll = [=, this]() {
            if (!session) {
                end(0, tr("the engine went away during the capture"));
                return;
            }
            protocol::CaptureGetParams get;
            get.captureId = result.captureId;
            get.after = progress->next;
            get.limit = 10'000;
            session->client().call(protocol::method::kCaptureGet, protocol::toJson(get), [=, this](const RpcOutcome& page) {
                if (!page.ok()) {
                    end(0, QString::fromStdString(page.error->message));
                    return;
                }
                model::Diagnostics d;
                protocol::CaptureGetResult chunk;
                if (!protocol::fromJson(page.result, chunk, d)) {
                    end(0, tr("unexpected answer to capture.get"));
                    return;
                }
                progress->entries.insert(progress->entries.end(), chunk.entries.begin(), chunk.entries.end());
                progress->next = chunk.next;
                emit captureProgress(progress->entries.size());
                if (!chunk.complete) {
                    // More is on its way: ask again at once when a page was full, else shortly.
                    QTimer::singleShot(chunk.entries.size() >= 10'000 ? 0 : 250, this, [poll] { (*poll)(); });
                    return;
                }
                StoredSchedule schedule;
                schedule.name = request.name.empty()
                                    ? request.route + " " +
                                          QDateTime::fromMSecsSinceEpoch(result.startedAtMs).toString(QStringLiteral("yyyy-MM-dd hh:mm")).toStdString()
                                    : request.name;
                schedule.engine = session->name().toStdString();
                schedule.route = request.route;
                schedule.createdAtMs = result.startedAtMs;
                schedule.sample = request.sample;
                schedule.headers = request.headers;
                const auto id = m_store.saveSchedule(schedule, progress->entries);
                if (id == 0) {
                    end(0, QString::fromStdString(m_store.lastError()));
                    return;
                }
                emit schedulesChanged();
                end(id, QString());
            });
        };
        QTimer::singleShot(std::min<std::int64_t>(request.durationMs, 250), this, [poll] { (*poll)(); });
    });
}

} // namespace gaetwae::console
