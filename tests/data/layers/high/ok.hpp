#pragma once
// Allowed: a layer including its own folder, the layer below, and its guarded header.
#include <nlohmann/json.hpp>
#include "high/other.hpp"
#include "low/bad.hpp"
