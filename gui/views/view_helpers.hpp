#pragma once

#include <QString>
#include <QTableView>

#include <functional>
#include <utility>
#include <vector>

namespace gaetwae::console {

// The console's table look: whole-row single selection, no row numbers, alternating rows,
// columns sized to their contents (measured on the first rows only, so 10 000 rows stay
// cheap) and the last one stretched.
QTableView* makeTableView(QAbstractItemModel* model, QWidget* parent = nullptr);

// A modal form of labelled fields with OK and Cancel; true when accepted. The fields are
// reparented into the dialog and gone once it closes: read them before returning.
bool execForm(QWidget* parent, const QString& title, const std::vector<std::pair<QString, QWidget*>>& rows,
              const std::function<void()>& onAccepted);

} // namespace gaetwae::console
