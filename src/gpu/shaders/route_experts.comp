#version 450
#extension GL_GOOGLE_include_directive : require
// MoE routing, one workgroup per token: softmax of the n_expert router logits, the top K
// (ties: lower expert first), their probabilities renormalised to sum 1. The 64 invocations
// load the logits; invocation 0 does the rest in the CPU's order (max, e^(x − max) summed in
// expert order, times 1 / sum; the sum of the chosen in rank order).
#include "common.glsl"

layout(std430, binding = 0) readonly buffer LogitBuf { float LOGITS[]; };
layout(std430, binding = 1) writeonly buffer IdBuf { int IDS[]; };
layout(std430, binding = 2) writeonly buffer WeightBuf { float WEIGHTS[]; };
layout(push_constant) uniform Push { uint o_logits, o_ids, o_weights, groups, n_expert, k; } p;

const uint MAX_EXPERT = 256u;
const uint MAX_K = 64u;
shared float prob[MAX_EXPERT];
shared uint chosen[MAX_K];

void main() {
  const uint t = group_id();
  if (t >= p.groups) return;
  const uint lid = gl_LocalInvocationID.x;
  const uint ne = p.n_expert;
  for (uint i = lid; i < ne; i += WG) prob[i] = LOGITS[p.o_logits + t * ne + i];
  barrier();
  if (lid != 0u) return;
  float mx = prob[0];
  for (uint i = 1u; i < ne; ++i) mx = max(mx, prob[i]);
  float sum = 0.0;
  for (uint i = 0u; i < ne; ++i) {
    prob[i] = exp(prob[i] - mx);
    sum += prob[i];
  }
  const float inv = 1.0 / sum;
  for (uint i = 0u; i < ne; ++i) prob[i] *= inv;
  // Pick k: the largest among those ranked after pick k − 1 (lower probability, or equal and a
  // higher expert number).
  float prev_p = 0.0;
  uint prev_i = 0u;
  float chosen_sum = 0.0;
  for (uint k = 0u; k < p.k; ++k) {
    uint best = ne;
    for (uint i = 0u; i < ne; ++i) {
      const bool after = k == 0u || prob[i] < prev_p || (prob[i] == prev_p && i > prev_i);
      if (after && (best == ne || prob[i] > prob[best])) best = i;
    }
    chosen[k] = best;
    prev_p = prob[best];
    prev_i = best;
    chosen_sum += prob[best];
  }
  for (uint k = 0u; k < p.k; ++k) {
    IDS[p.o_ids + t * p.k + k] = int(chosen[k]);
    WEIGHTS[p.o_weights + t * p.k + k] = prob[chosen[k]] / chosen_sum;
  }
}
