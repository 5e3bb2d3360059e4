#pragma once

#include <map>
#include <string>
#include <vector>

namespace gaetwae::test {

// A strict reader of the Prometheus text exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/), stricter than Prometheus
// itself where that catches our mistakes: every family has HELP and TYPE before its samples,
// families are contiguous and never repeated, names and labels are well formed, label values
// are correctly escaped, a counter's samples end in _total, histograms have ascending `le`
// buckets ending in +Inf whose counts never decrease and equal _count, with a _sum.
struct PromSample {
    std::string name;
    std::map<std::string, std::string> labels;
    double value = 0;
};

struct PromFamily {
    std::string name;
    std::string type;
    std::string help;
    std::vector<PromSample> samples;
};

struct PromParse {
    std::vector<PromFamily> families;
    std::vector<std::string> errors; // "line N: ..." for every problem

    const PromFamily* family(const std::string& name) const;
    // The value of the sample with exactly these labels (nullptr when absent).
    const PromSample* sample(const std::string& name, const std::map<std::string, std::string>& labels) const;
};

PromParse parsePrometheusText(const std::string& text);

} // namespace gaetwae::test
