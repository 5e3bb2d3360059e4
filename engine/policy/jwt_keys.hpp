#pragma once

#include "engine/policy/jwt.hpp"
#include "shared/model/auth_config.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace gaetwae::engine::policy {

// Parses a JWKS document (RFC 7517): RSA keys (n, e) become RS256 keys, EC P-256 keys (x, y)
// ES256 keys; a key's own "alg" must agree. Keys for other uses ("use": "enc"), other curves
// or types are skipped; a document without one usable key is an error.
std::optional<JwtKeySet> parseJwks(std::string_view text, std::string& error);
// Reads and parses the file `source` names.
std::optional<JwtKeySet> loadKeySource(const model::JwtKeySource& source, std::string& error);

// What identifies a version of a file without reading it.
struct FileStamp {
    std::int64_t mtimeNs = -1;
    std::int64_t size = -1;
    std::uint64_t inode = 0;

    bool operator==(const FileStamp&) const = default;
};
FileStamp stampOf(const std::string& path);

// One key source, shared by every worker and kept across reloads while the config names it.
// The request path reads the current keys without a lock; at most once per check interval one
// request also looks at the file's stamp (a stat) and re-reads it when it changed. A file that
// fails to load keeps the previous keys and is logged once per version.
class KeyFile {
public:
    static constexpr std::int64_t kCheckIntervalNs = 1'000'000'000;

    KeyFile(model::JwtKeySource source, JwtKeySet keys, FileStamp stamp);

    const model::JwtKeySource& source() const { return m_source; }
    std::shared_ptr<const JwtKeySet> keys() const { return m_keys.load(std::memory_order_acquire); }

    // Request path: cheap unless the check interval has passed (`nowNs` is monotonic).
    void poll(std::int64_t nowNs) {
        if (nowNs >= m_nextCheckNs.load(std::memory_order_relaxed)) {
            check(nowNs);
        }
    }
    // Config reloads and SIGHUP: look at the file now.
    void refresh();

private:
    void check(std::int64_t nowNs);
    void reloadIfChanged(); // m_reloadMutex held

    const model::JwtKeySource m_source;
    std::atomic<std::shared_ptr<const JwtKeySet>> m_keys;
    std::atomic<std::int64_t> m_nextCheckNs{0};
    std::mutex m_reloadMutex; // one reader of the file at a time; the request path only tries it
    FileStamp m_stamp;        // of the keys in use
    FileStamp m_failedStamp;  // of the last version that failed (logged once)
};

// The file a source names.
const std::string& keySourcePath(const model::JwtKeySource& source);

} // namespace gaetwae::engine::policy
