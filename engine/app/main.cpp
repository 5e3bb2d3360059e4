// gaetwaed: composition root. Parses the command line, loads the config, builds the Engine and
// wires signals: SIGHUP reloads, SIGTERM/SIGINT drain and stop (a second one stops at once).
#include "engine/app/ctl.hpp"
#include "engine/app/hash_secret.hpp"
#include "engine/config/builtin_config.hpp"
#include "engine/config/config_loader.hpp"
#include "engine/core/engine.hpp"
#include "engine/core/runtime_snapshot.hpp"
#include "engine/core/version.hpp"
#include "engine/demo/demo_backends.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <filesystem>
#include <cstdio>
#include <future>
#include <iostream>
#include <optional>
#include <string>
#include <sys/resource.h>

namespace {

using namespace gaetwae::engine;

constexpr std::string_view kUsage = R"(Usage: gaetwaed [options] [CONFIG]
       gaetwaed ctl [options] COMMAND   (talk to a running engine; gaetwaed ctl --help)
       gaetwaed hash-secret MODE        (hash an API key or password; gaetwaed hash-secret --help)

Runs the gaetwae API gateway with CONFIG (YAML). Without CONFIG the built-in demo
configuration (resources/config/demo.yaml) is used.

Options:
  -c, --config FILE     configuration file (same as the CONFIG argument)
  -t, --check           validate the configuration, print every error, exit 0 or 1
      --demo            also start the built-in demo backends for loopback instances
  -w, --workers N       worker threads (default: the config's `workers`, else one per core)
  -l, --log-level LVL   trace, debug, info, warn, error or off (default: info)
  -V, --version         print the version and exit
  -h, --help            print this help and exit

Changes made through the admin API are written back to CONFIG (atomically; comments in it
are not kept). The built-in demo configuration is never written.

Signals: SIGHUP reloads CONFIG (an invalid file is refused and the running config stays);
SIGTERM or SIGINT stop accepting, finish requests in flight up to timeouts.drain, exit 0.
)";

struct CommandLine {
    std::optional<std::string> configPath;
    bool check = false;
    bool demo = false;
    unsigned workers = 0;
    std::string logLevel = "info";
};

std::optional<CommandLine> parseCommandLine(int argc, char** argv, int& exitCode) {
    CommandLine cl;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        auto value = [&](std::string_view name) -> std::optional<std::string> {
            if (i + 1 >= argc) {
                std::cerr << "gaetwaed: " << name << " needs a value\n";
                return std::nullopt;
            }
            return std::string(argv[++i]);
        };
        if (arg == "-h" || arg == "--help") {
            std::cout << kUsage;
            exitCode = 0;
            return std::nullopt;
        }
        if (arg == "-V" || arg == "--version") {
            std::cout << "gaetwaed " << core::kEngineVersion << "\n";
            exitCode = 0;
            return std::nullopt;
        }
        if (arg == "-t" || arg == "--check") {
            cl.check = true;
        } else if (arg == "--demo") {
            cl.demo = true;
        } else if (arg == "-c" || arg == "--config") {
            const auto v = value(arg);
            if (!v) {
                return std::nullopt;
            }
            cl.configPath = *v;
        } else if (arg == "-w" || arg == "--workers") {
            const auto v = value(arg);
            if (!v) {
                return std::nullopt;
            }
            try {
                const int n = std::stoi(*v);
                if (n < 1 || n > 256) {
                    throw std::out_of_range("workers");
                }
                cl.workers = static_cast<unsigned>(n);
            } catch (const std::exception&) {
                std::cerr << "gaetwaed: --workers expects a number between 1 and 256, got '" << *v << "'\n";
                return std::nullopt;
            }
        } else if (arg == "-l" || arg == "--log-level") {
            const auto v = value(arg);
            if (!v) {
                return std::nullopt;
            }
            if (spdlog::level::from_str(*v) == spdlog::level::off && *v != "off") {
                std::cerr << "gaetwaed: unknown log level '" << *v << "'\n";
                return std::nullopt;
            }
            cl.logLevel = *v;
        } else if (!arg.empty() && arg.front() == '-') {
            std::cerr << "gaetwaed: unknown option '" << arg << "'\n\n" << kUsage;
            return std::nullopt;
        } else if (!cl.configPath) {
            cl.configPath = std::string(arg);
        } else {
            std::cerr << "gaetwaed: more than one configuration file given\n";
            return std::nullopt;
        }
    }
    return cl;
}

void setupLogging(const std::string& level) {
    auto logger = spdlog::stderr_color_mt("gaetwaed");
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %v");
    logger->set_level(spdlog::level::from_str(level));
    logger->flush_on(spdlog::level::info);
    spdlog::set_default_logger(logger);
}

config::ConfigLoadResult loadConfig(const CommandLine& cl) {
    if (cl.configPath) {
        return config::loadConfigFile(*cl.configPath);
    }
    return config::loadConfigText(config::builtinDemoConfig(), std::string(config::kBuiltinDemoConfigName));
}

void printErrors(const std::vector<config::ConfigError>& errors) {
    for (const auto& error : errors) {
        spdlog::error("{}", error.toString());
    }
}

