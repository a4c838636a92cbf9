// core: the ground every other module stands on — errors, logging, configuration, paths,
// read-only file mappings, SHA-256 and a thread pool. Include this header or the single part.
#pragma once

#include "core/config.h"
#include "core/cpu_features.h"
#include "core/error.h"
#include "core/log.h"
#include "core/mapped_file.h"
#include "core/paths.h"
#include "core/sha256.h"
#include "core/thread_pool.h"
