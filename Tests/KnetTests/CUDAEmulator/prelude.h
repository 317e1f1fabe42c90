// What the CUDA runtime and math headers give a kernel, for host C++: dim3 and the
// thread indices, the function qualifiers, atomics and the math functions host C++
// lacks (as float and double overloads, like CUDA's). Also the launcher template that
// runs a kernel over its grid, one block and thread after another. Each kernel module
// is compiled as `#include "prelude.h"` + its CUDA C + its launcher table.
#pragma once
#include "emulator.h"
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <tuple>
#include <type_traits>
#include <utility>
using namespace std;

// The indices of the thread being run (per host thread, so launches on two host threads
// do not mix); outside a launch, one block of one thread.
static thread_local dim3 blockIdx = {0, 0, 0}, threadIdx = {0, 0, 0}, blockDim, gridDim;

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
// A sequential emulation has no barrier and no block-shared memory: a kernel that uses
// them stops the process with this message (kernels of this project use neither).
#define __syncthreads() (fputs("the host emulation runs threads one after another; kernels must not use __syncthreads\n", stderr), abort())
#define __shared__ static_assert(false, "the host emulation has no __shared__ memory: kernels must not use it");

// Atomics: plain read-modify-write returning the old value (threads run one at a time).
template <typename T> static inline T knet_atomic(T* p, T v, T (*f)(T, T)) { T old = *p; *p = f(old, v); return old; }
static inline float atomicAdd(float* p, float v) { return knet_atomic<float>(p, v, [](float a, float b) { return a + b; }); }
static inline double atomicAdd(double* p, double v) { return knet_atomic<double>(p, v, [](double a, double b) { return a + b; }); }
static inline int atomicAdd(int* p, int v) { return knet_atomic<int>(p, v, [](int a, int b) { return a + b; }); }
static inline int atomicMax(int* p, int v) { return knet_atomic<int>(p, v, [](int a, int b) { return a > b ? a : b; }); }
static inline int atomicMin(int* p, int v) { return knet_atomic<int>(p, v, [](int a, int b) { return a < b ? a : b; }); }

// CUDA math functions host C++ lacks. erfinv: Newton on erf from 0 (converges on
// (-1, 1)). sinpi/cospi are exact at integers and half-integers, as CUDA's: x mod 2
// (exact) is split into a multiple q of 1/2 and a rest y in [-1/4, 1/4] (exact), and
// the quadrant q picks ±sin(πy) or ±cos(πy).
static inline double knet_erfinv(double v) {
  if (v <= -1 || v >= 1) return v == 1 ? INFINITY : v == -1 ? -INFINITY : NAN;
  double r = 0;
  for (int k = 0; k < 60; k++) r -= (erf(r) - v) / (2 / sqrt(M_PI) * exp(-r * r));
  return r;
}
static inline float knet_erfinv(float v) { return (float)knet_erfinv((double)v); }
static inline double knet_sinpi(double x, int quarterTurns) {   // sin(π(x + quarterTurns/2))
  if (!isfinite(x)) return NAN;
  double r = fmod(x, 2.0), q = nearbyint(2 * r), y = r - q / 2;
  switch ((((long)q + quarterTurns) % 4 + 4) % 4) {
  case 0: return y == 0 ? copysign(0.0, x) : sin(M_PI * y);
  case 1: return cos(M_PI * y);
  case 2: return y == 0 ? copysign(0.0, x) : -sin(M_PI * y);   // ±0 with the sign of x, as IEEE 754 sinPi
  default: return -cos(M_PI * y);
  }
}
static inline double knet_sinpi(double x) { return knet_sinpi(x, 0); }
static inline double knet_cospi(double x) { return knet_sinpi(x, 1) + 0.0; }   // +0 at half-integers
static inline float knet_cospi(float x) { return (float)knet_cospi((double)x); }
static inline float knet_sinpi(float x) { return (float)knet_sinpi((double)x); }
static inline double knet_exp10(double x) { return pow(10.0, x); }
static inline float knet_exp10(float x) { return powf(10.0f, x); }
static inline double rsqrt(double x) { return 1 / sqrt(x); }
static inline float rsqrt(float x) { return 1 / sqrtf(x); }
static inline double normcdf(double x) { return 0.5 * erfc(-x / M_SQRT2); }
static inline float normcdf(float x) { return 0.5f * erfcf(-x / (float)M_SQRT2); }
static inline double normcdfinv(double p) { return M_SQRT2 * knet_erfinv(2 * p - 1); }
static inline float normcdfinv(float p) { return (float)normcdfinv((double)p); }
#define erfinv knet_erfinv
#define cospi knet_cospi
#define sinpi knet_sinpi
#define exp10 knet_exp10

// The value of one kernel parameter from the driver's parameter array: a pointer
// parameter holds a device address, which becomes its host address (status 1 when it is
// not in a live allocation); anything else is copied from the slot.
template <typename T> static T knet_parameter(void* slot, int& status) {
  if (!slot) { status = 1; return T(); }
  if constexpr (is_pointer<remove_cv_t<T>>::value) {
    void* host = nullptr;
    if (knet_emulator_host_range(*(const unsigned long long*)slot, 0, &host) != 0) status = 1;
    return (T)host;
  } else {
    return *(const T*)slot;
  }
}

template <typename... A, size_t... I>
static int knet_run(void (*kernel)(A...), void** parameters, dim3 grid, dim3 block, index_sequence<I...>) {
  if (sizeof...(A) > 0 && !parameters) return 1;
  int status = 0;
  tuple<remove_cv_t<A>...> arguments{knet_parameter<remove_cv_t<A>>(parameters[I], status)...};   // in order
  if (status) return status;
  gridDim = grid; blockDim = block;
  for (unsigned bz = 0; bz < grid.z; bz++) for (unsigned by = 0; by < grid.y; by++) for (unsigned bx = 0; bx < grid.x; bx++)
    for (unsigned tz = 0; tz < block.z; tz++) for (unsigned ty = 0; ty < block.y; ty++) for (unsigned tx = 0; tx < block.x; tx++) {
      blockIdx = {bx, by, bz}; threadIdx = {tx, ty, tz};
      apply(kernel, arguments);
    }
  gridDim = blockDim = dim3(); blockIdx = threadIdx = {0, 0, 0};
  return 0;
}

template <typename... A> static int knet_run(void (*kernel)(A...), void** parameters, dim3 grid, dim3 block) {
  return knet_run(kernel, parameters, grid, block, index_sequence_for<A...>());
}

/// The launcher of kernel `K` (its parameter types come from its signature).
template <auto K> static int knet_launcher(void** parameters, dim3 grid, dim3 block) { return knet_run(K, parameters, grid, block); }
