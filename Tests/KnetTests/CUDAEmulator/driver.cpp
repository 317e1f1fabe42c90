// The CUDA driver API calls Knet binds, emulated on the host: one device ("Host
// emulation", compute capability 9.0) whose memory is host memory behind synthetic
// device addresses, a primary context, streams and events that run everything at once
// and in order (the emulation is synchronous), and kernel launches that run the kernels
// the modules registered (see emulator.h) over every block and thread of the grid.
//
// What it checks, beyond what the real driver reports: every device address a copy,
// kernel argument or cuBLAS call uses must lie in a live allocation (device addresses
// start at 2^48, so a host pointer is never one, and freed addresses are never reused);
// new memory is filled with 0xFF bytes (NaN in float and double) so reads of memory
// nothing wrote show; memory calls need a current context on the calling thread; handles
// (streams, events, modules, functions) must be live.
#include "emulator.h"
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

typedef int CUresult;
typedef unsigned long long CUdeviceptr;

namespace {
enum : CUresult {
  SUCCESS = 0, INVALID_VALUE = 1, OUT_OF_MEMORY = 2, NOT_INITIALIZED = 3, INVALID_DEVICE = 101,
  INVALID_CONTEXT = 201, INVALID_HANDLE = 400, NOT_FOUND = 500,
};

const long defaultCapacity = 1l << 30;
const unsigned long long firstAddress = 1ull << 48, alignment = 256;

struct Allocation { void* host; size_t bytes; };
struct Function { const KnetKernel* kernel; };
struct Module { std::string name; std::vector<std::unique_ptr<Function>> functions; };   // name "": every kernel
struct Stream {};                          // work on it runs at once, so it holds nothing
struct Event { unsigned flags; bool recorded; std::chrono::steady_clock::time_point time; };

/// Everything the driver holds, behind one lock.
struct State {
  std::mutex lock;
  std::atomic<bool> initialized{false};      // read without the lock
  long capacity = defaultCapacity, bytesInUse = 0;
  CUdeviceptr nextAddress = firstAddress;
  std::map<CUdeviceptr, Allocation> allocations;                   // by device address
  std::map<std::string, std::vector<const KnetKernel*>> registry;    // by module name
  std::set<const Module*> modules;
  std::set<const Function*> functions;
  std::set<const Stream*> streams;
  std::set<const Event*> events;
  long allocationCalls = 0, launches = 0;
};

/// The state, made at first use (modules register from static initialisers of other files).
State& state() { static State s; return s; }

int primaryContext;                        // what cuDevicePrimaryCtxRetain hands out
thread_local bool contextCurrent = false;  // cuCtxSetCurrent's, per thread as CUDA's

/// NOT_INITIALIZED before cuInit, INVALID_CONTEXT without a current context (when
/// `needsContext`), else SUCCESS. Call with the lock held.
CUresult ready(const State& s, bool needsContext) {
  if (!s.initialized) return NOT_INITIALIZED;
  return needsContext && !contextCurrent ? INVALID_CONTEXT : SUCCESS;
}

/// The host address of [address, address + bytes) when it lies in one live allocation
/// (see knet_emulator_host_range); lock held.
bool hostRange(const State& s, CUdeviceptr address, size_t bytes, void** host) {
  if (address == 0 && bytes == 0) { *host = nullptr; return true; }
  auto it = s.allocations.upper_bound(address);
  if (it == s.allocations.begin()) return false;
  --it;
  CUdeviceptr offset = address - it->first;
  if (offset > it->second.bytes || bytes > it->second.bytes - offset) return false;
  *host = (char*)it->second.host + offset;
  return true;
}

bool validStream(const State& s, const void* stream) {
  return stream == nullptr || stream == (const void*)1 || stream == (const void*)2 || s.streams.count((const Stream*)stream);
}

/// One side of a copy: a device address, or host memory.
struct Side { bool onDevice; CUdeviceptr address; void* host; };
Side onDevice(CUdeviceptr address) { return {true, address, nullptr}; }
Side onHost(const void* host) { return {false, 0, const_cast<void*>(host)}; }

/// A copy of `bytes` after checking its device ranges and its stream (nullptr for the
/// synchronous calls).
CUresult copy(Side to, Side from, size_t bytes, const void* stream) {
  State& s = state();
  {
    std::lock_guard<std::mutex> g(s.lock);
    if (CUresult r = ready(s, true)) return r;
    if (!validStream(s, stream)) return INVALID_HANDLE;
    for (Side* side : {&to, &from})
      if (side->onDevice && !hostRange(s, side->address, bytes, &side->host)) return INVALID_VALUE;
  }
  if (bytes == 0) return SUCCESS;
  if (!to.host || !from.host) return INVALID_VALUE;
  memmove(to.host, from.host, bytes);
  return SUCCESS;
}

/// Removes a live handle of kind T from `set` and deletes it; INVALID_HANDLE if unknown.
template <typename T> CUresult destroyHandle(std::set<const T*>& set, T* handle) {
  std::lock_guard<std::mutex> g(state().lock);
  if (CUresult r = ready(state(), false)) return r;
  if (!set.erase(handle)) return INVALID_HANDLE;
  delete handle;
  return SUCCESS;
}
}  // namespace

