// SPDX-License-Identifier: MIT
/*
 * Per-VM shared locking for shared buffers.
 *
 * Copyright © 2026 Preempt Series Developers
 */

#include <kunit/static_stub.h>
#include <kunit/visibility.h>
#include <linux/dma-resv-vm.h>
#include <linux/export.h>
#include <linux/overflow.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>

#include "dma-resv-internal.h"
#include "dma-resv-vm-test.h"

/**
 * DOC: Per-VM shared locking
 *
 * Locking every shared buffer with its own &dma_resv.lock makes command
 * submission cost one ww_mutex per buffer. Buffers private to one VM already
 * share the VM's reservation object; per-VM shared locking extends this to
 * buffers shared between VMs, whether exported as a &dma_buf or shared as a
 * GEM object between VMs of one device.
 *
 * A &struct dma_resv_vm is a user of shared buffers with its own reservation
 * object. A buffer records the VMs it is bound into with dma_resv_bind_vm(),
 * under the buffer's own lock. Then:
 *
 * - dma_resv_read_lock() takes only the VM's lock. A submission that uses K
 *   shared buffers in one VM takes one lock, not K. Its fences go into the
 *   VM's reservation object only.
 *
 * - dma_resv_write_lock() takes the buffer's lock and the lock of every bound
 *   VM under one &ww_acquire_ctx. While it is held, no reader of the buffer
 *   holds its VM lock. This is what moving or evicting the buffer takes.
 *   Inside a bigger transaction, such as drm_exec, the buffer is locked with
 *   dma_resv_lock() and its VMs with dma_resv_write_lock_vms(). Buffers
 *   write-locked in one acquire context share the locks of the VMs they have
 *   in common: a VM lock is dropped with the last of them, so unlocking some
 *   of them early never unlocks a VM another one still needs.
 *
 * - Fences added under the read lock are only in the VM's reservation
 *   object, so the buffer's own unlocked queries report them: the unlocked
 *   iterators (dma_resv_for_each_fence_unlocked()) and everything built on
 *   them, such as dma_resv_wait_timeout(), dma_resv_test_signaled(),
 *   dma_resv_get_fences(), dma_resv_get_singleton() and
 *   dma_resv_copy_fences(), return the fences of every bound VM after the
 *   buffer's own, with the preemption fences of all of them last. Memory
 *   management, implicit synchronization and importers that know nothing
 *   of VMs thus wait for submissions made under the read lock. The locked
 *   iterator (dma_resv_for_each_fence()) cannot, as it takes no fence
 *   reference and holds no VM lock: it returns only the buffer's fences.
 *   Waiting on a VM's fences over-synchronizes: it also waits for work of
 *   the VM that does not use this buffer. That cost is bounded by what the
 *   VM has queued, and is the price paid on the rare move or eviction for
 *   taking one lock per submission. Usage filters still apply, so
 *   preemption fences (&DMA_RESV_USAGE_PREEMPT) of a VM with user mode
 *   queues are only triggered by waits at that usage.
 *
 * The scheme is opt-in: a buffer with no VM bound has no tracking state, and
 * dma_resv_write_lock() on it, with an acquire context that holds no other
 * lock, behaves like dma_resv_lock().
 *
 * Lifetime rules: a binding does not hold a reference on the VM. A VM must
 * be unbound from every buffer before its last reference is dropped, and
 * dma_resv_vm_fini() refuses to tear down a VM that is still bound. The write
 * lock of each buffer takes a reference on every VM it holds and keeps it
 * until that buffer lets go of the VM, and a writer backing off on a VM
 * keeps one until it is done with it, so a VM unbound meanwhile stays
 * valid. The writer's reference can
 * then be the last one: &dma_resv_vm.release may run with reservation
 * objects locked, though never with the VM's own, and must not lock any.
 * The unlocked iterators find a VM through its binding under RCU, without a
 * reference: dma_resv_vm_fini() waits for them, so the release may sleep,
 * and may free the VM and its reservation object once that succeeded. A
 * VM still bound when its count dropped to zero breaks the rule above: the
 * write lock skips it, since no user can hold its lock, and
 * dma_resv_vm_fini() warns and fails, so that the release leaves it
 * allocated for the unlocked iterators that still find it.
 *
 * Before unbinding a VM, its driver must make the buffer's reservation object
 * cover the VM's outstanding use of the buffer, e.g. by adding the fence of
 * the unmap operation to it, as drivers already do for page table updates.
 * An unbind restarts the unlocked walks of the buffer, so that a walk that
 * passed that fence does not miss both.
 *
 * With CONFIG_DEBUG_WW_MUTEX_SLOWPATH, dma_resv_read_lock() checks that the VM
 * is bound to the buffer and warns if it is not.
 */