// --check prints plain lines (file:line:column: field: message), like a compiler or nginx -t.
void printPlain(const std::vector<config::ConfigError>& errors) {
    for (const auto& error : errors) {
        std::cerr << error.toString() << '\n';
    }
}

// What --check adds to parsing: resolving every instance host, as start-up would.
std::vector<config::ConfigError> checkRuntime(const config::LoadedConfig& loaded) {
    core::SystemClock clock;
    core::InstanceRegistry registry(clock);
    gaetwae::model::Diagnostics diagnostics;
    core::buildRuntimeSnapshot(loaded.config, 1, registry, nullptr, diagnostics);
    return config::locateDiagnostics(diagnostics, loaded.locations, loaded.sourceName);
}

void raiseFileLimit() {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &limit);
    }
}

} // namespace

int main(int argc, char** argv) {
    if (argc >= 2 && std::string_view(argv[1]) == "ctl") {
        std::signal(SIGPIPE, SIG_IGN);
        return app::runCtl(argc - 1, argv + 1);
    }
    if (argc >= 2 && std::string_view(argv[1]) == "hash-secret") {
        return app::runHashSecret(argc - 1, argv + 1);
    }
    int exitCode = 2;
    const auto cl = parseCommandLine(argc, argv, exitCode);
    if (!cl) {
        return exitCode;
    }
    setupLogging(cl->logLevel);
    std::signal(SIGPIPE, SIG_IGN);

    const auto loaded = loadConfig(*cl);
    const std::string source = cl->configPath ? *cl->configPath : std::string(config::kBuiltinDemoConfigName);
    if (cl->check) {
        const auto errors = loaded.ok() ? checkRuntime(*loaded.loaded) : loaded.errors;
        if (!errors.empty()) {
            printPlain(errors);
            std::cerr << source << ": " << errors.size() << " error(s)\n";
            return 1;
        }
        std::cout << source << ": configuration is valid\n";
        return 0;
    }
    if (!loaded.ok()) {
        printErrors(loaded.errors);
        spdlog::error("{}: {} error(s); not started", source, loaded.errors.size());
        return 1;
    }
    raiseFileLimit();

    core::Engine::Options options;
    options.workers = cl->workers;
    if (cl->configPath) {
        options.configFile = std::filesystem::absolute(*cl->configPath);
    }
    core::Engine engine(options);
    // Registered before anything starts: a signal that arrives during start-up is queued for the
    // handler below instead of killing the process.
    asio::signal_set signals(engine.control(), SIGHUP, SIGTERM, SIGINT);
    demo::DemoBackends demoBackends(engine.control());
    if (cl->demo) {
        for (const auto& line : demoBackends.start(loaded.loaded->config)) {
            spdlog::info("demo backend {}", line);
        }
    }
    if (const auto diagnostics = engine.start(loaded.loaded->config); !diagnostics.empty()) {
        printErrors(config::locateDiagnostics(diagnostics, loaded.loaded->locations, loaded.loaded->sourceName));
        spdlog::error("{}: not started", source);
        return 1;
    }
    for (std::size_t i = 0; i < loaded.loaded->config.listeners.size(); ++i) {
        spdlog::info("listening on {} (port {})", loaded.loaded->config.listeners[i].address, engine.listenerPort(i));
    }
    if (engine.adminPort() == 0) {
        spdlog::info("admin API disabled (admin.enabled: false)");
    }

    // With --demo, loopback instances added later (SIGHUP, admin API, console) get a demo
    // backend too, so the demo can be edited live like a real deployment.
    std::optional<std::uint64_t> demoWatch;
    if (cl->demo) {
        demoWatch = engine.events().subscribe([&](const core::EngineEvent& event) {
            if (event.kind == core::EngineEvent::Kind::Config) {
                asio::post(engine.control(), [&] {
                    for (const auto& line : demoBackends.start(engine.config())) {
                        spdlog::info("demo backend {}", line);
                    }
                });
            }
        });
    }

    std::promise<void> stopRequested;
    bool stopping = false;
    std::function<void(const error_code&, int)> onSignal = [&](const error_code& ec, int signal) {
        if (ec) {
            return;
        }
        if (signal == SIGHUP) {
            if (!cl->configPath) {
                spdlog::warn("SIGHUP: running the built-in demo config, nothing to reload");
            } else {
                spdlog::info("SIGHUP: reloading {}", *cl->configPath);
                if (const auto errors = engine.reloadFromFile("SIGHUP"); !errors.empty()) {
                    printErrors(errors);
                    spdlog::error("reload refused; configuration version {} stays active", engine.configVersion());
                }
            }
        } else if (!stopping) {
            stopping = true;
            spdlog::info("{}: shutting down gracefully (send again to stop at once)", signal == SIGINT ? "SIGINT" : "SIGTERM");
            stopRequested.set_value();
        } else {
            engine.interruptDrain();
        }
        signals.async_wait(onSignal);
    };
    signals.async_wait(onSignal);

    stopRequested.get_future().wait();
    if (demoWatch) {
        engine.events().unsubscribe(*demoWatch);
    }
    engine.shutdown();
    engine.stopControl();
    return 0;
}