extern "C" {

// MARK: the emulator's own entry points

/// The emulator's version; its presence tells Knet's CUDADriver that it is emulated.
long knet_emulator_version() { return 1; }

void knet_emulator_register(const char* module, const KnetKernel* kernels, int count) {
  std::lock_guard<std::mutex> g(state().lock);
  auto& list = state().registry[module];
  for (int k = 0; k < count; k++) list.push_back(&kernels[k]);
}

int knet_emulator_host_range(CUdeviceptr address, size_t bytes, void** host) {
  std::lock_guard<std::mutex> g(state().lock);
  return hostRange(state(), address, bytes, host) ? 0 : 1;
}

int knet_emulator_valid_stream(const void* stream) {
  std::lock_guard<std::mutex> g(state().lock);
  return validStream(state(), stream);
}

/// Sets the device's memory (bytes; <= 0: the default 1 GiB); returns the previous value.
/// cuMemAlloc fails with CUDA_ERROR_OUT_OF_MEMORY past it.
long knet_emulator_set_capacity(long bytes) {
  std::lock_guard<std::mutex> g(state().lock);
  long previous = state().capacity;
  state().capacity = bytes > 0 ? bytes : defaultCapacity;
  return previous;
}

/// Allocations not yet freed.
long knet_emulator_live_allocations() {
  std::lock_guard<std::mutex> g(state().lock);
  return (long)state().allocations.size();
}

/// cuMemAlloc calls (failed ones included) since the start or the last reset.
long knet_emulator_allocation_calls() {
  std::lock_guard<std::mutex> g(state().lock);
  return state().allocationCalls;
}

/// Kernels launched (successfully) since the start or the last reset.
long knet_emulator_launches() {
  std::lock_guard<std::mutex> g(state().lock);
  return state().launches;
}

/// Zeroes the allocation-call and launch counters.
void knet_emulator_reset_counters() {
  std::lock_guard<std::mutex> g(state().lock);
  state().allocationCalls = state().launches = 0;
}

// MARK: initialisation, device, context

CUresult cuInit(unsigned flags) {
  if (flags != 0) return INVALID_VALUE;
  state().initialized = true;
  return SUCCESS;
}

CUresult cuDriverGetVersion(int* version) {
  if (!version) return INVALID_VALUE;
  *version = 12040;
  return SUCCESS;
}

CUresult cuDeviceGetCount(int* count) {
  if (CUresult r = ready(state(), false)) return r;
  if (!count) return INVALID_VALUE;
  *count = 1;
  return SUCCESS;
}

CUresult cuDeviceGet(int* device, int ordinal) {
  if (CUresult r = ready(state(), false)) return r;
  if (!device) return INVALID_VALUE;
  if (ordinal != 0) return INVALID_DEVICE;
  *device = 0;
  return SUCCESS;
}

CUresult cuDeviceGetName(char* name, int length, int device) {
  if (CUresult r = ready(state(), false)) return r;
  if (device != 0) return INVALID_DEVICE;
  if (!name || length <= 0) return INVALID_VALUE;
  snprintf(name, (size_t)length, "%s", "Host emulation");
  return SUCCESS;
}

/// The attributes a kernel launch depends on (as an H100's); other valid ones read 0.
CUresult cuDeviceGetAttribute(int* value, int attribute, int device) {
  if (CUresult r = ready(state(), false)) return r;
  if (device != 0) return INVALID_DEVICE;
  if (!value || attribute < 1 || attribute > 200) return INVALID_VALUE;
  switch (attribute) {
  case 1: case 2: case 3: *value = 1024; break;        // max threads per block, max block x, y
  case 4: *value = 64; break;                           // max block z
  case 5: *value = 2147483647; break;                   // max grid x
  case 6: case 7: *value = 65535; break;                // max grid y, z
  case 10: *value = 32; break;                          // warp size
  case 16: *value = 1; break;                           // multiprocessors
  case 75: *value = 9; break;                           // compute capability major
  default: *value = 0;                                  // (76: minor)
  }
  return SUCCESS;
}

CUresult cuDeviceTotalMem_v2(size_t* bytes, int device) {
  std::lock_guard<std::mutex> g(state().lock);
  if (CUresult r = ready(state(), false)) return r;
  if (device != 0) return INVALID_DEVICE;
  if (!bytes) return INVALID_VALUE;
  *bytes = (size_t)state().capacity;
  return SUCCESS;
}

CUresult cuDevicePrimaryCtxRetain(void** context, int device) {
  if (CUresult r = ready(state(), false)) return r;
  if (device != 0) return INVALID_DEVICE;
  if (!context) return INVALID_VALUE;
  *context = &primaryContext;
  return SUCCESS;
}

CUresult cuCtxSetCurrent(void* context) {
  if (CUresult r = ready(state(), false)) return r;
  if (context && context != &primaryContext) return INVALID_CONTEXT;
  contextCurrent = context != nullptr;
  return SUCCESS;
}

CUresult cuCtxSynchronize() { return ready(state(), true); }

CUresult cuGetErrorString(CUresult status, const char** text) {
  if (!text) return INVALID_VALUE;
  switch (status) {
  case SUCCESS: *text = "no error"; break;
  case INVALID_VALUE: *text = "invalid argument"; break;
  case OUT_OF_MEMORY: *text = "out of memory"; break;
  case NOT_INITIALIZED: *text = "initialization error"; break;
  case INVALID_DEVICE: *text = "invalid device ordinal"; break;
  case INVALID_CONTEXT: *text = "invalid device context"; break;
  case INVALID_HANDLE: *text = "invalid resource handle"; break;
  case NOT_FOUND: *text = "named symbol not found"; break;
  default: *text = nullptr; return INVALID_VALUE;
  }
  return SUCCESS;
}

// MARK: memory

CUresult cuMemAlloc_v2(CUdeviceptr* address, size_t bytes) {
  State& s = state();
  std::lock_guard<std::mutex> g(s.lock);
  if (CUresult r = ready(s, true)) return r;
  s.allocationCalls++;
  if (!address || bytes == 0) return INVALID_VALUE;
  if (s.bytesInUse >= s.capacity || bytes > (size_t)(s.capacity - s.bytesInUse)) return OUT_OF_MEMORY;
  size_t rounded = (bytes + alignment - 1) / alignment * alignment;
  void* host = aligned_alloc(alignment, rounded);
  if (!host) return OUT_OF_MEMORY;
  memset(host, 0xFF, bytes);
  *address = s.nextAddress;
  s.nextAddress += rounded + alignment;     // a gap: one past the end is no other allocation's start
  s.allocations[*address] = {host, bytes};
  s.bytesInUse += (long)bytes;
  return SUCCESS;
}

CUresult cuMemFree_v2(CUdeviceptr address) {
  State& s = state();
  std::lock_guard<std::mutex> g(s.lock);
  if (CUresult r = ready(s, true)) return r;
  auto it = s.allocations.find(address);
  if (it == s.allocations.end()) return INVALID_VALUE;
  free(it->second.host);
  s.bytesInUse -= (long)it->second.bytes;
  s.allocations.erase(it);
  return SUCCESS;
}

CUresult cuMemGetInfo_v2(size_t* free, size_t* total) {
  State& s = state();
  std::lock_guard<std::mutex> g(s.lock);
  if (CUresult r = ready(s, true)) return r;
  if (!free || !total) return INVALID_VALUE;
  *total = (size_t)s.capacity;
  *free = s.capacity > s.bytesInUse ? (size_t)(s.capacity - s.bytesInUse) : 0;
  return SUCCESS;
}

CUresult cuMemcpyHtoD_v2(CUdeviceptr device, const void* host, size_t bytes) {
  return copy(onDevice(device), onHost(host), bytes, nullptr);
}
CUresult cuMemcpyDtoH_v2(void* host, CUdeviceptr device, size_t bytes) { return copy(onHost(host), onDevice(device), bytes, nullptr); }
CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr device, const void* host, size_t bytes, void* stream) {
  return copy(onDevice(device), onHost(host), bytes, stream);
}
CUresult cuMemcpyDtoHAsync_v2(void* host, CUdeviceptr device, size_t bytes, void* stream) {
  return copy(onHost(host), onDevice(device), bytes, stream);
}
CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr destination, CUdeviceptr source, size_t bytes, void* stream) {
  return copy(onDevice(destination), onDevice(source), bytes, stream);
}

