/* SPDX-License-Identifier: MIT */
/*
 * Per-VM shared locking for shared buffers.
 *
 * Copyright © 2026 Preempt Series Developers
 */

#ifndef _LINUX_DMA_RESV_VM_H
#define _LINUX_DMA_RESV_VM_H

#include <linux/atomic.h>
#include <linux/dma-buf.h>
#include <linux/dma-resv.h>
#include <linux/kref.h>

struct dma_fence;

/**
 * struct dma_resv_vm - a user of shared buffers with its own reservation lock
 *
 * A VM is any user of shared buffers that owns a &struct dma_resv, e.g. the
 * VM reservation object of a &struct drm_gpuvm. Drivers embed this structure
 * next to their VM, initialize it with dma_resv_vm_init() and bind it to the
 * buffers mapped into the VM with dma_resv_bind_vm(). A submission in the VM
 * then takes the VM's lock once with dma_resv_read_lock(), whatever the
 * number of shared buffers it uses.
 *
 * Bindings do not hold a reference on the VM: a VM must be unbound from every
 * buffer before its last reference is dropped.
 *
 * The write lock of several buffers in one acquire context may hold the lock
 * of a VM they share: @write_count counts them and the lock is released with
 * the last of them.
 */
struct dma_resv_vm {
	/**
	 * @resv: The VM's reservation object. Its lock is the VM's lock and
	 * the fences of submissions made under dma_resv_read_lock() are added
	 * to it.
	 */
	struct dma_resv *resv;

	/**
	 * @refcount: Reference count, see dma_resv_vm_get() and
	 * dma_resv_vm_put().
	 */
	struct kref refcount;

	/**
	 * @release: Called by dma_resv_vm_put() when the last reference is
	 * dropped. Must call dma_resv_vm_fini() and may free the VM only if
	 * that succeeded. The last reference can be a writer's (see
	 * dma_resv_write_lock()), dropped with reservation objects locked,
	 * e.g. buffers the VM was bound to or other VMs, though never with
	 * @resv locked: @release must not lock a reservation object, and
	 * should defer such work to a worker. It may sleep: see
	 * dma_resv_vm_fini().
	 */
	void (*release)(struct dma_resv_vm *vm);

	/**
	 * @num_bound: Number of buffers this VM is bound to.
	 */
	atomic_t num_bound;

	/**
	 * @was_bound: The VM was bound to a buffer once, see
	 * dma_resv_vm_fini().
	 */
	bool was_bound;

	/**
	 * @write_count: Number of buffers whose write lock holds the lock of
	 * this VM, all in the acquire context holding it; the lock is dropped
	 * when the count drops to zero. Only accessed with @resv locked.
	 */
	unsigned int write_count;
};

void dma_resv_vm_init(struct dma_resv_vm *vm, struct dma_resv *resv,
		      void (*release)(struct dma_resv_vm *vm));
int dma_resv_vm_fini(struct dma_resv_vm *vm);

/**
 * dma_resv_vm_get - take a reference on a VM
 * @vm: the VM
 *
 * Returns: @vm.
 */
static inline struct dma_resv_vm *dma_resv_vm_get(struct dma_resv_vm *vm)
{
	kref_get(&vm->refcount);
	return vm;
}

void dma_resv_vm_put(struct dma_resv_vm *vm);

int dma_resv_bind_vm(struct dma_resv *obj, struct dma_resv_vm *vm);
int dma_resv_unbind_vm(struct dma_resv *obj, struct dma_resv_vm *vm);
bool dma_resv_vm_is_bound(struct dma_resv *obj, struct dma_resv_vm *vm);
unsigned int dma_resv_num_vms(struct dma_resv *obj);

int dma_resv_read_lock(struct dma_resv *obj, struct dma_resv_vm *vm,
		       struct ww_acquire_ctx *ctx);
