/* SPDX-License-Identifier: MIT */
/*
 * Shared between dma-resv.c and dma-resv-vm.c, not an interface.
 *
 * Copyright © 2026 Preempt Series Developers
 */

#ifndef _DMA_RESV_INTERNAL_H
#define _DMA_RESV_INTERNAL_H

#include <linux/rcupdate.h>
#include <linux/types.h>

struct dma_resv_vm;

/*
 * struct dma_resv_vm_slot - one VM a reservation object is bound into
 * @vm: the VM, NULL for a free slot
 * @write_held: the write lock of the reservation object holds the lock of
 *	@vm and one of the references counted in &dma_resv_vm.write_count
 */
struct dma_resv_vm_slot {
	struct dma_resv_vm *vm;
	bool write_held;
};

/*
 * struct dma_resv_vms - the VMs a reservation object is bound into
 *
 * Protected by the lock of the reservation object. Slots never move within
 * one array: unbinding clears a slot and binding fills a free slot or
 * replaces the whole array, so that the debug check of dma_resv_read_lock()
 * never misses a bound VM. @seq changes with every bind and unbind, so that
 * the unlocked iterators of dma-resv.c restart their walks.
 */
struct dma_resv_vms {
	struct rcu_head rcu;
	unsigned int seq;	/* bumped by every bind and unbind in place */
	unsigned int num;	/* used slots, some may be free */
	unsigned int count;	/* bound VMs */
	unsigned int max;	/* allocated slots */
	struct dma_resv_vm_slot slots[] __counted_by(max);
};

#endif /* _DMA_RESV_INTERNAL_H */
