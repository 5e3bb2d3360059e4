#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace gaetwae::console::sqlite {

// A prepared statement that finalizes itself. Binds and columns speak the types the history
// store keeps: unsigned 64-bit counters are stored bit-for-bit as SQLite's signed integers, so
// they round trip exactly. A statement belongs to one connection and so to one thread at a time.
class Statement {
public:
    Statement() = default;
    Statement(sqlite3* db, std::string_view sql)
        : m_db(db) {
        m_code = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                                    &m_statement, nullptr);
    }
    ~Statement() { sqlite3_finalize(m_statement); }
    Statement(Statement&& other) noexcept { swap(other); }
    Statement& operator=(Statement&& other) noexcept {
        Statement moved(std::move(other));
        swap(moved);
        return *this;
    }
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    bool ok() const { return m_statement != nullptr; } // prepared
    int code() const { return m_code; }                // of the prepare or the last step
    std::string error() const { return m_db != nullptr ? sqlite3_errmsg(m_db) : "statement not prepared"; }

    // Binds are 1-based like SQLite's; a failing bind is reported by the next step().
    Statement& bind(int index, std::int64_t value) {
        sqlite3_bind_int64(m_statement, index, value);
        return *this;
    }
    Statement& bind(int index, std::uint64_t value) { return bind(index, static_cast<std::int64_t>(value)); }
    Statement& bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
    Statement& bind(int index, std::uint32_t value) { return bind(index, static_cast<std::int64_t>(value)); }
    Statement& bind(int index, bool value) { return bind(index, static_cast<std::int64_t>(value ? 1 : 0)); }
    Statement& bind(int index, double value) {
        sqlite3_bind_double(m_statement, index, value);
        return *this;
    }
    Statement& bind(int index, std::string_view text) {
        sqlite3_bind_text64(m_statement, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
        return *this;
    }
    Statement& bind(int index, const char* text) { return bind(index, std::string_view(text)); }
    Statement& bind(int index, const std::string& text) { return bind(index, std::string_view(text)); }
    Statement& bindBlob(int index, std::string_view bytes) {
        if (bytes.empty()) {
            return bindNull(index);
        }
        sqlite3_bind_blob64(m_statement, index, bytes.data(), bytes.size(), SQLITE_TRANSIENT);
        return *this;
    }
    Statement& bindNull(int index) {
        sqlite3_bind_null(m_statement, index);
        return *this;
    }

    // SQLITE_ROW while rows come, SQLITE_DONE at the end, an error code otherwise.
    int step() {
        m_code = sqlite3_step(m_statement);
        return m_code;
    }
    // Steps a statement that returns no rows, then resets it; true when it succeeded.
    bool run() {
        const int code = step();
        reset();
        m_code = code;
        return code == SQLITE_DONE || code == SQLITE_ROW;
    }
    void reset() {
        sqlite3_reset(m_statement);
        sqlite3_clear_bindings(m_statement);
    }

    bool isNull(int column) const { return sqlite3_column_type(m_statement, column) == SQLITE_NULL; }
    std::int64_t int64(int column) const { return sqlite3_column_int64(m_statement, column); }
    std::uint64_t uint64(int column) const { return static_cast<std::uint64_t>(int64(column)); }
    double real(int column) const { return sqlite3_column_double(m_statement, column); }
    std::string text(int column) const {
        const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(m_statement, column));
        return data != nullptr
                   ? std::string(data, static_cast<std::size_t>(sqlite3_column_bytes(m_statement, column)))
                   : std::string();
    }
    // Valid until the next step, reset or column call on this column.
    std::string_view blob(int column) const {
        const auto* data = static_cast<const char*>(sqlite3_column_blob(m_statement, column));
        return data != nullptr
                   ? std::string_view(data,
                                      static_cast<std::size_t>(sqlite3_column_bytes(m_statement, column)))
                   : std::string_view();
    }

private:
    void swap(Statement& other) noexcept {
        std::swap(m_db, other.m_db);
        std::swap(m_statement, other.m_statement);
        std::swap(m_code, other.m_code);
    }

    sqlite3* m_db = nullptr;
    sqlite3_stmt* m_statement = nullptr;
    int m_code = SQLITE_OK;
};

// Runs one or more statements that return no rows; on failure fills `error` with SQLite's message.
inline bool exec(sqlite3* db, const char* sql, std::string* error = nullptr) {
    char* message = nullptr;
    const int code = sqlite3_exec(db, sql, nullptr, nullptr, &message);
    if (code != SQLITE_OK && error != nullptr) {
        *error = message != nullptr ? message : sqlite3_errstr(code);
    }
    sqlite3_free(message);
    return code == SQLITE_OK;
}

} // namespace gaetwae::console::sqlite
