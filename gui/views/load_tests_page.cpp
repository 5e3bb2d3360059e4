#include "gui/views/load_tests_page.hpp"

#include "gui/app/console_controller.hpp"
#include "gui/client/engine_session.hpp"
#include "gui/views/run_view.hpp"
#include "gui/views/view_helpers.hpp"
#include "shared/model/config.hpp"
#include "shared/model/units.hpp"

#include <QComboBox>
#include <QDateTime>
#include <QDoubleSpinBox>
#include <QFile>
#include <QFileDialog>
#include <QFormLayout>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QInputDialog>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QScrollArea>
#include <QSpinBox>
#include <QSplitter>
#include <QTableWidget>
#include <QTextBrowser>
#include <QVBoxLayout>

namespace gaetwae::console {

namespace {

enum MixColumn { MixMethod, MixPath, MixHeaders, MixBodyFile, MixWeight };
enum RunColumn { RunId, RunName, RunEngine, RunStarted, RunStatusColumn, RunRps, RunP99, RunSlo, RunNotes };
enum ScheduleColumn { ScheduleId, ScheduleName, ScheduleEngine, ScheduleRoute, ScheduleRequests, ScheduleSpan, ScheduleCaptured };

QDoubleSpinBox* sloBox(double max, const QString& suffix) {
    auto* box = new QDoubleSpinBox;
    box->setRange(0, max);
    box->setDecimals(2);
    box->setSpecialValueText(QObject::tr("none"));
    box->setSuffix(suffix);
    return box;
}

std::optional<double> sloValue(const QDoubleSpinBox* box) {
    return box->value() > 0 ? std::optional<double>(box->value()) : std::nullopt;
}

QString timeText(std::int64_t ms) {
    return QDateTime::fromMSecsSinceEpoch(ms).toString(QStringLiteral("yyyy-MM-dd hh:mm:ss"));
}

QTableWidget* makeList(const QStringList& headers) {
    auto* table = new QTableWidget(0, static_cast<int>(headers.size()));
    table->setHorizontalHeaderLabels(headers);
    table->setSelectionBehavior(QAbstractItemView::SelectRows);
    table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table->verticalHeader()->setVisible(false);
    table->horizontalHeader()->setStretchLastSection(true);
    table->setAlternatingRowColors(true);
    return table;
}

} // namespace

LoadTestsPage::LoadTestsPage(ConsoleController& controller, LoadTestManager* manager, QWidget* parent)
    : QWidget(parent), m_controller(controller), m_manager(manager) {
    m_view = new RunView;
    m_report = new QTextBrowser;
    m_report->setObjectName(QStringLiteral("comparison"));
    m_report->setPlaceholderText(tr("Select two runs and Compare: the baseline first, then the candidate."));
    m_message = new QLabel;
    m_message->setObjectName(QStringLiteral("loadTestMessage"));
    m_message->setWordWrap(true);

    auto* left = new QSplitter(Qt::Vertical);
    auto* form = new QScrollArea; // the form scrolls on small screens instead of growing the window
    form->setWidget(buildPlanForm());
    form->setWidgetResizable(true);
    form->setFrameShape(QFrame::NoFrame);
    left->addWidget(form);
    left->addWidget(buildLists());
    auto* right = new QSplitter(Qt::Vertical);
    right->addWidget(m_view);
    right->addWidget(m_report);
    right->setStretchFactor(0, 4);
    right->setStretchFactor(1, 1);
    auto* splitter = new QSplitter(Qt::Horizontal);
    splitter->addWidget(left);
    splitter->addWidget(right);
    splitter->setStretchFactor(1, 2);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(splitter, 1);
    layout->addWidget(m_message);

    if (!m_manager) {
        setEnabled(false);
        say(tr("Load tests are unavailable: the sessions file could not be opened."), true);
        return;
    }
    connect(m_manager, &LoadTestManager::runStarted, this, [this](std::int64_t run) {
        const auto record = m_manager->store().run(run);
        if (record) {
            m_shownRun = run;
            m_view->beginLive(*record, baselineOf(*record));
        }
        m_runButton->setEnabled(false);
        m_stopButton->setEnabled(true);
        reload();
    });
    connect(m_manager, &LoadTestManager::secondAdded, this, [this](std::int64_t run, const loadtest::IntervalStats& s) {
        if (run == m_shownRun) {
            m_view->addSecond(s);
        }
    });
    connect(m_manager, &LoadTestManager::frameRecorded, this, [this](std::int64_t run, const protocol::StatsFrame& f) {
        if (run == m_shownRun) {
            m_view->addFrame(f);
        }
    });
    connect(m_manager, &LoadTestManager::eventRecorded, this, [this](std::int64_t run, const protocol::EventRecord& e) {
        if (run == m_shownRun) {
            m_view->addEvent(e);
        }
    });
    connect(m_manager, &LoadTestManager::runFinished, this,
            [this](std::int64_t run, RunStatus status, const QString& error) {
                m_runButton->setEnabled(true);
                m_stopButton->setEnabled(false);
                reload();
                say(error.isEmpty() ? tr("Run #%1 %2.").arg(run).arg(QString::fromLatin1(runStatusName(status)))
                                    : tr("Run #%1 %2: %3").arg(run).arg(QString::fromLatin1(runStatusName(status)), error),
                    status == RunStatus::Failed);
                emit runFinished(run, status);
            });
    connect(m_manager, &LoadTestManager::schedulesChanged, this, &LoadTestsPage::reload);
    connect(m_manager, &LoadTestManager::captureProgress, this,
            [this](quint64 captured) { say(tr("Capturing: %1 requests so far...").arg(captured)); });
    if (const int recovered = m_manager->store().recoveredRuns(); recovered > 0) {
        say(tr("%n run(s) left running when the console stopped are stored as interrupted.", nullptr, recovered));
    }
    reload();
}

QWidget* LoadTestsPage::buildPlanForm() {
    auto* box = new QGroupBox(tr("Test plan"));
    auto* form = new QFormLayout(box);
    m_name = new QLineEdit;
    m_name->setPlaceholderText(tr("e.g. orders at 500 req/s"));
    m_route = new QComboBox;
    m_route->setObjectName(QStringLiteral("route"));
    m_target = new QLineEdit;
    m_target->setObjectName(QStringLiteral("target"));
    m_target->setPlaceholderText(QStringLiteral("http://127.0.0.1:8080/"));
    m_model = new QComboBox;
    m_model->addItem(tr("closed: connections send as fast as answers come"), static_cast<int>(loadtest::LoadTestPlan::Model::Closed));
    m_model->addItem(tr("open: requests due at the scheduled rate"), static_cast<int>(loadtest::LoadTestPlan::Model::Open));
    m_connections = new QSpinBox;
    m_connections->setRange(1, 100'000);
    m_connections->setValue(10);
    m_threads = new QSpinBox;
    m_threads->setRange(1, 64);
    m_duration = new QLineEdit(QStringLiteral("30s"));
    m_duration->setObjectName(QStringLiteral("duration"));
    m_schedule = new QLineEdit(QStringLiteral("30s@200"));
    m_schedule->setObjectName(QStringLiteral("schedule"));
    m_schedule->setToolTip(tr("Steps and ramps, e.g. 10s@100,30s@100-1000,10s@1000"));
    m_timeout = new QLineEdit(QStringLiteral("10s"));
    m_mix = new QTableWidget(1, 5);
    m_mix->setObjectName(QStringLiteral("mix"));
    m_mix->setHorizontalHeaderLabels({tr("Method"), tr("Path"), tr("Headers (name: value; ...)"), tr("Body file"), tr("Weight")});
    m_mix->verticalHeader()->setVisible(false);
    m_mix->horizontalHeader()->setStretchLastSection(true);
    m_mix->setItem(0, MixMethod, new QTableWidgetItem(QStringLiteral("GET")));
    m_mix->setItem(0, MixWeight, new QTableWidgetItem(QStringLiteral("1")));
    m_mix->setMaximumHeight(110);
    auto* addRequest = new QPushButton(tr("Add request"));
    auto* removeRequest = new QPushButton(tr("Remove request"));
    connect(addRequest, &QPushButton::clicked, this, [this] {
        const int row = m_mix->rowCount();
        m_mix->insertRow(row);
        m_mix->setItem(row, MixMethod, new QTableWidgetItem(QStringLiteral("GET")));
        m_mix->setItem(row, MixWeight, new QTableWidgetItem(QStringLiteral("1")));
    });
    connect(removeRequest, &QPushButton::clicked, this, [this] {
        if (m_mix->rowCount() > 1) {
            m_mix->removeRow(m_mix->currentRow() >= 0 ? m_mix->currentRow() : m_mix->rowCount() - 1);
        }
    });
    m_sloP50 = sloBox(3'600'000, tr(" ms"));
    m_sloP99 = sloBox(3'600'000, tr(" ms"));
    m_sloP999 = sloBox(3'600'000, tr(" ms"));
    m_sloErrors = sloBox(100, tr(" %"));
    m_sloRps = sloBox(1e7, tr(" req/s"));
    auto* slo = new QGridLayout;
    int sloColumn = 0;
    for (const auto& [label, field] : {std::pair{tr("p50"), m_sloP50}, std::pair{tr("p99"), m_sloP99},
                                       std::pair{tr("p99.9"), m_sloP999}, std::pair{tr("errors"), m_sloErrors},
                                       std::pair{tr("min"), m_sloRps}}) {
        slo->addWidget(new QLabel(label), sloColumn / 6, sloColumn % 6);
        slo->addWidget(field, sloColumn / 6, sloColumn % 6 + 1);
        sloColumn += 2;
    }
    m_runButton = new QPushButton(tr("Run"));
    m_runButton->setObjectName(QStringLiteral("run"));
    m_stopButton = new QPushButton(tr("Stop"));
    m_stopButton->setObjectName(QStringLiteral("stop"));
    m_stopButton->setEnabled(false);
    connect(m_runButton, &QPushButton::clicked, this, [this] { run(); });
    connect(m_stopButton, &QPushButton::clicked, this, &LoadTestsPage::stop);
    connect(m_route, &QComboBox::currentTextChanged, this, [this](const QString& route) {
        if (auto* session = engine(); session != nullptr && session->config() && !route.isEmpty()) {
            m_target->setText(QString::fromStdString(LoadTestManager::suggestTarget(*session->config(), route.toStdString())));
        }
    });
    const auto modelChanged = [this] {
        const bool open = m_model->currentIndex() == 1;
        m_duration->setEnabled(!open);
        m_schedule->setEnabled(open);
    };
    connect(m_model, &QComboBox::currentIndexChanged, this, modelChanged);
    modelChanged();

    auto* mixButtons = new QHBoxLayout;
    mixButtons->addWidget(addRequest);
    mixButtons->addWidget(removeRequest);
    mixButtons->addStretch();
    auto* runButtons = new QHBoxLayout;
    runButtons->addWidget(m_runButton);
    runButtons->addWidget(m_stopButton);
    runButtons->addStretch();
    form->addRow(tr("Name"), m_name);
    form->addRow(tr("Route"), m_route);
    form->addRow(tr("Target URL"), m_target);
    form->addRow(tr("Model"), m_model);
    form->addRow(tr("Connections"), m_connections);
    form->addRow(tr("Threads"), m_threads);
    form->addRow(tr("Duration (closed)"), m_duration);
    form->addRow(tr("Rate schedule (open)"), m_schedule);
    form->addRow(tr("Timeout"), m_timeout);
    form->addRow(tr("Request mix"), m_mix);
    form->addRow(QString(), mixButtons);
    form->addRow(tr("SLO"), slo);
    form->addRow(QString(), runButtons);
    return box;
}

QWidget* LoadTestsPage::buildLists() {
    m_runs = makeList({tr("#"), tr("Name"), tr("Engine"), tr("Started"), tr("Status"), tr("req/s"), tr("p99 ms"),
                       tr("SLO"), tr("Notes")});
    m_runs->setObjectName(QStringLiteral("runs"));
    m_runs->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_schedules = makeList({tr("#"), tr("Name"), tr("Engine"), tr("Route"), tr("Requests"), tr("Span"), tr("Captured")});
    m_schedules->setObjectName(QStringLiteral("schedules"));
    m_schedules->setSelectionMode(QAbstractItemView::SingleSelection);
    connect(m_runs, &QTableWidget::cellDoubleClicked, this, [this](int row, int) {
        openRun(m_runs->item(row, RunId)->data(Qt::UserRole).toLongLong());
    });

    const auto button = [this](const QString& text, auto&& action) {
        auto* b = new QPushButton(text);
        connect(b, &QPushButton::clicked, this, action);
        return b;
    };
    auto* runButtons = new QGridLayout;
    int buttons = 0;
    const auto place = [&](QPushButton* b) {
        runButtons->addWidget(b, buttons / 3, buttons % 3);
        ++buttons;
    };
    place(button(tr("Open"), [this] {
        if (const auto runs = selectedRuns(); !runs.empty()) {
            openRun(runs.front());
        }
    }));
    place(button(tr("Re-run with ghost"), [this] {
        if (const auto runs = selectedRuns(); !runs.empty()) {
            rerun(runs.front());
        }
    }));
    place(button(tr("Compare"), [this] { compareSelected(); }));
    place(button(tr("Export report..."), [this] { exportDialog(); }));
    place(button(tr("Notes..."), [this] { editNotes(); }));
    place(button(tr("Delete"), [this] {
        for (const auto run : selectedRuns()) {
            if (run != m_manager->currentRun()) {
                m_manager->store().removeRun(run);
            }
        }
        reload();
    }));

    m_speed = new QDoubleSpinBox;
    m_speed->setRange(0.01, 1000);
    m_speed->setValue(1);
    m_speed->setPrefix(QStringLiteral("x"));
    auto* scheduleButtons = new QHBoxLayout;
    scheduleButtons->addWidget(button(tr("Capture..."), [this] { captureDialog(); }));
    scheduleButtons->addWidget(button(tr("Replay to target"), [this] {
        if (const auto schedule = selectedSchedule()) {
            replaySchedule(*schedule, m_speed->value());
        }
    }));
    scheduleButtons->addWidget(new QLabel(tr("speed")));
    scheduleButtons->addWidget(m_speed);
    scheduleButtons->addStretch();

    auto* box = new QWidget;
    auto* layout = new QVBoxLayout(box);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(new QLabel(tr("Runs")));
    layout->addWidget(m_runs, 2);
    layout->addLayout(runButtons);
    layout->addWidget(new QLabel(tr("Captured schedules")));
    layout->addWidget(m_schedules, 1);
    layout->addLayout(scheduleButtons);
    return box;
}

EngineSession* LoadTestsPage::engine() const {
    return m_controller.session(m_engine);
}

void LoadTestsPage::setEngine(const QString& name) {
    m_engine = name;
    routesChanged();
    if (auto* session = engine()) {
        connect(session, &EngineSession::poolsChanged, this, &LoadTestsPage::routesChanged, Qt::UniqueConnection);
    }
}

void LoadTestsPage::routesChanged() {
    const auto* session = engine();
    const QString current = m_route->currentText();
    QStringList routes;
    if (session != nullptr && session->config()) {
        for (const auto& route : session->config()->routes) {
            routes << QString::fromStdString(route.name);
        }
    }
    QStringList existing;
    for (int i = 0; i < m_route->count(); ++i) {
        existing << m_route->itemText(i);
    }
    if (existing == routes) {
        return;
    }
    m_route->clear();
    m_route->addItems(routes);
    if (routes.contains(current)) {
        m_route->setCurrentText(current);
    }
}

void LoadTestsPage::say(const QString& text, bool error) {
    m_message->setText(text);
    m_message->setStyleSheet(error ? QStringLiteral("color: #c0392b") : QString());
}

QString LoadTestsPage::message() const {
    return m_message->text();
}

void LoadTestsPage::setPlan(const loadtest::LoadTestPlan& plan) {
    m_name->setText(QString::fromStdString(plan.name));
    if (!plan.route.empty()) {
        if (m_route->findText(QString::fromStdString(plan.route)) < 0) {
            m_route->addItem(QString::fromStdString(plan.route));
        }
        m_route->setCurrentText(QString::fromStdString(plan.route));
    }
    m_target->setText(QString::fromStdString(plan.target)); // after the route, which suggests one
    m_model->setCurrentIndex(plan.model == loadtest::LoadTestPlan::Model::Open ? 1 : 0);
    m_connections->setValue(static_cast<int>(plan.connections));
    m_threads->setValue(static_cast<int>(plan.threads));
    m_duration->setText(QString::fromStdString(model::formatDuration(plan.duration)));
    m_schedule->setText(QString::fromStdString(loadtest::formatSchedule(plan.schedule)));
    m_timeout->setText(QString::fromStdString(model::formatDuration(plan.timeout)));
    m_mix->setRowCount(0);
    auto requests = plan.requests;
    if (requests.empty()) {
        requests.emplace_back();
    }
    for (const auto& r : requests) {
        const int row = m_mix->rowCount();
        m_mix->insertRow(row);
        QStringList headers;
        for (const auto& [name, value] : r.headers) {
            headers << QString::fromStdString(name + ": " + value);
        }
        m_mix->setItem(row, MixMethod, new QTableWidgetItem(QString::fromStdString(r.method)));
        m_mix->setItem(row, MixPath, new QTableWidgetItem(QString::fromStdString(r.path)));
        m_mix->setItem(row, MixHeaders, new QTableWidgetItem(headers.join(QStringLiteral("; "))));
        m_mix->setItem(row, MixBodyFile, new QTableWidgetItem(QString::fromStdString(r.bodyFile)));
        m_mix->setItem(row, MixWeight, new QTableWidgetItem(QString::number(r.weight)));
    }
    m_sloP50->setValue(plan.slo.p50Ms.value_or(0));
    m_sloP99->setValue(plan.slo.p99Ms.value_or(0));
    m_sloP999->setValue(plan.slo.p999Ms.value_or(0));
    m_sloErrors->setValue(plan.slo.maxErrorRate ? *plan.slo.maxErrorRate * 100.0 : 0);
    m_sloRps->setValue(plan.slo.minRps.value_or(0));
}

std::optional<loadtest::LoadTestPlan> LoadTestsPage::plan(QString* error) const {
    const auto fail = [&](const QString& message) -> std::optional<loadtest::LoadTestPlan> {
        if (error != nullptr) {
            *error = message;
        }
        return std::nullopt;
    };
    loadtest::LoadTestPlan p;
    p.name = m_name->text().trimmed().toStdString();
    p.route = m_route->currentText().toStdString();
    p.target = m_target->text().trimmed().toStdString();
    p.model = static_cast<loadtest::LoadTestPlan::Model>(m_model->currentData().toInt());
    p.connections = static_cast<unsigned>(m_connections->value());
    p.threads = static_cast<unsigned>(m_threads->value());
    const auto duration = model::parseDuration(m_duration->text().trimmed().toStdString());
    if (p.model == loadtest::LoadTestPlan::Model::Closed && (!duration || duration->count() <= 0)) {
        return fail(tr("duration: expected a duration such as 30s or 2m, got '%1'").arg(m_duration->text()));
    }
    if (duration && duration->count() > 0) {
        p.duration = *duration;
    }
    if (p.model == loadtest::LoadTestPlan::Model::Open) {
        std::string problem;
        if (!loadtest::parseSchedule(m_schedule->text().trimmed().toStdString(), p.schedule, problem)) {
            return fail(tr("schedule: %1").arg(QString::fromStdString(problem)));
        }
    }
    const auto timeout = model::parseDuration(m_timeout->text().trimmed().toStdString());
    if (!timeout || timeout->count() <= 0) {
        return fail(tr("timeout: expected a duration such as 10s, got '%1'").arg(m_timeout->text()));
    }
    p.timeout = *timeout;
    const auto cell = [this](int row, int column) {
        const auto* item = m_mix->item(row, column);
        return item != nullptr ? item->text().trimmed() : QString();
    };
    for (int row = 0; row < m_mix->rowCount(); ++row) {
        loadtest::RequestSpec r;
        r.method = cell(row, MixMethod).isEmpty() ? std::string("GET") : cell(row, MixMethod).toStdString();
        r.path = cell(row, MixPath).toStdString();
        for (const auto& header : cell(row, MixHeaders).split(QLatin1Char(';'), Qt::SkipEmptyParts)) {
            const auto colon = header.indexOf(QLatin1Char(':'));
            if (colon <= 0) {
                return fail(tr("requests[%1].headers: expected 'Name: value', got '%2'").arg(row).arg(header.trimmed()));
            }
            r.headers.emplace_back(header.left(colon).trimmed().toStdString(), header.mid(colon + 1).trimmed().toStdString());
        }
        r.bodyFile = cell(row, MixBodyFile).toStdString();
        bool ok = true;
        const auto weight = cell(row, MixWeight).isEmpty() ? 1 : cell(row, MixWeight).toInt(&ok);
        if (!ok || weight <= 0) {
            return fail(tr("requests[%1].weight: expected a positive whole number, got '%2'").arg(row).arg(cell(row, MixWeight)));
        }
        r.weight = static_cast<unsigned>(weight);
        p.requests.push_back(std::move(r));
    }
    p.slo.p50Ms = sloValue(m_sloP50);
    p.slo.p99Ms = sloValue(m_sloP99);
    p.slo.p999Ms = sloValue(m_sloP999);
    if (m_sloErrors->value() > 0) {
        p.slo.maxErrorRate = m_sloErrors->value() / 100.0;
    }
    p.slo.minRps = sloValue(m_sloRps);
    return p;
}

bool LoadTestsPage::run(QString* error) {
    QString problem;
    auto p = plan(&problem);
    std::optional<std::int64_t> id;
    if (p) {
        id = m_manager->start(*p, engine(), {}, &problem);
    }
    if (!id) {
        say(tr("Not started: %1").arg(problem), true);
        if (error != nullptr) {
            *error = problem;
        }
        return false;
    }
    say(tr("Run #%1 started.").arg(*id));
    return true;
}

void LoadTestsPage::stop() {
    m_manager->stop();
}

std::optional<RunData> LoadTestsPage::baselineOf(const RunRecord& run) const {
    if (!run.baselineRun) {
        return std::nullopt;
    }
    return m_manager->store().load(*run.baselineRun);
}

bool LoadTestsPage::openRun(std::int64_t run) {
    const auto data = m_manager->store().load(run);
    if (!data) {
        say(tr("Run #%1 does not exist.").arg(run), true);
        return false;
    }
    m_shownRun = run;
    m_view->showRun(*data, baselineOf(data->run));
    setPlan(data->run.plan);
    say(tr("Run #%1 (%2, %3 seconds): drag the scrubber or press Play.")
            .arg(run)
            .arg(QString::fromLatin1(runStatusName(data->run.status)))
            .arg(data->seconds.size()));
    return true;
}

bool LoadTestsPage::rerun(std::int64_t run, QString* error) {
    QString problem;
    const auto id = m_manager->rerun(run, engine(), &problem);
    if (!id) {
        say(tr("Not started: %1").arg(problem), true);
        if (error != nullptr) {
            *error = problem;
        }
        return false;
    }
    say(tr("Run #%1 re-runs #%2, drawn as a ghost.").arg(*id).arg(run));
    return true;
}

bool LoadTestsPage::replaySchedule(std::int64_t schedule, double speed, QString* error) {
    QString problem;
    std::optional<std::int64_t> id;
    const auto target = m_target->text().trimmed().toStdString();
    if (target.empty()) {
        problem = tr("target: set the target URL to replay to");
    } else {
        id = m_manager->replaySchedule(schedule, target, speed, static_cast<unsigned>(m_connections->value()), engine(),
                                       &problem);
    }
    if (!id) {
        say(tr("Not started: %1").arg(problem), true);
        if (error != nullptr) {
            *error = problem;
        }
        return false;
    }
    say(tr("Run #%1 re-sends schedule #%2 at x%3.").arg(*id).arg(schedule).arg(speed));
    return true;
}

void LoadTestsPage::capture(const CaptureRequest& request, std::function<void(std::int64_t, const QString&)> done) {
    say(tr("Capturing %1 for %2...").arg(QString::fromStdString(request.route),
                                          QString::fromStdString(model::formatDuration(model::Duration(request.durationMs)))));
    m_manager->capture(engine(), request, [this, done](std::int64_t schedule, const QString& error) {
        say(schedule != 0 ? tr("Captured into schedule #%1.").arg(schedule) : tr("Capture failed: %1").arg(error),
            schedule == 0);
        if (done) {
            done(schedule, error);
        }
    });
}

void LoadTestsPage::captureDialog() {
    auto* route = new QComboBox;
    for (int i = 0; i < m_route->count(); ++i) {
        route->addItem(m_route->itemText(i));
    }
    route->setCurrentText(m_route->currentText());
    auto* duration = new QLineEdit(QStringLiteral("30s"));
    auto* sample = new QDoubleSpinBox;
    sample->setRange(0.001, 1);
    sample->setDecimals(3);
    sample->setValue(1);
    auto* headers = new QLineEdit(QStringLiteral("accept, content-type"));
    auto* name = new QLineEdit;
    CaptureRequest request;
    QString problem;
    const bool accepted = execForm(this, tr("Capture live traffic"),
                                   {{tr("Route"), route}, {tr("For"), duration}, {tr("Sample"), sample},
                                    {tr("Keep headers"), headers}, {tr("Name"), name}},
                                   [&] {
                                       request.route = route->currentText().toStdString();
                                       request.sample = sample->value();
                                       request.name = name->text().trimmed().toStdString();
                                       for (const auto& h : headers->text().split(QLatin1Char(','), Qt::SkipEmptyParts)) {
                                           request.headers.push_back(h.trimmed().toLower().toStdString());
                                       }
                                       const auto d = model::parseDuration(duration->text().trimmed().toStdString());
                                       if (!d || d->count() <= 0) {
                                           problem = tr("for: expected a duration such as 30s");
                                       } else {
                                           request.durationMs = d->count();
                                       }
                                   });
    if (!accepted) {
        return;
    }
    if (!problem.isEmpty()) {
        say(tr("Not captured: %1").arg(problem), true);
        return;
    }
    capture(request, {});
}

void LoadTestsPage::reload() {
    if (!m_manager) {
        return;
    }
    const auto runs = m_manager->store().runs();
    m_runs->setRowCount(0);
    for (const auto& r : runs) {
        const int row = m_runs->rowCount();
        m_runs->insertRow(row);
        auto* id = new QTableWidgetItem(QString::number(r.id));
        id->setData(Qt::UserRole, QVariant::fromValue<qlonglong>(r.id));
        m_runs->setItem(row, RunId, id);
        QString name = QString::fromStdString(r.plan.name.empty() ? r.plan.target : r.plan.name);
        if (r.baselineRun) {
            name += tr(" (vs #%1)").arg(*r.baselineRun);
        }
        m_runs->setItem(row, RunName, new QTableWidgetItem(name));
        m_runs->setItem(row, RunEngine, new QTableWidgetItem(QString::fromStdString(r.engine)));
        m_runs->setItem(row, RunStarted, new QTableWidgetItem(timeText(r.startedAtMs)));
        auto* status = new QTableWidgetItem(QString::fromLatin1(runStatusName(r.status)));
        if (!r.error.empty()) {
            status->setToolTip(QString::fromStdString(r.error));
        }
        m_runs->setItem(row, RunStatusColumn, status);
        if (r.total) {
            const double seconds = std::max<double>(0.001, static_cast<double>(r.total->intervalMs) / 1000.0);
            m_runs->setItem(row, RunRps, new QTableWidgetItem(QString::number(static_cast<double>(r.total->completed) / seconds, 'f', 0)));
            m_runs->setItem(row, RunP99, new QTableWidgetItem(QString::number(static_cast<double>(r.total->corrected.percentile(0.99)) / 1000.0, 'f', 2)));
            if (!r.plan.slo.empty()) {
                const loadtest::RunInput input{"", {*r.total}};
                const auto judged = loadtest::compare(input, input, r.plan.slo);
                m_runs->setItem(row, RunSlo, new QTableWidgetItem(judged.candidatePasses ? tr("pass") : tr("FAIL")));
            }
        }
        m_runs->setItem(row, RunNotes, new QTableWidgetItem(QString::fromStdString(r.notes)));
    }
    const auto schedules = m_manager->store().schedules();
    m_schedules->setRowCount(0);
    for (const auto& s : schedules) {
        const int row = m_schedules->rowCount();
        m_schedules->insertRow(row);
        auto* id = new QTableWidgetItem(QString::number(s.id));
        id->setData(Qt::UserRole, QVariant::fromValue<qlonglong>(s.id));
        m_schedules->setItem(row, ScheduleId, id);
        m_schedules->setItem(row, ScheduleName, new QTableWidgetItem(QString::fromStdString(s.name)));
        m_schedules->setItem(row, ScheduleEngine, new QTableWidgetItem(QString::fromStdString(s.engine)));
        m_schedules->setItem(row, ScheduleRoute, new QTableWidgetItem(QString::fromStdString(s.route)));
        m_schedules->setItem(row, ScheduleRequests, new QTableWidgetItem(QString::number(s.count)));
        m_schedules->setItem(row, ScheduleSpan, new QTableWidgetItem(QString::fromStdString(
                                                    model::formatDuration(model::Duration(s.spanUs / 1000)))));
        m_schedules->setItem(row, ScheduleCaptured, new QTableWidgetItem(timeText(s.createdAtMs)));
    }
}

std::vector<std::int64_t> LoadTestsPage::selectedRuns() const {
    std::vector<std::int64_t> out;
    for (const auto& index : m_runs->selectionModel()->selectedRows(RunId)) {
        out.push_back(index.data(Qt::UserRole).toLongLong());
    }
    std::sort(out.begin(), out.end()); // the older run is the baseline
    return out;
}

std::optional<std::int64_t> LoadTestsPage::selectedSchedule() const {
    const auto rows = m_schedules->selectionModel()->selectedRows(ScheduleId);
    if (rows.isEmpty()) {
        return std::nullopt;
    }
    return rows.front().data(Qt::UserRole).toLongLong();
}

loadtest::RunInput LoadTestsPage::inputOf(const RunData& data) const {
    loadtest::RunInput input;
    input.label = "#" + std::to_string(data.run.id) + " " + (data.run.plan.name.empty() ? data.run.plan.target : data.run.plan.name) +
                  " (" + timeText(data.run.startedAtMs).toStdString() + ")";
    input.seconds = data.seconds;
    return input;
}

std::optional<loadtest::Comparison> LoadTestsPage::compare(std::int64_t base, std::int64_t candidate, QString* error) {
    const auto a = m_manager->store().load(base);
    const auto b = m_manager->store().load(candidate);
    if (!a || !b) {
        const auto message = tr("run #%1 does not exist").arg(!a ? base : candidate);
        say(tr("Not compared: %1").arg(message), true);
        if (error != nullptr) {
            *error = message;
        }
        return std::nullopt;
    }
    m_compareBase = inputOf(*a);
    m_compareCandidate = inputOf(*b);
    // Judged against the candidate's SLO (the plan under test); the baseline's when it has none.
    const auto& slo = b->run.plan.slo.empty() ? a->run.plan.slo : b->run.plan.slo;
    m_comparison = loadtest::compare(*m_compareBase, *m_compareCandidate, slo);
    m_report->setHtml(QString::fromStdString(loadtest::toHtml(*m_comparison, *m_compareBase, *m_compareCandidate)));
    say(tr("#%1 vs #%2: %3").arg(base).arg(candidate).arg(QString::fromStdString(m_comparison->verdict)),
        m_comparison->regressed || !m_comparison->candidatePasses);
    return m_comparison;
}

void LoadTestsPage::compareSelected() {
    const auto runs = selectedRuns();
    if (runs.size() != 2) {
        say(tr("Select exactly two runs to compare (the older one is the baseline)."), true);
        return;
    }
    compare(runs[0], runs[1]);
}

bool LoadTestsPage::exportReport(const QString& path, QString* error) {
    const auto fail = [&](const QString& message) {
        say(tr("Not exported: %1").arg(message), true);
        if (error != nullptr) {
            *error = message;
        }
        return false;
    };
    if (!m_comparison) {
        return fail(tr("compare two runs first"));
    }
    const bool json = path.endsWith(QStringLiteral(".json"), Qt::CaseInsensitive);
    const auto text = json ? loadtest::toJson(*m_comparison).dump(2)
                           : loadtest::toHtml(*m_comparison, *m_compareBase, *m_compareCandidate);
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate) || file.write(QByteArray::fromStdString(text)) < 0) {
        return fail(tr("%1: %2").arg(path, file.errorString()));
    }
    say(tr("Report written to %1.").arg(path));
    return true;
}

void LoadTestsPage::exportDialog() {
    if (!m_comparison) {
        say(tr("Compare two runs first."), true);
        return;
    }
    const auto path = QFileDialog::getSaveFileName(this, tr("Export comparison"), QStringLiteral("comparison.html"),
                                                   tr("HTML report (*.html);;JSON (*.json)"));
    if (!path.isEmpty()) {
        exportReport(path);
    }
}

void LoadTestsPage::editNotes() {
    const auto runs = selectedRuns();
    if (runs.size() != 1) {
        say(tr("Select one run to annotate."), true);
        return;
    }
    const auto record = m_manager->store().run(runs.front());
    bool ok = false;
    const auto notes = QInputDialog::getMultiLineText(this, tr("Notes for run #%1").arg(runs.front()), tr("Notes"),
                                                      QString::fromStdString(record ? record->notes : std::string()), &ok);
    if (ok) {
        m_manager->store().setNotes(runs.front(), notes.toStdString());
        reload();
    }
}

} // namespace gaetwae::console
