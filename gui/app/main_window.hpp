#pragma once

#include <QMainWindow>
#include <QPointer>

class QComboBox;
class QLabel;
class QTabWidget;

namespace gaetwae::console {

class ConsoleController;
class DashboardPage;
class EngineSession;
class EnginesModel;
class EnginesPage;
class EventsModel;
class EventsPage;
class HistoryPage;
class LoadTestManager;
class LoadTestsPage;
class PoolsPage;

// The console's window: an engine picker and pages (Engines, Dashboard, Pools, Events, History,
// Load tests).
// Layout and the last page and engine are restored on restart; every page works from models
// and signals, nothing here blocks on the network or the disk.
class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    // `loadTests` may be null (no sessions file): the Load tests page then says so.
    explicit MainWindow(ConsoleController& controller, LoadTestManager* loadTests = nullptr, QWidget* parent = nullptr);
    ~MainWindow() override;

    enum Page { EnginesTab, DashboardTab, PoolsTab, EventsTab, HistoryTab, LoadTestsTab };
    void showPage(Page page);
    void selectEngine(const QString& name);
    QString currentEngine() const;
    void setStatus(const QString& message); // a lasting notice, e.g. history unavailable

    DashboardPage* dashboard() const { return m_dashboard; }
    PoolsPage* pools() const { return m_pools; }
    EventsModel* events() const { return m_events; }
    HistoryPage* history() const { return m_history; }
    LoadTestsPage* loadTests() const { return m_loadTests; }

protected:
    void closeEvent(QCloseEvent* event) override;

private:
    void sessionAdded(int index);
    void engineChanged();

    ConsoleController& m_controller;
    EnginesModel* m_engines = nullptr;
    EventsModel* m_events = nullptr;
    QTabWidget* m_tabs = nullptr;
    QComboBox* m_engineBox = nullptr;
    EnginesPage* m_enginesPage = nullptr;
    DashboardPage* m_dashboard = nullptr;
    PoolsPage* m_pools = nullptr;
    EventsPage* m_eventsPage = nullptr;
    HistoryPage* m_history = nullptr;
    LoadTestsPage* m_loadTests = nullptr;
    QLabel* m_notice = nullptr;
};

} // namespace gaetwae::console
