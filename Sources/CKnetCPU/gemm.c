/* Knet's GEMM for the CPU, in C so that each instruction set is chosen per function
 * (`__attribute__((target(...)))`) rather than by compiler flags: a portable instance,
 * AVX2+FMA and AVX-512 ones on x86-64, picked at run time from CPUID by the caller
 * (KnetGEMM). The algorithm is in gemm_kernel.h; contraction is off, so the only fused
 * multiply-adds are the micro-kernel's explicit ones and every instance gives the same
 * bits. */
#include "CKnetCPU.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#pragma clang fp contract(off)

/* This thread's packing buffer, grown to at least `bytes` (64-byte aligned; its old
 * contents are lost), freed when the thread exits. */
static pthread_key_t buffer_key;
static pthread_once_t buffer_once = PTHREAD_ONCE_INIT;
struct buffer { void* p; size_t size; };
static void free_buffer(void* b) { free(((struct buffer*)b)->p); free(b); }
static void make_key(void) { pthread_key_create(&buffer_key, free_buffer); }

static void* knet_gemm_buffer(size_t bytes) {
    pthread_once(&buffer_once, make_key);
    struct buffer* b = pthread_getspecific(buffer_key);
    if (!b) {
        b = calloc(1, sizeof *b);
        if (!b) abort();
        pthread_setspecific(buffer_key, b);
    }
    if (b->size < bytes) {
        free(b->p);
        if (posix_memalign(&b->p, 64, bytes) != 0) abort();
        b->size = bytes;
    }
    return b->p;
}

int knet_gemm_is_direct(long m, long n, long k) {
    long products = m * n * k;
    return products <= 16384 || ((m == 1 || n == 1) && 2 * products < 5000000);
}

#define KINSTANCE "gemm_instances.h"
#include "isa_instances.h"
#undef KINSTANCE
