#include "gui/models/engines_model.hpp"

#include "gui/app/console_controller.hpp"

#include <QColor>

namespace gaetwae::console {

EnginesModel::EnginesModel(ConsoleController& controller, QObject* parent)
    : QAbstractTableModel(parent), m_controller(controller) {
    for (int i = 0; i < controller.sessionCount(); ++i) {
        watch(i);
    }
    connect(&controller, &ConsoleController::sessionAboutToBeAdded, this,
            [this](int index) { beginInsertRows({}, index, index); });
    connect(&controller, &ConsoleController::sessionAdded, this, [this](int index) {
        endInsertRows();
        watch(index);
    });
    connect(&controller, &ConsoleController::sessionAboutToBeRemoved, this,
            [this](int index) { beginRemoveRows({}, index, index); });
    connect(&controller, &ConsoleController::sessionRemoved, this, [this](int) { endRemoveRows(); });
    m_ageTimer.setInterval(1000);
    connect(&m_ageTimer, &QTimer::timeout, this, [this] {
        if (rowCount() > 0) {
            emit dataChanged(index(0, DataAge), index(rowCount() - 1, DataAge), {Qt::DisplayRole});
        }
    });
    m_ageTimer.start();
}

void EnginesModel::watch(int index) {
    EngineSession* session = m_controller.session(index);
    const QString name = session->name();
    connect(session, &EngineSession::stateChanged, this, [this, name] { rowChanged(name, State, State); });
    connect(&session->client(), &AdminClient::rttChanged, this, [this, name] { rowChanged(name, Rtt, Rtt); });
    connect(session, &EngineSession::poolsChanged, this, [this, name] { rowChanged(name, Version, Version); });
}

void EnginesModel::rowChanged(const QString& name, int firstColumn, int lastColumn) {
    const int row = m_controller.indexOf(name);
    if (row >= 0) {
        emit dataChanged(index(row, firstColumn), index(row, lastColumn));
    }
}

int EnginesModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : m_controller.sessionCount();
}

int EnginesModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant EnginesModel::data(const QModelIndex& index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) {
        return {};
    }
    const EngineSession* session = m_controller.session(index.row());
    if (session == nullptr) {
        return {};
    }
    const AdminClient& client = session->client();
    if (role == StateRole) {
        return static_cast<int>(client.state());
    }
    if (role == Qt::ForegroundRole && index.column() == State) {
        switch (client.state()) {
        case AdminClient::State::Connected: return QColor(0x2e, 0x9d, 0x4f);
        case AdminClient::State::Unauthorized: return QColor(0xd0, 0x3b, 0x3b);
        case AdminClient::State::Disconnected: return {};
        default: return QColor(0xd9, 0x8e, 0x04);
        }
    }
    if (role == Qt::ToolTipRole && index.column() == State) {
        return client.lastError();
    }
    if (role != Qt::DisplayRole) {
        return {};
    }
    switch (index.column()) {
    case Name: return session->name();
    case Url: return session->endpoint().url.toString();
    case State:
        if (client.state() == AdminClient::State::Reconnecting) {
            return QStringLiteral("reconnecting (%1 s)").arg((client.nextRetryInMs() + 999) / 1000);
        }
        return AdminClient::describe(client.state());
    case Rtt: return client.rttMs() < 0 ? QVariant() : QVariant(QStringLiteral("%1 ms").arg(client.rttMs()));
    case DataAge: {
        const qint64 age = client.dataAgeMs();
        if (age < 0) {
            return QStringLiteral("no data");
        }
        return age < 2000 ? QStringLiteral("live") : QStringLiteral("%1 s old").arg(age / 1000);
    }
    case Version: return session->configVersion() == 0 ? QVariant() : QVariant(static_cast<qulonglong>(session->configVersion()));
    default: return {};
    }
}

QVariant EnginesModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) {
        return {};
    }
    static const char* const names[] = {"Engine", "Address", "State", "Round trip", "Data", "Config version"};
    return section >= 0 && section < ColumnCount ? QString::fromLatin1(names[section]) : QVariant();
}

} // namespace gaetwae::console
