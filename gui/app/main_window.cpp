#include "gui/app/main_window.hpp"

#include "gui/app/console_controller.hpp"
#include "gui/models/engines_model.hpp"
#include "gui/models/events_model.hpp"
#include "gui/views/dashboard_page.hpp"
#include "gui/views/engines_page.hpp"
#include "gui/views/events_page.hpp"
#include "gui/views/history_page.hpp"
#include "gui/views/load_tests_page.hpp"
#include "gui/views/pools_page.hpp"

#include <QCloseEvent>
#include <QComboBox>
#include <QLabel>
#include <QSettings>
#include <QShortcut>
#include <QStatusBar>
#include <QTabWidget>
#include <QToolBar>

namespace gaetwae::console {

MainWindow::MainWindow(ConsoleController& controller, LoadTestManager* loadTests, QWidget* parent)
    : QMainWindow(parent), m_controller(controller) {
    setWindowTitle(tr("gaetwae console"));
    m_engines = new EnginesModel(controller, this);
    m_events = new EventsModel(10'000, this);
    m_enginesPage = new EnginesPage(controller, *m_engines);
    m_dashboard = new DashboardPage;
    m_pools = new PoolsPage;
    m_eventsPage = new EventsPage(*m_events);
    m_history = new HistoryPage(controller.history());
    m_loadTests = new LoadTestsPage(controller, loadTests);
    m_tabs = new QTabWidget;
    m_tabs->addTab(m_enginesPage, tr("&Engines"));
    m_tabs->addTab(m_dashboard, tr("&Dashboard"));
    m_tabs->addTab(m_pools, tr("&Pools and routes"));
    m_tabs->addTab(m_eventsPage, tr("E&vents"));
    m_tabs->addTab(m_history, tr("&History"));
    m_tabs->addTab(m_loadTests, tr("&Load tests"));
    setCentralWidget(m_tabs);

    auto* toolbar = addToolBar(tr("Engine"));
    toolbar->setObjectName(QStringLiteral("engineToolbar"));
    toolbar->addWidget(new QLabel(tr("Engine: ")));
    m_engineBox = new QComboBox;
    m_engineBox->setMinimumWidth(180);
    m_engineBox->setModel(m_engines);
    m_engineBox->setModelColumn(EnginesModel::Name);
    toolbar->addWidget(m_engineBox);
    m_notice = new QLabel;
    statusBar()->addPermanentWidget(m_notice);

    for (int i = 0; i < m_tabs->count(); ++i) {
        auto* shortcut = new QShortcut(QKeySequence(Qt::CTRL | static_cast<Qt::Key>(Qt::Key_1 + i)), this);
        connect(shortcut, &QShortcut::activated, this, [this, i] { m_tabs->setCurrentIndex(i); });
    }
    connect(new QShortcut(QKeySequence(Qt::CTRL | Qt::Key_P), this), &QShortcut::activated, this,
            [this] { m_dashboard->setPaused(!m_dashboard->isPaused()); });
    connect(new QShortcut(QKeySequence(Qt::CTRL | Qt::Key_L), this), &QShortcut::activated, this,
            [this] { m_dashboard->goLive(); });
    connect(new QShortcut(QKeySequence::Refresh, this), &QShortcut::activated, this, [this] {
        if (EngineSession* session = m_controller.session(currentEngine())) {
            session->refresh();
        }
    });

    connect(m_engineBox, &QComboBox::currentIndexChanged, this, [this] { engineChanged(); });
    connect(m_tabs, &QTabWidget::currentChanged, this, [this](int index) {
        if (index == HistoryTab) {
            m_history->setEngine(currentEngine());
            m_history->reload();
        }
    });
    connect(&controller, &ConsoleController::sessionAdded, this, [this](int index) { sessionAdded(index); });
    connect(m_enginesPage, &EnginesPage::engineActivated, this, [this](const QString& name) {
        selectEngine(name);
        showPage(DashboardTab);
    });
    if (loadTests != nullptr) {
        // A run's target and achieved rate also show on the dashboard, next to the gateway's.
        connect(loadTests, &LoadTestManager::secondAdded, this, [this](std::int64_t, const loadtest::IntervalStats& s) {
            m_dashboard->addLoadSecond(s.timeMs, s.targetRps,
                                       static_cast<double>(s.completed) * 1000.0 /
                                           static_cast<double>(std::max<std::int64_t>(s.intervalMs, 1)));
        });
    }
    connect(m_pools, &PoolsPage::changeFinished, this, [this](const QString& message) {
        statusBar()->showMessage(message, 15'000);
    });
    for (int i = 0; i < controller.sessionCount(); ++i) {
        sessionAdded(i);
    }

    QSettings settings;
    restoreGeometry(settings.value(QStringLiteral("window/geometry")).toByteArray());
    restoreState(settings.value(QStringLiteral("window/state")).toByteArray());
    if (controller.sessionCount() == 0) {
        m_tabs->setCurrentIndex(EnginesTab);
    } else {
        m_tabs->setCurrentIndex(settings.value(QStringLiteral("window/page"), DashboardTab).toInt());
        selectEngine(settings.value(QStringLiteral("window/engine")).toString());
    }
    if (geometry().width() < 400) {
        resize(1280, 800);
    }
}

MainWindow::~MainWindow() = default;

void MainWindow::sessionAdded(int index) {
    EngineSession* session = m_controller.session(index);
    const QString name = session->name();
    for (const auto& event : session->recentEvents()) {
        m_events->add(name, event);
    }
    connect(session, &EngineSession::eventAdded, this,
            [this, name](const protocol::EventRecord& event) { m_events->add(name, event); });
    if (m_engineBox->currentIndex() < 0) {
        m_engineBox->setCurrentIndex(0);
    }
    engineChanged();
}

void MainWindow::engineChanged() {
    EngineSession* session = m_controller.session(m_engineBox->currentIndex());
    m_dashboard->setSession(session);
    m_pools->setSession(session);
    m_history->setEngine(session != nullptr ? session->name() : QString());
    m_loadTests->setEngine(session != nullptr ? session->name() : QString());
}

void MainWindow::showPage(Page page) {
    m_tabs->setCurrentIndex(page);
}

void MainWindow::selectEngine(const QString& name) {
    const int index = m_controller.indexOf(name);
    if (index >= 0) {
        m_engineBox->setCurrentIndex(index);
    }
}

QString MainWindow::currentEngine() const {
    return m_engineBox->currentText();
}

void MainWindow::setStatus(const QString& message) {
    m_notice->setText(message);
    m_notice->setToolTip(message);
}

void MainWindow::closeEvent(QCloseEvent* event) {
    QSettings settings;
    settings.setValue(QStringLiteral("window/geometry"), saveGeometry());
    settings.setValue(QStringLiteral("window/state"), saveState());
    settings.setValue(QStringLiteral("window/page"), m_tabs->currentIndex());
    settings.setValue(QStringLiteral("window/engine"), currentEngine());
    QMainWindow::closeEvent(event);
}

} // namespace gaetwae::console