int dma_resv_read_lock_interruptible(struct dma_resv *obj,
				     struct dma_resv_vm *vm,
				     struct ww_acquire_ctx *ctx);
void dma_resv_read_unlock(struct dma_resv *obj, struct dma_resv_vm *vm);

int dma_resv_write_lock(struct dma_resv *obj, struct ww_acquire_ctx *ctx);
int dma_resv_write_lock_interruptible(struct dma_resv *obj,
				      struct ww_acquire_ctx *ctx);
int dma_resv_write_trylock(struct dma_resv *obj, struct ww_acquire_ctx *ctx);
int dma_resv_write_trylock_vms(struct dma_resv *obj,
			       struct ww_acquire_ctx *ctx);
void dma_resv_write_unlock(struct dma_resv *obj);
int dma_resv_write_lock_vms(struct dma_resv *obj, struct ww_acquire_ctx *ctx,
			    struct dma_resv_vm **prelocked,
			    struct dma_resv_vm **contended, bool intr);
void dma_resv_write_unlock_vms(struct dma_resv *obj);

void dma_resv_vms_fini(struct dma_resv *obj);

/**
 * dma_buf_bind_vm - bind a VM to a dma-buf
 * @buf: the dma-buf, its reservation object must be locked
 * @vm: the VM
 *
 * Wrapper around dma_resv_bind_vm() for &dma_buf.resv.
 *
 * Returns: 0 on success or a negative error code.
 */
static inline int dma_buf_bind_vm(struct dma_buf *buf, struct dma_resv_vm *vm)
{
	return dma_resv_bind_vm(buf->resv, vm);
}

/**
 * dma_buf_unbind_vm - unbind a VM from a dma-buf
 * @buf: the dma-buf, its reservation object must be locked
 * @vm: the VM
 *
 * Wrapper around dma_resv_unbind_vm() for &dma_buf.resv.
 *
 * Returns: 0 on success or a negative error code.
 */
static inline int dma_buf_unbind_vm(struct dma_buf *buf,
				    struct dma_resv_vm *vm)
{
	return dma_resv_unbind_vm(buf->resv, vm);
}

/**
 * dma_buf_read_lock - lock a dma-buf for use in one VM
 * @buf: the dma-buf
 * @vm: the VM the buffer is used in, bound to @buf
 * @ctx: the acquire context
 *
 * Wrapper around dma_resv_read_lock() for &dma_buf.resv.
 *
 * Returns: see dma_resv_read_lock().
 */
static inline int dma_buf_read_lock(struct dma_buf *buf,
				    struct dma_resv_vm *vm,
				    struct ww_acquire_ctx *ctx)
{
	return dma_resv_read_lock(buf->resv, vm, ctx);
}

/**
 * dma_buf_read_unlock - unlock a dma-buf locked with dma_buf_read_lock()
 * @buf: the dma-buf
 * @vm: the VM passed to dma_buf_read_lock()
 */
static inline void dma_buf_read_unlock(struct dma_buf *buf,
				       struct dma_resv_vm *vm)
{
	dma_resv_read_unlock(buf->resv, vm);
}

/**
 * dma_buf_write_lock - lock a dma-buf against every VM it is bound to
 * @buf: the dma-buf
 * @ctx: the acquire context
 *
 * Wrapper around dma_resv_write_lock() for &dma_buf.resv.
 *
 * Returns: see dma_resv_write_lock().
 */
static inline int dma_buf_write_lock(struct dma_buf *buf,
				     struct ww_acquire_ctx *ctx)
{
	return dma_resv_write_lock(buf->resv, ctx);
}

/**
 * dma_buf_write_unlock - unlock a dma-buf locked with dma_buf_write_lock()
 * @buf: the dma-buf
 */
static inline void dma_buf_write_unlock(struct dma_buf *buf)
{
	dma_resv_write_unlock(buf->resv);
}

#endif /* _LINUX_DMA_RESV_VM_H */
