// YAML config loading: every error reported at once with file, line, column and field.
#include "engine/config/builtin_config.hpp"
#include "engine/config/config_loader.hpp"

#include <QtTest>

using namespace gaetwae::engine::config;

namespace {

const ConfigError* findError(const ConfigLoadResult& result, const std::string& field, const std::string& fragment) {
    for (const auto& e : result.errors) {
        if (e.field == field && e.message.find(fragment) != std::string::npos) {
            return &e;
        }
    }
    return nullptr;
}

const char* kValid = R"(listeners:
  - address: 127.0.0.1:8080
routes:
  - name: api
    match:
      path_prefix: /api
    pool: backend
pools:
  - name: backend
    instances:
      - id: a
        address: 127.0.0.1:9001
      - id: b
        address: 127.0.0.1:9002
)";

} // namespace

class TestConfigLoader : public QObject {
    Q_OBJECT

private slots:
    void loadsAValidFile() {
        const auto result = loadConfigText(kValid, "gw.yaml");
        QVERIFY2(result.ok(), result.errorText().c_str());
        QCOMPARE(result.loaded->config.pools[0].instances.size(), size_t(2));
    }

    void syntaxErrorNamesTheLine() {
        const auto result = loadConfigText("listeners:\n  - address: [127.0.0.1\npools: []\n", "gw.yaml");
        QVERIFY(!result.ok());
        QCOMPARE(result.errors.size(), size_t(1));
        QVERIFY(result.errors[0].message.find("YAML syntax error") != std::string::npos);
        QVERIFY2(result.errors[0].location.line >= 2, result.errorText().c_str());
        QVERIFY(result.errorText().starts_with("gw.yaml:"));
    }

    void unknownKeyNamesLineAndField() {
        std::string text = kValid;
        text.replace(text.find("      - id: b\n"), 14, "      - id: b\n        weigth: 2\n");
        const auto result = loadConfigText(text, "gw.yaml");
        QVERIFY(!result.ok());
        const auto* error = findError(result, "pools[0].instances[1].weigth", "unknown field 'weigth'");
        QVERIFY2(error, result.errorText().c_str());
        QCOMPARE(error->location.line, 14);
        QCOMPARE(error->location.column, 9);
        QVERIFY(error->message.find("did you mean 'weight'") != std::string::npos);
        QVERIFY(error->toString().starts_with("gw.yaml:14:9: pools[0].instances[1].weigth: unknown field"));
    }

    void badAddressNamesLineAndField() {
        std::string text = kValid;
        text.replace(text.find("127.0.0.1:9002"), 14, "127.0.0.1:99999");
        const auto result = loadConfigText(text, "gw.yaml");
        QVERIFY(!result.ok());
        const auto* error = findError(result, "pools[0].instances[1].address", "out of range");
        QVERIFY2(error, result.errorText().c_str());
        QCOMPARE(error->location.line, 14);
    }

    void duplicateIdsNameTheSecond() {
        std::string text = kValid;
        text.replace(text.find("id: b"), 5, "id: a");
        const auto result = loadConfigText(text, "gw.yaml");
        QVERIFY(!result.ok());
        const auto* error = findError(result, "pools[0].instances[1].id", "duplicate instance id 'a'");
        QVERIFY2(error, result.errorText().c_str());
        QCOMPARE(error->location.line, 13);
    }

    void duplicateYamlKeysAreErrors() {
        std::string text = kValid;
        text.replace(text.find("      - id: b\n"), 14, "      - id: b\n        id: c\n");
        const auto result = loadConfigText(text, "gw.yaml");
        QVERIFY(!result.ok());
        const auto* error = findError(result, "pools[0].instances[1].id", "duplicate key 'id'");
        QVERIFY2(error, result.errorText().c_str());
        QCOMPARE(error->location.line, 14);
    }

    void missingFieldPointsAtItsMapping() {
        std::string text = kValid;
        text.replace(text.find("    pool: backend\n"), 18, "");
        const auto result = loadConfigText(text, "gw.yaml");
        QVERIFY(!result.ok());
        const auto* error = findError(result, "routes[0]", "missing required field 'pool'");
        QVERIFY2(error, result.errorText().c_str());
        QCOMPARE(error->location.line, 4);
    }

