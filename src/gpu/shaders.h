// The SPIR-V of the compute shaders (src/gpu/shaders), compiled by glslc at build time and
// embedded in the binary. Names are the shader file names without ".comp"; each matmul_<type>
// file also gives matmul_experts_<type>.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace hearth::gpu {

// The words of shader `name`, or an empty span when there is no such shader.
std::span<const uint32_t> shader_code(std::string_view name);

}  // namespace hearth::gpu
