/* Knet's elementwise loops over contiguous runs (the common binary and unary ops) in
 * C, one instance per element type and instruction set chosen per function
 * (`__attribute__((target(...)))`, no compiler flags), picked at run time by KnetAVX2. The
 * loops are in elementwise_kernel.h. */
#include "CKnetCPU.h"
#include <math.h>

#pragma clang fp contract(off)

#define KPASTE3(a, b, c) a##b##c
#define KPASTE(a, b, c) KPASTE3(a, b, c)
#define KINSTANCE "elementwise_kernel.h"

#define KT float
#define KN(x) KPASTE(knet_f32_, KISA, _##x)
#include "isa_instances.h"
#undef KN
#undef KT

#define KT double
#define KN(x) KPASTE(knet_f64_, KISA, _##x)
#include "isa_instances.h"
#undef KN
#undef KT