    void reportsAllErrorsAtOnce() {
        const char* text = R"(listeners:
  - address: nowhere
timeouts:
  client_header: 10
  upstrem_idle: 5s
pools:
  - name: p
    strategy: fastest
    instances:
      - id: a
        address: 127.0.0.1:1
        weight: -1
)";
        const auto result = loadConfigText(text, "gw.yaml");
        QVERIFY(!result.ok());
        QVERIFY2(findError(result, "timeouts.client_header", "add a unit"), result.errorText().c_str());
        QVERIFY2(findError(result, "timeouts.upstrem_idle", "did you mean 'upstream_idle'"), result.errorText().c_str());
        QVERIFY2(findError(result, "pools[0].strategy", "unknown value 'fastest'"), result.errorText().c_str());
        QVERIFY2(findError(result, "pools[0].instances[0].weight", "between 0 and"), result.errorText().c_str());
        QCOMPARE(findError(result, "pools[0].strategy", "")->location.line, 8);
        QCOMPARE(findError(result, "pools[0].instances[0].weight", "")->location.line, 12);
    }

    void typesFollowYamlCoreSchema() {
        std::string text = kValid;
        text.replace(text.find("    pool: backend\n"), 18, "    pool: backend\n    strip_prefix: yes\n");
        const auto result = loadConfigText(text, "gw.yaml");
        QVERIFY(!result.ok()); // "yes" is a string in YAML 1.2, not a boolean
        QVERIFY2(findError(result, "routes[0].strip_prefix", "expected true or false"), result.errorText().c_str());
    }

    void quotedNumbersAreStrings() {
        std::string text = kValid;
        text.replace(text.find("id: a"), 5, "id: \"1\"");
        const auto result = loadConfigText(text, "gw.yaml");
        QVERIFY2(result.ok(), result.errorText().c_str());
        QCOMPARE(result.loaded->config.pools[0].instances[0].id, std::string("1"));

        std::string unquoted = kValid;
        unquoted.replace(unquoted.find("id: a"), 5, "id: 1");
        const auto bad = loadConfigText(unquoted, "gw.yaml");
        QVERIFY(!bad.ok());
        QVERIFY2(findError(bad, "pools[0].instances[0].id", "quote it"), bad.errorText().c_str());
    }

    void emptyAndMissingFiles() {
        const auto empty = loadConfigText("# nothing here\n", "gw.yaml");
        QVERIFY(!empty.ok());
        QVERIFY(empty.errors[0].message.find("empty") != std::string::npos);
        const auto missing = loadConfigFile("/nonexistent/gaetwae.yaml");
        QVERIFY(!missing.ok());
        QVERIFY(missing.errorText().find("/nonexistent/gaetwae.yaml: no such file") != std::string::npos);
    }

    void shippedConfigsAreValid_data() {
        QTest::addColumn<QString>("file");
        QTest::newRow("demo") << "resources/config/demo.yaml";
        QTest::newRow("example") << "resources/config/example.yaml";
    }
    void shippedConfigsAreValid() {
        QFETCH(QString, file);
        const auto result = loadConfigFile(std::string(GAETWAE_SOURCE_DIR) + "/" + file.toStdString());
        QVERIFY2(result.ok(), result.errorText().c_str());
    }

    void builtinDemoConfigMatchesTheFile() {
        const auto builtin = loadConfigText(builtinDemoConfig(), std::string(kBuiltinDemoConfigName));
        QVERIFY2(builtin.ok(), builtin.errorText().c_str());
        const auto file = loadConfigFile(std::string(GAETWAE_SOURCE_DIR) + "/resources/config/demo.yaml");
        QVERIFY(file.ok());
        QVERIFY(builtin.loaded->config == file.loaded->config);
        QCOMPARE(builtin.loaded->config.pools[0].instances.size(), size_t(3));
    }
};

QTEST_APPLESS_MAIN(TestConfigLoader)
#include "tst_config_loader.moc"
