/* SPDX-License-Identifier: MIT */
/*
 * Interfaces of dma-resv.c for its KUnit tests only.
 *
 * Copyright © 2026 Preempt Series Developers
 */

#ifndef _DMA_RESV_TEST_H
#define _DMA_RESV_TEST_H

struct dma_fence;
struct dma_fence_array;
struct dma_fence_chain;

#if IS_ENABLED(CONFIG_KUNIT)
struct dma_fence_array *
dma_resv_merge_array_create(unsigned int count, struct dma_fence **fences);
struct dma_fence_chain *dma_resv_merge_chain_alloc(void);
#endif

#endif /* _DMA_RESV_TEST_H */
