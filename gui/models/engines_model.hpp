#pragma once

#include <QAbstractTableModel>
#include <QTimer>

namespace gaetwae::console {

class ConsoleController;

// One row per engine session: name, URL, connection state badge, round trip, age of the newest
// stats frame and configuration version. The age column ticks once a second.
class EnginesModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Name, Url, State, Rtt, DataAge, Version, ColumnCount };
    enum Role { StateRole = Qt::UserRole + 1 }; // AdminClient::State as int

    explicit EnginesModel(ConsoleController& controller, QObject* parent = nullptr);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    void watch(int index);
    void rowChanged(const QString& name, int firstColumn, int lastColumn);

    ConsoleController& m_controller;
    QTimer m_ageTimer;
};

} // namespace gaetwae::console
