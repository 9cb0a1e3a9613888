#pragma once
// Deliberately wrong: a lower layer reaching up, and a guarded header below its layer.
#include <nlohmann/json.hpp>
#include "high/ok.hpp"