// MARK: streams and events

CUresult cuStreamCreate(void** stream, unsigned flags) {
  State& s = state();
  std::lock_guard<std::mutex> g(s.lock);
  if (CUresult r = ready(s, true)) return r;
  if (!stream || flags > 1) return INVALID_VALUE;          // CU_STREAM_DEFAULT, CU_STREAM_NON_BLOCKING
  Stream* made = new Stream();
  s.streams.insert(made);
  *stream = made;
  return SUCCESS;
}

CUresult cuStreamDestroy_v2(void* stream) { return destroyHandle(state().streams, (Stream*)stream); }

CUresult cuStreamSynchronize(void* stream) {
  std::lock_guard<std::mutex> g(state().lock);
  if (CUresult r = ready(state(), true)) return r;
  return validStream(state(), stream) ? SUCCESS : INVALID_HANDLE;
}

CUresult cuEventCreate(void** event, unsigned flags) {
  State& s = state();
  std::lock_guard<std::mutex> g(s.lock);
  if (CUresult r = ready(s, true)) return r;
  if (!event || flags > 7) return INVALID_VALUE;           // BLOCKING_SYNC 1, DISABLE_TIMING 2, INTERPROCESS 4
  Event* made = new Event{flags, false, {}};
  s.events.insert(made);
  *event = made;
  return SUCCESS;
}

