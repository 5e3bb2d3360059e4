#pragma once

#include <QWidget>

class QLabel;
class QTableView;

namespace gaetwae::console {

class ConsoleController;
class EnginesModel;

// The connection manager: every engine with its state badge, round trip and data age; add,
// edit and remove engines (name, URL, token or token file). With none it says what to do.
class EnginesPage : public QWidget {
    Q_OBJECT
public:
    EnginesPage(ConsoleController& controller, EnginesModel& model, QWidget* parent = nullptr);

signals:
    void engineActivated(const QString& name);

private:
    void addEngine();
    void removeEngine();
    void updateEmptyState();

    ConsoleController& m_controller;
    QTableView* m_view = nullptr;
    QLabel* m_empty = nullptr;
};

} // namespace gaetwae::console
