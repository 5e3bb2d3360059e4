// YAML config loading: every error reported at once with file, line, column and field.
#include "engine/config/builtin_config.hpp"
#include "engine/config/config_loader.hpp"
#include "engine/config/yaml_writer.hpp"
#include "shared/model/config_codec.hpp"

#include <QTemporaryDir>
#include <QtTest>

#include <filesystem>
#include <fstream>
#include <sys/stat.h>

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

    void hardeningLimitsNameLineAndField() {
        const std::string text = std::string(kValid) + "limits:\n"
                                                       "  max_connections_per_ip: -3\n"
                                                       "  min_body_rate: fast\n"
                                                       "  min_body_rate_window: 10ms\n";
        const auto result = loadConfigText(text, "gw.yaml");
        QVERIFY(!result.ok());
        QCOMPARE(result.errors.size(), size_t(3));
        const auto* perIp = findError(result, "limits.max_connections_per_ip", "");
        QVERIFY2(perIp, result.errorText().c_str());
        QCOMPARE(perIp->location.line, 16);
        const auto* rate = findError(result, "limits.min_body_rate", "expected a size");
        QVERIFY2(rate, result.errorText().c_str());
        QCOMPARE(rate->location.line, 17);
        const auto* window = findError(result, "limits.min_body_rate_window", "");
        QVERIFY2(window, result.errorText().c_str());
        QCOMPARE(window->location.line, 18);

        const auto good =
            loadConfigText(std::string(kValid) + "limits: {max_connections_per_ip: 0, min_body_rate: 2KiB,"
                                                 " min_body_rate_window: 3s}\n",
                           "gw.yaml");
        QVERIFY2(good.ok(), good.errorText().c_str());
        QCOMPARE(good.loaded->config.limits.maxConnectionsPerIp, 0u);
        QCOMPARE(good.loaded->config.limits.minBodyRate, std::uint64_t{2048});
        QVERIFY(good.loaded->config.limits.minBodyRateWindow == std::chrono::seconds(3));
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

    // What the engine writes after an admin change must read back to exactly the same config.
    void writtenYamlReadsBackToTheSameConfig_data() {
        shippedConfigsAreValid_data();
    }
    void writtenYamlReadsBackToTheSameConfig() {
        QFETCH(QString, file);
        const auto original = loadConfigFile(std::string(GAETWAE_SOURCE_DIR) + "/" + file.toStdString());
        QVERIFY(original.ok());
        auto config = original.loaded->config;
        config.pools[0].extra["x-notes"] = "deployed: 2026-11-23 # not a comment";
        config.routes[0].extra["x-owner"] = "team-a";
        const auto text = toYaml(gaetwae::model::encodeGatewayConfig(config), "# header line\n");
        QVERIFY(text.rfind("# header line\n", 0) == 0);
        const auto reread = loadConfigText(text, "written.yaml");
        QVERIFY2(reread.ok(), (reread.errorText() + "\n" + text).c_str());
        QVERIFY(reread.loaded->config == config);
    }

    void writtenYamlQuotesWhatYamlWouldRetype() {
        const std::vector<std::string> tricky{
            "", " lead", "trail ", "yes", "No", "true", "FALSE", "null", "~", "Null", "123", "-7", "0x1F", "0o17",
            "1e3", "1.5", ".inf", "-.Inf", ".NaN", "2026-11-23", "a: b", "a #b", "#x", "- x", "-", "?", ": x", "@at",
            "`tick", "*star", "&anchor", "!tag", "%pct", "|pipe", ">fold", "{brace", "[bracket", "]", "}", ",comma",
            "quote\"s", "it's", "back\\slash", "new\nline", "tab\there", "h\u00e9llo w\u00f6rld", "\u2603 snow",
            "ends with colon:", "key: value: more", "x,y", "'single'", "\"double\"", "=", "<<", "0", "+1", "00123"};
        nlohmann::json document = nlohmann::json::object();
        nlohmann::json list = nlohmann::json::array();
        for (std::size_t i = 0; i < tricky.size(); ++i) {
            document["k" + std::to_string(i)] = tricky[i];
            list.push_back(tricky[i]);
        }
        document["list"] = list;
        document["nested"] = {{"empty_list", nlohmann::json::array()}, {"empty_map", nlohmann::json::object()},
                              {"numbers", {0, -1, 2.5, 1e-9, 123456789012345}}, {"flags", {true, false}},
                              {"nothing", nullptr}, {"deep", {{"a", {{"b", {{"c", "d"}}}}}}},
                              {"objects", {{{"id", "a"}, {"w", 1}}, {{"id", "b: c"}, {"w", 2}}}}};
        document["weird key: with colon"] = "v";
        document["-dash"] = "v";
        const auto text = toYaml(document);
        const auto parsed = parseYaml(text, "tricky.yaml");
        QVERIFY2(parsed.document, (parsed.errors.empty() ? text : parsed.errors[0].toString() + "\n" + text).c_str());
        QVERIFY2(parsed.document->root == document, (text + "\n" + parsed.document->root.dump()).c_str());
    }

    void filesAreReplacedAtomicallyKeepingTheirMode() {
        QTemporaryDir dir;
        const std::filesystem::path path = dir.filePath("gaetwae.yaml").toStdString();
        std::ofstream(path) << "old\n";
        ::chmod(path.c_str(), 0640);
        std::string error;
        QVERIFY2(writeFileAtomically(path, "new content\n", error), error.c_str());
        std::ifstream in(path);
        std::string line;
        std::getline(in, line);
        QCOMPARE(line, std::string("new content"));
        struct stat info {};
        QCOMPARE(::stat(path.c_str(), &info), 0);
        QCOMPARE(info.st_mode & 0777, 0640u);
        // Nothing left behind beside it.
        int files = 0;
        for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir.path().toStdString())) {
            ++files;
        }
        QCOMPARE(files, 1);
        // An unwritable place is an error, not a crash, and names the path.
        QVERIFY(!writeFileAtomically("/nonexistent-dir/x.yaml", "x", error));
        QVERIFY2(error.find("/nonexistent-dir") != std::string::npos, error.c_str());
    }
};

QTEST_APPLESS_MAIN(TestConfigLoader)
#include "tst_config_loader.moc"