#define DMA_RESV_VMS_MIN	4

#if IS_ENABLED(CONFIG_DMABUF_VM_LOCK_BENCH)
static atomic_long_t dma_resv_vm_backoffs = ATOMIC_LONG_INIT(0);

/* Number of back-offs inside dma_resv_write_lock(), for the benchmark. */
unsigned long dma_resv_vm_bench_backoffs(void)
{
	return atomic_long_read(&dma_resv_vm_backoffs);
}
EXPORT_SYMBOL_IF_KUNIT(dma_resv_vm_bench_backoffs);

static void dma_resv_vm_count_backoff(void)
{
	atomic_long_inc(&dma_resv_vm_backoffs);
}
#else
static void dma_resv_vm_count_backoff(void)
{
}
#endif

static struct dma_resv_vms *dma_resv_vms_locked(struct dma_resv *obj)
{
	return rcu_dereference_protected(obj->vms, dma_resv_held(obj));
}

/*
 * Allocation of the array of VMs, the only allocation of dma_resv_bind_vm().
 * Visible to the KUnit tests, which redirect it to inject failures.
 */
VISIBLE_IF_KUNIT struct dma_resv_vms *dma_resv_vms_alloc(unsigned int max_vms)
{
	struct dma_resv_vms *vms;

	KUNIT_STATIC_STUB_REDIRECT(dma_resv_vms_alloc, max_vms);

	vms = kzalloc_flex(*vms, slots, max_vms);
	if (vms)
		vms->max = max_vms;
	return vms;
}
EXPORT_SYMBOL_IF_KUNIT(dma_resv_vms_alloc);

/**
 * dma_resv_vm_init - initialize a VM
 * @vm: the VM to initialize
 * @resv: the VM's reservation object
 * @release: called when the last reference is dropped
 *
 * Initializes @vm with a reference count of one. @resv must stay valid as
 * long as @vm.
 */
void dma_resv_vm_init(struct dma_resv_vm *vm, struct dma_resv *resv,
		      void (*release)(struct dma_resv_vm *vm))
{
	vm->resv = resv;
	kref_init(&vm->refcount);
	vm->release = release;
	atomic_set(&vm->num_bound, 0);
	vm->was_bound = false;
	vm->write_count = 0;
}
EXPORT_SYMBOL_GPL(dma_resv_vm_init);

/**
 * dma_resv_vm_fini - tear down a VM
 * @vm: the VM
 *
 * Called from &dma_resv_vm.release. Warns and fails if @vm is still bound to
 * a buffer or still referenced; the VM must not be freed then. If @vm was
 * ever bound, waits for an RCU grace period: the unlocked iterators of the
 * buffers it was bound to may still be looking at @vm and its reservation
 * object, found through the binding before it was removed. Once this
 * returned 0, both may be freed at once. May sleep.
 *
 * Returns: 0 on success, -EBUSY if @vm is still in use.
 */
int dma_resv_vm_fini(struct dma_resv_vm *vm)
{
	might_sleep();

	/*
	 * The unbinds happened before the last reference was dropped, and
	 * the kref orders them before this (release and acquire).
	 */
	if (WARN(atomic_read(&vm->num_bound),
		 "dma-resv: VM destroyed while bound to %d buffers\n",
		 atomic_read(&vm->num_bound)))
		return -EBUSY;
	if (WARN(kref_read(&vm->refcount), "dma-resv: VM destroyed while referenced\n"))
		return -EBUSY;
	if (READ_ONCE(vm->was_bound))
		synchronize_rcu();
	return 0;
}
EXPORT_SYMBOL_GPL(dma_resv_vm_fini);

static void dma_resv_vm_release(struct kref *kref)
{
	struct dma_resv_vm *vm = container_of(kref, struct dma_resv_vm,
					      refcount);

	vm->release(vm);
}

/**
 * dma_resv_vm_put - drop a reference on a VM
 * @vm: the VM, may be NULL
 *
 * Calls &dma_resv_vm.release when the last reference is dropped, which may
 * sleep: see dma_resv_vm_fini().
 */
void dma_resv_vm_put(struct dma_resv_vm *vm)
{
	might_sleep();
	if (vm)
		kref_put(&vm->refcount, dma_resv_vm_release);
}
EXPORT_SYMBOL_GPL(dma_resv_vm_put);

