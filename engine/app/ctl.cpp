#include "engine/app/ctl.hpp"

#include "engine/admin/admin_client.hpp"
#include "engine/admin/token.hpp"
#include "engine/config/config_loader.hpp"
#include "shared/loadtest/schedule.hpp"
#include "shared/model/config_codec.hpp"
#include "shared/model/route_summary.hpp"
#include "shared/model/units.hpp"
#include "shared/protocol/admin_messages.hpp"

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace gaetwae::engine::app {

namespace {

using admin::AdminClient;
using protocol::RpcError;

constexpr std::string_view kCtlUsage = R"(Usage: gaetwaed ctl [options] COMMAND [ARGS]

Talks to a running gaetwaed over its admin API.

Commands:
  status                    engine, configuration version and pool availability
  pools                     every pool and instance with its live state
  routes                    the routes in match order
  enable POOL ID            put an instance back into rotation
  drain POOL ID [--wait S]  no new requests; with --wait, wait up to S seconds for those in flight
  disable POOL ID           no traffic at all
  weight POOL ID N          set an instance's weight (0 to 10000)
  validate FILE             check FILE against the running engine and print the diff
  apply FILE                replace the running configuration with FILE (all or nothing)
  history [N]               the last N applied changes (default 20)
  events [--count N]        print events as they happen (Ctrl-C or N events stop)
  capture ROUTE [--for D] [--sample F] [--max N] [--header NAME]... [--out FILE]
                            record ROUTE's live requests for D (default 30s; up to 1h) as a
                            schedule gaetwae-load can replay: a fraction F of them (default 1),
                            at most N (default 100000), keeping the named headers (never
                            credentials); JSON lines to FILE (default: standard output)
  call METHOD [JSON]        any admin method; prints the JSON result

Options:
  --url URL          admin endpoint (default: $GAETWAE_ADMIN_URL, else ws://127.0.0.1:9901/admin)
  --token-file FILE  token file (default: $GAETWAE_ADMIN_TOKEN_FILE, else the engine's default,
                     $XDG_STATE_HOME/gaetwae/admin.token or ~/.local/state/gaetwae/admin.token)
  --json             print results as JSON
  --timeout S        seconds to wait for an answer (default 30)

Exit status: 0 done, 1 the engine refused the request, 2 bad usage, 3 no connection.
)";

constexpr int kRefused = 1;
constexpr int kUsage = 2;
constexpr int kUnreachable = 3;

struct CtlOptions {
    std::string url;
    std::string tokenFile;
    bool json = false;
    int timeoutSeconds = 30;
    std::vector<std::string> args; // the command and its arguments
};

std::string envOr(const char* name, std::string fallback) {
    const char* value = std::getenv(name);
    return value != nullptr && *value != '\0' ? std::string(value) : fallback;
}

int usageError(const std::string& message) {
    std::cerr << "gaetwaed ctl: " << message << "\n\n" << kCtlUsage;
    return kUsage;
}

std::string formatTime(std::int64_t ms) {
    const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
    std::tm local{};
    ::localtime_r(&seconds, &local);
    std::ostringstream out;
    out << std::put_time(&local, "%Y-%m-%d %H:%M:%S") << '.' << std::setw(3) << std::setfill('0') << (ms % 1000);
    return out.str();
}

std::string formatDuration(std::int64_t seconds) {
    std::ostringstream out;
    if (seconds >= 86400) {
        out << seconds / 86400 << "d";
    }
    if (seconds >= 3600) {
        out << (seconds % 86400) / 3600 << "h";
    }
    if (seconds >= 60) {
        out << (seconds % 3600) / 60 << "m";
    }
    out << seconds % 60 << "s";
    return out.str();
}

bool available(const protocol::InstanceView& instance) {
    return instance.config.state == model::InstanceState::Enabled && instance.config.weight > 0 && instance.healthy &&
           !instance.ejected && instance.breaker != "open";
}

// Prints rows with columns padded to the widest cell.
void printTable(const std::vector<std::vector<std::string>>& rows, const std::string& indent) {
    std::vector<std::size_t> widths;
    for (const auto& row : rows) {
        widths.resize(std::max(widths.size(), row.size()));
        for (std::size_t c = 0; c < row.size(); ++c) {
            widths[c] = std::max(widths[c], row[c].size());
        }
    }
    for (const auto& row : rows) {
        std::string line = indent;
        for (std::size_t c = 0; c < row.size(); ++c) {
            line += row[c];
            if (c + 1 < row.size()) {
                line += std::string(widths[c] - row[c].size() + 2, ' ');
            }
        }
        std::cout << line << '\n';
    }
}

std::string fixed(double value, int decimals) {
    std::ostringstream out;
    out << std::fixed << std::setprecision(decimals) << value;
    return out.str();
}

void printRpcError(const RpcError& error) {
    std::cerr << "gaetwaed ctl: " << error.message << '\n';
    if (error.data.is_object() && error.data.contains("errors") && error.data["errors"].is_array()) {
        for (const auto& item : error.data["errors"]) {
            std::cerr << "  " << item.value("field", item.value("path", std::string())) << ": "
                      << item.value("message", std::string()) << '\n';
        }
    }
}

bool parseInt(const std::string& text, int min, int max, int& out) {
    try {
        std::size_t used = 0;
        const int value = std::stoi(text, &used);
        if (used != text.size() || value < min || value > max) {
            return false;
        }
        out = value;
        return true;
    } catch (const std::exception&) {
        return false;
    }
}

class Ctl {
public:
    explicit Ctl(CtlOptions options)
        : m_options(std::move(options)) {}

    int run() {
        const std::string& command = m_options.args.front();
        const auto argc = m_options.args.size();
        auto arg = [&](std::size_t i) { return m_options.args.at(i); };

        if (command == "status" && argc == 1) {
            return withConnection([&] { return status(); });
        }
        if (command == "pools" && argc == 1) {
            return withConnection([&] { return pools(); });
        }
        if (command == "routes" && argc == 1) {
            return withConnection([&] { return routes(); });
        }
        if ((command == "enable" || command == "disable") && argc == 3) {
            const auto state = command == "enable" ? model::InstanceState::Enabled : model::InstanceState::Disabled;
            return withConnection([&] { return change({protocol::setState(arg(1), arg(2), state)}); });
        }
        if (command == "drain" && (argc == 3 || (argc == 5 && arg(3) == "--wait"))) {
            int waitSeconds = 0;
            if (argc == 5 && !parseInt(arg(4), 1, 86400, waitSeconds)) {
                return usageError("--wait expects seconds (1 to 86400), got '" + arg(4) + "'");
            }
            return withConnection([&] {
                const int status = change({protocol::setState(arg(1), arg(2), model::InstanceState::Draining)});
                return status != 0 || waitSeconds == 0 ? status : waitDrained(arg(1), arg(2), waitSeconds);
            });
        }
        if (command == "weight" && argc == 4) {
            int weight = 0;
            if (!parseInt(arg(3), 0, 10000, weight)) {
                return usageError("weight expects a number from 0 to 10000, got '" + arg(3) + "'");
            }
            return withConnection(
                [&] { return change({protocol::setWeight(arg(1), arg(2), static_cast<std::uint32_t>(weight))}); });
        }
        if ((command == "apply" || command == "validate") && argc == 2) {
            return applyFile(arg(1), command == "validate");
        }
        if (command == "history" && argc <= 2) {
            int limit = 20;
            if (argc == 2 && !parseInt(arg(1), 1, 1000, limit)) {
                return usageError("history expects a count from 1 to 1000, got '" + arg(1) + "'");
            }
            return withConnection([&] { return history(limit); });
        }
        if (command == "events" && (argc == 1 || (argc == 3 && arg(1) == "--count"))) {
            int count = 0;
            if (argc == 3 && !parseInt(arg(2), 1, 1000000, count)) {
                return usageError("--count expects a number, got '" + arg(2) + "'");
            }
            return withConnection([&] { return events(count); });
        }
        if (command == "capture" && argc >= 2) {
            protocol::CaptureStartParams params;
            params.route = arg(1);
            params.durationMs = 30'000;
            std::string out;
            for (std::size_t i = 2; i < argc; i += 2) {
                const std::string option = arg(i);
                if (i + 1 >= argc) {
                    return usageError(option + " needs a value");
                }
                const std::string value = arg(i + 1);
                if (option == "--for") {
                    const auto duration = model::parseDuration(value);
                    if (!duration || duration->count() < 1 ||
                        duration->count() > protocol::capture::kMaxDurationMs) {
                        return usageError("--for expects a duration from 1ms to 1h such as 30s, got '" +
                                          value + "'");
                    }
                    params.durationMs = duration->count();
                } else if (option == "--sample") {
                    char* end = nullptr;
                    params.sample = std::strtod(value.c_str(), &end);
                    if (value.empty() || *end != '\0' || !(params.sample > 0.0 && params.sample <= 1.0)) {
                        return usageError("--sample expects a fraction above 0 up to 1, got '" + value + "'");
                    }
                } else if (option == "--max") {
                    int max = 0;
                    if (!parseInt(value, 1, static_cast<int>(protocol::capture::kMaxRequests), max)) {
                        return usageError("--max expects a count from 1 to 1000000, got '" + value + "'");
                    }
                    params.maxRequests = static_cast<std::uint64_t>(max);
                } else if (option == "--header") {
                    params.headers.push_back(value);
                } else if (option == "--out") {
                    out = value;
                } else {
                    return usageError("unknown capture option '" + option + "'");
                }
            }
            return withConnection([&] { return capture(params, out); });
        }
        if (command == "call" && (argc == 2 || argc == 3)) {
            nlohmann::json params = nlohmann::json::object();
            if (argc == 3) {
                params = nlohmann::json::parse(arg(2), nullptr, false);
                if (params.is_discarded()) {
                    return usageError("the params of call must be JSON, got '" + arg(2) + "'");
                }
            }
            return withConnection([&] { return rawCall(arg(1), params); });
        }
        return usageError("unknown command or wrong arguments: '" + command + "'");
    }

private:
    template <class F>
    int withConnection(F&& body) {
        std::string error;
        const auto url = admin::AdminUrl::parse(
            m_options.url.empty() ? envOr("GAETWAE_ADMIN_URL", "ws://127.0.0.1:9901/admin") : m_options.url, error);
        if (!url) {
            return usageError(error);
        }
        const std::filesystem::path tokenPath =
            m_options.tokenFile.empty() ? envOr("GAETWAE_ADMIN_TOKEN_FILE", admin::defaultTokenPath().string())
                                        : m_options.tokenFile;
        const auto token = admin::readToken(tokenPath, error);
        if (!token) {
            std::cerr << "gaetwaed ctl: " << error << '\n';
            return kUnreachable;
        }
        m_client.setTimeout(std::chrono::seconds(m_options.timeoutSeconds));
        if (!m_client.connect(*url, *token, error, std::chrono::seconds(m_options.timeoutSeconds))) {
            std::cerr << "gaetwaed ctl: " << error << '\n';
            return kUnreachable;
        }
        const int status = body();
        m_client.close();
        return status;
    }

    // The result of `method`, or nullopt after printing the error.
    std::optional<nlohmann::json> call(const std::string& method, const nlohmann::json& params) {
        auto result = m_client.call(method, params);
        if (auto* error = std::get_if<RpcError>(&result)) {
            printRpcError(*error);
            m_lastErrorCode = error->code;
            return std::nullopt;
        }
        return std::get<nlohmann::json>(std::move(result));
    }

    int failed() const { return m_lastErrorCode == protocol::rpc::kInternalError ? kUnreachable : kRefused; }

    int rawCall(const std::string& method, const nlohmann::json& params) {
        const auto result = call(method, params);
        if (!result) {
            return failed();
        }
        std::cout << result->dump(2) << '\n';
        return 0;
    }

    template <class T>
    std::optional<T> typedCall(std::string_view method, const nlohmann::json& params = nlohmann::json::object()) {
        const auto result = call(std::string(method), params);
        if (!result) {
            return std::nullopt;
        }
        if (m_options.json) {
            std::cout << result->dump(2) << '\n';
        }
        T value;
        model::Diagnostics diagnostics;
        if (!protocol::fromJson(*result, value, diagnostics)) {
            std::cerr << "gaetwaed ctl: unexpected answer to " << method << ": "
                      << (diagnostics.empty() ? "?" : diagnostics.items()[0].message) << '\n';
            m_lastErrorCode = protocol::rpc::kInternalError;
            return std::nullopt;
        }
        return value;
    }

    int status() {
        const auto info = typedCall<protocol::EngineInfo>(protocol::method::kEngineInfo);
        if (!info) {
            return failed();
        }
        const bool json = m_options.json;
        const auto pools = typedCall<protocol::PoolsListResult>(protocol::method::kPoolsList);
        if (!pools) {
            return failed();
        }
        if (json) {
            return 0;
        }
        const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
        std::cout << "gaetwaed " << info->engineVersion << " (protocol " << info->protocolVersion << "), pid "
                  << info->pid << ", up " << formatDuration(std::max<std::int64_t>(0, now - info->startedAtMs / 1000))
                  << ", " << info->workers << " workers, " << info->activeConnections << " connections\n";
        std::cout << "configuration version " << info->configVersion << ", "
                  << (info->configPath.empty() ? std::string("built-in demo (changes are not saved)")
                                               : info->configPath +
                                                     (info->persistent ? " (changes are saved)" : ""))
                  << '\n';
        std::vector<std::vector<std::string>> rows{{"POOL", "STRATEGY", "AVAILABLE", "ACTIVE", "RETRIES"}};
        for (const auto& pool : pools->pools) {
            std::size_t up = 0;
            for (const auto& instance : pool.instances) {
                up += available(instance) ? 1 : 0;
            }
            rows.push_back({pool.config.name, std::string(model::toString(pool.config.strategy)),
                            std::to_string(up) + "/" + std::to_string(pool.instances.size()),
                            std::to_string(pool.activeRequests), std::to_string(pool.retries)});
        }
        printTable(rows, "");
        return 0;
    }

    int routes() {
        const auto routes = typedCall<protocol::RoutesListResult>(protocol::method::kRoutesList);
        if (!routes) {
            return failed();
        }
        if (m_options.json) {
            return 0;
        }
        std::vector<std::vector<std::string>> rows{{"ROUTE", "HOSTS", "PATH", "METHODS", "POOL"}};
        auto join = [](const std::vector<std::string>& items) {
            std::string text;
            for (const auto& item : items) {
                text += (text.empty() ? "" : ",") + item;
            }
            return text.empty() ? std::string("*") : text;
        };
        for (const auto& route : routes->routes) {
            rows.push_back({route.name, join(route.match.hosts), model::describePath(route.match),
                            join(route.match.methods), model::describeDestination(route)});
        }
        printTable(rows, "");
        return 0;
    }

    int pools() {
        const auto pools = typedCall<protocol::PoolsListResult>(protocol::method::kPoolsList);
        if (!pools) {
            return failed();
        }
        if (m_options.json) {
            return 0;
        }
        std::cout << "configuration version " << pools->version << '\n';
        for (const auto& pool : pools->pools) {
            std::cout << '\n'
                      << pool.config.name << " (" << model::toString(pool.config.strategy) << "), "
                      << pool.activeRequests << " active, " << pool.retries << " retries\n";
            std::vector<std::vector<std::string>> rows{
                {"ID", "ADDRESS", "WEIGHT", "STATE", "HEALTH", "BREAKER", "ACTIVE", "REQUESTS", "FAILURES",
                 "SLOW-START", "EWMA"}};
            for (const auto& instance : pool.instances) {
                rows.push_back({instance.config.id, instance.config.address, std::to_string(instance.config.weight),
                                std::string(model::toString(instance.config.state)),
                                instance.ejected ? "ejected" : instance.healthy ? "healthy" : "unhealthy",
                                instance.breaker, std::to_string(instance.activeRequests),
                                std::to_string(instance.requests), std::to_string(instance.failures),
                                fixed(instance.slowStart * 100.0, 0) + "%", fixed(instance.latencyEwmaMs, 2) + "ms"});
            }
            printTable(rows, "  ");
        }
        return 0;
    }

    // Sends the operations as one transaction against the current version. A conflict means
    // someone changed the config in between: the operations set absolute values, so they are
    // simply sent again against the new version (a few times at most).
    int change(const std::vector<protocol::ConfigOperation>& operations) {
        for (int attempt = 0; attempt < 5; ++attempt) {
            const auto hello = typedCall<protocol::HelloResult>(protocol::method::kHello);
            if (!hello) {
                return failed();
            }
            auto result = m_client.call(std::string(protocol::method::kTransaction),
                                        protocol::toJson(protocol::ChangeRequest{hello->configVersion, operations}));
            if (auto* error = std::get_if<RpcError>(&result)) {
                if (error->code == protocol::rpc::kConflict) {
                    continue;
                }
                printRpcError(*error);
                m_lastErrorCode = error->code;
                return failed();
            }
            const auto& answer = std::get<nlohmann::json>(result);
            if (m_options.json) {
                std::cout << answer.dump(2) << '\n';
            } else {
                for (const auto& operation : operations) {
                    std::cout << protocol::describe(operation) << '\n';
                }
                std::cout << "configuration version " << answer.value("version", std::uint64_t{0}) << '\n';
            }
            return 0;
        }
        std::cerr << "gaetwaed ctl: the configuration kept changing under us; try again\n";
        return kRefused;
    }

    int waitDrained(const std::string& pool, const std::string& id, int seconds) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
        std::int64_t last = -1;
        for (;;) {
            const auto result = m_client.call(std::string(protocol::method::kPoolsList));
            if (const auto* error = std::get_if<RpcError>(&result)) {
                printRpcError(*error);
                return kUnreachable;
            }
            protocol::PoolsListResult pools;
            model::Diagnostics diagnostics;
            protocol::fromJson(std::get<nlohmann::json>(result), pools, diagnostics);
            std::int64_t active = -1;
            for (const auto& p : pools.pools) {
                for (const auto& instance : p.instances) {
                    if (p.config.name == pool && instance.config.id == id) {
                        active = instance.activeRequests;
                    }
                }
            }
            if (active <= 0) {
                std::cout << pool << "/" << id << " drained\n";
                return 0;
            }
            if (active != last) {
                std::cout << pool << "/" << id << ": " << active << " request(s) in flight\n";
                last = active;
            }
            if (std::chrono::steady_clock::now() >= deadline) {
                std::cerr << "gaetwaed ctl: " << pool << "/" << id << " still has " << active << " request(s) after "
                          << seconds << " s\n";
                return kRefused;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(200)); // polling an operator's command
        }
    }

    // Validates FILE locally (with file positions), then has the engine check or apply it.
    int applyFile(const std::string& path, bool dryRun) {
        const auto loaded = config::loadConfigFile(path);
        if (!loaded.ok()) {
            for (const auto& error : loaded.errors) {
                std::cerr << error.toString() << '\n';
            }
            std::cerr << path << ": " << loaded.errors.size() << " error(s); nothing sent\n";
            return kRefused;
        }
        const auto operation = protocol::replaceConfig(loaded.loaded->config);
        return withConnection([&]() -> int {
            if (dryRun) {
                nlohmann::json params{{"operations", nlohmann::json::array({protocol::encodeOperation(operation)})}};
                const auto result = typedCall<protocol::ValidateResult>(protocol::method::kValidate, params);
                if (!result) {
                    return failed();
                }
                if (m_options.json) {
                    return result->valid ? 0 : kRefused;
                }
                printLocated(result->errors, *loaded.loaded);
                if (!result->valid) {
                    return kRefused;
                }
                std::cout << path << ": valid; " << result->diff.size() << " change(s)\n";
                for (const auto& step : result->diff) {
                    std::cout << "  " << step.value("op", std::string()) << ' ' << step.value("path", std::string())
                              << '\n';
                }
                return 0;
            }
            return change({operation});
        });
    }

    // Engine errors point into the operation ("/operations/0/params/config/pools/1/..."): map them
    // back to lines of the file.
    static void printLocated(const std::vector<model::Diagnostic>& errors, const config::LoadedConfig& loaded) {
        constexpr std::string_view prefix = "/operations/0/params/config";
        model::Diagnostics located;
        for (auto error : errors) {
            if (error.pointer.rfind(prefix, 0) == 0) {
                error.pointer = error.pointer.substr(prefix.size());
            }
            located.error(error.pointer, error.message);
        }
        for (const auto& error : config::locateDiagnostics(located, loaded.locations, loaded.sourceName)) {
            std::cerr << error.toString() << '\n';
        }
    }

    int history(int limit) {
        const auto records =
            typedCall<std::vector<protocol::AuditRecord>>(protocol::method::kHistory, nlohmann::json{{"limit", limit}});
        if (!records) {
            return failed();
        }
        if (!m_options.json) {
            for (const auto& record : *records) {
                std::cout << formatTime(record.timeMs) << "  v" << record.version << "  " << record.client << "  "
                          << record.summary << '\n';
            }
        }
        return 0;
    }

    int events(int count) {
        if (!call(std::string(protocol::method::kSubscribe), nlohmann::json{{"topics", {"events"}}})) {
            return failed();
        }
        int seen = 0;
        while (count == 0 || seen < count) {
            const auto notification = m_client.waitNotification(std::nullopt);
            if (!notification) {
                std::cerr << "gaetwaed ctl: the engine closed the connection\n";
                return kUnreachable;
            }
            if (notification->method != protocol::notification::kEvent) {
                continue;
            }
            ++seen;
            if (m_options.json) {
                std::cout << notification->params.dump() << std::endl;
                continue;
            }
            protocol::EventRecord event;
            model::Diagnostics ignored;
            protocol::fromJson(notification->params, event, ignored);
            std::cout << formatTime(event.timeMs) << "  " << event.kind << "  "
                      << (event.instance.empty() ? event.pool : event.pool + "/" + event.instance);
            if (!event.from.empty() || !event.to.empty()) {
                std::cout << "  " << event.from << " -> " << event.to;
            }
            if (!event.detail.empty()) {
                std::cout << "  " << event.detail;
            }
            std::cout << std::endl;
        }
        return 0;
    }

    // Starts a capture, collects its entries while it runs and writes them as a schedule once it
    // has ended (by its time, or a capture.stop from anyone). Interrupting ctl abandons the
    // entries; the engine still ends the capture at its time.
    int capture(const protocol::CaptureStartParams& params, const std::string& outPath) {
        m_options.json = false; // standard output may be the schedule: results are not echoed there
        const auto started = typedCall<protocol::CaptureStartResult>(protocol::method::kCaptureStart,
                                                                     protocol::toJson(params));
        if (!started) {
            return failed();
        }
        std::cerr << "capturing route " << started->route << " (capture " << started->captureId << ") until "
                  << formatTime(started->endsAtMs) << '\n';
        std::vector<loadtest::ScheduleEntry> entries;
        protocol::CaptureGetParams get{started->captureId, 0, protocol::capture::kMaxGetLimit};
        for (;;) {
            const auto page =
                typedCall<protocol::CaptureGetResult>(protocol::method::kCaptureGet, protocol::toJson(get));
            if (!page) {
                return failed();
            }
            entries.insert(entries.end(), page->entries.begin(), page->entries.end());
            get.after = page->next;
            if (page->complete) {
                break;
            }
            if (page->entries.empty()) {
                std::this_thread::sleep_for(std::chrono::milliseconds(200)); // polling an operator's command
            }
        }
        const auto status = typedCall<protocol::CaptureStatus>(
            protocol::method::kCaptureStatus, protocol::toJson(protocol::CaptureIdParams{get.captureId}));
        if (!status) {
            return failed();
        }
        if (outPath.empty()) {
            loadtest::writeSchedule(std::cout, entries);
            std::cout.flush();
        } else {
            std::ofstream file(outPath, std::ios::trunc);
            loadtest::writeSchedule(file, entries);
            file.close();
            if (!file) {
                std::cerr << "gaetwaed ctl: could not write " << outPath << '\n';
                return kRefused;
            }
        }
        std::cerr << "capture " << status->captureId << " " << status->state << ": " << entries.size()
                  << " request(s) captured, " << status->skipped << " not sampled, " << status->dropped
                  << " over the limit" << (outPath.empty() ? std::string() : "; written to " + outPath)
                  << '\n';
        return 0;
    }

    CtlOptions m_options;
    AdminClient m_client;
    int m_lastErrorCode = 0;
};

} // namespace

int runCtl(int argc, char** argv) {
    CtlOptions options;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&](std::string& out) {
            if (i + 1 >= argc) {
                return false;
            }
            out = argv[++i];
            return true;
        };
        if (!options.args.empty()) {
            options.args.push_back(arg); // everything after the command belongs to it
        } else if (arg == "-h" || arg == "--help") {
            std::cout << kCtlUsage;
            return 0;
        } else if (arg == "--json") {
            options.json = true;
        } else if (arg == "--url") {
            if (!value(options.url)) {
                return usageError("--url needs a value");
            }
        } else if (arg == "--token-file") {
            if (!value(options.tokenFile)) {
                return usageError("--token-file needs a value");
            }
        } else if (arg == "--timeout") {
            std::string text;
            if (!value(text) || !parseInt(text, 1, 3600, options.timeoutSeconds)) {
                return usageError("--timeout expects seconds from 1 to 3600");
            }
        } else if (!arg.empty() && arg.front() == '-') {
            return usageError("unknown option '" + arg + "'");
        } else {
            options.args.push_back(arg);
        }
    }
    if (options.args.empty()) {
        return usageError("no command given");
    }
    return Ctl(std::move(options)).run();
}

} // namespace gaetwae::engine::app
