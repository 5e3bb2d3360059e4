#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace gaetwae::model {

// Capture groups of one successful match: spans into the subject, which must outlive them.
// Groups beyond kMaxGroups are not recorded ($0..$9 is what templates can name).
struct Captures {
    static constexpr std::size_t kMaxGroups = 10; // $0 (the whole match) .. $9

    std::string_view subject;
    std::array<std::pair<std::uint32_t, std::uint32_t>, kMaxGroups> spans{}; // [begin, end)
    std::size_t count = 0; // groups recorded, $0 included; 0: no match recorded

    // The text of group `index`; empty when it did not take part in the match or does not exist.
    std::string_view group(std::size_t index) const;
};

// Per-thread (per-session) PCRE2 match data, created on first use so routes without regexes never
// allocate it. Not shareable between threads; a Regex is.
class RegexScratch {
public:
    RegexScratch();
    ~RegexScratch();
    RegexScratch(const RegexScratch&) = delete;
    RegexScratch& operator=(const RegexScratch&) = delete;

private:
    friend class Regex;
    struct MatchData;
    std::unique_ptr<MatchData> m_data;
};

// A PCRE2 pattern compiled once (JIT when the platform has it) and shared read-only by every
// worker. Matching is a search, like nginx's `~`: anchor with ^ and $ to match a whole value.
// Backtracking is bounded by a match limit, so a catastrophic pattern on a hostile input costs
// bounded time and simply does not match.
class Regex {
public:
    static constexpr std::size_t kMaxPatternBytes = 1024;
    static constexpr std::uint32_t kMatchLimit = 100'000;

    // nullptr and an explanation ("missing ) at offset 7") when the pattern does not compile.
    static std::shared_ptr<const Regex> compile(std::string_view pattern, std::string& error);

    ~Regex();
    Regex(const Regex&) = delete;
    Regex& operator=(const Regex&) = delete;

    std::uint32_t captureCount() const { return m_captureCount; } // groups, $0 not counted
    const std::string& pattern() const { return m_pattern; }

    // True when the pattern occurs in `subject`; fills `captures` when given. A match that runs
    // into the match limit counts as no match. Never throws; the scratch's match data is
    // allocated on its first use only.
    bool search(std::string_view subject, RegexScratch& scratch, Captures* captures = nullptr) const;

private:
    struct Compiled;
    explicit Regex(std::unique_ptr<Compiled> compiled, std::string pattern, std::uint32_t captureCount);

    std::unique_ptr<Compiled> m_compiled;
    std::string m_pattern;
    std::uint32_t m_captureCount = 0;
};

} // namespace gaetwae::model
