#pragma once

#include <QMainWindow>

namespace gaetwae::console {

// Placeholder window until the console lands (issue: desktop console): says what it will do.
class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(QWidget* parent = nullptr);
};

} // namespace gaetwae::console
