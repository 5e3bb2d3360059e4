#pragma once

#include "shared/protocol/admin_messages.hpp"

#include <QAbstractTableModel>
#include <QSet>
#include <QSortFilterProxyModel>

#include <deque>

namespace gaetwae::console {

// Events and sampled balancing decisions from every engine, newest last, capped (the oldest
// rows go first, with exact removal ranges). The history store keeps everything.
class EventsModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Time, Engine, Kind, Pool, Instance, Change, Detail, ColumnCount };
    enum Role { KindRole = Qt::UserRole + 1, TimeRole };

    explicit EventsModel(std::size_t capacity = 10'000, QObject* parent = nullptr);

    void add(const QString& engine, const protocol::EventRecord& event);
    void clear();
    const protocol::EventRecord& eventAt(int row) const { return m_rows[static_cast<std::size_t>(row)].event; }

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    // "why this instance": a decision's candidates, scores and exclusions in words.
    static QString explainDecision(const protocol::EventRecord& event);

private:
    struct Row {
        QString engine;
        protocol::EventRecord event;
    };
    std::size_t m_capacity;
    std::deque<Row> m_rows;
};

// Filters events by kind (none selected: all) and by text in any column.
class EventsFilterModel : public QSortFilterProxyModel {
    Q_OBJECT
public:
    using QSortFilterProxyModel::QSortFilterProxyModel;

    void setKinds(const QSet<QString>& kinds);
    void setText(const QString& text);

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex& sourceParent) const override;

private:
    QSet<QString> m_kinds;
    QString m_text;
};

} // namespace gaetwae::console
