#include "tests/engine/admin/prometheus_text.hpp"

#include <cmath>
#include <set>
#include <sstream>

namespace gaetwae::test {

namespace {

bool isNameStart(char c, bool colonAllowed) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colonAllowed && c == ':');
}

bool isNameChar(char c, bool colonAllowed) {
    return isNameStart(c, colonAllowed) || (c >= '0' && c <= '9');
}

bool validName(const std::string& name, bool colonAllowed) {
    if (name.empty() || !isNameStart(name[0], colonAllowed)) {
        return false;
    }
    for (const char c : name) {
        if (!isNameChar(c, colonAllowed)) {
            return false;
        }
    }
    return true;
}

// Go's strconv.ParseFloat as Prometheus accepts it, including NaN and +/-Inf.
bool parseValue(const std::string& text, double& out) {
    if (text == "NaN") {
        out = std::nan("");
        return true;
    }
    if (text == "+Inf" || text == "Inf") {
        out = INFINITY;
        return true;
    }
    if (text == "-Inf") {
        out = -INFINITY;
        return true;
    }
    if (text.empty()) {
        return false;
    }
    try {
        std::size_t used = 0;
        out = std::stod(text, &used);
        return used == text.size();
    } catch (const std::exception&) {
        return false;
    }
}

std::string stripSuffix(const std::string& name, const std::string& suffix) {
    return name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0
               ? name.substr(0, name.size() - suffix.size())
               : std::string();
}

class Parser {
public:
    explicit Parser(const std::string& text)
        : m_text(text) {}

    PromParse run() {
        if (!m_text.empty() && m_text.back() != '\n') {
            error(0, "the exposition must end with a line feed");
        }
        std::istringstream in(m_text);
        std::string line;
        while (std::getline(in, line)) {
            ++m_line;
            if (line.find('\r') != std::string::npos) {
                error(m_line, "carriage return in line");
            }
            if (line.empty()) {
                continue;
            }
            if (line[0] == '#') {
                comment(line);
            } else {
                sample(line);
            }
        }
        finishFamily();
        return std::move(m_result);
    }

private:
    void error(int line, const std::string& message) {
        m_result.errors.push_back("line " + std::to_string(line) + ": " + message);
    }

    PromFamily& familyFor(const std::string& name) {
        if (m_current == nullptr || m_current->name != name) {
            finishFamily();
            if (m_seen.count(name) != 0) {
                error(m_line, "family '" + name + "' appears again after another family (families must be contiguous)");
            }
            m_seen.insert(name);
            m_result.families.push_back(PromFamily{name, "", "", {}});
            m_current = &m_result.families.back();
            m_currentHasSamples = false;
        }
        return *m_current;
    }

    void comment(const std::string& line) {
        std::istringstream in(line.substr(1));
        std::string keyword;
        in >> keyword;
        if (keyword != "HELP" && keyword != "TYPE") {
            return; // a plain comment
        }
        std::string name;
        in >> name;
        if (!validName(name, true)) {
            error(m_line, "bad metric name '" + name + "' in " + keyword);
            return;
        }
        std::string rest;
        std::getline(in, rest);
        if (!rest.empty() && rest[0] == ' ') {
            rest.erase(0, 1);
        }
        auto& family = familyFor(name);
        if (m_currentHasSamples) {
            error(m_line, keyword + " for '" + name + "' after its samples");
        }
        if (keyword == "HELP") {
            if (!family.help.empty()) {
                error(m_line, "second HELP for '" + name + "'");
            }
            for (std::size_t i = 0; i < rest.size(); ++i) {
                if (rest[i] == '\\' && (i + 1 >= rest.size() || (rest[i + 1] != '\\' && rest[i + 1] != 'n'))) {
                    error(m_line, "bad escape in HELP of '" + name + "'");
                }
                if (rest[i] == '\\') {
                    ++i;
                }
            }
            family.help = rest.empty() ? std::string(" ") : rest;
        } else {
            static const std::set<std::string> kTypes{"counter", "gauge", "histogram", "summary", "untyped"};
            if (!family.type.empty()) {
                error(m_line, "second TYPE for '" + name + "'");
            }
            if (kTypes.count(rest) == 0) {
                error(m_line, "unknown type '" + rest + "' for '" + name + "'");
            }
            family.type = rest;
        }
    }

    // The family a sample name belongs to: itself, or for histograms and summaries its base.
    std::string familyOf(const std::string& name) const {
        if (m_current != nullptr && (m_current->type == "histogram" || m_current->type == "summary")) {
            for (const char* suffix : {"_bucket", "_sum", "_count"}) {
                if (stripSuffix(name, suffix) == m_current->name) {
                    return m_current->name;
                }
            }
        }
        return name;
    }