CUresult cuEventDestroy_v2(void* event) { return destroyHandle(state().events, (Event*)event); }

/// Records the time now: everything queued before has already run.
CUresult cuEventRecord(void* event, void* stream) {
  State& s = state();
  std::lock_guard<std::mutex> g(s.lock);
  if (CUresult r = ready(s, true)) return r;
  if (!s.events.count((Event*)event) || !validStream(s, stream)) return INVALID_HANDLE;
  Event* e = (Event*)event;
  e->recorded = true;
  e->time = std::chrono::steady_clock::now();
  return SUCCESS;
}

CUresult cuEventSynchronize(void* event) {
  std::lock_guard<std::mutex> g(state().lock);
  if (CUresult r = ready(state(), true)) return r;
  return state().events.count((Event*)event) ? SUCCESS : INVALID_HANDLE;
}

/// Milliseconds from `start` to `end`; both must be recorded events with timing.
CUresult cuEventElapsedTime(float* milliseconds, void* start, void* end) {
  State& s = state();
  std::lock_guard<std::mutex> g(s.lock);
  if (CUresult r = ready(s, true)) return r;
  if (!milliseconds) return INVALID_VALUE;
  Event *a = (Event*)start, *b = (Event*)end;
  if (!s.events.count(a) || !s.events.count(b) || !a->recorded || !b->recorded || ((a->flags | b->flags) & 2)) return INVALID_HANDLE;
  *milliseconds = std::chrono::duration<float, std::milli>(b->time - a->time).count();
  return SUCCESS;
}

