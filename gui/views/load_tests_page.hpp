#pragma once

#include "gui/loadtest/load_test_manager.hpp"
#include "shared/loadtest/run_compare.hpp"

#include <QPointer>
#include <QWidget>

#include <optional>

class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;
class QTableWidget;
class QTextBrowser;

namespace gaetwae::console {

class ConsoleController;
class EngineSession;
class RunView;

// Load tests: define a plan (target route, model, rate profile, connections, duration, request
// mix, SLO thresholds) and run it through gaetwae-load with live charts; every run is stored
// (SessionStore). Stored runs replay three ways: Open plays its timeline back with the
// scrubber; Re-run runs its plan again against today's gateway with the old run as a ghost;
// a captured schedule (Capture... records live traffic of a route) is re-sent at its timing
// or N times faster. Compare judges two runs (deltas above noise, throughput, errors, knee,
// SLO) and exports the comparison as HTML or JSON.
class LoadTestsPage : public QWidget {
    Q_OBJECT

public:
    LoadTestsPage(ConsoleController& controller, LoadTestManager* manager, QWidget* parent = nullptr);

    void setEngine(const QString& name);
    void setPlan(const loadtest::LoadTestPlan& plan);
    // The plan as the form says it; nullopt with the field and reason when a field cannot be read.
    std::optional<loadtest::LoadTestPlan> plan(QString* error = nullptr) const;
    void reload(); // the runs and schedules lists

    // The actions behind the buttons (public for tests). False with the reason shown and returned.
    bool run(QString* error = nullptr);
    void stop();
    bool openRun(std::int64_t run);                                   // replay (1)
    bool rerun(std::int64_t run, QString* error = nullptr);           // replay (2)
    bool replaySchedule(std::int64_t schedule, double speed, QString* error = nullptr); // replay (3)
    void capture(const CaptureRequest& request, std::function<void(std::int64_t, const QString&)> done);
    std::optional<loadtest::Comparison> compare(std::int64_t base, std::int64_t candidate, QString* error = nullptr);
    bool exportReport(const QString& path, QString* error = nullptr); // .html or .json, the last comparison

    RunView* runView() const { return m_view; }
    QTableWidget* runsTable() const { return m_runs; }
    QTableWidget* schedulesTable() const { return m_schedules; }
    QString message() const;
    std::int64_t shownRun() const { return m_shownRun; }

signals:
    void runFinished(std::int64_t run, gaetwae::console::RunStatus status);

private:
    QWidget* buildPlanForm();
    QWidget* buildLists();
    void routesChanged();
    void say(const QString& text, bool error = false);
    std::vector<std::int64_t> selectedRuns() const;
    std::optional<std::int64_t> selectedSchedule() const;
    EngineSession* engine() const;
    loadtest::RunInput inputOf(const RunData& data) const;
    std::optional<RunData> baselineOf(const RunRecord& run) const;
    void captureDialog();
    void compareSelected();
    void exportDialog();
    void editNotes();

    ConsoleController& m_controller;
    QPointer<LoadTestManager> m_manager;
    QString m_engine;
    std::int64_t m_shownRun = 0;
    std::optional<loadtest::Comparison> m_comparison;
    std::optional<loadtest::RunInput> m_compareBase;
    std::optional<loadtest::RunInput> m_compareCandidate;

    QLineEdit* m_name = nullptr;
    QComboBox* m_route = nullptr;
    QLineEdit* m_target = nullptr;
    QComboBox* m_model = nullptr;
    QSpinBox* m_connections = nullptr;
    QSpinBox* m_threads = nullptr;
    QLineEdit* m_duration = nullptr;
    QLineEdit* m_schedule = nullptr;
    QLineEdit* m_timeout = nullptr;
    QTableWidget* m_mix = nullptr;
    QDoubleSpinBox* m_sloP50 = nullptr;
    QDoubleSpinBox* m_sloP99 = nullptr;
    QDoubleSpinBox* m_sloP999 = nullptr;
    QDoubleSpinBox* m_sloErrors = nullptr;
    QDoubleSpinBox* m_sloRps = nullptr;
    QPushButton* m_runButton = nullptr;
    QPushButton* m_stopButton = nullptr;
    QTableWidget* m_runs = nullptr;
    QTableWidget* m_schedules = nullptr;
    QDoubleSpinBox* m_speed = nullptr;
    RunView* m_view = nullptr;
    QTextBrowser* m_report = nullptr;
    QLabel* m_message = nullptr;
};

} // namespace gaetwae::console
