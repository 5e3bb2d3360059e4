#include "gui/views/engines_page.hpp"

#include "gui/app/console_controller.hpp"
#include "gui/models/engines_model.hpp"
#include "gui/views/view_helpers.hpp"

#include <QDialog>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QTableView>
#include <QVBoxLayout>

namespace gaetwae::console {

EnginesPage::EnginesPage(ConsoleController& controller, EnginesModel& model, QWidget* parent)
    : QWidget(parent), m_controller(controller) {
    m_view = makeTableView(&model);
    m_empty = new QLabel(tr("<h3>No engine yet</h3><p>Start one with <code>gaetwaed --demo</code> (or "
                            "<code>installer/run.sh</code>), then add it here: URL "
                            "<code>ws://127.0.0.1:9901/admin</code> and the token file "
                            "<code>%1</code>.</p>")
                             .arg(EngineDirectory::defaultEngineTokenFile().toHtmlEscaped()));
    m_empty->setWordWrap(true);
    m_empty->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto* add = new QPushButton(tr("Add engine…"));
    auto* remove = new QPushButton(tr("Remove"));
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(add);
    buttons->addWidget(remove);
    buttons->addStretch();
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_empty);
    layout->addWidget(m_view, 1);
    layout->addLayout(buttons);

    connect(add, &QPushButton::clicked, this, [this] { addEngine(); });
    connect(remove, &QPushButton::clicked, this, [this] { removeEngine(); });
    connect(m_view, &QTableView::activated, this, [this](const QModelIndex& index) {
        emit engineActivated(index.siblingAtColumn(EnginesModel::Name).data().toString());
    });
    connect(&model, &QAbstractItemModel::rowsInserted, this, [this] { updateEmptyState(); });
    connect(&model, &QAbstractItemModel::rowsRemoved, this, [this] { updateEmptyState(); });
    updateEmptyState();
}

void EnginesPage::updateEmptyState() {
    m_empty->setVisible(m_controller.sessionCount() == 0);
}

void EnginesPage::addEngine() {
    auto* name = new QLineEdit(QStringLiteral("local"));
    auto* url = new QLineEdit(QStringLiteral("ws://127.0.0.1:9901/admin"));
    auto* token = new QLineEdit;
    token->setEchoMode(QLineEdit::Password);
    auto* tokenFile = new QLineEdit(EngineDirectory::defaultEngineTokenFile());
    EngineEndpoint endpoint;
    const bool accepted = execForm(this, tr("Add an engine"),
                                   {{tr("Name"), name}, {tr("Admin URL"), url}, {tr("Token"), token},
                                    {tr("or token file"), tokenFile}},
                                   [&] {
                                       endpoint.name = name->text().trimmed();
                                       endpoint.url = QUrl(url->text().trimmed());
                                       endpoint.token = token->text().trimmed();
                                       if (endpoint.token.isEmpty()) {
                                           endpoint.tokenFile = tokenFile->text().trimmed();
                                       }
                                   });
    if (!accepted) {
        return;
    }
    QString error;
    if (!m_controller.addEngine(endpoint, &error)) {
        QMessageBox::warning(this, tr("Engine not added"), error);
    }
}

void EnginesPage::removeEngine() {
    const QModelIndex index = m_view->currentIndex();
    if (!index.isValid()) {
        return;
    }
    const QString name = index.siblingAtColumn(EnginesModel::Name).data().toString();
    QString error;
    if (!m_controller.removeEngine(name, &error)) {
        QMessageBox::warning(this, tr("Engine not removed"), error);
    }
}

} // namespace gaetwae::console
