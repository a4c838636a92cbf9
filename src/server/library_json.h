// JSON shapes the library's routes share (routes_library.cpp, routes_personal.cpp).
#pragma once

#include <boost/json.hpp>

#include <string>
#include <string_view>

#include "api/ollama.h"
#include "db/db.h"
#include "store/store.h"

namespace hearth::server {

// "sha256:<hex>" -> "<hex>".
std::string_view digest_hex(std::string_view digest);
// The manifest's weights (its first "model" blob, else its first); nullptr when it has none.
const store::BlobRef* model_blob(const store::Manifest& m);

// Ollama's "details": parent_model, format, family, families, parameter_size,
// quantization_level, from the GGUF header when it can be read; never fails.
api::ModelDetails model_details(const store::Store& store, const store::Manifest& m);

// One user_personal_models row for /api/personal-models; `error` ("" when none) is the
// message of a failed pull.
boost::json::object personal_model_json(const db::PersonalModel& row, const std::string& error);

}  // namespace hearth::server
