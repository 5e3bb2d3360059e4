#pragma once

#include "shared/model/config.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace gaetwae::engine::policy {

struct QuotaDecision {
    bool evaluated = true; // false: an earlier limit refused, the quota was not counted
    bool allowed = false;
    std::int64_t limit = 0;
    std::int64_t remaining = 0; // requests left in the period after this one
    std::int64_t resetNs = 0;   // until the period ends (UTC midnight, or the first of next month)
};

// The UTC calendar period containing `now`, as [start, end) in seconds since 1970.
struct QuotaWindow {
    std::int64_t start = 0;
    std::int64_t end = 0;
};
QuotaWindow quotaWindow(model::QuotaPeriod period, std::chrono::system_clock::time_point now);

// Counts of local quotas, shared by every worker and kept across reloads, restarts included:
// save() writes them to a small JSON file (temporary file + rename, so a crash leaves the old
// file or the new one, never half of one) and load() reads them back at start. The engine saves
// every few seconds while counts change, and at shutdown.
//
// Memory is bounded: at most kMaxEntries (quota, key) counts; when full, counts of past periods
// go first, and a new key that still finds no room is let through uncounted (the same bias as
// the local rate limiter: under a flood of distinct keys, rather let a request through than grow).
class LocalQuotaStore {
public:
    static constexpr std::size_t kMaxEntries = 1'000'000;

    // Counts one request of `key` against quota `label` unless its limit is reached in the period
    // containing `now`. Refused requests do not count.
    QuotaDecision take(std::string_view label, std::string_view key, const model::QuotaConfig& quota,
                       std::chrono::system_clock::time_point now);

    // Replaces the counts with the file's (a missing file is no error: nothing counted yet).
    bool load(const std::filesystem::path& path, std::string& error);
    // Writes the counts when they changed since the last save (or always with `force`), leaving
    // out those of periods that started more than 31 days ago (over, whatever the period).
    bool save(const std::filesystem::path& path, bool force, std::string& error);
    std::size_t size() const;

private:
    struct Count {
        std::int64_t periodStart = 0;
        std::uint64_t count = 0;
    };
    mutable std::mutex m_mutex;
    std::map<std::string, Count, std::less<>> m_counts; // by label + '\n' + key
    bool m_dirty = false;
};

// Where local quota counts are kept unless quota_state_file says: $XDG_STATE_HOME/gaetwae/quotas.json,
// else ~/.local/state/gaetwae/quotas.json.
std::filesystem::path defaultQuotaStatePath();

} // namespace gaetwae::engine::policy
