/* SPDX-License-Identifier: MIT */
/*
 * Shared between dma-resv.c and dma-resv-vm.c, not an interface.
 *
 * Copyright © 2026 Preempt Series Developers
 */

#ifndef _DMA_RESV_INTERNAL_H
#define _DMA_RESV_INTERNAL_H

struct dma_resv;

void dma_resv_enable_preempt_fences(struct dma_resv *obj);

#endif /* _DMA_RESV_INTERNAL_H */