/*
 * Let go of @vm in the write lock of one buffer: drop the reference and, if
 * no other buffer's write lock holds @vm, its lock.
 */
static void dma_resv_vm_write_release(struct dma_resv_vm *vm)
{
	dma_resv_assert_held(vm->resv);
	if (!WARN_ON(!vm->write_count) && !--vm->write_count)
		dma_resv_unlock(vm->resv);
	dma_resv_vm_put(vm);
}

/**
 * dma_resv_bind_vm - record that a buffer is bound into a VM
 * @obj: the buffer's reservation object, must be locked
 * @vm: the VM
 *
 * From now on dma_resv_write_lock() on @obj also takes the lock of @vm, and
 * the unlocked queries of @obj, such as dma_resv_wait_timeout(), report the
 * fences of @vm as well.
 * Holding the lock of @obj excludes a concurrent writer. Must not be called
 * while @obj is write-locked: the write lock would not hold @vm. This is
 * detected (with a warning) when the write lock holds another VM.
 *
 * May allocate; on failure nothing changes.
 *
 * Returns: 0 on success, -ENOMEM if out of memory, -EEXIST (with a warning)
 * if @vm is already bound to @obj, -EINVAL (with a warning) if @vm uses @obj
 * as its own reservation object, -EBUSY (with a warning) if @obj is
 * write-locked as described above.
 */
int dma_resv_bind_vm(struct dma_resv *obj, struct dma_resv_vm *vm)
{
	struct dma_resv_vms *vms, *new;
	unsigned int i, slot = UINT_MAX;

	dma_resv_assert_held(obj);

	if (WARN(vm->resv == obj, "dma-resv: VM bound to its own reservation object\n"))
		return -EINVAL;

	vms = dma_resv_vms_locked(obj);
	if (vms) {
		for (i = 0; i < vms->num; ++i) {
			if (WARN(vms->slots[i].write_held,
				 "dma-resv: VM bound to a write-locked buffer\n"))
				return -EBUSY;
			if (vms->slots[i].vm == vm) {
				WARN(1, "dma-resv: VM bound twice\n");
				return -EEXIST;
			}
			if (!vms->slots[i].vm && slot == UINT_MAX)
				slot = i;
		}
		if (slot == UINT_MAX && vms->num < vms->max)
			slot = vms->num;
	}

	if (slot != UINT_MAX) {
		/*
		 * The lockless readers dereference the VM they find: publish
		 * it after its initialization, also in a slot below @num.
		 */
		smp_store_release(&vms->slots[slot].vm, vm);
		/* Pairs with dma_resv_vm_is_bound(): the slot before @num. */
		smp_store_release(&vms->num, max(vms->num, slot + 1));
		/* Pairs with dma_resv_iter_changed(): restarts their walks. */
		smp_store_release(&vms->seq, vms->seq + 1);
		vms->count++;
	} else {
		/* No free slot: replace the array with a bigger, compact one. */
		new = dma_resv_vms_alloc(vms ? vms->max * 2 : DMA_RESV_VMS_MIN);
		if (!new)
			return -ENOMEM;

		for (i = 0; vms && i < vms->num; ++i)
			if (vms->slots[i].vm)
				new->slots[new->num++] = vms->slots[i];
		new->slots[new->num++].vm = vm;
		new->count = new->num;
		/* Never the count of an array this one may reuse the memory of */
		new->seq = vms ? vms->seq + 1 : 0;
		rcu_assign_pointer(obj->vms, new);
		if (vms)
			kfree_rcu(vms, rcu);
	}

	atomic_inc(&vm->num_bound);
	WRITE_ONCE(vm->was_bound, true);
	return 0;
}
EXPORT_SYMBOL_GPL(dma_resv_bind_vm);

/**
 * dma_resv_unbind_vm - remove a VM from the VMs a buffer is bound into
 * @obj: the buffer's reservation object, must be locked
 * @vm: the VM
 *
 * Holding the lock of @obj excludes a concurrent writer. The caller must have
 * made @obj cover the outstanding use of the buffer by @vm, see the overview
 * above. If the caller holds the write lock of @obj, that lock lets go of
 * @vm here: the lock of @vm is dropped unless the write lock of another
 * buffer of the caller still needs it. Never allocates.
 *
 * Returns: 0 on success, -ENOENT (with a warning) if @vm is not bound to
 * @obj.
 */
