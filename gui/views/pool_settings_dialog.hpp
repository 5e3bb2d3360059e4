#pragma once

#include "shared/model/pool_config.hpp"

#include <QDialog>

#include <nlohmann/json.hpp>

#include <map>
#include <string>

class QComboBox;
class QLineEdit;
class QPlainTextEdit;

namespace gaetwae::console {

// A pool's settings as a form: strategy, health check, circuit breaker and retry fields in
// the config file's names and units ("2s", "250ms"), plus every other setting as JSON for what
// the form does not show. The result is a merge patch of what changed only, so a setting this
// console does not know is never touched; the change flow validates it with the shared model
// before anything is sent.
class PoolSettingsDialog : public QDialog {
    Q_OBJECT
public:
    explicit PoolSettingsDialog(const model::PoolConfig& pool, QWidget* parent = nullptr);

    // The form's fields by config path ("strategy", "health_check/interval", ...), for tests.
    QLineEdit* field(const std::string& path) const;
    QComboBox* strategyBox() const { return m_strategy; }

    // RFC 7386 merge patch from the pool as it was to the pool as edited (no instances); an
    // empty object when nothing changed. Empty text in a field removes that setting (default).
    nlohmann::json patch() const;

    // after = before + patch (RFC 7386): the patch that turns `before` into `after`.
    static nlohmann::json mergePatch(const nlohmann::json& before, const nlohmann::json& after);

private:
    nlohmann::json edited() const;

    nlohmann::json m_original; // the pool's settings without name and instances
    QComboBox* m_strategy = nullptr;
    std::map<std::string, QLineEdit*> m_fields;
    QPlainTextEdit* m_advanced = nullptr;
};

} // namespace gaetwae::console
