#include "gui/app/main_window.hpp"

#include <QLabel>

namespace gaetwae::console {

MainWindow::MainWindow(QWidget* parent)
    : QMainWindow(parent) {
    setWindowTitle(QStringLiteral("gaetwae console"));
    auto* label = new QLabel(tr("No engine connected.\n\nStart one with: gaetwaed --demo"), this);
    label->setAlignment(Qt::AlignCenter);
    setCentralWidget(label);
    resize(1280, 800);
}

} // namespace gaetwae::console