int dma_resv_unbind_vm(struct dma_resv *obj, struct dma_resv_vm *vm)
{
	struct dma_resv_vms *vms;
	unsigned int i, num;

	dma_resv_assert_held(obj);

	vms = dma_resv_vms_locked(obj);
	for (i = 0; vms && i < vms->num; ++i) {
		struct dma_resv_vm_slot *slot = &vms->slots[i];
		bool write_held = slot->write_held;

		if (slot->vm != vm)
			continue;

		/*
		 * Restart the unlocked walks of @obj: one that passed the
		 * fence covering @vm's use of the buffer, added before this
		 * (see above), must see it rather than miss both. The count
		 * goes first, after that fence (release), and before the slot
		 * is cleared (pairs with the read barrier of
		 * dma_resv_iter_changed()): a walk that finds the slot empty
		 * sees the new count and restarts.
		 */
		smp_store_release(&vms->seq, vms->seq + 1);
		/* The count before the slot, see above. */
		smp_wmb();
		slot->write_held = false;
		WRITE_ONCE(slot->vm, NULL);
		vms->count--;
		for (num = vms->num; num && !vms->slots[num - 1].vm; --num)
			;
		WRITE_ONCE(vms->num, num);
		atomic_dec(&vm->num_bound);

		if (write_held)
			dma_resv_vm_write_release(vm);
		return 0;
	}

	WARN(1, "dma-resv: unbinding a VM that is not bound\n");
	return -ENOENT;
}
EXPORT_SYMBOL_GPL(dma_resv_unbind_vm);

/**
 * dma_resv_vm_is_bound - check whether a buffer is bound into a VM
 * @obj: the buffer's reservation object
 * @vm: the VM
 *
 * Can be called without holding the lock of @obj; the answer is then only
 * stable if the caller excludes concurrent binding and unbinding of @vm.
 *
 * Returns: true if @vm is bound to @obj.
 */
bool dma_resv_vm_is_bound(struct dma_resv *obj, struct dma_resv_vm *vm)
{
	struct dma_resv_vms *vms;
	unsigned int i, num;
	bool found = false;

	rcu_read_lock();
	vms = rcu_dereference(obj->vms);
	if (vms) {
		/* Pairs with dma_resv_bind_vm(): see the slots below @num. */
		num = smp_load_acquire(&vms->num);
		for (i = 0; i < num && !found; ++i)
			found = READ_ONCE(vms->slots[i].vm) == vm;
	}
	rcu_read_unlock();

	return found;
}
EXPORT_SYMBOL_GPL(dma_resv_vm_is_bound);

/**
 * dma_resv_num_vms - number of VMs a buffer is bound into
 * @obj: the buffer's reservation object, must be locked
 *
 * Returns: the number of VMs bound to @obj.
 */
unsigned int dma_resv_num_vms(struct dma_resv *obj)
{
	struct dma_resv_vms *vms = dma_resv_vms_locked(obj);

	return vms ? vms->count : 0;
}
EXPORT_SYMBOL_GPL(dma_resv_num_vms);

static void dma_resv_read_lock_check(struct dma_resv *obj,
				     struct dma_resv_vm *vm)
{
	if (!IS_ENABLED(CONFIG_DEBUG_WW_MUTEX_SLOWPATH))
		return;

	WARN(!kref_read(&vm->refcount),
	     "dma-resv: read lock of an unreferenced VM\n");
	WARN(vm->resv != obj && !dma_resv_vm_is_bound(obj, vm),
	     "dma-resv: read lock of a VM the buffer is not bound to\n");
}

/**
 * dma_resv_read_lock - lock a buffer for use in one VM
 * @obj: the buffer's reservation object
 * @vm: the VM the buffer is used in, bound to @obj, referenced by the caller
 * @ctx: the acquire context
 *
 * Takes only the lock of @vm: the lock protecting every buffer of @vm, shared
 * ones included, against dma_resv_write_lock(). Locking further buffers of
 * the same VM with the same @ctx returns -EALREADY, as dma_resv_lock() does
 * for a reservation object locked twice, and costs no further lock.
 *
 * Fences of the submission are added to @vm->resv.
 *
 * With CONFIG_DEBUG_WW_MUTEX_SLOWPATH, warns if @vm is not bound to @obj.
 *
 * Returns: as dma_resv_lock() on @vm->resv; after -EDEADLK the contended
 * lock is that of @vm->resv.
 */
int dma_resv_read_lock(struct dma_resv *obj, struct dma_resv_vm *vm,
		       struct ww_acquire_ctx *ctx)
{
	dma_resv_read_lock_check(obj, vm);
	return dma_resv_lock(vm->resv, ctx);
}
EXPORT_SYMBOL_GPL(dma_resv_read_lock);

