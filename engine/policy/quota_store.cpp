#include "engine/policy/quota_store.hpp"

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>
#include <system_error>

namespace gaetwae::engine::policy {

namespace {

constexpr std::int64_t kDay = 86'400;
constexpr std::int64_t kNsPerSecond = 1'000'000'000;

std::string entryKey(std::string_view label, std::string_view key) {
    std::string out;
    out.reserve(label.size() + 1 + key.size());
    out.append(label);
    out.push_back('\n'); // cannot occur in a label
    out.append(key);
    return out;
}

} // namespace

QuotaWindow quotaWindow(model::QuotaPeriod period, std::chrono::system_clock::time_point now) {
    using namespace std::chrono;
    const auto seconds = duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    const std::int64_t day = (seconds >= 0 ? seconds : seconds - kDay + 1) / kDay;
    if (period == model::QuotaPeriod::Day) {
        return {day * kDay, (day + 1) * kDay};
    }
    const year_month_day date{sys_days{days{day}}};
    const year_month first = date.year() / date.month();
    const sys_days start{first / std::chrono::day{1}};
    const sys_days end{(first + months{1}) / std::chrono::day{1}};
    return {start.time_since_epoch().count() * kDay, end.time_since_epoch().count() * kDay};
}

QuotaDecision LocalQuotaStore::take(std::string_view label, std::string_view key,
                                    const model::QuotaConfig& quota,
                                    std::chrono::system_clock::time_point now) {
    const QuotaWindow window = quotaWindow(quota.period, now);
    const std::int64_t nowNs =
        std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
    QuotaDecision d;
    d.limit = static_cast<std::int64_t>(quota.limit);
    d.resetNs = window.end * kNsPerSecond - nowNs;
    const std::string id = entryKey(label, key);

    std::lock_guard lock(m_mutex);
    auto it = m_counts.find(id);
    if (it == m_counts.end()) {
        if (m_counts.size() >= kMaxEntries) {
            std::erase_if(m_counts,
                          [&](const auto& entry) { return entry.second.periodStart < window.start; });
        }
        if (m_counts.size() >= kMaxEntries) {
            d.allowed = true;
            d.remaining = d.limit - 1;
            return d;
        }
        it = m_counts.emplace(id, Count{window.start, 0}).first;
    }
    Count& count = it->second;
    if (count.periodStart != window.start) {
        count = Count{window.start, 0};
    }
    if (count.count >= quota.limit) {
        d.allowed = false;
        d.remaining = 0;
        return d;
    }
    ++count.count;
    m_dirty = true;
    d.allowed = true;
    d.remaining = static_cast<std::int64_t>(quota.limit - count.count);
    return d;
}

bool LocalQuotaStore::load(const std::filesystem::path& path, std::string& error) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
        return true; // nothing counted yet
    }
    std::ifstream in(path);
    if (!in) {
        error = "cannot read " + path.string();
        return false;
    }
    const auto document = nlohmann::json::parse(in, nullptr, false);
    if (document.is_discarded() || !document.is_object() || !document.contains("counts") ||
        !document["counts"].is_array()) {
        error = path.string() + " is not a quota state file";
        return false;
    }
    std::map<std::string, Count, std::less<>> counts;
    for (const auto& item : document["counts"]) {
        if (!item.is_object() || !item.contains("quota") || !item["quota"].is_string() ||
            !item.contains("key") || !item["key"].is_string() || !item.contains("period") ||
            !item["period"].is_number_integer() || !item.contains("count") ||
            !item["count"].is_number_unsigned()) {
            continue; // one damaged entry costs its own count only
        }
        counts[entryKey(item["quota"].get<std::string>(), item["key"].get<std::string>())] =
            Count{item["period"].get<std::int64_t>(), item["count"].get<std::uint64_t>()};
    }
    std::lock_guard lock(m_mutex);
    m_counts = std::move(counts);
    m_dirty = false;
    return true;
}

bool LocalQuotaStore::save(const std::filesystem::path& path, bool force, std::string& error) {
    // A copy under the lock, the JSON without it: workers counting requests wait for a map copy
    // at most, not for the serialization.
    std::map<std::string, Count, std::less<>> snapshot;
    {
        std::lock_guard lock(m_mutex);
        if (!m_dirty && !force) {
            return true;
        }
        snapshot = m_counts;
        m_dirty = false;
    }
    // A period that started over 31 days ago is over for days and months alike: not worth keeping.
    const std::int64_t stale =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
            .count() -
        32 * kDay;
    nlohmann::json counts = nlohmann::json::array();
    for (const auto& [id, count] : snapshot) {
        if (count.periodStart < stale) {
            continue;
        }
        const auto split = id.find('\n');
        nlohmann::json item = nlohmann::json::object();
        item["quota"] = id.substr(0, split);
        item["key"] = id.substr(split + 1);
        item["period"] = count.periodStart;
        item["count"] = count.count;
        counts.push_back(std::move(item));
    }
    nlohmann::json document = nlohmann::json::object();
    document["version"] = 1;
    document["counts"] = std::move(counts);
    std::error_code ec;
    if (path.has_parent_path()) {
        std::filesystem::create_directories(path.parent_path(), ec);
    }
    const auto temporary = std::filesystem::path(path.string() + ".tmp");
    {
        std::ofstream out(temporary, std::ios::trunc);
        // Keys are request values: bytes that are not UTF-8 are replaced rather than failing the save.
        out << document.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
        if (!out.flush()) {
            error = "cannot write " + temporary.string();
            std::lock_guard lock(m_mutex);
            m_dirty = true;
            return false;
        }
    }
    std::filesystem::rename(temporary, path, ec);
    if (ec) {
        error = "cannot replace " + path.string() + ": " + ec.message();
        std::lock_guard lock(m_mutex);
        m_dirty = true;
        return false;
    }
    return true;
}

std::size_t LocalQuotaStore::size() const {
    std::lock_guard lock(m_mutex);
    return m_counts.size();
}

std::filesystem::path defaultQuotaStatePath() {
    if (const char* state = std::getenv("XDG_STATE_HOME"); state != nullptr && *state != '\0') {
        return std::filesystem::path(state) / "gaetwae" / "quotas.json";
    }
    const char* home = std::getenv("HOME");
    return std::filesystem::path(home != nullptr ? home : ".") / ".local" / "state" / "gaetwae" /
           "quotas.json";
}

} // namespace gaetwae::engine::policy
