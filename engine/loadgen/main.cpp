// gaetwae-load: an HTTP/1.1 load generator. Closed model (N keep-alive connections as fast as
// they go, like wrk) or open model at a scheduled rate with coordinated-omission correction
// (like wrk2). Prints a summary; with --json, one JSON line per second (lossless histograms).
#include "engine/loadgen/load_generator.hpp"
#include "engine/net/asio.hpp"
#include "shared/model/units.hpp"

#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

using namespace gaetwae::engine::loadgen;
using namespace gaetwae::engine; // asio, tcp, error_code, SteadyTimer
namespace loadtest = gaetwae::loadtest;

namespace {

constexpr const char* kUsage = R"(Usage: gaetwae-load [options] http://HOST:PORT/PATH

  -c, --connections N   keep-alive connections (default 10)
  -t, --threads N       threads (default 1)
  -d, --duration D      closed model: how long (default 10s)
  -R, --rate RPS        open model at a constant rate for --duration
      --schedule S      open model: steps and ramps, e.g. 10s@100,30s@100-1000,10s@1000
  -m, --method M        request method (default GET)
  -H, --header 'N: V'   request header (repeatable)
      --body-file F     request body from a file
      --replay FILE     re-send a captured schedule (JSON lines) at its original timing
      --speed N         replay N times faster (default 1)
      --timeout D       per request (default 10s)
      --plan FILE       a whole test plan as JSON (the console's format; see README); the URL
                        and the options above are then taken from it
      --json            one JSON line per second on stdout, then the total
  -h, --help
Exit status: 0 done, 1 no request completed, 2 bad plan, 3 target unreachable, 130 interrupted
(SIGINT/SIGTERM: requests in flight finish, everything measured so far is reported).
Loopback and your own hosts only: this sends as many requests as it is told to.
)";

// Refuses to start against a target nobody listens on: a clear error before anything runs,
// instead of a run full of connect failures.
bool reachable(const std::string& host, std::uint16_t port, std::string& error) {
    asio::io_context io;
    tcp::socket socket(io);
    error_code ec;
    const auto address = asio::ip::make_address(host, ec);
    if (ec) {
        error = "'" + host + "' is not an IP address (use 127.0.0.1 or the gateway's address)";
        return false;
    }
    SteadyTimer deadline(io);
    deadline.expires_after(std::chrono::seconds(3));
    deadline.async_wait([&](const error_code& timerEc) {
        if (!timerEc) {
            socket.close();
        }
    });
    socket.async_connect(tcp::endpoint(address, port), [&](const error_code& connectEc) {
        ec = connectEc;
        deadline.cancel();
    });
    io.run();
    if (ec) {
        error = "cannot connect to " + host + ":" + std::to_string(port) + ": " +
                (ec == asio::error::operation_aborted ? std::string("no answer within 3 s") : ec.message());
        return false;
    }
    return true;
}

double ms(std::uint64_t micros) {
    return static_cast<double>(micros) / 1000.0;
}

void printSummary(const LoadPlan& plan, const LoadResult& result) {
    const auto& t = result.total;
    const double rps = result.elapsedSeconds > 0 ? static_cast<double>(t.completed) / result.elapsedSeconds : 0;
    std::printf("%s model, %u connections, %.1f s: %llu requests, %.0f req/s achieved", 
                plan.model == LoadPlan::Model::Open ? "open" : plan.model == LoadPlan::Model::Replay ? "replay" : "closed",
                plan.connections, result.elapsedSeconds,
                static_cast<unsigned long long>(t.completed), rps);
    if (plan.model != LoadPlan::Model::Closed) {
        double due = static_cast<double>(plan.replay.size());
        for (const auto& step : plan.schedule) {
            due += (step.fromRps + step.toRps) / 2 * std::chrono::duration<double>(step.duration).count();
        }
        std::printf(" (target %.0f req/s)", due / std::chrono::duration<double>(plan.length()).count());
    }
    std::printf("\n");
    for (const auto* name : {"latency", "uncorrected"}) {
        const auto& h = std::string(name) == "latency" ? t.corrected : t.uncorrected;
        const bool open = plan.model != LoadPlan::Model::Closed;
        if (!open && std::string(name) == "uncorrected") {
            break;
        }
        std::printf("  %-12s p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  p99.9 %.3f ms  max < %.3f ms\n",
                    open && std::string(name) == "latency" ? "corrected" : name,
                    ms(h.percentile(0.5)), ms(h.percentile(0.9)), ms(h.percentile(0.99)), ms(h.percentile(0.999)),
                    ms(h.maxBound()));
    }
    std::printf("  responses    1xx %llu  2xx %llu  3xx %llu  4xx %llu  5xx %llu\n",
                static_cast<unsigned long long>(t.responses[0]), static_cast<unsigned long long>(t.responses[1]),
                static_cast<unsigned long long>(t.responses[2]), static_cast<unsigned long long>(t.responses[3]),
                static_cast<unsigned long long>(t.responses[4]));
    for (const auto& [cause, count] : t.errors) {
        std::printf("  errors       %s %llu\n", cause.c_str(), static_cast<unsigned long long>(count));
    }
}

} // namespace

