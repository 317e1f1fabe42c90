// The cuBLAS calls Knet binds, emulated on the host: handles (their stream is checked
// against the emulated driver's; work runs at once), and single/double GEMM (plain and strided-batched) as a column-major
// reference triple loop accumulating in the element type. Arguments are validated as
// cuBLAS does (CUBLAS_STATUS_INVALID_VALUE), and every matrix must lie in live device
// memory of the driver (else CUBLAS_STATUS_EXECUTION_FAILED, as a kernel fault would
// be reported). Alpha and beta are host pointers (CUBLAS_POINTER_MODE_HOST). As BLAS,
// beta == 0 overwrites C without reading it, and alpha == 0 or k == 0 reads no A or B.
#include "emulator.h"
#include <algorithm>
#include <mutex>
#include <set>

namespace {
enum : int { SUCCESS = 0, NOT_INITIALIZED = 1, INVALID_VALUE = 7, EXECUTION_FAILED = 13 };
enum : int { OP_N = 0, OP_T = 1, OP_C = 2 };

struct Handle {};     // the emulation runs at once, so a handle needs no stream

std::mutex lock;
std::set<const Handle*> handles;

bool live(const Handle* h) {
  std::lock_guard<std::mutex> g(lock);
  return handles.count(h) != 0;
}

/// The host address of a batch of `batch` column-major rows × columns matrices with
/// leading dimension `ld`, `stride` elements apart, when all lie in one live allocation.
template <typename T> T* matrices(const T* device, long long rows, long long columns, long long ld, long long stride, long long batch) {
  long long last = (batch - 1) * stride, extent = ld * (columns - 1) + rows;
  long long low = std::min(0ll, last), high = std::max(0ll, last) + extent;     // elements, relative to `device`
  unsigned long long start = (unsigned long long)device + (unsigned long long)(low * (long long)sizeof(T));
  void* host = nullptr;
  if (knet_emulator_host_range(start, (size_t)(high - low) * sizeof(T), &host) != 0) return nullptr;
  return (T*)host - low;
}

/// C_s = alpha·op(A_s)·op(B_s) + beta·C_s for s in 0..<batch.
template <typename T>
int gemm(const Handle* h, int transA, int transB, int m, int n, int k, const T* alpha, const T* A, int lda, long long strideA,
         const T* B, int ldb, long long strideB, const T* beta, T* C, int ldc, long long strideC, int batch) {
  if (!live(h)) return NOT_INITIALIZED;
  bool ta = transA != OP_N, tb = transB != OP_N;
  if (transA < OP_N || transA > OP_C || transB < OP_N || transB > OP_C || m < 0 || n < 0 || k < 0 || batch < 0
      || lda < std::max(1, ta ? k : m) || ldb < std::max(1, tb ? n : k) || ldc < std::max(1, m) || !alpha || !beta)
    return INVALID_VALUE;
  if (m == 0 || n == 0 || batch == 0) return SUCCESS;
  const T a0 = *alpha, b0 = *beta;
  bool readAB = k > 0 && a0 != 0;
  T* c = matrices(C, m, n, ldc, strideC, batch);
  const T* a = readAB ? matrices(A, ta ? k : m, ta ? m : k, lda, strideA, batch) : nullptr;
  const T* b = readAB ? matrices(B, tb ? n : k, tb ? k : n, ldb, strideB, batch) : nullptr;
  if (!c || (readAB && (!a || !b))) return EXECUTION_FAILED;
  for (long long s = 0; s < batch; s++) {
    const T* as = readAB ? a + s * strideA : nullptr; const T* bs = readAB ? b + s * strideB : nullptr;
    T* cs = c + s * strideC;
    for (long long j = 0; j < n; j++)
      for (long long i = 0; i < m; i++) {
        T sum = 0;
        if (readAB)
          for (long long l = 0; l < k; l++) sum += (ta ? as[l + i * lda] : as[i + l * lda]) * (tb ? bs[j + l * ldb] : bs[l + j * ldb]);
        T& out = cs[i + j * ldc];
        out = b0 == 0 ? a0 * sum : a0 * sum + b0 * out;
      }
  }
  return SUCCESS;
}
}  // namespace

extern "C" {
int cublasCreate_v2(Handle** handle) {
  if (!handle) return INVALID_VALUE;
  std::lock_guard<std::mutex> g(lock);
  *handle = new Handle();
  handles.insert(*handle);
  return SUCCESS;
}

int cublasDestroy_v2(Handle* handle) {
  std::lock_guard<std::mutex> g(lock);
  if (!handles.erase(handle)) return NOT_INITIALIZED;
  delete handle;
  return SUCCESS;
}

/// Checks `stream` (a stream of the emulated driver, nullptr: the default stream); the
/// handle's work runs at once whatever its stream.
int cublasSetStream_v2(Handle* handle, void* stream) {
  if (!live(handle)) return NOT_INITIALIZED;
  return knet_emulator_valid_stream(stream) ? SUCCESS : INVALID_VALUE;
}

/// MAJOR_VERSION (0), MINOR_VERSION (1), PATCH_LEVEL (2): cuBLAS 12.4.0.
int cublasGetProperty(int type, int* value) {
  static const int version[] = {12, 4, 0};
  if (!value || type < 0 || type > 2) return INVALID_VALUE;
  *value = version[type];
  return SUCCESS;
}

int cublasSgemm_v2(Handle* h, int ta, int tb, int m, int n, int k, const float* alpha, const float* A, int lda, const float* B,
                   int ldb, const float* beta, float* C, int ldc) {
  return gemm(h, ta, tb, m, n, k, alpha, A, lda, 0, B, ldb, 0, beta, C, ldc, 0, 1);
}

int cublasDgemm_v2(Handle* h, int ta, int tb, int m, int n, int k, const double* alpha, const double* A, int lda, const double* B,
                   int ldb, const double* beta, double* C, int ldc) {
  return gemm(h, ta, tb, m, n, k, alpha, A, lda, 0, B, ldb, 0, beta, C, ldc, 0, 1);
}

int cublasSgemmStridedBatched(Handle* h, int ta, int tb, int m, int n, int k, const float* alpha, const float* A, int lda,
                              long long strideA, const float* B, int ldb, long long strideB, const float* beta, float* C, int ldc,
                              long long strideC, int batch) {
  return gemm(h, ta, tb, m, n, k, alpha, A, lda, strideA, B, ldb, strideB, beta, C, ldc, strideC, batch);
}

int cublasDgemmStridedBatched(Handle* h, int ta, int tb, int m, int n, int k, const double* alpha, const double* A, int lda,
                              long long strideA, const double* B, int ldb, long long strideB, const double* beta, double* C,
                              int ldc, long long strideC, int batch) {
  return gemm(h, ta, tb, m, n, k, alpha, A, lda, strideA, B, ldb, strideB, beta, C, ldc, strideC, batch);
}
}