/**
 * dma_resv_read_lock_interruptible - interruptible dma_resv_read_lock()
 * @obj: the buffer's reservation object
 * @vm: the VM the buffer is used in, bound to @obj, referenced by the caller
 * @ctx: the acquire context
 *
 * Returns: as dma_resv_lock_interruptible() on @vm->resv.
 */
int dma_resv_read_lock_interruptible(struct dma_resv *obj,
				     struct dma_resv_vm *vm,
				     struct ww_acquire_ctx *ctx)
{
	dma_resv_read_lock_check(obj, vm);
	return dma_resv_lock_interruptible(vm->resv, ctx);
}
EXPORT_SYMBOL_GPL(dma_resv_read_lock_interruptible);

/**
 * dma_resv_read_unlock - unlock a buffer locked with dma_resv_read_lock()
 * @obj: the buffer's reservation object
 * @vm: the VM passed to dma_resv_read_lock()
 *
 * Drops the lock of @vm, which unlocks every buffer of @vm at once.
 */
void dma_resv_read_unlock(struct dma_resv *obj, struct dma_resv_vm *vm)
{
	dma_resv_unlock(vm->resv);
}
EXPORT_SYMBOL_GPL(dma_resv_read_unlock);

static int dma_resv_lock_common(struct dma_resv *obj,
				struct ww_acquire_ctx *ctx, bool intr)
{
	return intr ? dma_resv_lock_interruptible(obj, ctx) :
		      dma_resv_lock(obj, ctx);
}

static int dma_resv_lock_slow_common(struct dma_resv *obj,
				     struct ww_acquire_ctx *ctx, bool intr)
{
	if (intr)
		return dma_resv_lock_slow_interruptible(obj, ctx);

	dma_resv_lock_slow(obj, ctx);
	return 0;
}

/* Let go of every VM the write lock of @obj holds. */
static void dma_resv_vms_unlock(struct dma_resv *obj,
				struct dma_resv_vms *vms)
{
	struct dma_resv_vm_slot *slot;
	unsigned int i;

	for (i = 0; vms && i < vms->num; ++i) {
		slot = &vms->slots[i];
		if (!slot->write_held)
			continue;

		slot->write_held = false;
		dma_resv_vm_write_release(slot->vm);
	}
}

/* Whether @ctx, which holds @obj, holds every VM bound to @obj. */
static bool dma_resv_vms_held(struct dma_resv *obj, struct ww_acquire_ctx *ctx)
{
	struct dma_resv_vms *vms = dma_resv_vms_locked(obj);
	struct dma_resv_vm *vm;
	unsigned int i;

	for (i = 0; vms && i < vms->num; ++i) {
		vm = vms->slots[i].vm;
		if (vm && !vms->slots[i].write_held &&
		    dma_resv_locking_ctx(vm->resv) != ctx)
			return false;
	}
	return true;
}

static void dma_resv_vm_unlock_put(struct dma_resv_vm *vm)
{
	dma_resv_unlock(vm->resv);
	dma_resv_vm_put(vm);
}

/*
 * Lock every VM bound to @obj, which @ctx holds. @prelocked is a VM @ctx
 * slow-locked after a back-off, with a reference: it is taken over (and
 * set to NULL) if it is still bound. A VM the write lock of another buffer
 * of @ctx holds is shared with it. On -EDEADLK, the VM to slow-lock is
 * returned in @contended with a reference. On any error, the VMs the write
 * lock of @obj held are let go again; @obj stays locked.
 */
static int dma_resv_vms_lock(struct dma_resv *obj, struct ww_acquire_ctx *ctx,
			     struct dma_resv_vm **prelocked,
			     struct dma_resv_vm **contended, bool intr)
{
	struct dma_resv_vms *vms = dma_resv_vms_locked(obj);
	struct dma_resv_vm_slot *slot;
	struct dma_resv_vm *vm;
	unsigned int i;
	int ret;

