#include "shared/model/regex.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <array>

namespace gaetwae::model {

std::string_view Captures::group(std::size_t index) const {
    if (index >= count || spans[index].first > spans[index].second || spans[index].second > subject.size()) {
        return {};
    }
    return subject.substr(spans[index].first, spans[index].second - spans[index].first);
}

struct RegexScratch::MatchData {
    pcre2_match_data* data = nullptr;
    ~MatchData() { pcre2_match_data_free(data); }
};

RegexScratch::RegexScratch() = default;
RegexScratch::~RegexScratch() = default;

struct Regex::Compiled {
    pcre2_code* code = nullptr;
    pcre2_match_context* context = nullptr;
    ~Compiled() {
        pcre2_match_context_free(context);
        pcre2_code_free(code);
    }
};

Regex::Regex(std::unique_ptr<Compiled> compiled, std::string pattern, std::uint32_t captureCount)
    : m_compiled(std::move(compiled))
    , m_pattern(std::move(pattern))
    , m_captureCount(captureCount) {}

Regex::~Regex() = default;

std::shared_ptr<const Regex> Regex::compile(std::string_view pattern, std::string& error) {
    if (pattern.size() > kMaxPatternBytes) {
        error = "pattern longer than " + std::to_string(kMaxPatternBytes) + " bytes";
        return nullptr;
    }
    auto compiled = std::make_unique<Compiled>();
    int code = 0;
    PCRE2_SIZE offset = 0;
    compiled->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), 0, &code,
                                   &offset, nullptr);
    if (compiled->code == nullptr) {
        std::array<PCRE2_UCHAR, 256> message{};
        pcre2_get_error_message(code, message.data(), message.size());
        error = std::string(reinterpret_cast<const char*>(message.data())) + " at offset " +
                std::to_string(offset);
        return nullptr;
    }
    // JIT is an optimisation: without it (an unsupported CPU) the interpreter gives the same answers.
    pcre2_jit_compile(compiled->code, PCRE2_JIT_COMPLETE);
    compiled->context = pcre2_match_context_create(nullptr);
    if (compiled->context == nullptr) {
        error = "out of memory";
        return nullptr;
    }
    pcre2_set_match_limit(compiled->context, kMatchLimit);
    pcre2_set_depth_limit(compiled->context, kMatchLimit);
    std::uint32_t groups = 0;
    pcre2_pattern_info(compiled->code, PCRE2_INFO_CAPTURECOUNT, &groups);
    return std::shared_ptr<const Regex>(new Regex(std::move(compiled), std::string(pattern), groups));
}

bool Regex::search(std::string_view subject, RegexScratch& scratch, Captures* captures) const {
    if (!scratch.m_data) {
        scratch.m_data = std::make_unique<RegexScratch::MatchData>();
        scratch.m_data->data = pcre2_match_data_create(Captures::kMaxGroups, nullptr);
    }
    pcre2_match_data* data = scratch.m_data->data;
    if (data == nullptr) {
        return false;
    }
    // Byte-wise (no UTF mode): a raw request path can hold any bytes and must not make matching
    // fail. A negative result is no match or the match limit.
    const int rc = pcre2_match(m_compiled->code, reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(),
                               0, 0, data, m_compiled->context);
    if (rc < 0) {
        return false;
    }
    if (captures != nullptr) {
        // rc == 0: more groups than the match data holds; the first kMaxGroups are still filled.
        const std::size_t filled = rc == 0 ? Captures::kMaxGroups : static_cast<std::size_t>(rc);
        const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(data);
        captures->subject = subject;
        captures->count = std::min<std::size_t>(filled, Captures::kMaxGroups);
        for (std::size_t i = 0; i < captures->count; ++i) {
            const bool unset = ovector[2 * i] == PCRE2_UNSET;
            captures->spans[i] =
                unset
                    ? std::pair<std::uint32_t, std::uint32_t>{0, 0}
                    : std::pair<std::uint32_t, std::uint32_t>{static_cast<std::uint32_t>(ovector[2 * i]),
                                                              static_cast<std::uint32_t>(ovector[2 * i + 1])};
        }
    }
    return true;
}

} // namespace gaetwae::model
