// Shared by every hearth shader: 64 invocations per workgroup, and the linear workgroup number
// of the 2-D dispatch grid (recorder.h: push word `groups` says how many are real).
#extension GL_EXT_control_flow_attributes : enable

layout(local_size_x = 64) in;
const uint WG = 64u;

uint group_id() { return gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x; }
// For element-wise shaders: one value per invocation.
uint item_id() { return group_id() * WG + gl_LocalInvocationID.x; }
