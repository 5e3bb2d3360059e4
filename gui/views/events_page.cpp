#include "gui/views/events_page.hpp"

#include "gui/models/events_model.hpp"
#include "gui/views/view_helpers.hpp"

#include <QCheckBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLineEdit>
#include <QTableView>
#include <QScrollBar>
#include <QVBoxLayout>

namespace gaetwae::console {

EventsPage::EventsPage(EventsModel& events, QWidget* parent) : QWidget(parent) {
    m_filter = new EventsFilterModel(this);
    m_filter->setSourceModel(&events);
    QTableView* view = makeTableView(m_filter);
    view->setSelectionMode(QAbstractItemView::ExtendedSelection);

    auto* text = new QLineEdit;
    text->setPlaceholderText(tr("Filter: instance, pool, detail…"));
    text->setClearButtonEnabled(true);
    auto* bar = new QHBoxLayout;
    bar->addWidget(text, 1);
    std::vector<QCheckBox*> boxes;
    for (const char* kind : {"health", "breaker", "ejection", "drain", "config", "decision", "capture", "redis"}) {
        auto* box = new QCheckBox(QString::fromLatin1(kind));
        boxes.push_back(box);
        bar->addWidget(box);
    }
    auto applyKinds = [this, boxes] {
        QSet<QString> kinds;
        for (auto* box : boxes) {
            if (box->isChecked()) {
                kinds.insert(box->text());
            }
        }
        m_filter->setKinds(kinds);
    };
    for (auto* box : boxes) {
        connect(box, &QCheckBox::toggled, this, applyKinds);
    }
    connect(text, &QLineEdit::textChanged, m_filter, &EventsFilterModel::setText);
    // Follow the newest row unless the operator scrolled away.
    connect(m_filter, &QAbstractItemModel::rowsInserted, view, [view] {
        if (view->verticalScrollBar()->value() >= view->verticalScrollBar()->maximum() - 2) {
            view->scrollToBottom();
        }
    });

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(bar);
    layout->addWidget(view, 1);
}

} // namespace gaetwae::console
