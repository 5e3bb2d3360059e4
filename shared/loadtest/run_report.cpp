// toHtml(): the comparison as one self-contained page. Everything it shows comes from the
// Comparison except the chart, which needs the runs' seconds.
#include "shared/loadtest/run_compare.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <utility>

namespace gaetwae::loadtest {

namespace {

std::string escape(const std::string& text) {
    std::string out;
    out.reserve(text.size());
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

// SVG coordinates and tick labels: short, locale-independent.
std::string number(double value) {
    std::array<char, 32> buffer{};
    const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(),
                                      std::round(value * 10.0) / 10.0, std::chars_format::general, 6);
    return std::string(buffer.data(), result.ptr);
}

// 1, 2 or 5 times a power of ten, so that about `ticks` steps cover `range`.
double niceStep(double range, int ticks) {
    const double raw = range / ticks;
    const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
    const double normalized = raw / magnitude;
    return (normalized <= 1 ? 1 : normalized <= 2 ? 2 : normalized <= 5 ? 5 : 10) * magnitude;
}

using Series = std::vector<std::pair<double, double>>; // (seconds since start, p99 ms)

// Seconds without a completed request have no p99 and are left out of the line.
Series p99PerSecond(const RunInput& run, double& lengthSeconds) {
    Series out;
    double endMs = 0;
    for (const auto& s : run.seconds) {
        endMs += static_cast<double>(std::max<std::int64_t>(0, s.intervalMs));
        if (!s.corrected.empty()) {
            out.emplace_back(endMs / 1000.0, static_cast<double>(s.corrected.percentile(0.99)) / 1000.0);
        }
    }
    lengthSeconds = std::max(lengthSeconds, endMs / 1000.0);
    return out;
}

std::string chart(const Comparison& c, const RunInput& base, const RunInput& candidate) {
    constexpr double kWidth = 860, kHeight = 340, kLeft = 64, kRight = 16, kTop = 16, kBottom = 48;
    constexpr double kPlotWidth = kWidth - kLeft - kRight, kPlotHeight = kHeight - kTop - kBottom;

    double lengthSeconds = 0;
    const Series baseSeries = p99PerSecond(base, lengthSeconds);
    const Series candidateSeries = p99PerSecond(candidate, lengthSeconds);
    lengthSeconds = std::max(lengthSeconds, 1.0);

    double highestMs = 0;
    for (const auto* series : {&baseSeries, &candidateSeries}) {
        for (const auto& point : *series) {
            highestMs = std::max(highestMs, point.second);
        }
    }
    const auto sloP99 =
        std::find_if(c.slo.begin(), c.slo.end(), [](const SloCheck& check) { return check.name == "p99"; });
    if (sloP99 != c.slo.end()) {
        highestMs = std::max(highestMs, sloP99->limitValue);
    }
    highestMs = std::max(highestMs * 1.05, 0.01);
    const double yStep = niceStep(highestMs, 5);
    const double yTop = std::ceil(highestMs / yStep) * yStep;
    const double xStep = niceStep(lengthSeconds, 8);
    const double xRight = std::ceil(lengthSeconds / xStep) * xStep;

    const auto x = [&](double seconds) { return kLeft + seconds / xRight * kPlotWidth; };
    const auto y = [&](double ms) { return kTop + kPlotHeight - ms / yTop * kPlotHeight; };

    std::string svg = "<svg class=\"chart\" viewBox=\"0 0 " + number(kWidth) + " " + number(kHeight) +
                      "\" width=\"" + number(kWidth) + "\" height=\"" + number(kHeight) +
                      "\" role=\"img\" aria-label=\"p99 per second of both runs\">\n";
    // Grid and tick labels.
    for (double v = 0; v <= yTop + yStep / 2; v += yStep) {
        svg += "<line x1=\"" + number(kLeft) + "\" x2=\"" + number(kLeft + kPlotWidth) + "\" y1=\"" +
               number(y(v)) + "\" y2=\"" + number(y(v)) + "\" stroke=\"#e3e3e3\"/>";
        svg += "<text x=\"" + number(kLeft - 6) + "\" y=\"" + number(y(v) + 4) + "\" text-anchor=\"end\">" +
               number(v) + "</text>\n";
    }
    for (double v = 0; v <= xRight + xStep / 2; v += xStep) {
        svg += "<line x1=\"" + number(x(v)) + "\" x2=\"" + number(x(v)) + "\" y1=\"" + number(kTop) +
               "\" y2=\"" + number(kTop + kPlotHeight) + "\" stroke=\"#f0f0f0\"/>";
        svg += "<text x=\"" + number(x(v)) + "\" y=\"" + number(kTop + kPlotHeight + 16) +
               "\" text-anchor=\"middle\">" + number(v) + "</text>\n";
    }
    // Axes and their labels.
    svg += "<line x1=\"" + number(kLeft) + "\" x2=\"" + number(kLeft) + "\" y1=\"" + number(kTop) +
           "\" y2=\"" + number(kTop + kPlotHeight) + "\" stroke=\"#333\"/>";
    svg += "<line x1=\"" + number(kLeft) + "\" x2=\"" + number(kLeft + kPlotWidth) + "\" y1=\"" +
           number(kTop + kPlotHeight) + "\" y2=\"" + number(kTop + kPlotHeight) + "\" stroke=\"#333\"/>\n";
    svg += "<text x=\"" + number(kLeft + kPlotWidth / 2) + "\" y=\"" + number(kHeight - 8) +
           "\" text-anchor=\"middle\">seconds since start</text>\n";
    svg += "<text x=\"14\" y=\"" + number(kTop + kPlotHeight / 2) +
           "\" text-anchor=\"middle\" transform=\"rotate(-90 14 " + number(kTop + kPlotHeight / 2) +
           ")\">p99 per second, corrected (ms)</text>\n";
    if (sloP99 != c.slo.end()) {
        const double limitY = y(sloP99->limitValue);
        svg += "<line x1=\"" + number(kLeft) + "\" x2=\"" + number(kLeft + kPlotWidth) + "\" y1=\"" +
               number(limitY) + "\" y2=\"" + number(limitY) +
               "\" stroke=\"#c62828\" stroke-dasharray=\"2 3\"/>";
        svg += "<text x=\"" + number(kLeft + kPlotWidth - 4) + "\" y=\"" + number(limitY - 4) +
               "\" text-anchor=\"end\" fill=\"#c62828\">SLO " + escape(sloP99->limit) + "</text>\n";
    }
    const auto polyline = [&](const Series& series, const char* style) {
        std::string points;
        for (const auto& [seconds, ms] : series) {
            points += (points.empty() ? "" : " ") + number(x(seconds)) + "," + number(y(ms));
        }
        return "<polyline fill=\"none\" " + std::string(style) + " points=\"" + points + "\"/>\n";
    };
    svg += polyline(baseSeries,
                    "class=\"base\" stroke=\"#8a8a8a\" stroke-width=\"1.5\" stroke-dasharray=\"6 4\"");
    svg += polyline(candidateSeries, "class=\"candidate\" stroke=\"#1565c0\" stroke-width=\"2\"");
    svg += "</svg>\n";
    return svg;
}

std::string cell(const std::string& text, const char* cls = nullptr) {
    return cls == nullptr ? "<td>" + escape(text) + "</td>"
                          : "<td class=\"" + std::string(cls) + "\">" + escape(text) + "</td>";
}

std::string passCell(bool pass, const std::string& text) {
    return cell(text + (pass ? "  pass" : "  FAIL"), pass ? "pass" : "fail");
}

std::string sloValue(const SloCheck& check, double value) {
    if (check.name == "error rate") {
        return formatRate(value);
    }
    if (check.name == "throughput") {
        return formatRps(value) + " req/s";
    }
    return formatMs(value);
}

std::string latencyTable(const Comparison& c) {
    std::string out = "<table>\n<tr><th>percentile</th><th>baseline</th><th>candidate</th><th>delta</th>"
                      "<th>delta %</th><th>noise</th><th>threshold</th><th>judged</th></tr>\n";
    for (const auto& d : c.latency) {
        const char* judged = !d.significant ? "within noise" : d.deltaMs > 0 ? "worse" : "better";
        const char* cls = !d.significant ? "same" : d.deltaMs > 0 ? "worse" : "better";
        out += "<tr>" + cell(d.name) + cell(formatMs(d.baseMs)) + cell(formatMs(d.candidateMs)) +
               cell(formatSignedMs(d.deltaMs), cls) + cell(formatSignedPercent(d.deltaPercent), cls) +
               cell(formatMs(d.noiseMs)) + cell(formatMs(d.thresholdMs)) + cell(judged, cls) + "</tr>\n";
    }
    return out + "</table>\n";
}

std::string rateTable(const Comparison& c) {
    const auto row = [](const char* name, const std::string& base, const std::string& candidate) {
        return "<tr>" + cell(name) + cell(base) + cell(candidate) + "</tr>\n";
    };
    std::string out = "<table>\n<tr><th></th><th>baseline</th><th>candidate</th></tr>\n";
    out += row("duration", number(c.base.durationSeconds) + " s", number(c.candidate.durationSeconds) + " s");
    out += row("achieved req/s", formatRps(c.base.achievedRps), formatRps(c.candidate.achievedRps));
    out += row("target req/s", c.base.targetRps > 0 ? formatRps(c.base.targetRps) : "closed model",
               c.candidate.targetRps > 0 ? formatRps(c.candidate.targetRps) : "closed model");
    out += row("sent", std::to_string(c.base.sent), std::to_string(c.candidate.sent));
    out += row("completed", std::to_string(c.base.completed), std::to_string(c.candidate.completed));
    out += row("failures (transport + 5xx)", std::to_string(c.base.failures),
               std::to_string(c.candidate.failures));
    out += row("error rate", formatRate(c.base.errorRate), formatRate(c.candidate.errorRate));
    out += "</table>\n";
    out += "<p>Throughput " + escape(formatSignedPercent(c.throughputDeltaPercent)) + " (noise " +
           escape(formatPercent(c.throughputNoisePercent)) + "): <b class=\"" +
           (c.throughputSignificant ? (c.throughputDeltaPercent < 0 ? "worse" : "better") : "same") + "\">" +
           (c.throughputSignificant ? "significant" : "within noise") + "</b>. Error rate " +
           escape(formatRate(c.base.errorRate)) + " &rarr; " + escape(formatRate(c.candidate.errorRate)) +
           " (noise " + escape(formatRate(c.errorRateNoise)) + "): <b class=\"" +
           (c.errorRateSignificant ? (c.errorRateDelta > 0 ? "worse" : "better") : "same") + "\">" +
           (c.errorRateSignificant ? "significant" : "within noise") + "</b>.</p>\n";
    return out;
}

std::string kneeTable(const Comparison& c) {
    const auto row = [](const char* run, const Knee& k) {
        return "<tr>" + cell(run) + cell(k.found ? formatRps(k.rps) + " req/s" : "none") +
               cell(k.found ? formatMs(k.p99Ms) : "") + cell(formatMs(k.baselineP99Ms)) +
               cell(k.explanation) + "</tr>\n";
    };
    return "<table>\n<tr><th>run</th><th>knee</th><th>p99 there</th><th>p99 at low "
           "load</th><th></th></tr>\n" +
           row("baseline", c.baseKnee) + row("candidate", c.candidateKnee) + "</table>\n";
}

std::string sloTable(const Comparison& c) {
    if (c.slo.empty()) {
        return "<p>No SLO set.</p>\n";
    }
    std::string out = "<table>\n<tr><th>check</th><th>baseline</th><th>candidate</th></tr>\n";
    for (const auto& check : c.slo) {
        out += "<tr>" + cell(check.limit) + passCell(check.basePass, sloValue(check, check.baseValue)) +
               passCell(check.candidatePass, sloValue(check, check.candidateValue)) + "</tr>\n";
    }
    return out + "</table>\n";
}

constexpr const char* kStyle = R"css(
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 920px; color: #222; padding: 0 12px; }
h1 { font-size: 22px; margin-bottom: 4px; }
h2 { font-size: 16px; margin-top: 28px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.runs { color: #444; }
.verdict { padding: 12px 16px; border-radius: 6px; font-size: 16px; font-weight: 600; margin: 16px 0; }
.verdict.good { background: #e6f4ea; color: #1b5e20; border: 1px solid #a5d6a7; }
.verdict.bad { background: #fdecea; color: #b71c1c; border: 1px solid #ef9a9a; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { border: 1px solid #ddd; padding: 4px 10px; text-align: right; }
th { background: #f5f5f5; }
td:first-child, th:first-child, td:last-child { text-align: left; }
.worse, .fail { color: #b71c1c; font-weight: 600; }
.better, .pass { color: #1b5e20; }
.same { color: #666; }
.chart text { font-size: 11px; fill: #333; }
.legend span { display: inline-block; width: 28px; margin: 0 6px 3px 16px; vertical-align: middle; }
.legend .base { border-top: 2px dashed #8a8a8a; }
.legend .candidate { border-top: 2px solid #1565c0; }
)css";

} // namespace

std::string toHtml(const Comparison& c, const RunInput& base, const RunInput& candidate) {
    const bool good = !c.regressed && c.candidatePasses;
    std::string html = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" +
                       escape("Load test comparison: " + c.baseLabel + " vs " + c.candidateLabel) +
                       "</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n";
    html += "<h1>Load test comparison</h1>\n";
    html += "<p class=\"runs\">Baseline: <b>" + escape(c.baseLabel) + "</b><br>Candidate: <b>" +
            escape(c.candidateLabel) + "</b></p>\n";
    html +=
        "<div class=\"verdict " + std::string(good ? "good" : "bad") + "\">" + escape(c.verdict) + "</div>\n";
    html += "<h2>Latency (corrected, whole run)</h2>\n" + latencyTable(c);
    html += "<p class=\"same\">A delta counts only above its threshold: the largest of the relative and "
            "absolute floors, the noise between alternate seconds within each run, and the histogram's "
            "resolution.</p>\n";
    html += "<h2>Throughput and errors</h2>\n" + rateTable(c);
    html += "<h2>Knee of latency vs load</h2>\n" + kneeTable(c);
    html += "<h2>SLO</h2>\n" + sloTable(c);
    html += "<h2>p99 per second</h2>\n" + chart(c, base, candidate);
    html += "<p class=\"legend\"><span class=\"base\"></span>baseline: " + escape(c.baseLabel) +
            "<span class=\"candidate\"></span>candidate: " + escape(c.candidateLabel) + "</p>\n";
    html += "</body>\n</html>\n";
    return html;
}

} // namespace gaetwae::loadtest
