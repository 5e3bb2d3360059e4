#pragma once

#include <QAbstractTableModel>

#include <functional>
#include <string>
#include <vector>

namespace gaetwae::console {

// A table whose rows are identified by string keys (pool names, instance ids). syncKeys()
// brings the rows from the current keys to new ones with exact beginRemoveRows /
// beginInsertRows ranges, so views keep their selection and scroll position when a pool
// gains or loses an instance.
class KeyedTableModel : public QAbstractTableModel {
    Q_OBJECT
public:
    using QAbstractTableModel::QAbstractTableModel;

    int rowCount(const QModelIndex& parent = {}) const override;
    const std::string& keyAt(int row) const { return m_keys[static_cast<std::size_t>(row)]; }
    int rowOf(const std::string& key) const;

protected:
    // `commit` swaps in the data for the new keys and runs first, so data() must look values
    // up by key (a row whose key has no data any more shows nothing while it goes). Keys on
    // both sides must keep their relative order (configuration edits replace in place and
    // append); if they do not, the model is reset instead.
    void syncKeys(const std::vector<std::string>& target, const std::function<void()>& commit);
    // dataChanged over every row, for the columns that follow live traffic.
    void allRowsChanged(int firstColumn, int lastColumn);

private:
    std::vector<std::string> m_keys;
};

} // namespace gaetwae::console
