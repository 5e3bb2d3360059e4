// gaetwae-load: an HTTP/1.1 load generator. Closed model (N keep-alive connections as fast as
// they go, like wrk) or open model at a scheduled rate with coordinated-omission correction
// (like wrk2). Prints a summary; with --json, one JSON line per second (lossless histograms).
#include "engine/loadgen/load_generator.hpp"
#include "shared/model/units.hpp"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

using namespace gaetwae::engine::loadgen;

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
      --timeout D       per request (default 10s)
      --json            one JSON line per second on stdout, then the total
  -h, --help
Loopback and your own hosts only: this sends as many requests as it is told to.
)";

struct Target {
    std::string host;
    std::uint16_t port = 80;
    std::string path = "/";
};

bool parseUrl(const std::string& url, Target& out) {
    const std::string prefix = "http://";
    if (url.rfind(prefix, 0) != 0) {
        return false;
    }
    const std::string rest = url.substr(prefix.size());
    const auto slash = rest.find('/');
    const std::string authority = rest.substr(0, slash);
    out.path = slash == std::string::npos ? "/" : rest.substr(slash);
    const auto colon = authority.rfind(':');
    out.host = authority.substr(0, colon);
    if (colon != std::string::npos) {
        const int port = std::atoi(authority.substr(colon + 1).c_str());
        if (port <= 0 || port > 65535) {
            return false;
        }
        out.port = static_cast<std::uint16_t>(port);
    }
    if (out.host == "localhost") {
        out.host = "127.0.0.1";
    }
    return !out.host.empty();
}

double ms(std::uint64_t micros) {
    return static_cast<double>(micros) / 1000.0;
}

void printSummary(const LoadPlan& plan, const LoadResult& result) {
    const auto& t = result.total;
    const double rps = result.elapsedSeconds > 0 ? static_cast<double>(t.completed) / result.elapsedSeconds : 0;
    std::printf("%s model, %u connections, %.1f s: %llu requests, %.0f req/s achieved", 
                plan.model == LoadPlan::Model::Open ? "open" : "closed", plan.connections, result.elapsedSeconds,
                static_cast<unsigned long long>(t.completed), rps);
    if (plan.model == LoadPlan::Model::Open) {
        double due = 0;
        for (const auto& step : plan.schedule) {
            due += (step.fromRps + step.toRps) / 2 * std::chrono::duration<double>(step.duration).count();
        }
        std::printf(" (target %.0f req/s)", due / std::chrono::duration<double>(plan.length()).count());
    }
    std::printf("\n");
    for (const auto* name : {"latency", "uncorrected"}) {
        const auto& h = std::string(name) == "latency" ? t.corrected : t.uncorrected;
        if (plan.model == LoadPlan::Model::Closed && std::string(name) == "uncorrected") {
            break;
        }
        std::printf("  %-12s p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  p99.9 %.3f ms  max < %.3f ms\n",
                    plan.model == LoadPlan::Model::Open && std::string(name) == "latency" ? "corrected" : name,
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
    LoadPlan plan;
    RequestTemplate request;
    std::string url;
    std::optional<double> rate;
    std::string schedule;
    bool json = false;
    auto fail = [](const std::string& message) {
        std::fprintf(stderr, "gaetwae-load: %s\n%s", message.c_str(), kUsage);
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
            url = arg;
            continue;
        }
        const auto v = value();
        if (!v) {
            return fail(arg + " needs a value");
        }
        if (arg == "-c" || arg == "--connections") {
            plan.connections = static_cast<unsigned>(std::max(1, std::atoi(v->c_str())));
        } else if (arg == "-t" || arg == "--threads") {
            plan.threads = static_cast<unsigned>(std::max(1, std::atoi(v->c_str())));
        } else if (arg == "-d" || arg == "--duration" || arg == "--timeout") {
            const auto d = gaetwae::model::parseDuration(*v);
            if (!d || d->count() <= 0) {
                return fail("bad duration '" + *v + "' (e.g. 10s, 500ms)");
            }
            (arg == "--timeout" ? plan.timeout : plan.duration) = *d;
        } else if (arg == "-R" || arg == "--rate") {
            rate = std::atof(v->c_str());
            if (*rate <= 0) {
                return fail("bad rate '" + *v + "'");
            }
        } else if (arg == "--schedule") {
            schedule = *v;
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
            std::ifstream file(*v, std::ios::binary);
            if (!file) {
                return fail("cannot read " + *v);
            }
            std::ostringstream body;
            body << file.rdbuf();
            request.body = body.str();
        } else {
            return fail("unknown option " + arg);
        }
    }
    Target target;
    if (url.empty() || !parseUrl(url, target)) {
        return fail(url.empty() ? "no URL" : "bad URL '" + url + "' (expected http://HOST:PORT/PATH)");
    }
    plan.host = target.host;
    plan.port = target.port;
    request.target = target.path;
    plan.requests = {request};
    if (!schedule.empty()) {
        std::string error;
        if (!parseSchedule(schedule, plan.schedule, error)) {
            return fail("--schedule: " + error);
        }
        plan.model = LoadPlan::Model::Open;
    } else if (rate) {
        plan.schedule = {RateStep{plan.duration, *rate, *rate}};
        plan.model = LoadPlan::Model::Open;
    }
    LoadGenerator generator(plan);
    LoadResult result;
    if (json) {
        result = generator.run([&](const IntervalStats& second) {
            std::cout << second.toJson(generator.startedAtMs()).dump() << "\n" << std::flush;
        });
        auto total = result.total.toJson(result.startedAtMs);
        total["total"] = true;
        std::cout << total.dump() << "\n";
    } else {
        result = generator.run();
        printSummary(plan, result);
    }
    return result.total.completed > 0 ? 0 : 1;
}
