#include "gui/views/pools_page.hpp"

#include "gui/client/change_watch.hpp"
#include "gui/models/instances_model.hpp"
#include "gui/models/pools_model.hpp"
#include "gui/models/routes_model.hpp"
#include "gui/views/pool_settings_dialog.hpp"
#include "gui/views/route_editor_dialog.hpp"
#include "gui/views/view_helpers.hpp"

#include <QDialog>
#include <QDialogButtonBox>
#include <QHBoxLayout>
#include <QInputDialog>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
#include <QTableView>
#include <QTimer>
#include <QVBoxLayout>

#include <algorithm>

namespace gaetwae::console {

namespace {

QString describeErrors(const std::vector<model::Diagnostic>& errors) {
    QStringList lines;
    for (const auto& error : errors) {
        lines << QStringLiteral("%1: %2").arg(QString::fromStdString(model::displayPath(error.pointer)),
                                              QString::fromStdString(error.message));
    }
    return lines.join(QLatin1Char('\n'));
}

} // namespace

PoolsPage::PoolsPage(QWidget* parent) : QWidget(parent) {
    m_routes = new RoutesModel(this);
    m_pools = new PoolsModel(this);
    m_instances = new InstancesModel(this);
    m_routeView = makeTableView(m_routes);
    m_poolView = makeTableView(m_pools);
    m_instanceView = makeTableView(m_instances);
    m_status = new QLabel;
    m_status->setWordWrap(true);

    auto* add = new QPushButton(tr("Add instance…"));
    auto* edit = new QPushButton(tr("Edit…"));
    auto* weight = new QPushButton(tr("Weight…"));
    auto* enable = new QPushButton(tr("Enable"));
    auto* drain = new QPushButton(tr("Drain"));
    auto* disable = new QPushButton(tr("Disable"));
    auto* remove = new QPushButton(tr("Remove"));
    auto* pool = new QPushButton(tr("Pool settings…"));
    drain->setToolTip(tr("No new requests; requests in flight finish (progress in the State column)"));
    auto* buttons = new QHBoxLayout;
    for (auto* button : {add, edit, weight, enable, drain, disable, remove, pool}) {
        buttons->addWidget(button);
    }
    buttons->addStretch();
    auto* addRoute = new QPushButton(tr("Add route…"));
    auto* editRoute = new QPushButton(tr("Edit route…"));
    auto* removeRoute = new QPushButton(tr("Remove route"));
    editRoute->setToolTip(tr("Match, pool and the route's policies: rate limits, quotas, auth, CORS, "
                             "compression, header edits, rewrites, timeouts"));
    auto* routeButtons = new QHBoxLayout;
    for (auto* button : {addRoute, editRoute, removeRoute}) {
        routeButtons->addWidget(button);
    }
    routeButtons->addStretch();
    auto* routesPane = new QWidget;
    auto* routesLayout = new QVBoxLayout(routesPane);
    routesLayout->setContentsMargins(0, 0, 0, 0);
    routesLayout->addWidget(m_routeView, 1);
    routesLayout->addLayout(routeButtons);

    auto* splitter = new QSplitter(Qt::Vertical);
    splitter->addWidget(routesPane);
    splitter->addWidget(m_poolView);
    splitter->addWidget(m_instanceView);
    splitter->setStretchFactor(2, 2);
    splitter->setSizes({170, 130, 400});
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(splitter, 1);
    layout->addLayout(buttons);
    layout->addWidget(m_status);

    connect(m_poolView->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            [this] { m_instances->setPool(m_session, currentPool()); });
    connect(m_pools, &QAbstractItemModel::rowsInserted, this, [this] {
        if (!m_poolView->currentIndex().isValid()) {
            m_poolView->selectRow(0);
        }
    });
    connect(add, &QPushButton::clicked, this, [this] { editInstance(true); });
    connect(edit, &QPushButton::clicked, this, [this] { editInstance(false); });
    connect(m_instanceView, &QTableView::doubleClicked, this, [this] { editInstance(false); });
    connect(weight, &QPushButton::clicked, this, [this] { editWeight(); });
    connect(enable, &QPushButton::clicked, this, [this] { setState(model::InstanceState::Enabled); });
    connect(drain, &QPushButton::clicked, this, [this] { setState(model::InstanceState::Draining); });
    connect(disable, &QPushButton::clicked, this, [this] { setState(model::InstanceState::Disabled); });
    connect(remove, &QPushButton::clicked, this, [this] { removeInstance(); });
    connect(pool, &QPushButton::clicked, this, [this] { editPool(); });
    connect(addRoute, &QPushButton::clicked, this, [this] { this->editRoute(true); });
    connect(editRoute, &QPushButton::clicked, this, [this] { this->editRoute(false); });
    connect(m_routeView, &QTableView::doubleClicked, this, [this] { this->editRoute(false); });
    connect(removeRoute, &QPushButton::clicked, this, [this] { this->removeRoute(); });
    connect(this, &PoolsPage::changeFinished, m_status, &QLabel::setText);
}

void PoolsPage::setSession(EngineSession* session) {
    m_session = session;
    m_routes->setSession(session);
    m_pools->setSession(session);
    if (m_pools->rowCount() > 0 && !m_poolView->currentIndex().isValid()) {
        m_poolView->selectRow(0);
    }
    m_instances->setPool(session, currentPool());
}

QString PoolsPage::currentPool() const {
    const QModelIndex index = m_poolView->currentIndex();
    return index.isValid() ? index.siblingAtColumn(0).data(PoolsModel::PoolNameRole).toString() : QString();
}

QString PoolsPage::currentRoute() const {
    const QModelIndex index = m_routeView->currentIndex();
    return index.isValid() ? index.siblingAtColumn(RoutesModel::Name).data().toString() : QString();
}

QString PoolsPage::currentInstance() const {
    const QModelIndex index = m_instanceView->currentIndex();
    return index.isValid() ? index.siblingAtColumn(0).data(InstancesModel::InstanceIdRole).toString() : QString();
}

void PoolsPage::propose(std::vector<protocol::ConfigOperation> operations,
                        const std::function<bool(const ChangePreview&)>& confirm) {
    if (!m_session) {
        emit changeFinished(tr("No engine selected."));
        return;
    }
    QPointer<PoolsPage> self(this);
    m_session->preview(std::move(operations), [self, confirm](ChangePreview preview) {
        if (!self || !self->m_session) {
            return;
        }
        if (!preview.valid()) {
            emit self->changeFinished(tr("Not applied: %1").arg(preview.failure.isEmpty() ? describeErrors(preview.errors)
                                                                                          : preview.failure));
            if (preview.failure.isEmpty()) {
                confirm(preview); // shows the errors
            }
            return;
        }
        if (!confirm(preview)) {
            emit self->changeFinished(tr("Cancelled: %1").arg(preview.summary));
            return;
        }
        self->m_session->apply(preview, [self](ApplyOutcome outcome) {
            if (!self) {
                return;
            }
            if (!outcome.applied) {
                QString text = outcome.message;
                if (!outcome.errors.empty()) {
                    text += QLatin1Char('\n') + describeErrors(outcome.errors);
                }
                emit self->changeFinished(tr("Not applied: %1").arg(text));
                return;
            }
            emit self->changeFinished(tr("Applied as version %1: %2").arg(outcome.applied->version).arg(outcome.applied->summary));
            self->watch(*outcome.applied);
        });
    });
}

bool PoolsPage::confirmWithDialog(const ChangePreview& preview) {
    QDialog dialog(this);
    dialog.setWindowTitle(preview.valid() ? tr("Apply this change?") : tr("This change is invalid"));
    auto* layout = new QVBoxLayout(&dialog);
    layout->addWidget(new QLabel(preview.summary));
    auto* details = new QPlainTextEdit;
    details->setReadOnly(true);
    details->setPlainText(preview.valid() ? QString::fromStdString(preview.diff.dump(2)) : describeErrors(preview.errors));
    layout->addWidget(new QLabel(preview.valid() ? tr("Changes (JSON Patch against version %1):").arg(preview.baseVersion)
                                                 : tr("Problems:")));
    layout->addWidget(details);
    auto* box = new QDialogButtonBox(preview.valid() ? QDialogButtonBox::Apply | QDialogButtonBox::Cancel
                                                     : QDialogButtonBox::Close);
    connect(box, &QDialogButtonBox::clicked, &dialog, [&dialog, box](QAbstractButton* button) {
        dialog.done(box->buttonRole(button) == QDialogButtonBox::ApplyRole ? QDialog::Accepted : QDialog::Rejected);
    });
    layout->addWidget(box);
    dialog.resize(560, 380);
    return dialog.exec() == QDialog::Accepted && preview.valid();
}

void PoolsPage::watch(const AppliedChange& change) {
    // A non-modal window comparing the same length of time before and after the change.
    auto* dialog = new QDialog(this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setWindowTitle(tr("Watching version %1").arg(change.version));
    dialog->setObjectName(QStringLiteral("changeWatch"));
    auto* text = new QLabel;
    auto* revert = new QPushButton(tr("Revert"));
    revert->setObjectName(QStringLiteral("revert"));
    auto* layout = new QVBoxLayout(dialog);
    layout->addWidget(new QLabel(change.summary));
    layout->addWidget(text);
    layout->addWidget(revert);
    auto* timer = new QTimer(dialog);
    QPointer<EngineSession> session = m_session;
    auto update = [text, session, change] {
        if (!session) {
            return;
        }
        const auto c = compareAround(session->frames(), change.appliedAtMs, 60'000);
        text->setText(tr("Over %1 s before and after:\nerror rate %2 % → %3 %\np99 %4 ms → %5 ms\n%6")
                          .arg(c.windowMs / 1000)
                          .arg(c.before.errorRate() * 100, 0, 'f', 2)
                          .arg(c.after.errorRate() * 100, 0, 'f', 2)
                          .arg(c.before.p99Ms(), 0, 'f', 1)
                          .arg(c.after.p99Ms(), 0, 'f', 1)
                          .arg(c.looksWorse() ? tr("This looks worse: consider reverting.") : QString()));
    };
    connect(timer, &QTimer::timeout, dialog, update);
    timer->start(1000);
    update();
    connect(revert, &QPushButton::clicked, dialog, [this, dialog, session, change] {
        if (!session) {
            return;
        }
        QPointer<QDialog> guard(dialog);
        session->revert(change, [this, guard](ApplyOutcome outcome) {
            emit changeFinished(outcome.applied ? tr("Reverted (version %1).").arg(outcome.applied->version)
                                                : tr("Revert not applied: %1").arg(outcome.message));
            if (guard && outcome.applied) {
                guard->close();
            }
        });
    });
    dialog->show();
}

void PoolsPage::editInstance(bool adding) {
    const QString pool = currentPool();
    if (pool.isEmpty() || !m_session) {
        return;
    }
    model::InstanceConfig instance;
    if (!adding) {
        const std::string id = currentInstance().toStdString();
        bool found = false;
        for (const auto& view : m_session->pools().pools) {
            for (const auto& candidate : view.instances) {
                if (view.config.name == pool.toStdString() && candidate.config.id == id) {
                    instance = candidate.config; // keeps state and extension fields
                    found = true;
                }
            }
        }
        if (!found) {
            return;
        }
    }
    auto* id = new QLineEdit(QString::fromStdString(instance.id));
    id->setReadOnly(!adding);
    auto* address = new QLineEdit(QString::fromStdString(instance.address));
    address->setPlaceholderText(QStringLiteral("10.0.0.5:8080"));
    auto* weight = new QSpinBox;
    weight->setRange(0, 10000);
    weight->setValue(static_cast<int>(instance.weight));
    const bool accepted = execForm(this,
                                   adding ? tr("Add an instance to %1").arg(pool)
                                          : tr("Edit %1/%2").arg(pool, QString::fromStdString(instance.id)),
                                   {{tr("ID"), id}, {tr("Address"), address}, {tr("Weight"), weight}}, [&] {
                                       instance.id = id->text().trimmed().toStdString();
                                       instance.address = address->text().trimmed().toStdString();
                                       instance.weight = static_cast<std::uint32_t>(weight->value());
                                   });
    if (!accepted) {
        return;
    }
    propose({protocol::putInstance(pool.toStdString(), instance)},
            [this](const ChangePreview& p) { return confirmWithDialog(p); });
}

void PoolsPage::editWeight() {
    const QString pool = currentPool();
    const QString id = currentInstance();
    if (id.isEmpty()) {
        return;
    }
    bool ok = false;
    const int current = static_cast<int>(m_instances->live(id.toStdString()).weight);
    const int weight = QInputDialog::getInt(this, tr("Weight of %1").arg(id), tr("Weight (0-10000)"), current, 0,
                                            10000, 1, &ok);
    if (ok) {
        propose({protocol::setWeight(pool.toStdString(), id.toStdString(), static_cast<std::uint32_t>(weight))},
                [this](const ChangePreview& p) { return confirmWithDialog(p); });
    }
}

void PoolsPage::setState(model::InstanceState state) {
    const QString id = currentInstance();
    if (!id.isEmpty()) {
        propose({protocol::setState(currentPool().toStdString(), id.toStdString(), state)},
                [this](const ChangePreview& p) { return confirmWithDialog(p); });
    }
}

void PoolsPage::removeInstance() {
    const QString id = currentInstance();
    if (!id.isEmpty()) {
        propose({protocol::removeInstance(currentPool().toStdString(), id.toStdString())},
                [this](const ChangePreview& p) { return confirmWithDialog(p); });
    }
}

void PoolsPage::editPool() {
    const QString pool = currentPool();
    if (pool.isEmpty() || !m_session || !m_session->config()) {
        return;
    }
    const auto& pools = m_session->config()->pools;
    const auto it = std::find_if(pools.begin(), pools.end(),
                                 [&](const model::PoolConfig& p) { return p.name == pool.toStdString(); });
    if (it == pools.end()) {
        return;
    }
    PoolSettingsDialog dialog(*it, this);
    if (dialog.exec() != QDialog::Accepted) {
        return;
    }
    const nlohmann::json patch = dialog.patch();
    if (patch.empty()) {
        emit changeFinished(tr("Nothing changed."));
        return;
    }
    propose({protocol::patchPool(pool.toStdString(), patch)}, [this](const ChangePreview& p) { return confirmWithDialog(p); });
}

void PoolsPage::editRoute(bool adding) {
    if (!m_session || !m_session->config()) {
        return;
    }
    std::optional<std::string> route;
    if (!adding) {
        route = currentRoute().toStdString();
        if (route->empty()) {
            return;
        }
    }
    RouteEditorDialog dialog(*m_session->config(), route, this);
    if (dialog.exec() != QDialog::Accepted) {
        return;
    }
    propose({dialog.change()}, [this](const ChangePreview& p) { return confirmWithDialog(p); });
}

void PoolsPage::removeRoute() {
    const QString name = currentRoute();
    if (name.isEmpty()) {
        return;
    }
    propose({protocol::removeRoute(name.toStdString())}, [this](const ChangePreview& p) { return confirmWithDialog(p); });
}

} // namespace gaetwae::console
