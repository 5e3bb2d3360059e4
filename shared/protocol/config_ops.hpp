#pragma once

#include "shared/model/config.hpp"
#include "shared/model/diagnostics.hpp"
#include "shared/model/json_reader.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gaetwae::protocol {

// One change to the configuration as the admin API carries it. The engine applies a list of them
// atomically; the console applies the same list to its copy to preview and validate an edit with
// exactly the engine's rules before sending it.
struct ConfigOperation {
    enum class Kind {
        PutPool,        // add or replace a pool             {pool: {...}}
        PatchPool,      // JSON merge patch on a pool        {name, patch: {"strategy": "random"}}
        RemovePool,     //                                   {name}
        PutRoute,       // add (at index, default last) or replace a route {route: {...}, index?}
        RemoveRoute,    //                                   {name}
        PutInstance,    // add or replace an instance        {pool, instance: {...}}
        RemoveInstance, //                                   {pool, id}
        SetWeight,      //                                   {pool, id, weight}
        SetState,       // enabled, draining or disabled     {pool, id, state}
        ReplaceConfig,  // the whole configuration           {config: {...}}
    };

    Kind kind = Kind::PutPool;
    std::string pool;  // pool name (pool and instance operations)
    std::string name;  // route name or instance id
    nlohmann::json value; // pool, route, instance or whole config; the patch for PatchPool
    std::uint32_t weight = 0;
    model::InstanceState state = model::InstanceState::Enabled;
    std::optional<std::size_t> index; // PutRoute position

    bool operator==(const ConfigOperation&) const = default;
};

// "pool.put", "instance.setWeight", ... one admin method per kind.
std::string_view methodOf(ConfigOperation::Kind kind);
std::optional<ConfigOperation::Kind> kindOfMethod(std::string_view method);

// The params of `method` (without expectedVersion) <-> an operation. Decoding reports problems
// with pointers below `pointer`.
std::optional<ConfigOperation> decodeOperation(std::string_view method, const nlohmann::json& params,
                                               const std::string& pointer, model::Diagnostics& diagnostics);
nlohmann::json encodeOperationParams(const ConfigOperation& operation);
// {"method": "...", "params": {...}}, the element of a transaction.
nlohmann::json encodeOperation(const ConfigOperation& operation);

// Convenience constructors for the console and the CLI.
ConfigOperation setWeight(std::string pool, std::string id, std::uint32_t weight);
ConfigOperation setState(std::string pool, std::string id, model::InstanceState state);
ConfigOperation putInstance(std::string pool, const model::InstanceConfig& instance);
ConfigOperation removeInstance(std::string pool, std::string id);
ConfigOperation patchPool(std::string pool, nlohmann::json patch);
// Adds `route` (JSON as in a config file, with its name) at `index` (default: the end), or
// replaces the route of that name where it is.
ConfigOperation putRoute(nlohmann::json route, std::optional<std::size_t> index = std::nullopt);
ConfigOperation removeRoute(std::string name);
ConfigOperation replaceConfig(const model::GatewayConfig& config);

// Applies `operations` in order to a copy of `config`, then validates the result. Every problem
// is reported, pointing into the operation list ("/operations/2/params/..."); the result is
// meaningful only without errors. With Reject (the engine), unknown fields are errors except
// extension fields ("x-...") on pools, routes and instances, which are kept, exactly as in a
// config file, so whatever is applied can be written to YAML and read back. A console
// previewing a change against a newer engine's config passes Preserve.
model::GatewayConfig applyOperations(const model::GatewayConfig& config, const std::vector<ConfigOperation>& operations,
                                     model::Diagnostics& diagnostics,
                                     model::UnknownKeys unknownKeys = model::UnknownKeys::Reject);

// A readable one-line summary ("set weight of api/b2 to 3"), for the audit history.
std::string describe(const ConfigOperation& operation);

// RFC 6902 JSON Patch from one config to another.
nlohmann::json configDiff(const model::GatewayConfig& before, const model::GatewayConfig& after);

} // namespace gaetwae::protocol
