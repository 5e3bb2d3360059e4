#include "gui/models/events_model.hpp"

#include <QDateTime>

namespace gaetwae::console {

EventsModel::EventsModel(std::size_t capacity, QObject* parent)
    : QAbstractTableModel(parent), m_capacity(std::max<std::size_t>(capacity, 1)) {}

void EventsModel::add(const QString& engine, const protocol::EventRecord& event) {
    if (m_rows.size() >= m_capacity) {
        const int drop = static_cast<int>(m_rows.size() - m_capacity + 1);
        beginRemoveRows({}, 0, drop - 1);
        m_rows.erase(m_rows.begin(), m_rows.begin() + drop);
        endRemoveRows();
    }
    const int row = static_cast<int>(m_rows.size());
    beginInsertRows({}, row, row);
    m_rows.push_back(Row{engine, event});
    endInsertRows();
}

void EventsModel::clear() {
    if (m_rows.empty()) {
        return;
    }
    beginRemoveRows({}, 0, static_cast<int>(m_rows.size()) - 1);
    m_rows.clear();
    endRemoveRows();
}

int EventsModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(m_rows.size());
}

int EventsModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QString EventsModel::explainDecision(const protocol::EventRecord& event) {
    // data: {chosen, strategy, note, panic, candidates: [{instance, weight, score}],
    //        excluded: [{instance, reason}]} (engine/http/forward.cpp)
    const auto& data = event.data;
    if (!data.is_object()) {
        return QString::fromStdString(event.detail);
    }
    auto text = [&](const nlohmann::json& object, const char* key) {
        const auto it = object.find(key);
        return it != object.end() && it->is_string() ? QString::fromStdString(it->get<std::string>()) : QString();
    };
    QStringList parts;
    parts << QStringLiteral("%1 chose %2").arg(text(data, "strategy"), text(data, "chosen"));
    if (data.value("panic", false)) {
        parts << QStringLiteral("panic mode: too few healthy instances, balancing across all");
    }
    if (const QString note = text(data, "note"); !note.isEmpty()) {
        parts << note;
    }
    if (const auto it = data.find("candidates"); it != data.end() && it->is_array()) {
        QStringList candidates;
        for (const auto& candidate : *it) {
            if (candidate.is_object()) {
                QString line = text(candidate, "instance");
                if (const auto score = candidate.find("score"); score != candidate.end() && score->is_number()) {
                    line += QStringLiteral(" (score %1)").arg(score->get<double>(), 0, 'g', 4);
                }
                candidates << line;
            }
        }
        parts << QStringLiteral("candidates: %1").arg(candidates.join(QStringLiteral(", ")));
    }
    if (const auto it = data.find("excluded"); it != data.end() && it->is_array() && !it->empty()) {
        QStringList excluded;
        for (const auto& item : *it) {
            if (item.is_object()) {
                excluded << QStringLiteral("%1 (%2)").arg(text(item, "instance"), text(item, "reason"));
            }
        }
        parts << QStringLiteral("excluded: %1").arg(excluded.join(QStringLiteral(", ")));
    }
    return parts.join(QStringLiteral("; "));
}

QVariant EventsModel::data(const QModelIndex& index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) {
        return {};
    }
    const Row& row = m_rows[static_cast<std::size_t>(index.row())];
    const auto& event = row.event;
    if (role == KindRole) {
        return QString::fromStdString(event.kind);
    }
    if (role == TimeRole) {
        return QVariant::fromValue<qint64>(event.timeMs);
    }
    if (role != Qt::DisplayRole && role != Qt::ToolTipRole) {
        return {};
    }
    switch (index.column()) {
    case Time:
        return QDateTime::fromMSecsSinceEpoch(event.timeMs)
            .toString(role == Qt::ToolTipRole ? QStringLiteral("yyyy-MM-dd HH:mm:ss.zzz t")
                                              : QStringLiteral("MM-dd HH:mm:ss"));
    case Engine: return row.engine;
    case Kind: return QString::fromStdString(event.kind);
    case Pool: return QString::fromStdString(event.pool);
    case Instance: return QString::fromStdString(event.instance);
    case Change:
        return event.from.empty() && event.to.empty()
                   ? QString()
                   : QStringLiteral("%1 → %2").arg(QString::fromStdString(event.from), QString::fromStdString(event.to));
    case Detail: return event.kind == "decision" ? explainDecision(event) : QString::fromStdString(event.detail);
    default: return {};
    }
}

QVariant EventsModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) {
        return {};
    }
    static const char* const names[] = {"Time", "Engine", "Kind", "Pool", "Instance", "Change", "Detail"};
    return section >= 0 && section < ColumnCount ? QString::fromLatin1(names[section]) : QVariant();
}

void EventsFilterModel::setKinds(const QSet<QString>& kinds) {
    m_kinds = kinds;
    invalidateFilter();
}

void EventsFilterModel::setText(const QString& text) {
    m_text = text;
    invalidateFilter();
}

bool EventsFilterModel::filterAcceptsRow(int sourceRow, const QModelIndex& sourceParent) const {
    const QAbstractItemModel* source = sourceModel();
    if (!m_kinds.isEmpty() &&
        !m_kinds.contains(source->index(sourceRow, 0, sourceParent).data(EventsModel::KindRole).toString())) {
        return false;
    }
    if (m_text.isEmpty()) {
        return true;
    }
    for (int column = 0; column < source->columnCount(sourceParent); ++column) {
        if (source->index(sourceRow, column, sourceParent).data().toString().contains(m_text, Qt::CaseInsensitive)) {
            return true;
        }
    }
    return false;
}

} // namespace gaetwae::console
