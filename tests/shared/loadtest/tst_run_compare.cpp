// Comparing two load-test runs: deltas from merged histograms judged against thresholds and the
// runs' own noise, throughput and errors, the knee of latency vs load, SLO checks, and the JSON
// and HTML reports. Runs are synthetic: lognormal latencies from a seeded generator.
#include "shared/loadtest/run_compare.hpp"

#include <QtTest>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>

using namespace gaetwae;
using namespace gaetwae::loadtest;

namespace {

// What one synthetic second looks like.
struct SecondShape {
    double rps = 500;    // completions in a full second
    double medianMs = 5; // lognormal median
    double sigma = 0.5;  // lognormal shape: p99 is about medianMs * exp(2.33 * sigma)
    double addMs = 0;    // added to every request (a slower candidate)
    std::uint64_t serverErrors = 0;
    std::uint64_t timeouts = 0;
    std::int64_t intervalMs = 1000;
    double targetRps = 0;
};

RunInput makeRun(const std::string& label, int seconds, std::uint64_t seed,
                 const std::function<SecondShape(int)>& shape) {
    std::mt19937_64 random(seed);
    RunInput run;
    run.label = label;
    std::int64_t offsetMs = 0;
    for (int i = 0; i < seconds; ++i) {
        const SecondShape second = shape(i);
        IntervalStats s;
        offsetMs += second.intervalMs;
        s.offsetMs = offsetMs;
        s.intervalMs = second.intervalMs;
        s.targetRps = second.targetRps;
        const auto completed = static_cast<std::uint64_t>(
            std::llround(second.rps * static_cast<double>(second.intervalMs) / 1000.0));
        s.completed = completed;
        s.sent = completed + second.timeouts;
        s.responses[1] = completed - second.serverErrors;
        s.responses[4] = second.serverErrors;
        if (second.timeouts > 0) {
            s.errors["timeout"] = second.timeouts;
        }
        std::lognormal_distribution<double> latency(std::log(second.medianMs * 1000.0), second.sigma);
        for (std::uint64_t k = 0; k < completed; ++k) {
            const auto micros =
                static_cast<std::uint64_t>(std::llround(latency(random) + second.addMs * 1000.0));
            s.corrected.record(micros);
            s.uncorrected.record(micros);
        }
        run.seconds.push_back(std::move(s));
    }
    return run;
}

RunInput steadyRun(const std::string& label, std::uint64_t seed, double addMs = 0, double medianMs = 5) {
    return makeRun(label, 60, seed, [=](int) {
        SecondShape s;
        s.medianMs = medianMs;
        s.addMs = addMs;
        return s;
    });
}

const PercentileDelta& delta(const Comparison& c, const std::string& name) {
    const auto it = std::find_if(c.latency.begin(), c.latency.end(),
                                 [&](const PercentileDelta& d) { return d.name == name; });
    if (it == c.latency.end()) {
        qFatal("no percentile %s", name.c_str());
    }
    return *it;
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

std::size_t occurrences(const std::string& text, const std::string& part) {
    std::size_t count = 0;
    for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) {
        ++count;
    }
    return count;
}

std::string htmlEscaped(const std::string& text) {
    std::string out;
    for (const char c : text) {
        switch (c) {
        case '&':
            out += "&amp;";
            break;
        case '<':
            out += "&lt;";
            break;
        case '>':
            out += "&gt;";
            break;
        case '"':
            out += "&quot;";
            break;
        case '\'':
            out += "&#39;";
            break;
        default:
            out += c;
        }
    }
    return out;
}

Slo p99Slo(double ms) {
    Slo slo;
    slo.p99Ms = ms;
    return slo;
}

} // namespace