// MARK: modules and launches

/// A module of the registered kernels: the image is the NUL-terminated name of a module
/// (only its kernels), anything else loads every kernel (the image is not code here).
CUresult cuModuleLoadData(void** module, const void* image) {
  State& s = state();
  std::lock_guard<std::mutex> g(s.lock);
  if (CUresult r = ready(s, true)) return r;
  if (!module || !image) return INVALID_VALUE;
  Module* made = new Module();
  for (const auto& entry : s.registry)
    if (!strncmp((const char*)image, entry.first.c_str(), entry.first.size() + 1)) made->name = entry.first;
  s.modules.insert(made);
  *module = made;
  return SUCCESS;
}

CUresult cuModuleUnload(void* module) {
  State& s = state();
  std::lock_guard<std::mutex> g(s.lock);
  if (CUresult r = ready(s, true)) return r;
  Module* m = (Module*)module;
  if (!s.modules.erase(m)) return INVALID_HANDLE;
  for (const auto& f : m->functions) s.functions.erase(f.get());
  delete m;
  return SUCCESS;
}

CUresult cuModuleGetFunction(void** function, void* module, const char* name) {
  State& s = state();
  std::lock_guard<std::mutex> g(s.lock);
  if (CUresult r = ready(s, true)) return r;
  Module* m = (Module*)module;
  if (!function || !name) return INVALID_VALUE;
  if (!s.modules.count(m)) return INVALID_HANDLE;
  for (const auto& entry : s.registry) {
    if (!m->name.empty() && entry.first != m->name) continue;
    for (const KnetKernel* k : entry.second) {
      if (strcmp(k->name, name)) continue;
      m->functions.push_back(std::make_unique<Function>(Function{k}));
      s.functions.insert(m->functions.back().get());
      *function = m->functions.back().get();
      return SUCCESS;
    }
  }
  return NOT_FOUND;
}

/// Runs `function` over the grid at once; CUDA's limits on sizes are checked, and there
/// is no shared memory (sharedBytes must be 0) and no `extra` parameter buffer.
CUresult cuLaunchKernel(void* function, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                        unsigned sharedBytes, void* stream, void** parameters, void** extra) {
  State& s = state();
  KnetLauncher launch;
  {
    std::lock_guard<std::mutex> g(s.lock);
    if (CUresult r = ready(s, true)) return r;
    if (!s.functions.count((const Function*)function) || !validStream(s, stream)) return INVALID_HANDLE;
    if (gx < 1 || gx > 2147483647u || gy < 1 || gy > 65535 || gz < 1 || gz > 65535 || bx < 1 || bx > 1024 || by < 1
        || by > 1024 || bz < 1 || bz > 64 || (unsigned long)bx * by * bz > 1024 || sharedBytes != 0 || extra)
      return INVALID_VALUE;
    launch = ((const Function*)function)->kernel->launch;
  }
  CUresult r = launch(parameters, dim3{gx, gy, gz}, dim3{bx, by, bz});
  if (r == SUCCESS) {
    std::lock_guard<std::mutex> g(s.lock);
    s.launches++;
  }
  return r;
}
}
