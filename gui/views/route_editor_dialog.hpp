#pragma once

#include "shared/model/config.hpp"
#include "shared/protocol/config_ops.hpp"

#include <QDialog>
#include <QStringList>

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>
#include <string_view>

class QComboBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;

namespace gaetwae::console {

// Adds or edits one route: name, pool and the usual match fields (hosts, path, methods) as a
// form, every other setting (rate limits, quotas, auth, CORS, compression, header edits,
// rewrites, redirects, timeouts, upgrades...) as JSON with the config file's names. "Add policy"
// inserts a commented-in-example.yaml default block for a policy the route does not have yet.
// Every edit is checked at once with the shared model against the whole configuration (pools,
// consumers, names) exactly as the engine will, so a problem is shown with its field before
// anything is sent; OK stays disabled until there is none.
class RouteEditorDialog : public QDialog {
    Q_OBJECT
public:
    // `route`: the name of the route of `config` to edit (the name cannot change), or nothing to
    // add one. The pool field offers config's pools (and takes a typed name; empty for a redirect).
    RouteEditorDialog(const model::GatewayConfig& config, const std::optional<std::string>& route,
                      QWidget* parent = nullptr);

    // The route as edited, JSON as in a config file.
    nlohmann::json route() const;
    // The change that puts it into the configuration: an edited route is replaced where it is; a
    // new one is inserted where no earlier route shadows it (model::reachableInsertIndex).
    protocol::ConfigOperation change() const;
    // What is wrong with it ("rate_limit[0].rate: ..."), empty when it decodes cleanly (OK is
    // enabled exactly then).
    QStringList problems() const;
    // What would not stop the change but is likely a mistake: a route that can never match
    // because a route tried before it answers all its requests.
    QStringList warnings() const;

    // The policy blocks "Add policy" offers, by config name, and each one's starting value.
    static const std::map<std::string, nlohmann::json, std::less<>>& policyTemplates();
    // Adds the block named `key` to the settings JSON; false (and a problem shown) when the
    // route has it already or the JSON cannot be read.
    bool addPolicy(const std::string& key);

    // The form's fields, for tests: "name", "hosts", "path", "methods".
    QLineEdit* field(const std::string& name) const;
    QComboBox* poolBox() const { return m_pool; }
    QComboBox* pathKindBox() const { return m_pathKind; }
    QPlainTextEdit* settingsEdit() const { return m_settings; }
    QPushButton* okButton() const { return m_ok; }

private:
    // The settings box as an object, or nothing with `error` set when it is not one.
    std::optional<nlohmann::json> settings(QString* error) const;
    void check();

    model::GatewayConfig m_config;
    bool m_adding = true;
    std::map<std::string, QLineEdit*> m_fields;
    QComboBox* m_pool = nullptr;
    QComboBox* m_pathKind = nullptr;
    QComboBox* m_policy = nullptr;
    QPlainTextEdit* m_settings = nullptr;
    QLabel* m_problems = nullptr;
    QPushButton* m_ok = nullptr;
    QString m_addProblem; // why the last addPolicy did nothing
};

} // namespace gaetwae::console