class TestRunCompare : public QObject {
    Q_OBJECT

private slots:
    void identicalDistributionsShowNoSignificantChange() {
        const auto base = steadyRun("base", 1);
        const auto candidate = steadyRun("candidate", 2);
        const auto c = compare(base, candidate, p99Slo(50));
        QCOMPARE(c.latency.size(), std::size_t(5));
        QStringList names;
        for (const auto& d : c.latency) {
            names << QString::fromStdString(d.name);
            QVERIFY2(!d.significant, (d.name + " delta " + std::to_string(d.deltaMs) + " ms, threshold " +
                                      std::to_string(d.thresholdMs))
                                         .c_str());
            QVERIFY(d.baseMs > 0);
            QVERIFY(d.thresholdMs >= 0.05 * d.baseMs);
        }
        QCOMPARE(names, QStringList({"p50", "p90", "p99", "p99.9", "max"}));
        // The merge is exact: p50 of 60 x 500 samples of a lognormal with a 5 ms median.
        QVERIFY2(std::abs(delta(c, "p50").baseMs - 5.0) < 0.6,
                 std::to_string(delta(c, "p50").baseMs).c_str());
        QVERIFY(!c.throughputSignificant);
        QVERIFY(!c.errorRateSignificant);
        QVERIFY(!c.regressed && !c.improved);
        QVERIFY(c.basePasses && c.candidatePasses);
        QCOMPARE(c.verdict, std::string("no significant change; passes the SLO"));
        QCOMPARE(compare(base, candidate, Slo{}).verdict, std::string("no significant change; no SLO set"));
    }

    void addedLatencyIsARegressionAndFailsTheSlo() {
        const auto base = steadyRun("base", 1);
        const auto candidate = steadyRun("candidate", 2, 20.0);
        Slo slo = p99Slo(30);
        slo.p50Ms = 100;
        slo.maxErrorRate = 0.01;
        const auto c = compare(base, candidate, slo);
        const auto& p50 = delta(c, "p50");
        const auto& p99 = delta(c, "p99");
        QVERIFY2(p50.deltaMs > 18.5 && p50.deltaMs < 21.5, std::to_string(p50.deltaMs).c_str());
        QVERIFY2(p99.deltaMs > 17 && p99.deltaMs < 23, std::to_string(p99.deltaMs).c_str());
        QVERIFY(p50.significant && p99.significant);
        QVERIFY(std::abs(p50.deltaPercent - 100.0 * p50.deltaMs / p50.baseMs) < 1e-9);
        QVERIFY(c.regressed && !c.improved);

        QCOMPARE(c.slo.size(), std::size_t(3));
        QCOMPARE(c.slo[0].limit, std::string("p50 <= 100 ms"));
        QCOMPARE(c.slo[1].limit, std::string("p99 <= 30 ms"));
        QCOMPARE(c.slo[2].limit, std::string("error rate <= 1%"));
        QVERIFY(c.slo[1].basePass);
        QVERIFY(!c.slo[1].candidatePass);
        QCOMPARE(c.slo[1].candidateValue, p99.candidateMs);
        QVERIFY(c.slo[0].candidatePass && c.slo[2].candidatePass);
        QVERIFY(c.basePasses);
        QVERIFY(!c.candidatePasses);
        QVERIFY2(c.verdict.rfind("regressed: p50 +", 0) == 0, c.verdict.c_str());
        QVERIFY2(contains(c.verdict, "p99 +"), c.verdict.c_str());
        QVERIFY2(contains(c.verdict, "; fails p99 <= 30 ms"), c.verdict.c_str());
        QVERIFY2(!contains(c.verdict, "improved"), c.verdict.c_str());

        // The other way round it is an improvement, and the faster run passes.
        const auto back = compare(candidate, base, slo);
        QVERIFY(back.improved && !back.regressed);
        QVERIFY2(back.verdict.rfind("improved: p50 -", 0) == 0, back.verdict.c_str());
        QVERIFY2(contains(back.verdict, "; passes the SLO"), back.verdict.c_str());
    }

