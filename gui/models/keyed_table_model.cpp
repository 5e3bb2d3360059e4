#include "gui/models/keyed_table_model.hpp"

#include <algorithm>

namespace gaetwae::console {

namespace {

std::vector<std::string> keptInOrder(const std::vector<std::string>& keys, const std::vector<std::string>& other) {
    std::vector<std::string> out;
    for (const auto& key : keys) {
        if (std::find(other.begin(), other.end(), key) != other.end()) {
            out.push_back(key);
        }
    }
    return out;
}

} // namespace

int KeyedTableModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(m_keys.size());
}

int KeyedTableModel::rowOf(const std::string& key) const {
    const auto it = std::find(m_keys.begin(), m_keys.end(), key);
    return it == m_keys.end() ? -1 : static_cast<int>(it - m_keys.begin());
}

void KeyedTableModel::syncKeys(const std::vector<std::string>& target, const std::function<void()>& commit) {
    if (keptInOrder(m_keys, target) != keptInOrder(target, m_keys)) {
        beginResetModel();
        m_keys = target;
        commit();
        endResetModel();
        return;
    }
    commit();
    for (int row = static_cast<int>(m_keys.size()) - 1; row >= 0; --row) {
        if (std::find(target.begin(), target.end(), m_keys[static_cast<std::size_t>(row)]) == target.end()) {
            beginRemoveRows({}, row, row);
            m_keys.erase(m_keys.begin() + row);
            endRemoveRows();
        }
    }
    // m_keys is now a subsequence of target: insert what is missing, in target order.
    for (int row = 0; row < static_cast<int>(target.size()); ++row) {
        const auto& key = target[static_cast<std::size_t>(row)];
        if (row >= static_cast<int>(m_keys.size()) || m_keys[static_cast<std::size_t>(row)] != key) {
            beginInsertRows({}, row, row);
            m_keys.insert(m_keys.begin() + row, key);
            endInsertRows();
        }
    }
    if (!m_keys.empty()) {
        emit dataChanged(index(0, 0), index(rowCount() - 1, columnCount() - 1));
    }
}

void KeyedTableModel::allRowsChanged(int firstColumn, int lastColumn) {
    if (!m_keys.empty()) {
        emit dataChanged(index(0, firstColumn), index(rowCount() - 1, lastColumn), {Qt::DisplayRole});
    }
}

} // namespace gaetwae::console