int main(int argc, char** argv) {
    loadtest::LoadTestPlan spec;
    loadtest::RequestSpec request;
    std::string planFile;
    std::optional<double> rate;
    std::string schedule;
    bool json = false;
    auto fail = [](const std::string& message) {
        std::fprintf(stderr, "gaetwae-load: %s\n", message.c_str());
        return 2;
    };
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&]() -> std::optional<std::string> {
            if (i + 1 >= argc) {
                return std::nullopt;
            }
            return std::string(argv[++i]);
        };
        if (arg == "-h" || arg == "--help") {
            std::fputs(kUsage, stdout);
            return 0;
        }
        if (arg == "--json") {
            json = true;
            continue;
        }
        if (arg.rfind("-", 0) != 0) {
            spec.target = arg;
            continue;
        }
        const auto v = value();
        if (!v) {
            return fail(arg + " needs a value\n" + kUsage);
        }
        if (arg == "-c" || arg == "--connections" || arg == "-t" || arg == "--threads") {
            const int n = std::atoi(v->c_str());
            if (n <= 0) {
                return fail("bad " + arg + " '" + *v + "' (expected a positive number)");
            }
            (arg == "-c" || arg == "--connections" ? spec.connections : spec.threads) = static_cast<unsigned>(n);
        } else if (arg == "-d" || arg == "--duration" || arg == "--timeout") {
            const auto d = gaetwae::model::parseDuration(*v);
            if (!d || d->count() <= 0) {
                return fail("bad duration '" + *v + "' (e.g. 10s, 500ms)");
            }
            (arg == "--timeout" ? spec.timeout : spec.duration) = *d;
        } else if (arg == "-R" || arg == "--rate") {
            char* end = nullptr;
            rate = std::strtod(v->c_str(), &end);
            if (end == v->c_str() || *end != 0 || *rate <= 0) {
                return fail("bad rate '" + *v + "' (expected requests per second, more than 0)");
            }
        } else if (arg == "--schedule") {
            schedule = *v;
        } else if (arg == "--replay") {
            spec.model = loadtest::LoadTestPlan::Model::Replay;
            spec.replayFile = *v;
        } else if (arg == "--speed") {
            char* end = nullptr;
            spec.speed = std::strtod(v->c_str(), &end);
            if (end == v->c_str() || *end != 0 || spec.speed <= 0) {
                return fail("bad speed '" + *v + "' (expected a factor such as 0.5, 1 or 10)");
            }
        } else if (arg == "-m" || arg == "--method") {
            request.method = *v;
        } else if (arg == "-H" || arg == "--header") {
            const auto colon = v->find(':');
            if (colon == std::string::npos) {
                return fail("bad header '" + *v + "' (expected 'Name: value')");
            }
            std::string name = v->substr(0, colon);
            std::string text = v->substr(colon + 1);
            text.erase(0, text.find_first_not_of(' '));
            request.headers.emplace_back(std::move(name), std::move(text));
        } else if (arg == "--body-file") {
            request.bodyFile = *v;
        } else if (arg == "--plan") {
            planFile = *v;
        } else {
            return fail("unknown option " + arg + "\n" + kUsage);
        }
    }
    gaetwae::model::Diagnostics diagnostics;
    if (!planFile.empty()) {
        std::ifstream file(planFile);
        if (!file) {
            return fail("cannot read " + planFile);
        }
        const auto document = nlohmann::json::parse(file, nullptr, false);
        spec = {};
        if (document.is_discarded()) {
            return fail(planFile + ": not valid JSON");
        }
        if (!loadtest::fromJson(document, spec, diagnostics)) {
            return fail(planFile + ": " + loadtest::describe(diagnostics));
        }
    } else {
        if (spec.target.empty()) {
            return fail(std::string("no URL\n") + kUsage);
        }
        if (!schedule.empty()) {
            spec.model = loadtest::LoadTestPlan::Model::Open;
            std::string error;
            if (!loadtest::parseSchedule(schedule, spec.schedule, error)) {
                return fail("--schedule: " + error);
            }
        } else if (rate) {
            spec.model = loadtest::LoadTestPlan::Model::Open;
            spec.schedule = {loadtest::RateStep{spec.duration, *rate, *rate}};
        }
        spec.requests = {request};
        // The options go through the same checks as a plan file.
        if (!loadtest::fromJson(loadtest::toJson(spec), spec, diagnostics)) {
            return fail(loadtest::describe(diagnostics));
        }
    }
    if (!loadtest::checkFiles(spec, diagnostics)) {
        return fail(loadtest::describe(diagnostics));
    }
    LoadPlan plan;
    std::string error;
    if (!buildLoadPlan(spec, plan, error)) {
        return fail(error);
    }
    if (!reachable(plan.host, plan.port, error)) {
        std::fprintf(stderr, "gaetwae-load: %s\n", error.c_str());
        return 3;
    }

    // SIGINT/SIGTERM stop the run (requests in flight finish); everything is still reported.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr); // before any thread starts: they inherit it
    LoadGenerator generator(plan);
    std::atomic<bool> finished{false};
    std::thread signalWatch([&] {
        int signal = 0;
        while (sigwait(&signals, &signal) == 0) {
            if (finished) {
                return;
            }
            generator.stop();
        }
    });
    LoadResult result;
    if (json) {
        result = generator.run([&](const IntervalStats& second) {
            std::cout << loadtest::toJson(second, generator.startedAtMs()).dump() << "\n" << std::flush;
        });
        auto total = loadtest::toJson(result.total, result.startedAtMs);
        total["total"] = true;
        total["interrupted"] = result.interrupted;
        std::cout << total.dump() << "\n" << std::flush;
    } else {
        result = generator.run();
        printSummary(plan, result);
        if (result.interrupted) {
            std::printf("  interrupted after %.1f s\n", result.elapsedSeconds);
        }
    }
    finished = true;
    pthread_kill(signalWatch.native_handle(), SIGTERM);
    signalWatch.join();
    if (result.interrupted) {
        return 130;
    }
    return result.total.completed > 0 ? 0 : 1;
}