    void noiseWithinARunHidesASmallDelta() {
        // Alternating fast and slow seconds: the even and odd halves differ by a lot.
        const auto alternating = [](double addMs) {
            return [=](int i) {
                SecondShape s;
                s.medianMs = i % 2 == 0 ? 4.0 : 8.0;
                s.addMs = addMs;
                return s;
            };
        };
        const auto noisy =
            compare(makeRun("base", 60, 3, alternating(0)), makeRun("cand", 60, 4, alternating(1.0)), Slo{});
        const auto& p50 = delta(noisy, "p50");
        QVERIFY2(p50.deltaMs > 0.5, std::to_string(p50.deltaMs).c_str());
        QVERIFY2(p50.noiseMs > 2.0, std::to_string(p50.noiseMs).c_str());
        QCOMPARE(p50.thresholdMs, p50.noiseMs);
        QVERIFY(!p50.significant);
        QVERIFY(!delta(noisy, "p90").significant);

        // The same +1 ms on quiet runs of a similar level is significant: the noise made the difference.
        const auto quiet = compare(steadyRun("base", 3, 0, 5.6), steadyRun("cand", 4, 1.0, 5.6), Slo{});
        const auto& quietP50 = delta(quiet, "p50");
        QVERIFY2(quietP50.significant,
                 (std::to_string(quietP50.deltaMs) + " vs " + std::to_string(quietP50.thresholdMs)).c_str());
        QVERIFY(quietP50.noiseMs < p50.noiseMs);
    }

    void runsOfOneSecondHaveNoNoiseEstimate() {
        const auto base = makeRun("base", 1, 5, [](int) { return SecondShape{}; });
        const auto candidate = makeRun("cand", 1, 6, [](int) { return SecondShape{}; });
        const auto c = compare(base, candidate, Slo{});
        for (const auto& d : c.latency) {
            QCOMPARE(d.noiseMs, 0.0);
            QVERIFY(d.thresholdMs >= 0.1);
        }
        QCOMPARE(c.throughputNoisePercent, 0.0);
    }

    void throughputAndErrorsAreSummedOverTheRun() {
        // Ten full seconds and a last half second; failures are 5xx plus transport errors.
        const auto run = [](double rps, std::uint64_t serverErrors, std::uint64_t seed) {
            return makeRun("r", 11, seed, [=](int i) {
                SecondShape s;
                s.rps = rps;
                s.targetRps = 400;
                s.intervalMs = i == 10 ? 500 : 1000;
                s.serverErrors = i == 10 ? 0 : serverErrors;
                s.timeouts = i == 3 ? 1 : 0;
                return s;
            });
        };
        const auto base = run(400, 2, 7);
        const auto candidate = run(340, 20, 8);
        Slo slo;
        slo.maxErrorRate = 0.01;
        slo.minRps = 380;
        const auto c = compare(base, candidate, slo);

        QCOMPARE(c.base.durationSeconds, 10.5);
        QCOMPARE(c.base.completed, std::uint64_t(4200));
        QCOMPARE(c.base.sent, std::uint64_t(4201));
        QCOMPARE(c.base.achievedRps, 4200 / 10.5);
        QCOMPARE(c.base.targetRps, 400.0);
        QCOMPARE(c.base.failures, std::uint64_t(21));
        QCOMPARE(c.base.errorRate, 21.0 / 4201.0);
        QCOMPARE(c.candidate.achievedRps, 3570 / 10.5);
        QCOMPARE(c.candidate.failures, std::uint64_t(201));

        QVERIFY(std::abs(c.throughputDeltaPercent + 15.0) < 1e-9);
        QVERIFY(c.throughputSignificant);
        QVERIFY(c.errorRateSignificant);
        QVERIFY(std::abs(c.errorRateDelta - (201.0 / 3571.0 - 21.0 / 4201.0)) < 1e-12);
        QVERIFY(c.regressed);

        QCOMPARE(c.slo.size(), std::size_t(2));
        QCOMPARE(c.slo[0].limit, std::string("error rate <= 1%"));
        QCOMPARE(c.slo[1].limit, std::string("throughput >= 380 req/s"));
        QVERIFY(c.slo[0].basePass && !c.slo[0].candidatePass);
        QVERIFY(c.slo[1].basePass && !c.slo[1].candidatePass);
        QVERIFY2(contains(c.verdict, "throughput -15% (400 -> 340 req/s)"), c.verdict.c_str());
        QVERIFY2(contains(c.verdict, "error rate 0.50% -> 5.63%"), c.verdict.c_str());
        QVERIFY2(contains(c.verdict, "; fails error rate <= 1%, throughput >= 380 req/s"), c.verdict.c_str());
    }

