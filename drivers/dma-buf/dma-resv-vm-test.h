/* SPDX-License-Identifier: MIT */
/*
 * Interfaces of dma-resv-vm.c for its KUnit tests and benchmark only.
 *
 * Copyright © 2026 Preempt Series Developers
 */

#ifndef _DMA_RESV_VM_TEST_H
#define _DMA_RESV_VM_TEST_H

struct dma_resv_vms;

#if IS_ENABLED(CONFIG_KUNIT)
struct dma_resv_vms *dma_resv_vms_alloc(unsigned int max_vms);
#endif

#if IS_ENABLED(CONFIG_DMABUF_VM_LOCK_BENCH)
unsigned long dma_resv_vm_bench_backoffs(void);
#endif

#endif /* _DMA_RESV_VM_TEST_H */
