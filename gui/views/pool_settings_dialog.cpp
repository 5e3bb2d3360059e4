#include "gui/views/pool_settings_dialog.hpp"

#include "shared/model/config_codec.hpp"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QVBoxLayout>

namespace gaetwae::console {

namespace {

// The fields the form shows, by section; everything else is in the JSON box.
struct Section {
    const char* title;
    const char* key;
    std::vector<std::pair<const char*, const char*>> fields; // config name, label
};

const std::vector<Section>& sections() {
    static const std::vector<Section> all{
        {"Health check", "health_check",
         {{"type", "Type (http, tcp)"}, {"path", "Path"}, {"interval", "Interval"}, {"timeout", "Timeout"},
          {"rise", "Rise"}, {"fall", "Fall"}}},
        {"Circuit breaker", "circuit_breaker",
         {{"consecutive_failures", "Consecutive failures"}, {"open_timeout", "Open timeout"},
          {"half_open_requests", "Half-open probes"}, {"success_threshold", "Successes to close"}}},
        {"Retry", "retry",
         {{"attempts", "Attempts"}, {"per_try_timeout", "Per-try timeout"}, {"backoff_base", "Backoff base"},
          {"budget_ratio", "Budget ratio"}}},
    };
    return all;
}

QString display(const nlohmann::json& value) {
    if (value.is_null()) {
        return {};
    }
    return QString::fromStdString(value.is_string() ? value.get<std::string>() : value.dump());
}

// Field text back to JSON: numbers and booleans as such, anything else a string.
nlohmann::json parseField(const QString& text) {
    const std::string trimmed = text.trimmed().toStdString();
    const auto parsed = nlohmann::json::parse(trimmed, nullptr, false);
    if (!parsed.is_discarded() && (parsed.is_number() || parsed.is_boolean())) {
        return parsed;
    }
    return trimmed;
}

} // namespace

PoolSettingsDialog::PoolSettingsDialog(const model::PoolConfig& pool, QWidget* parent) : QDialog(parent) {
    setWindowTitle(tr("Settings of %1").arg(QString::fromStdString(pool.name)));
    m_original = model::encodePool(pool);
    m_original.erase("name");
    m_original.erase("instances");

    auto* layout = new QVBoxLayout(this);
    auto* top = new QFormLayout;
    m_strategy = new QComboBox;
    for (const auto& [name, strategy] : model::kStrategyNames) {
        m_strategy->addItem(QString::fromLatin1(name.data(), static_cast<int>(name.size())));
    }
    m_strategy->setCurrentText(display(m_original.value("strategy", nlohmann::json())));
    top->addRow(tr("Strategy"), m_strategy);
    layout->addLayout(top);

    auto* groups = new QHBoxLayout;
    nlohmann::json rest = m_original;
    rest.erase("strategy");
    for (const auto& section : sections()) {
        auto* group = new QGroupBox(tr(section.title));
        auto* form = new QFormLayout(group);
        const nlohmann::json& values = m_original.contains(section.key) ? m_original[section.key] : nlohmann::json();
        for (const auto& [name, label] : section.fields) {
            auto* edit = new QLineEdit(values.is_object() && values.contains(name) ? display(values[name]) : QString());
            edit->setPlaceholderText(tr("default"));
            form->addRow(tr(label), edit);
            m_fields.emplace(std::string(section.key) + "/" + name, edit);
            if (rest.contains(section.key) && rest[section.key].is_object()) {
                rest[section.key].erase(name);
                if (rest[section.key].empty()) {
                    rest.erase(section.key);
                }
            }
        }
        groups->addWidget(group);
    }
    layout->addLayout(groups);
    layout->addWidget(new QLabel(tr("Other settings (JSON, field names as in example.yaml):")));
    m_advanced = new QPlainTextEdit(QString::fromStdString(rest.dump(2)));
    layout->addWidget(m_advanced, 1);
    auto* box = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
    connect(box, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(box, &QDialogButtonBox::rejected, this, &QDialog::reject);
    layout->addWidget(box);
    resize(900, 560);
}

QLineEdit* PoolSettingsDialog::field(const std::string& path) const {
    const auto it = m_fields.find(path);
    return it == m_fields.end() ? nullptr : it->second;
}

nlohmann::json PoolSettingsDialog::edited() const {
    auto result = nlohmann::json::parse(m_advanced->toPlainText().toStdString(), nullptr, false);
    if (result.is_discarded() || !result.is_object()) {
        result = nlohmann::json::object(); // unreadable JSON: keep the other settings as they were
        for (const auto& [key, value] : m_original.items()) {
            result[key] = value;
        }
    }
    result["strategy"] = m_strategy->currentText().toStdString();
    for (const auto& [path, edit] : m_fields) {
        const auto slash = path.find('/');
        const std::string section = path.substr(0, slash);
        const std::string name = path.substr(slash + 1);
        if (edit->text().trimmed().isEmpty()) {
            if (result.contains(section) && result[section].is_object()) {
                result[section].erase(name);
            }
            continue;
        }
        if (!result.contains(section) || !result[section].is_object()) {
            result[section] = nlohmann::json::object();
        }
        result[section][name] = parseField(edit->text());
    }
    return result;
}

nlohmann::json PoolSettingsDialog::patch() const {
    return mergePatch(m_original, edited());
}

nlohmann::json PoolSettingsDialog::mergePatch(const nlohmann::json& before, const nlohmann::json& after) {
    if (!before.is_object() || !after.is_object()) {
        return after;
    }
    nlohmann::json patch = nlohmann::json::object();
    for (const auto& [key, value] : before.items()) {
        if (!after.contains(key)) {
            patch[key] = nullptr; // removed: back to the default
        }
    }
    for (const auto& [key, value] : after.items()) {
        const auto old = before.find(key);
        if (old == before.end()) {
            patch[key] = value;
        } else if (*old != value) {
            patch[key] = old->is_object() && value.is_object() ? mergePatch(*old, value) : value;
        }
    }
    return patch;
}

} // namespace gaetwae::console