	for (i = 0; vms && i < vms->num; ++i) {
		slot = &vms->slots[i];
		vm = slot->vm;
		if (!vm || slot->write_held)
			continue;

		if (vm == *prelocked) {
			/* Slow-locked after the last back-off: ours now. */
			*prelocked = NULL;
			goto held;
		}

		if (dma_resv_locking_ctx(vm->resv) == ctx) {
			/*
			 * Held for the write lock of another buffer: share
			 * it. Held otherwise, e.g. as the caller's own VM:
			 * leave it to its holder.
			 */
			if (!vm->write_count)
				continue;
			kref_get(&vm->refcount);
			goto held;
		}

		/*
		 * A bound VM whose last reference is gone breaks the lifetime
		 * rules: no user can hold its lock, and it may be in its
		 * release already.
		 */
		if (!kref_get_unless_zero(&vm->refcount))
			continue;

		ret = dma_resv_lock_common(vm->resv, ctx, intr);
		if (unlikely(ret)) {
			dma_resv_vms_unlock(obj, vms);
			if (ret == -EDEADLK) {
				dma_resv_vm_count_backoff();
				*contended = vm;
			} else {
				dma_resv_vm_put(vm);
			}
			return ret;
		}
held:
		vm->write_count++;
		slot->write_held = true;
	}

	return 0;
}

/**
 * dma_resv_write_lock_vms - lock the VMs of a buffer in a caller's transaction
 * @obj: the buffer's reservation object, locked in @ctx
 * @ctx: the acquire context
 * @prelocked: in: *@prelocked NULL, or a VM whose lock @ctx took with
 *	       dma_resv_lock_slow() after this function returned it in
 *	       @contended, with that reference; out: NULL if it was taken
 *	       over, unchanged otherwise
 * @contended: out: on -EDEADLK, the VM to back off for, with a reference
 * @intr: if true, wait interruptibly
 *
 * The building block of dma_resv_write_lock() for callers that manage the
 * locks of a transaction themselves, such as drm_exec: together with the
 * lock of @obj, the locks taken here form the write lock of @obj, and
 * dma_resv_write_unlock() or dma_resv_write_unlock_vms() release them.
 * Contention is resolved by the ww_mutex rules of @ctx (wait-die or
 * wound-wait): -EDEADLK only when @ctx must back off.
 *
 * A VM that @ctx holds for the write lock of another buffer is shared with
 * it and stays locked until both let go of it, in any order. A VM that @ctx
 * holds otherwise, e.g. through the VM's own GEM object, is left to that
 * holder, which must keep it locked as long as the write lock of @obj.
 * Calling this again for a write lock already taken does nothing.
 *
 * On -EDEADLK, every VM lock of the write lock of @obj is let go of and @obj
 * stays locked.
 * The caller must drop every lock of @ctx, including @obj and @prelocked if
 * it is still set, then slow-lock @contended->resv, and call this function
 * again with @obj locked and @contended as @prelocked. If the VM is no longer
 * bound by then, @prelocked is left set and the caller unlocks it and drops
 * the reference with dma_resv_vm_put().
 *
 * Returns: 0 on success, -EDEADLK as described above, -EINTR if @intr and a
 * signal arrived; of the write lock of @obj, only @obj (and @prelocked, if
 * still set) is held then. -EINVAL (with a warning) if @obj is not locked
 * in @ctx.
 */
int dma_resv_write_lock_vms(struct dma_resv *obj, struct ww_acquire_ctx *ctx,
			    struct dma_resv_vm **prelocked,
			    struct dma_resv_vm **contended, bool intr)
{
	dma_resv_assert_held(obj);
	if (WARN_ON(dma_resv_locking_ctx(obj) != ctx))
		return -EINVAL;

	*contended = NULL;
	return dma_resv_vms_lock(obj, ctx, prelocked, contended, intr);
}
EXPORT_SYMBOL_GPL(dma_resv_write_lock_vms);

static int dma_resv_write_lock_common(struct dma_resv *obj,
				      struct ww_acquire_ctx *ctx, bool intr)
{
	struct dma_resv_vm *prelocked = NULL, *contended = NULL;
	int ret;

	if (WARN_ON(!ctx))
		return -EINVAL;
	if (dma_resv_locking_ctx(obj) == ctx && dma_resv_vms_held(obj, ctx))
		return -EALREADY;
	/*
	 * Backing off needs every lock of @ctx dropped, and only the caller
	 * can drop those it took.
	 */
	if (WARN(ctx->acquired,
		 "dma-resv: write lock in a transaction, use dma_resv_write_lock_vms()\n"))
		return -EINVAL;

	/*
	 * Every lock @ctx holds is ours: resolve contention here, following
	 * the ww_mutex rules: drop all, slow-lock the contended lock, retry.
	 */
retry:
	ret = dma_resv_lock_common(obj, ctx, intr);
	if (ret == -EDEADLK && prelocked) {
		/* Only @prelocked is held: swap it for @obj. */
		dma_resv_vm_count_backoff();
		dma_resv_vm_unlock_put(prelocked);
		prelocked = NULL;
		ret = dma_resv_lock_slow_common(obj, ctx, intr);
	}
	if (ret)
		goto err_prelocked;

