#include "gui/app/main_window.hpp"

#include <QApplication>

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("gaetwae-console"));
    gaetwae::console::MainWindow window;
    window.show();
    return QApplication::exec();
}
