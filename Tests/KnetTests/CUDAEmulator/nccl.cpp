// The NCCL calls Knet binds, emulated on the host for a communicator of ONE rank (all a
// single emulated GPU can take part in): ncclGetUniqueId writes a recognisable id, and
// ncclCommInitRank accepts only that id, passed by value, for nranks 1 and rank 0 (so the
// 128-byte by-value argument is checked); the collectives of one rank copy `send` to
// `recv` (sum, max, min, broadcast and gather of one rank are copies) after checking the
// datatype, the reduction, the communicator, the stream against the emulated driver's and
// that both buffers lie in live device memory. Calls that succeed are counted
// (`knet_emulator_nccl_calls`).
#include "emulator.h"
#include <atomic>
#include <cstring>
#include <mutex>
#include <set>

namespace {
enum : int { SUCCESS = 0, UNHANDLED_CUDA_ERROR = 1, INVALID_ARGUMENT = 4, INVALID_USAGE = 5 };

struct UniqueId { char internal[128]; };
struct Comm { int ranks; };

std::mutex lock;
std::set<const Comm*> comms;
std::atomic<long> calls{0};

/// The id this emulation makes: a marker and then byte i = i, so a truncated or shifted
/// copy is caught.
UniqueId madeId() {
  UniqueId id;
  for (int i = 0; i < 128; i++) id.internal[i] = (char)i;
  std::memcpy(id.internal, "knet-nccl-emulator", 18);
  return id;
}

bool live(const Comm* c) {
  std::lock_guard<std::mutex> g(lock);
  return comms.count(c) != 0;
}

size_t elementSize(int datatype) {
  switch (datatype) {
    case 0: case 1: return 1;               // int8, uint8
    case 2: case 3: return 4;               // int32, uint32
    case 4: case 5: return 8;               // int64, uint64
    case 6: case 9: return 2;               // float16, bfloat16
    case 7: return 4;                       // float32
    case 8: return 8;                       // float64
    default: return 0;
  }
}

/// Copies `count` elements of `datatype` from device `send` to device `recv` for a
/// one-rank collective on `comm` queued on `stream`.
int copyOneRank(const void* send, void* recv, size_t count, int datatype, const Comm* comm, const void* stream) {
  size_t size = elementSize(datatype);
  if (size == 0 || !live(comm) || !knet_emulator_valid_stream(stream)) return INVALID_ARGUMENT;
  void *from = nullptr, *to = nullptr;
  if (knet_emulator_host_range((unsigned long long)send, count * size, &from) != 0
      || knet_emulator_host_range((unsigned long long)recv, count * size, &to) != 0) return UNHANDLED_CUDA_ERROR;
  if (from != to) std::memmove(to, from, count * size);
  calls++;
  return SUCCESS;
}
}  // namespace

extern "C" {
int ncclGetVersion(int* version) {
  if (!version) return INVALID_ARGUMENT;
  *version = 21903;
  return SUCCESS;
}

int ncclGetUniqueId(UniqueId* id) {
  if (!id) return INVALID_ARGUMENT;
  *id = madeId();
  calls++;
  return SUCCESS;
}

int ncclCommInitRank(Comm** comm, int nranks, UniqueId id, int rank) {
  UniqueId expected = madeId();
  if (!comm || std::memcmp(id.internal, expected.internal, 128) != 0) return INVALID_ARGUMENT;
  if (nranks != 1 || rank != 0) return INVALID_USAGE;     // one emulated GPU: one rank
  Comm* c = new Comm{nranks};
  std::lock_guard<std::mutex> g(lock);
  comms.insert(c);
  *comm = c;
  calls++;
  return SUCCESS;
}

int ncclCommDestroy(Comm* comm) {
  std::lock_guard<std::mutex> g(lock);
  if (comms.erase(comm) == 0) return INVALID_ARGUMENT;
  delete comm;
  return SUCCESS;
}

int ncclAllReduce(const void* send, void* recv, size_t count, int datatype, int op, Comm* comm, void* stream) {
  if (op < 0 || op > 4) return INVALID_ARGUMENT;          // sum, prod, max, min, avg
  return copyOneRank(send, recv, count, datatype, comm, stream);
}

int ncclBroadcast(const void* send, void* recv, size_t count, int datatype, int root, Comm* comm, void* stream) {
  if (root != 0) return INVALID_ARGUMENT;
  return copyOneRank(send, recv, count, datatype, comm, stream);
}

int ncclAllGather(const void* send, void* recv, size_t sendcount, int datatype, Comm* comm, void* stream) {
  return copyOneRank(send, recv, sendcount, datatype, comm, stream);
}

const char* ncclGetErrorString(int result) {
  switch (result) {
    case SUCCESS: return "no error";
    case UNHANDLED_CUDA_ERROR: return "unhandled cuda error (a buffer outside device memory)";
    case INVALID_ARGUMENT: return "invalid argument";
    case INVALID_USAGE: return "invalid usage (the emulation has one rank)";
    default: return "unknown result";
  }
}

/// NCCL calls that succeeded since the library was loaded.
long knet_emulator_nccl_calls() { return calls.load(); }
}