	ret = dma_resv_vms_lock(obj, ctx, &prelocked, &contended, intr);
	if (ret) {
		dma_resv_unlock(obj);
		if (ret != -EDEADLK)
			goto err_prelocked;

		if (prelocked)
			dma_resv_vm_unlock_put(prelocked);
		prelocked = contended;
		ret = dma_resv_lock_slow_common(prelocked->resv, ctx, intr);
		if (ret) {
			dma_resv_vm_put(prelocked);
			return ret;
		}
		goto retry;
	}

	/*
	 * The slow-locked VM was unbound while we backed off. Ours may be
	 * its last reference: its release may run under our locks.
	 */
	if (prelocked)
		dma_resv_vm_unlock_put(prelocked);

	return 0;

err_prelocked:
	if (prelocked)
		dma_resv_vm_unlock_put(prelocked);
	return ret;
}

/**
 * dma_resv_write_lock - lock a buffer against every VM it is bound to
 * @obj: the buffer's reservation object
 * @ctx: the acquire context, must not be NULL
 *
 * Takes the lock of @obj and the lock of every VM bound to @obj, under @ctx,
 * which must hold no lock: contention is resolved here, by backing off and
 * slow-locking the contended lock as the ww_mutex rules require. While it is
 * held, no reader of @obj holds its VM lock; this is the lock to take before
 * moving or evicting the buffer. If no VM is bound to @obj, this locks like
 * dma_resv_lock(). In a transaction that holds other locks, lock @obj with
 * dma_resv_lock() and its VMs with dma_resv_write_lock_vms(), or use
 * drm_exec_write_lock_obj().
 *
 * Returns: 0 on success, -EALREADY if @ctx already holds the write lock of
 * @obj, -EINVAL (with a warning) if @ctx is NULL or holds other locks,
 * including @obj without its VMs.
 */
int dma_resv_write_lock(struct dma_resv *obj, struct ww_acquire_ctx *ctx)
{
	return dma_resv_write_lock_common(obj, ctx, false);
}
EXPORT_SYMBOL_GPL(dma_resv_write_lock);

/**
 * dma_resv_write_lock_interruptible - interruptible dma_resv_write_lock()
 * @obj: the buffer's reservation object
 * @ctx: the acquire context, must not be NULL
 *
 * Returns: as dma_resv_write_lock(), or -EINTR if a signal arrived while
 * waiting; nothing is held then.
 */
int dma_resv_write_lock_interruptible(struct dma_resv *obj,
				      struct ww_acquire_ctx *ctx)
{
	return dma_resv_write_lock_common(obj, ctx, true);
}
EXPORT_SYMBOL_GPL(dma_resv_write_lock_interruptible);

/*
 * Trylock every VM bound to @obj, which is locked, in @ctx if not NULL: all
 * of them or, if one is busy, none (the VMs the write lock of @obj held are
 * let go of again). Shares a VM with the write lock of another buffer of
 * @ctx as dma_resv_vms_lock() does; a NULL @ctx matches no holder. Returns
 * 0 or -EBUSY.
 */
static int dma_resv_vms_trylock(struct dma_resv *obj,
				struct ww_acquire_ctx *ctx)
{
	struct dma_resv_vms *vms = dma_resv_vms_locked(obj);
	struct dma_resv_vm_slot *slot;
	struct dma_resv_vm *vm;
	unsigned int i;

	for (i = 0; vms && i < vms->num; ++i) {
		slot = &vms->slots[i];
		vm = slot->vm;
		if (!vm || slot->write_held)
			continue;

		if (ctx && dma_resv_locking_ctx(vm->resv) == ctx) {
			if (!vm->write_count)
				continue;
			kref_get(&vm->refcount);
			goto held;
		}

		if (!kref_get_unless_zero(&vm->refcount))
			continue;

		if (!ww_mutex_trylock(&vm->resv->lock, ctx)) {
			dma_resv_vm_put(vm);
			dma_resv_vms_unlock(obj, vms);
			return -EBUSY;
		}
held:
		vm->write_count++;
		slot->write_held = true;
	}

	return 0;
}