    void aRampFindsTheKneeWhereLatencyJumps() {
        // 100 -> 970 req/s in steps of 30; p99 about 2 ms below 600 req/s, about 30 ms from there.
        // One slow second at 250 req/s must not be taken for the knee.
        auto ramp = makeRun("ramp", 30, 9, [](int i) {
            SecondShape s;
            s.rps = 100 + 30.0 * i;
            s.sigma = 0.3;
            s.medianMs = (s.rps >= 600 || i == 5) ? 15.0 : 1.0;
            return s;
        });
        const Knee knee = findKnee(ramp.seconds);
        QVERIFY2(knee.found, knee.explanation.c_str());
        QCOMPARE(knee.rps, 610.0);
        QVERIFY2(knee.baselineP99Ms > 1.5 && knee.baselineP99Ms < 3.0,
                 std::to_string(knee.baselineP99Ms).c_str());
        QVERIFY(knee.p99Ms > 2 * knee.baselineP99Ms);
        QCOMPARE(knee.points, std::uint64_t(30));
        QVERIFY2(contains(knee.explanation, "knee at 610 req/s"), knee.explanation.c_str());

        // The knee depends on load, not on time order: a ramp down finds the same one.
        std::reverse(ramp.seconds.begin(), ramp.seconds.end());
        QVERIFY(findKnee(ramp.seconds) == knee);
        // compare() reports each run's knee.
        const auto flat = makeRun("flat", 30, 10, [](int i) {
            SecondShape s;
            s.rps = 100 + 30.0 * i;
            return s;
        });
        const auto c = compare(flat, ramp, Slo{});
        QVERIFY(c.candidateKnee == knee);
        QVERIFY(!c.baseKnee.found);
        QVERIFY2(c.baseKnee.explanation.rfind("no knee up to 970 req/s: p99 stayed within 2x of ", 0) == 0,
                 c.baseKnee.explanation.c_str());
    }

    void aConstantRateHasNoKnee() {
        std::mt19937_64 jitter(11);
        std::uniform_real_distribution<double> around(-15, 15);
        std::vector<double> rates;
        for (int i = 0; i < 30; ++i) {
            rates.push_back(500 + around(jitter));
        }
        const auto run = makeRun("steady", 30, 12, [&](int i) {
            SecondShape s;
            s.rps = rates[static_cast<std::size_t>(i)];
            s.medianMs = i >= 20 ? 20.0 : 2.0; // latency doubles, but not because of load
            return s;
        });
        const Knee knee = findKnee(run.seconds);
        QVERIFY(!knee.found);
        QVERIFY2(knee.explanation.rfind("no knee: the load never varied", 0) == 0, knee.explanation.c_str());

        // Too few seconds with 20 completions cannot show a knee either.
        const auto sparse = makeRun("sparse", 30, 13, [](int i) {
            SecondShape s;
            s.rps = i < 2 ? 100 : 10;
            return s;
        });
        const Knee none = findKnee(sparse.seconds);
        QVERIFY(!none.found);
        QCOMPARE(none.points, std::uint64_t(2));
        QVERIFY2(contains(none.explanation, "3 needed"), none.explanation.c_str());
    }

