#include "shared/protocol/config_ops.hpp"

#include "shared/model/config_codec.hpp"
#include "shared/model/config_validation.hpp"

#include <algorithm>
#include <array>

namespace gaetwae::protocol {

namespace {

using model::Diagnostics;
using model::ObjectReader;
using Kind = ConfigOperation::Kind;

constexpr std::array<std::pair<std::string_view, Kind>, 10> kMethods{{
    {"pool.put", Kind::PutPool},
    {"pool.patch", Kind::PatchPool},
    {"pool.remove", Kind::RemovePool},
    {"route.put", Kind::PutRoute},
    {"route.remove", Kind::RemoveRoute},
    {"instance.put", Kind::PutInstance},
    {"instance.remove", Kind::RemoveInstance},
    {"instance.setWeight", Kind::SetWeight},
    {"instance.setState", Kind::SetState},
    {"config.replace", Kind::ReplaceConfig},
}};

model::PoolConfig* findPool(model::GatewayConfig& config, const std::string& name) {
    return config.findPool(name);
}

model::InstanceConfig* findInstance(model::PoolConfig& pool, const std::string& id) {
    for (auto& instance : pool.instances) {
        if (instance.id == id) {
            return &instance;
        }
    }
    return nullptr;
}

} // namespace

std::string_view methodOf(Kind kind) {
    for (const auto& [method, k] : kMethods) {
        if (k == kind) {
            return method;
        }
    }
    return "unknown";
}

std::optional<Kind> kindOfMethod(std::string_view method) {
    for (const auto& [name, kind] : kMethods) {
        if (name == method) {
            return kind;
        }
    }
    return std::nullopt;
}

namespace {

// A string member, or "" when absent or not a string (validation reports the type later).
std::string stringField(const nlohmann::json& object, const char* key) {
    if (!object.is_object()) {
        return {};
    }
    const auto it = object.find(key);
    return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

} // namespace

std::optional<ConfigOperation> decodeOperation(std::string_view method, const nlohmann::json& params,
                                               const std::string& pointer, Diagnostics& diagnostics) {
    const auto kind = kindOfMethod(method);
    if (!kind) {
        diagnostics.error(pointer, "'" + std::string(method) + "' is not a configuration change");
        return std::nullopt;
    }
    ConfigOperation op;
    op.kind = *kind;
    const std::size_t before = diagnostics.size();
    ObjectReader r(params, pointer, diagnostics, model::UnknownKeys::Reject);
    r.member("expectedVersion"); // belongs to the request as a whole; allowed here
    auto requireObject = [&](std::string_view key) {
        const nlohmann::json* value = r.member(key);
        if (value == nullptr || !value->is_object()) {
            diagnostics.error(value == nullptr ? pointer : r.pointerOf(key),
                              value == nullptr ? "missing required field '" + std::string(key) + "'"
                                               : "expected a mapping");
            return nlohmann::json();
        }
        return *value;
    };
    switch (op.kind) {
    case Kind::PutPool:
        op.value = requireObject("pool");
        op.pool = stringField(op.value, "name");
        break;
    case Kind::PatchPool:
        r.readString("name", op.pool, true);
        op.value = requireObject("patch");
        break;
    case Kind::RemovePool:
        r.readString("name", op.pool, true);
        break;
    case Kind::PutRoute: {
        op.value = requireObject("route");
        op.name = stringField(op.value, "name");
        std::int64_t index = 0;
        if (r.readInteger("index", index, 0, 100'000)) {
            op.index = static_cast<std::size_t>(index);
        }
        break;
    }
    case Kind::RemoveRoute:
        r.readString("name", op.name, true);
        break;
    case Kind::PutInstance:
        r.readString("pool", op.pool, true);
        op.value = requireObject("instance");
        op.name = stringField(op.value, "id");
        break;
    case Kind::RemoveInstance:
        r.readString("pool", op.pool, true);
        r.readString("id", op.name, true);
        break;
    case Kind::SetWeight:
        r.readString("pool", op.pool, true);
        r.readString("id", op.name, true);
        r.readUnsigned<std::uint32_t>("weight", op.weight, 0, model::kMaxWeight, true);
        break;
    case Kind::SetState:
        r.readString("pool", op.pool, true);
        r.readString("id", op.name, true);
        r.requireMember("state");
        r.readEnum<model::InstanceState>("state", op.state, model::kInstanceStateNames);
        break;
    case Kind::ReplaceConfig:
        op.value = requireObject("config");
        break;
    }
    r.finish();
    if (diagnostics.size() != before) {
        return std::nullopt;
    }
    return op;
}

nlohmann::json encodeOperationParams(const ConfigOperation& op) {
    switch (op.kind) {
    case Kind::PutPool:
        return {{"pool", op.value}};
    case Kind::PatchPool:
        return {{"name", op.pool}, {"patch", op.value}};
    case Kind::RemovePool:
        return {{"name", op.pool}};
    case Kind::PutRoute: {
        nlohmann::json params = {{"route", op.value}};
        if (op.index) {
            params["index"] = *op.index;
        }
        return params;
    }
    case Kind::RemoveRoute:
        return {{"name", op.name}};
    case Kind::PutInstance:
        return {{"pool", op.pool}, {"instance", op.value}};
    case Kind::RemoveInstance:
        return {{"pool", op.pool}, {"id", op.name}};
    case Kind::SetWeight:
        return {{"pool", op.pool}, {"id", op.name}, {"weight", op.weight}};
    case Kind::SetState:
        return {{"pool", op.pool}, {"id", op.name}, {"state", model::toString(op.state)}};
    case Kind::ReplaceConfig:
        return {{"config", op.value}};
    }
    return nlohmann::json::object();
}

nlohmann::json encodeOperation(const ConfigOperation& op) {
    return {{"method", methodOf(op.kind)}, {"params", encodeOperationParams(op)}};
}

ConfigOperation setWeight(std::string pool, std::string id, std::uint32_t weight) {
    ConfigOperation op;
    op.kind = Kind::SetWeight;
    op.pool = std::move(pool);
    op.name = std::move(id);
    op.weight = weight;
    return op;
}

ConfigOperation setState(std::string pool, std::string id, model::InstanceState state) {
    ConfigOperation op;
    op.kind = Kind::SetState;
    op.pool = std::move(pool);
    op.name = std::move(id);
    op.state = state;
    return op;
}

ConfigOperation putInstance(std::string pool, const model::InstanceConfig& instance) {
    ConfigOperation op;
    op.kind = Kind::PutInstance;
    op.pool = std::move(pool);
    op.name = instance.id;
    op.value = model::encodeInstance(instance);
    return op;
}

ConfigOperation removeInstance(std::string pool, std::string id) {
    ConfigOperation op;
    op.kind = Kind::RemoveInstance;
    op.pool = std::move(pool);
    op.name = std::move(id);
    return op;
}

ConfigOperation patchPool(std::string pool, nlohmann::json patch) {
    ConfigOperation op;
    op.kind = Kind::PatchPool;
    op.pool = std::move(pool);
    op.value = std::move(patch);
    return op;
}

ConfigOperation putRoute(nlohmann::json route, std::optional<std::size_t> index) {
    ConfigOperation op;
    op.kind = Kind::PutRoute;
    op.name = stringField(route, "name");
    op.value = std::move(route);
    op.index = index;
    return op;
}

ConfigOperation removeRoute(std::string name) {
    ConfigOperation op;
    op.kind = Kind::RemoveRoute;
    op.name = std::move(name);
    return op;
}

ConfigOperation replaceConfig(const model::GatewayConfig& config) {
    ConfigOperation op;
    op.kind = Kind::ReplaceConfig;
    op.value = model::encodeGatewayConfig(config);
    return op;
}

model::GatewayConfig applyOperations(const model::GatewayConfig& config, const std::vector<ConfigOperation>& operations,
                                     Diagnostics& diagnostics, model::UnknownKeys unknownKeys) {
    model::GatewayConfig result = config;
    for (std::size_t i = 0; i < operations.size(); ++i) {
        const auto& op = operations[i];
        const std::string pointer = model::childPointer("/operations", i) + "/params";
        auto notFound = [&](const std::string& what) { diagnostics.error(pointer, what + " does not exist"); };
        switch (op.kind) {
        case Kind::PutPool: {
            auto pool = model::decodePool(op.value, pointer + "/pool", diagnostics, unknownKeys);
            if (auto* existing = findPool(result, pool.name)) {
                *existing = std::move(pool);
            } else {
                result.pools.push_back(std::move(pool));
            }
            break;
        }
        case Kind::PatchPool: {
            auto* pool = findPool(result, op.pool);
            if (pool == nullptr) {
                notFound("pool '" + op.pool + "'");
                break;
            }
            auto json = model::encodePool(*pool);
            json.merge_patch(op.value);
            json["name"] = op.pool; // a patch does not rename
            *pool = model::decodePool(json, pointer + "/patch", diagnostics, unknownKeys);
            break;
        }
        case Kind::RemovePool: {
            const auto before = result.pools.size();
            std::erase_if(result.pools, [&](const auto& p) { return p.name == op.pool; });
            if (result.pools.size() == before) {
                notFound("pool '" + op.pool + "'");
            }
            break;
        }
        case Kind::PutRoute: {
            auto route = model::decodeRoute(op.value, pointer + "/route", diagnostics, unknownKeys);
            const auto it = std::find_if(result.routes.begin(), result.routes.end(),
                                         [&](const auto& r) { return r.name == route.name; });
            if (it != result.routes.end()) {
                *it = std::move(route);
            } else {
                const std::size_t at = std::min(op.index.value_or(result.routes.size()), result.routes.size());
                result.routes.insert(result.routes.begin() + static_cast<std::ptrdiff_t>(at), std::move(route));
            }
            break;
        }
        case Kind::RemoveRoute: {
            const auto before = result.routes.size();
            std::erase_if(result.routes, [&](const auto& r) { return r.name == op.name; });
            if (result.routes.size() == before) {
                notFound("route '" + op.name + "'");
            }
            break;
        }
        case Kind::PutInstance: {
            auto* pool = findPool(result, op.pool);
            if (pool == nullptr) {
                notFound("pool '" + op.pool + "'");
                break;
            }
            auto instance = model::decodeInstance(op.value, pointer + "/instance", diagnostics, unknownKeys);
            if (auto* existing = findInstance(*pool, instance.id)) {
                *existing = std::move(instance);
            } else {
                pool->instances.push_back(std::move(instance));
            }
            break;
        }
        case Kind::RemoveInstance:
        case Kind::SetWeight:
        case Kind::SetState: {
            auto* pool = findPool(result, op.pool);
            model::InstanceConfig* instance = pool != nullptr ? findInstance(*pool, op.name) : nullptr;
            if (instance == nullptr) {
                notFound("instance '" + op.pool + "/" + op.name + "'");
                break;
            }
            if (op.kind == Kind::RemoveInstance) {
                std::erase_if(pool->instances, [&](const auto& i) { return i.id == op.name; });
            } else if (op.kind == Kind::SetWeight) {
                instance->weight = op.weight;
            } else {
                instance->state = op.state;
            }
            break;
        }
        case Kind::ReplaceConfig: {
            Diagnostics local;
            result = model::decodeGatewayConfig(op.value, local, unknownKeys);
            for (const auto& d : local.items()) {
                diagnostics.error(pointer + "/config" + d.pointer, d.message, d.atKey);
            }
            break;
        }
        }
    }
    if (diagnostics.empty()) {
        model::validateGatewayConfig(result, diagnostics);
    }
    return result;
}

std::string describe(const ConfigOperation& op) {
    switch (op.kind) {
    case Kind::PutPool:
        return "put pool " + op.pool;
    case Kind::PatchPool:
        return "patch pool " + op.pool + " " + op.value.dump();
    case Kind::RemovePool:
        return "remove pool " + op.pool;
    case Kind::PutRoute:
        return "put route " + op.name;
    case Kind::RemoveRoute:
        return "remove route " + op.name;
    case Kind::PutInstance:
        return "put instance " + op.pool + "/" + op.name;
    case Kind::RemoveInstance:
        return "remove instance " + op.pool + "/" + op.name;
    case Kind::SetWeight:
        return "set weight of " + op.pool + "/" + op.name + " to " + std::to_string(op.weight);
    case Kind::SetState:
        return "set " + op.pool + "/" + op.name + " " + std::string(model::toString(op.state));
    case Kind::ReplaceConfig:
        return "replace the configuration";
    }
    return "change";
}

nlohmann::json configDiff(const model::GatewayConfig& before, const model::GatewayConfig& after) {
    return nlohmann::json::diff(model::encodeGatewayConfig(before), model::encodeGatewayConfig(after));
}

} // namespace gaetwae::protocol