/**
 * dma_resv_write_trylock - try to lock a buffer against every VM it is bound to
 * @obj: the buffer's reservation object
 * @ctx: the acquire context, or NULL
 *
 * Like dma_resv_write_lock(), but never waits: takes the lock of @obj and of
 * every VM bound to @obj if none of them is held, and nothing otherwise.
 * Memory management takes it where it would dma_resv_trylock() a buffer,
 * e.g. to evict from an LRU walk or a shrinker. With a @ctx, which may hold
 * other locks but must not be done (ww_acquire_done()), the locks are added
 * to it and a VM the write lock of another buffer of @ctx holds is shared
 * with it; a VM @ctx holds otherwise is left to that holder. Release with
 * dma_resv_write_unlock().
 *
 * Returns: 0 if the write lock of @obj was taken, -EALREADY if @ctx holds
 * @obj already (nothing is taken: complete that lock with
 * dma_resv_write_trylock_vms() or dma_resv_write_lock_vms() if needed),
 * -EBUSY if a lock is held by someone else (nothing is held then).
 */
int dma_resv_write_trylock(struct dma_resv *obj, struct ww_acquire_ctx *ctx)
{
	int ret;

	if (ctx && dma_resv_locking_ctx(obj) == ctx)
		return -EALREADY;

	if (!ww_mutex_trylock(&obj->lock, ctx))
		return -EBUSY;

	ret = dma_resv_vms_trylock(obj, ctx);
	if (ret)
		dma_resv_unlock(obj);

	return ret;
}
EXPORT_SYMBOL_GPL(dma_resv_write_trylock);

/**
 * dma_resv_write_trylock_vms - try to lock the VMs of a locked buffer
 * @obj: the buffer's reservation object, locked (in @ctx if not NULL)
 * @ctx: the acquire context, or NULL
 *
 * Completes the write lock of @obj, taken with dma_resv_lock() or
 * dma_resv_trylock(), without waiting: takes the lock of every VM bound to
 * @obj, or none of them if one is busy, as dma_resv_write_trylock() does.
 * dma_resv_write_unlock() or dma_resv_write_unlock_vms() release them. As
 * for dma_resv_write_lock_vms(), calling it for a write lock that is
 * complete already takes nothing: there is one write lock to release.
 *
 * Returns: 0 if every VM bound to @obj is held, -EBUSY otherwise; @obj
 * stays locked in both cases.
 */
int dma_resv_write_trylock_vms(struct dma_resv *obj,
			       struct ww_acquire_ctx *ctx)
{
	dma_resv_assert_held(obj);
	return dma_resv_vms_trylock(obj, ctx);
}
EXPORT_SYMBOL_GPL(dma_resv_write_trylock_vms);

/**
 * dma_resv_write_unlock - unlock a buffer locked with dma_resv_write_lock()
 * @obj: the buffer's reservation object
 *
 * Lets go of the VMs of the write lock, then drops the lock of @obj. The lock
 * of a VM that the write lock of another buffer in the same acquire context
 * shares stays held until that one lets go of it too.
 */
void dma_resv_write_unlock(struct dma_resv *obj)
{
	dma_resv_vms_unlock(obj, dma_resv_vms_locked(obj));
	dma_resv_unlock(obj);
}
EXPORT_SYMBOL_GPL(dma_resv_write_unlock);

/**
 * dma_resv_write_unlock_vms - drop the VM locks of a buffer's write lock
 * @obj: the buffer's reservation object, locked
 *
 * Lets go of the VMs dma_resv_write_lock_vms() took for @obj, as
 * dma_resv_write_unlock() does, and leaves @obj locked. Does nothing if
 * @obj has no VM bound or is not write-locked, so transaction helpers such
 * as drm_exec can call it on every object they unlock.
 */
void dma_resv_write_unlock_vms(struct dma_resv *obj)
{
	dma_resv_vms_unlock(obj, dma_resv_vms_locked(obj));
}
EXPORT_SYMBOL_GPL(dma_resv_write_unlock_vms);

/**
 * dma_resv_vms_fini - free the VM tracking of a reservation object
 * @obj: the reservation object being destroyed
 *
 * Called by dma_resv_fini(). Warns if VMs are still bound, and unbinds them.
 */
void dma_resv_vms_fini(struct dma_resv *obj)
{
	struct dma_resv_vms *vms = rcu_dereference_protected(obj->vms, true);
	unsigned int i;

	if (!vms)
		return;

	if (WARN(vms->count, "dma-resv: destroyed with %u VMs bound\n",
		 vms->count)) {
		/* Unbind them, so that their teardown does not fail too. */
		for (i = 0; i < vms->num; ++i)
			if (vms->slots[i].vm)
				atomic_dec(&vms->slots[i].vm->num_bound);
	}
	kfree_rcu(vms, rcu);
}
