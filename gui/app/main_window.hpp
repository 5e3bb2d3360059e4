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
class PoolsPage;

// The console's window: an engine picker and pages (Engines, Dashboard, Pools, Events, History).
// Layout and the last page and engine are restored on restart; every page works from models
// and signals, nothing here blocks on the network or the disk.
class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(ConsoleController& controller, QWidget* parent = nullptr);
    ~MainWindow() override;

    enum Page { EnginesTab, DashboardTab, PoolsTab, EventsTab, HistoryTab };
    void showPage(Page page);
    void selectEngine(const QString& name);
    QString currentEngine() const;
    void setStatus(const QString& message); // a lasting notice, e.g. history unavailable

    DashboardPage* dashboard() const { return m_dashboard; }
    PoolsPage* pools() const { return m_pools; }
    EventsModel* events() const { return m_events; }
    HistoryPage* history() const { return m_history; }

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
    QLabel* m_notice = nullptr;
};

} // namespace gaetwae::console
