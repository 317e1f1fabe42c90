#ifndef KNET_NCCL_H
#define KNET_NCCL_H

/// NCCL's `ncclUniqueId`: the 128 opaque bytes that rank 0 makes with `ncclGetUniqueId` and
/// every rank passes BY VALUE to `ncclCommInitRank`. Declared here (NCCL's header is not
/// needed to build Knet) so that Swift can call that function through a pointer found
/// with dlsym: a C struct has the C calling convention, a Swift tuple has none.
typedef struct { char internal[128]; } knet_nccl_unique_id;

#endif
