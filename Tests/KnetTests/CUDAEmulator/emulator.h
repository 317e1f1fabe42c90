// The interface between the parts of Knet's host emulation of CUDA: the kernel modules
// (each a C++ file of prelude.h, a module's CUDA C and its launcher table), the driver
// (driver.cpp) and cuBLAS (cublas.cpp). Built into one shared library by the tests'
// CUDAEmulatorSupport.swift.
#pragma once
#include <cstddef>

/// CUDA's grid and block extents (x fastest).
struct dim3 { unsigned x = 1, y = 1, z = 1; };

/// Runs a kernel over every block and thread of `grid` × `block`, one after another, with
/// the driver's parameter array (one pointer per kernel parameter, to its value); returns
/// a CUresult: 0, or 1 (CUDA_ERROR_INVALID_VALUE) when a pointer parameter is not a
/// device address (see knet_emulator_host_range).
typedef int (*KnetLauncher)(void** parameters, dim3 grid, dim3 block);

/// A kernel as a module registers it: its name and launcher.
struct KnetKernel { const char* name; KnetLauncher launch; };

extern "C" {
/// Registers the `count` kernels of `module` (called by each module's static initialiser,
/// before the library is opened); cuModuleLoadData with the module's name as the image
/// loads them.
void knet_emulator_register(const char* module, const KnetKernel* kernels, int count);

/// The host address of device address `address` when [address, address + bytes) lies in
/// one live allocation (0 bytes: address may be one past its end): returns 0 and sets
/// `*host`; otherwise returns 1 and leaves `*host` alone. Address 0 is the null pointer
/// (host nullptr) only when `bytes` is 0.
int knet_emulator_host_range(unsigned long long address, size_t bytes, void** host);

/// 1 when `stream` is a stream of the driver: nullptr (the default stream), the special
/// handles CU_STREAM_LEGACY (1) and CU_STREAM_PER_THREAD (2), or one cuStreamCreate made
/// and cuStreamDestroy has not destroyed; else 0.
int knet_emulator_valid_stream(const void* stream);
}
