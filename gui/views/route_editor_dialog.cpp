#include "gui/views/route_editor_dialog.hpp"

#include "shared/model/config_codec.hpp"
#include "shared/model/route_rules_codec.hpp"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QVBoxLayout>

#include <algorithm>
#include <array>

namespace gaetwae::console {

namespace {

// The match fields the form shows; everything else of `match` (headers, query) stays in the JSON.
constexpr std::array<const char*, 3> kPathKeys{"path_prefix", "path_exact", "path_regex"};

QString joinList(const nlohmann::json& list) {
    QStringList items;
    if (list.is_array()) {
        for (const auto& item : list) {
            items << QString::fromStdString(item.is_string() ? item.get<std::string>() : item.dump());
        }
    }
    return items.join(QStringLiteral(", "));
}

nlohmann::json splitList(const QString& text) {
    nlohmann::json list = nlohmann::json::array();
    for (const QString& item : text.split(QLatin1Char(','), Qt::SkipEmptyParts)) {
        if (!item.trimmed().isEmpty()) {
            list.push_back(item.trimmed().toStdString());
        }
    }
    return list;
}

} // namespace

const std::map<std::string, nlohmann::json, std::less<>>& RouteEditorDialog::policyTemplates() {
    // The defaults of example.yaml's commented blocks, small enough to read and then adjust.
    static const std::map<std::string, nlohmann::json, std::less<>> templates{
        {"rate_limit", nlohmann::json::parse(R"([{"key": "client_ip", "rate": "100/s", "burst": 50}])")},
        {"quota", nlohmann::json::parse(R"([{"key": "header:X-API-Key", "limit": 100000, "period": "month"}])")},
        {"auth", nlohmann::json::parse(R"({"api_key": {"header": "X-API-Key"}, "strip_credentials": true})")},
        {"cors", nlohmann::json::parse(
                     R"({"allow_origins": ["https://app.example.com"], "allow_methods": ["GET", "HEAD", "POST"]})")},
        {"compression", nlohmann::json::parse(R"({"enabled": true, "algorithms": ["br", "gzip"], "min_size": "1KiB"})")},
        {"request_headers", nlohmann::json::parse(R"({"set": {"X-Client-IP": "${client_ip}"}})")},
        {"response_headers", nlohmann::json::parse(R"({"set": {"X-Served-By": "${pool}/${instance}"}})")},
        {"hide_headers", nlohmann::json::parse(R"(["X-Powered-By"])")},
        {"timeouts", nlohmann::json::parse(R"({"upstream_connect": "2s", "upstream_response": "5s"})")},
        {"limits", nlohmann::json::parse(R"({"max_body_bytes": "1MiB"})")},
        {"retry", nlohmann::json::parse(R"({"attempts": 2})")},
        {"rewrite", nlohmann::json::parse(R"({"regex": "^/old/(.*)$", "replacement": "/new/$1"})")},
        {"redirect", nlohmann::json::parse(R"({"to": "https://$host$path", "status": 301, "keep_query": true})")},
        {"upgrade", nlohmann::json::parse(R"(["websocket"])")},
        {"tunnel_idle", "10m"},
        {"priority", 10},
    };
    return templates;
}

RouteEditorDialog::RouteEditorDialog(const model::GatewayConfig& config, const std::optional<std::string>& name,
                                     QWidget* parent)
    : QDialog(parent), m_config(config) {
    std::optional<model::RouteConfig> route;
    if (name) {
        const auto it = std::find_if(config.routes.begin(), config.routes.end(),
                                     [&](const model::RouteConfig& r) { return r.name == *name; });
        if (it != config.routes.end()) {
            route = *it;
        }
    }
    m_adding = !route;
    QStringList pools;
    for (const auto& pool : config.pools) {
        pools << QString::fromStdString(pool.name);
    }
    setWindowTitle(route ? tr("Route %1").arg(QString::fromStdString(route->name)) : tr("Add a route"));
    nlohmann::json rest = route ? model::encodeRoute(*route) : nlohmann::json::object();
    nlohmann::json match = rest.contains("match") ? rest["match"] : nlohmann::json::object();

    auto* form = new QFormLayout;
    auto addField = [&](const char* key, const QString& label, const QString& text, const QString& placeholder) {
        auto* edit = new QLineEdit(text);
        edit->setPlaceholderText(placeholder);
        form->addRow(label, edit);
        m_fields.emplace(key, edit);
        connect(edit, &QLineEdit::textChanged, this, [this] { check(); });
        return edit;
    };
    addField("name", tr("Name"), QString::fromStdString(rest.value("name", std::string())), tr("orders"))
        ->setReadOnly(route.has_value());
    m_pool = new QComboBox;
    m_pool->setEditable(true);
    m_pool->addItems(pools);
    m_pool->setCurrentText(QString::fromStdString(rest.value("pool", route ? std::string() : pools.value(0).toStdString())));
    m_pool->setToolTip(tr("Empty for a redirect route"));
    form->addRow(tr("Pool"), m_pool);
    connect(m_pool, &QComboBox::currentTextChanged, this, [this] { check(); });
    addField("hosts", tr("Hosts"), joinList(match.value("hosts", nlohmann::json())),
             tr("any host (comma-separated: api.example.com, *.example.org)"));
    m_pathKind = new QComboBox;
    QString path = QStringLiteral("/");
    for (const char* key : kPathKeys) {
        m_pathKind->addItem(QString::fromLatin1(key).mid(5), QString::fromLatin1(key)); // "prefix", "exact", "regex"
        if (match.contains(key)) {
            m_pathKind->setCurrentIndex(m_pathKind->count() - 1);
            path = QString::fromStdString(match[key].get<std::string>());
        }
    }
    auto* pathRow = new QHBoxLayout;
    pathRow->addWidget(m_pathKind);
    auto* pathEdit = new QLineEdit(path);
    m_fields.emplace("path", pathEdit);
    pathRow->addWidget(pathEdit, 1);
    form->addRow(tr("Path"), pathRow);
    connect(pathEdit, &QLineEdit::textChanged, this, [this] { check(); });
    connect(m_pathKind, &QComboBox::currentIndexChanged, this, [this] { check(); });
    addField("methods", tr("Methods"), joinList(match.value("methods", nlohmann::json())),
             tr("any method (comma-separated: GET, POST)"));

    // The JSON box: everything the form does not show.
    rest.erase("name");
    rest.erase("pool");
    for (const char* key : {"hosts", "methods", "path_prefix", "path_exact", "path_regex"}) {
        match.erase(key);
    }
    rest.erase("match");
    if (!match.empty()) {
        rest["match"] = match;
    }
    m_settings = new QPlainTextEdit(QString::fromStdString(rest.dump(2)));
    m_settings->setObjectName(QStringLiteral("settings"));
    connect(m_settings, &QPlainTextEdit::textChanged, this, [this] {
        m_addProblem.clear();
        check();
    });

    m_policy = new QComboBox;
    for (const auto& [key, value] : policyTemplates()) {
        m_policy->addItem(QString::fromStdString(key));
    }
    auto* add = new QPushButton(tr("Add policy"));
    connect(add, &QPushButton::clicked, this, [this] { addPolicy(m_policy->currentText().toStdString()); });
    auto* policyRow = new QHBoxLayout;
    policyRow->addWidget(new QLabel(tr("Other settings (JSON, field names as in example.yaml):")), 1);
    policyRow->addWidget(m_policy);
    policyRow->addWidget(add);

    m_problems = new QLabel;
    m_problems->setObjectName(QStringLiteral("problems"));
    m_problems->setWordWrap(true);
    m_problems->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto* box = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
    m_ok = box->button(QDialogButtonBox::Ok);
    connect(box, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(box, &QDialogButtonBox::rejected, this, &QDialog::reject);

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addLayout(policyRow);
    layout->addWidget(m_settings, 1);
    layout->addWidget(m_problems);
    layout->addWidget(box);
    resize(760, 620);
    check();
}

QLineEdit* RouteEditorDialog::field(const std::string& name) const {
    const auto it = m_fields.find(name);
    return it == m_fields.end() ? nullptr : it->second;
}

std::optional<nlohmann::json> RouteEditorDialog::settings(QString* error) const {
    const std::string text = m_settings->toPlainText().trimmed().toStdString();
    if (text.empty()) {
        return nlohmann::json::object();
    }
    try {
        auto value = nlohmann::json::parse(text);
        if (value.is_object()) {
            return value;
        }
        *error = tr("Other settings: a JSON object {...} is expected");
    } catch (const nlohmann::json::parse_error& e) {
        // "... at line 3, column 7: ..." names where the JSON stops being readable.
        *error = tr("Other settings are not valid JSON: %1").arg(QString::fromUtf8(e.what()));
    }
    return std::nullopt;
}

nlohmann::json RouteEditorDialog::route() const {
    QString ignored;
    nlohmann::json out = settings(&ignored).value_or(nlohmann::json::object());
    nlohmann::json match = out.contains("match") && out["match"].is_object() ? out["match"] : nlohmann::json::object();
    const nlohmann::json hosts = splitList(field("hosts")->text());
    if (!hosts.empty()) {
        match["hosts"] = hosts;
    }
    const nlohmann::json methods = splitList(field("methods")->text());
    if (!methods.empty()) {
        match["methods"] = methods;
    }
    const QString path = field("path")->text().trimmed();
    if (!path.isEmpty()) {
        match[m_pathKind->currentData().toString().toStdString()] = path.toStdString();
    }
    out["match"] = match;
    out["name"] = field("name")->text().trimmed().toStdString();
    const QString pool = m_pool->currentText().trimmed();
    if (pool.isEmpty()) {
        out.erase("pool");
    } else {
        out["pool"] = pool.toStdString();
    }
    return out;
}

protocol::ConfigOperation RouteEditorDialog::change() const {
    nlohmann::json json = route();
    if (!m_adding) {
        return protocol::putRoute(std::move(json));
    }
    model::Diagnostics ignored; // problems() reports them against the whole configuration
    const model::RouteConfig decoded = model::decodeRoute(json, "", ignored, model::UnknownKeys::Reject);
    return protocol::putRoute(std::move(json), model::reachableInsertIndex(m_config.routes, decoded));
}

QStringList RouteEditorDialog::problems() const {
    QStringList lines;
    QString error;
    if (!settings(&error)) {
        lines << error;
        return lines;
    }
    const std::string name = field("name")->text().trimmed().toStdString();
    if (name.empty()) {
        lines << tr("name: a route needs a name");
        return lines;
    }
    const auto existing = std::find_if(m_config.routes.begin(), m_config.routes.end(),
                                       [&](const model::RouteConfig& r) { return r.name == name; });
    if (m_adding && existing != m_config.routes.end()) {
        lines << tr("name: a route named %1 exists already").arg(QString::fromStdString(name));
        return lines;
    }
    // The engine's own check: the change applied to the configuration, then all of it validated.
    const protocol::ConfigOperation operation = change();
    model::Diagnostics diagnostics;
    protocol::applyOperations(m_config, {operation}, diagnostics, model::UnknownKeys::Reject);
    const std::size_t at = existing != m_config.routes.end()
                               ? static_cast<std::size_t>(existing - m_config.routes.begin())
                               : operation.index.value_or(m_config.routes.size());
    const std::string inChange = "/operations/0/params/route";
    const std::string inConfig = model::childPointer("/routes", at);
    for (const auto& item : diagnostics.items()) {
        // Pointers into this route are shown relative to it ("rate_limit[0].rate").
        std::string_view pointer = item.pointer;
        for (const std::string& prefix : {inChange, inConfig}) {
            if (pointer.starts_with(prefix) && (pointer.size() == prefix.size() || pointer[prefix.size()] == '/')) {
                pointer.remove_prefix(prefix.size());
                break;
            }
        }
        lines << QStringLiteral("%1: %2").arg(pointer.empty() ? tr("route")
                                                              : QString::fromStdString(model::displayPath(pointer)),
                                              QString::fromStdString(item.message));
    }
    return lines;
}

QStringList RouteEditorDialog::warnings() const {
    QString error;
    if (!settings(&error)) {
        return {};
    }
    model::Diagnostics diagnostics;
    const model::GatewayConfig result = protocol::applyOperations(m_config, {change()}, diagnostics);
    if (!diagnostics.empty()) {
        return {};
    }
    const std::string name = field("name")->text().trimmed().toStdString();
    const auto it = std::find_if(result.routes.begin(), result.routes.end(),
                                 [&](const model::RouteConfig& r) { return r.name == name; });
    const std::string pointer = model::childPointer("/routes", static_cast<std::size_t>(it - result.routes.begin()));
    model::Diagnostics shadowed;
    model::findShadowedRoutes(result.routes, shadowed);
    QStringList lines;
    for (const auto& item : shadowed.items()) {
        if (item.pointer == pointer) {
            lines << tr("Note: %1").arg(QString::fromStdString(item.message));
        }
    }
    return lines;
}

bool RouteEditorDialog::addPolicy(const std::string& key) {
    const auto& templates = policyTemplates();
    const auto it = templates.find(key);
    QString error;
    auto current = settings(&error);
    if (it == templates.end() || !current) {
        m_addProblem = it == templates.end() ? tr("There is no policy named %1").arg(QString::fromStdString(key))
                                             : tr("Fix the JSON before adding a policy");
        check();
        return false;
    }
    if (current->contains(key)) {
        m_addProblem = tr("The route has %1 already: edit it in the JSON").arg(QString::fromStdString(key));
        check();
        return false;
    }
    (*current)[key] = it->second;
    m_settings->setPlainText(QString::fromStdString(current->dump(2))); // clears m_addProblem, checks
    if (key == "redirect") {
        m_pool->setCurrentText(QString()); // the gateway answers a redirect: no pool
    }
    return true;
}

void RouteEditorDialog::check() {
    QStringList lines = problems();
    m_ok->setEnabled(lines.isEmpty());
    if (lines.isEmpty()) {
        lines = warnings();
    }
    if (!m_addProblem.isEmpty()) {
        lines.prepend(m_addProblem);
    }
    m_problems->setText(lines.join(QLatin1Char('\n')));
    m_problems->setVisible(!lines.isEmpty());
}

} // namespace gaetwae::console