    void sample(const std::string& line) {
        std::size_t i = 0;
        while (i < line.size() && isNameChar(line[i], true)) {
            ++i;
        }
        PromSample s;
        s.name = line.substr(0, i);
        if (!validName(s.name, true)) {
            error(m_line, "bad metric name at the start of '" + line + "'");
            return;
        }
        if (i < line.size() && line[i] == '{') {
            ++i;
            for (;;) {
                if (i < line.size() && line[i] == '}') {
                    ++i;
                    break;
                }
                std::size_t start = i;
                while (i < line.size() && isNameChar(line[i], false)) {
                    ++i;
                }
                const std::string label = line.substr(start, i - start);
                if (!validName(label, false) || label.rfind("__", 0) == 0) {
                    error(m_line, "bad label name '" + label + "'");
                    return;
                }
                if (i + 1 >= line.size() || line[i] != '=' || line[i + 1] != '"') {
                    error(m_line, "expected =\" after label '" + label + "'");
                    return;
                }
                i += 2;
                std::string value;
                bool closed = false;
                while (i < line.size()) {
                    const char c = line[i++];
                    if (c == '"') {
                        closed = true;
                        break;
                    }
                    if (c == '\\') {
                        if (i >= line.size()) {
                            break;
                        }
                        const char e = line[i++];
                        if (e == '\\' || e == '"') {
                            value += e;
                        } else if (e == 'n') {
                            value += '\n';
                        } else {
                            error(m_line, std::string("bad escape \\") + e + " in label '" + label + "'");
                        }
                        continue;
                    }
                    value += c;
                }
                if (!closed) {
                    error(m_line, "unterminated value of label '" + label + "'");
                    return;
                }
                if (!s.labels.emplace(label, value).second) {
                    error(m_line, "label '" + label + "' given twice");
                }
                if (i < line.size() && line[i] == ',') {
                    ++i;
                } else if (i >= line.size() || line[i] != '}') {
                    error(m_line, "expected , or } after label '" + label + "'");
                    return;
                }
            }
        }
        if (i >= line.size() || line[i] != ' ') {
            error(m_line, "expected a space before the value in '" + line + "'");
            return;
        }
        std::istringstream rest(line.substr(i + 1));
        std::string valueText;
        std::string timestamp;
        std::string extra;
        rest >> valueText >> timestamp >> extra;
        if (!parseValue(valueText, s.value)) {
            error(m_line, "bad value '" + valueText + "'");
        }
        if (!timestamp.empty()) {
            try {
                std::size_t used = 0;
                (void)std::stoll(timestamp, &used);
                if (used != timestamp.size()) {
                    throw std::invalid_argument("timestamp");
                }
            } catch (const std::exception&) {
                error(m_line, "bad timestamp '" + timestamp + "'");
            }
        }
        if (!extra.empty()) {
            error(m_line, "trailing text after the value");
        }

        const std::string base = familyOf(s.name);
        if (m_current == nullptr || m_current->name != base) {
            error(m_line, "sample '" + s.name + "' without HELP and TYPE before it");
            familyFor(base);
        }
        auto& family = *m_current;
        if (family.type == "counter" && stripSuffix(s.name, "_total").empty()) {
            error(m_line, "counter sample '" + s.name + "' does not end in _total");
        }
        std::string key = s.name;
        for (const auto& [k, v] : s.labels) {
            key += "\x1f" + k + "=" + v;
        }
        if (!m_series.insert(key).second) {
            error(m_line, "duplicate series " + s.name);
        }
        m_currentHasSamples = true;
        family.samples.push_back(std::move(s));
    }

    void finishFamily() {
        if (m_current == nullptr) {
            return;
        }
        const auto& family = *m_current;
        if (family.help.empty() || family.type.empty()) {
            error(m_line, "family '" + family.name + "' lacks HELP or TYPE");
        }
        if (family.type == "histogram") {
            checkHistogram(family);
        }
        m_current = nullptr;
    }

    void checkHistogram(const PromFamily& family) {
        struct Series {
            std::vector<std::pair<double, double>> buckets; // le, count in order of appearance
            bool hasSum = false;
            bool hasCount = false;
            double count = 0;
        };
        std::map<std::map<std::string, std::string>, Series> series;
        for (const auto& s : family.samples) {
            auto labels = s.labels;
            if (s.name == family.name + "_bucket") {
                const auto le = labels.find("le");
                double bound = 0;
                if (le == labels.end() || !parseValue(le->second, bound)) {
                    error(m_line, family.name + "_bucket without a numeric le label");
                    continue;
                }
                labels.erase("le");
                series[labels].buckets.emplace_back(bound, s.value);
            } else if (s.name == family.name + "_sum") {
                series[labels].hasSum = true;
            } else if (s.name == family.name + "_count") {
                series[labels].hasCount = true;
                series[labels].count = s.value;
            } else {
                error(m_line, "sample '" + s.name + "' in histogram '" + family.name + "'");
            }
        }
        for (const auto& [labels, s] : series) {
            if (s.buckets.empty() || !std::isinf(s.buckets.back().first)) {
                error(m_line, "histogram '" + family.name + "' series lacks its le=\"+Inf\" bucket");
                continue;
            }
            for (std::size_t i = 1; i < s.buckets.size(); ++i) {
                if (!(s.buckets[i].first > s.buckets[i - 1].first)) {
                    error(m_line, "histogram '" + family.name + "' buckets are not in ascending le order");
                }
                if (s.buckets[i].second < s.buckets[i - 1].second) {
                    error(m_line, "histogram '" + family.name + "' bucket counts decrease");
                }
            }
            if (!s.hasSum || !s.hasCount) {
                error(m_line, "histogram '" + family.name + "' series lacks _sum or _count");
            } else if (s.count != s.buckets.back().second) {
                error(m_line, "histogram '" + family.name + "' _count differs from its +Inf bucket");
            }
        }
    }

    const std::string& m_text;
    PromParse m_result;
    PromFamily* m_current = nullptr;
    bool m_currentHasSamples = false;
    std::set<std::string> m_seen;
    std::set<std::string> m_series;
    int m_line = 0;
};

} // namespace

const PromFamily* PromParse::family(const std::string& name) const {
    for (const auto& f : families) {
        if (f.name == name) {
            return &f;
        }
    }
    return nullptr;
}

const PromSample* PromParse::sample(const std::string& name, const std::map<std::string, std::string>& labels) const {
    for (const auto& f : families) {
        for (const auto& s : f.samples) {
            if (s.name == name && s.labels == labels) {
                return &s;
            }
        }
    }
    return nullptr;
}

PromParse parsePrometheusText(const std::string& text) {
    return Parser(text).run();
}

} // namespace gaetwae::test