    void jsonRoundTripsEveryNumber() {
        Slo slo = p99Slo(30);
        slo.p999Ms = 80;
        slo.minRps = 100;
        const auto c = compare(steadyRun("base", 1), steadyRun("candidate \"b\"", 2, 20.0), slo);
        const auto json = toJson(c);
        const auto parsed = nlohmann::json::parse(json.dump());
        QVERIFY(parsed["latency"][2]["deltaMs"].is_number_float());
        QCOMPARE(parsed["latency"][2]["deltaMs"].get<double>(), c.latency[2].deltaMs);
        QCOMPARE(parsed["latency"][2]["significant"].get<bool>(), true);
        QVERIFY(parsed["base"]["sent"].is_number_unsigned());
        QCOMPARE(parsed["base"]["sent"].get<std::uint64_t>(), c.base.sent);
        QCOMPARE(parsed["slo"][1]["limitValue"].get<double>(), 80.0);
        QCOMPARE(parsed["candidateLabel"].get<std::string>(), std::string("candidate \"b\""));
        Comparison again;
        std::string error;
        QVERIFY2(fromJson(parsed, again, &error), error.c_str());
        QVERIFY(again == c);

        auto broken = parsed;
        broken.erase("verdict");
        QVERIFY(!fromJson(broken, again, &error));
        QVERIFY2(contains(error, "verdict"), error.c_str());
    }

    void htmlIsSelfContainedAndEscaped() {
        const std::string hostile = "<script>alert('x')</script> & \"q\"";
        auto base = steadyRun(hostile, 1);
        auto candidate = steadyRun("#13 orders 500/s", 2, 20.0);
        candidate.seconds[7].corrected.clear(); // a second without answers leaves a gap, not a zero
        const auto c = compare(base, candidate, p99Slo(30));
        const std::string html = toHtml(c, base, candidate);

        QVERIFY(html.rfind("<!DOCTYPE html>", 0) == 0);
        QVERIFY(!contains(html, "<script"));
        QVERIFY(contains(html, htmlEscaped(hostile)));
        QVERIFY2(contains(html, htmlEscaped(c.verdict)), c.verdict.c_str());
        QVERIFY(contains(html, "fails p99 &lt;= 30 ms"));
        QVERIFY(contains(html, "class=\"verdict bad\""));
        QCOMPARE(occurrences(html, "<svg"), std::size_t(1));
        QCOMPARE(occurrences(html, "<polyline"), std::size_t(2));
        QVERIFY(contains(html, "seconds since start"));
        QVERIFY(contains(html, "p99 per second, corrected (ms)"));

        // Baseline dashed, candidate solid, one vertex per second with answers.
        const auto baseLine = html.find("<polyline fill=\"none\" class=\"base\"");
        const auto candidateLine = html.find("<polyline fill=\"none\" class=\"candidate\"");
        QVERIFY(baseLine != std::string::npos && candidateLine != std::string::npos);
        const auto lineOf = [&](std::size_t at) { return html.substr(at, html.find("/>", at) - at); };
        QVERIFY(contains(lineOf(baseLine), "stroke-dasharray"));
        QVERIFY(!contains(lineOf(candidateLine), "stroke-dasharray"));
        QCOMPARE(occurrences(lineOf(baseLine), ","), std::size_t(60));
        QCOMPARE(occurrences(lineOf(candidateLine), ","), std::size_t(59));

        for (const char* external : {"http", "src=", "href=", "<link", "url(", "@import"}) {
            QVERIFY2(!contains(html, external), external);
        }
        // Tables for every section.
        for (const char* section : {"Latency", "Throughput and errors", "Knee of latency vs load", "SLO"}) {
            QVERIFY2(contains(html, section), section);
        }

        const auto same = compare(steadyRun("a", 1), steadyRun("b", 2), p99Slo(50));
        QVERIFY(contains(toHtml(same, steadyRun("a", 1), steadyRun("b", 2)), "class=\"verdict good\""));
    }
};

QTEST_GUILESS_MAIN(TestRunCompare)
#include "tst_run_compare.moc"
