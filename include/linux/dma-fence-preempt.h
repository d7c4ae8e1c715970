/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * Preemption fences: a common base class for the fences that stop a context
 * whose work the kernel does not see job by job, e.g. a user mode queue.
 */

#ifndef __LINUX_DMA_FENCE_PREEMPT_H
#define __LINUX_DMA_FENCE_PREEMPT_H

#include <linux/atomic.h>
#include <linux/dma-fence.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

struct dma_fence_preempt;
struct dma_fence_preempt_ctx;

/**
 * struct dma_fence_preempt_ops - driver operations of a preemptible context
 *
 * @preempt, @preempt_wait and @preempt_finished are called in this order
 * from the signalling work of a preemption fence, once the last completion
 * fence published for the context has signaled; @kill and @preempt_finished
 * if it did not signal within the timeout of the context. The operations
 * run in the fence signalling critical section
 * (see dma_fence_begin_signalling()): they must not take a &dma_resv lock,
 * must not allocate memory with GFP_KERNEL (GFP_NOWAIT or GFP_ATOMIC only),
 * must not wait for anything that can itself wait for a preemption fence and
 * must complete in bounded time.
 *
 * Operations of different contexts run concurrently; the operations of one
 * preemption fence never run concurrently with each other. Those of two
 * consecutive fences of a context may: the resume that @preempt_finished
 * queues can arm the next fence, which can be triggered before
 * @preempt_finished returned.
 */
struct dma_fence_preempt_ops {
	/**
	 * @driver_name: Returned by &dma_fence_ops.get_driver_name for the
	 * preemption fences of the context. Must outlive every fence, a string
	 * literal is the usual choice. Optional, "dma_fence_preempt" if NULL.
	 */
	const char *driver_name;

	/**
	 * @preempt: Start preempting the context.
	 *
	 * Asks the hardware or firmware to stop the queues of the context and
	 * returns without waiting for it to happen. Mandatory.
	 *
	 * Returns 0 on success or a negative error code: by convention
	 * -ECANCELED if the context was banned or killed, -EIO if the context
	 * was reset or the device is wedged. On error, -EAGAIN included
	 * (only @preempt_wait can ask to be called again), @preempt_wait is
	 * not called and the fence signals with that error; the driver must
	 * guarantee that the context does not access memory any more (it was
	 * reset or banned) before it returns an error.
	 */
	int (*preempt)(struct dma_fence_preempt *fence);

	/**
	 * @preempt_wait: Wait for the preemption started by @preempt.
	 *
	 * Waits at most @timeout jiffies, the timeout the context was
	 * initialized with, for the context to stop. Optional: without it the
	 * preemption is complete once @preempt returned 0.
	 *
	 * Returns 0 once the context is stopped, -EAGAIN if the driver
	 * cannot tell yet (for instance while the firmware recovers) and wants
	 * to be called again, or a negative error code: -ETIME if @timeout
	 * expired, -ECANCELED or -EIO as for @preempt. On -EAGAIN the class
	 * requeues the signalling work, delayed by at least one jiffy so that
	 * a retry does not spin, and calls @preempt_wait again, without
	 * calling @preempt again; the driver bounds how often it returns
	 * -EAGAIN. The timeout is the driver's responsibility, the class
	 * cannot interrupt the operation. On error the driver must have reset
	 * or banned the context before returning, so that it no longer
	 * accesses memory once the fence signals.
	 */
	int (*preempt_wait)(struct dma_fence_preempt *fence, long timeout);

	/**
	 * @preempt_finished: The preemption fence has signaled.
	 *
	 * Called right after the fence signaled, successfully or not. May only
	 * queue the work that resumes the context (revalidating its memory
	 * under &dma_resv locks, allocating and arming the next preemption
	 * fence with dma_fence_preempt_arm()), never do it inline. Optional.
	 * Not called if the context was being torn down by
	 * dma_fence_preempt_ctx_fini() when the signalling work (last) started
	 * to run: for a fence the teardown cancelled, or whose retried
	 * @preempt_wait ran during the teardown. It may still be called while
	 * the teardown waits for the work, see dma_fence_preempt_ctx_fini().
	 */
	void (*preempt_finished)(struct dma_fence_preempt *fence);

	/**
	 * @kill: Kill the context, whose last published completion fence did
	 * not signal within the timeout of the context.
	 *
	 * Called instead of @preempt and @preempt_wait. Stops the context for
	 * good: the driver bans it, and makes every completion fence it
	 * published signal, with an error, without the context running
	 * again. Must return only once the context no longer accesses memory,
	 * and in bounded time. The preemption fence then signals with -ETIME
	 * and @preempt_finished is called.
	 *
	 * Mandatory for a context that publishes completion fences:
	 * dma_fence_preempt_publish() warns and fails with -EINVAL without
	 * it. A context that publishes nothing never waits for a completion
	 * fence, and @kill is never called for it.
	 */
	void (*kill)(struct dma_fence_preempt *fence);

	/**
	 * @release: Free the preemption fence.
	 *
	 * Called when the last reference to the fence is dropped, possibly
	 * long after the context was torn down. Lockless readers may still
	 * look at a released fence under RCU, so the memory must be freed
	 * after a grace period (kfree_rcu() or dma_fence_free()). Optional:
	 * the default frees the fence with dma_fence_free(), which is only
	 * correct if &struct dma_fence_preempt is at the start of the
	 * allocation. The fences may outlive the driver's contexts: once a
	 * context is torn down, the class reads nothing of its operations for
	 * its fences but this pointer, copied when a fence was armed, and the
	 * driver name, which the core asks only of an unsignaled fence (under
	 * RCU, so the operations must stay valid for a grace period after the
	 * last fence signaled, as a module unload provides). A driver module
	 * that provides @release must stay loaded until its last preemption
	 * fence was released; one that uses the default may be unloaded once
	 * its contexts are torn down.
	 */
	void (*release)(struct dma_fence_preempt *fence);
};

/**
 * struct dma_fence_preempt_ctx - a preemptible context
 *
 * Tracks, for one context (typically a user mode queue), the last
 * completion fence the driver published for it with
 * dma_fence_preempt_publish() and its current preemption fence. Embedded in
 * the driver's context structure; initialized with
 * dma_fence_preempt_ctx_init() and torn down with
 * dma_fence_preempt_ctx_fini(). All members are private to the class.
 */
struct dma_fence_preempt_ctx {
	/** @ops: The driver operations. */
	const struct dma_fence_preempt_ops *ops;
	/**
	 * @lock: Protects @last, @fence, @seqno, @preempting and @dead.
	 * Nests inside the lock of the preemption fences.
	 */
	spinlock_t lock;
	/**
	 * @resume_wq: Woken up when the context is resumed or torn down, see
	 * dma_fence_preempt_wait_resume().
	 */
	wait_queue_head_t resume_wq;
	/** @last: The last published completion fence, or NULL. */
	struct dma_fence *last;
	/** @fence: The current preemption fence, or NULL. */
	struct dma_fence_preempt *fence;
	/**
	 * @timeout: Bounds the wait for @last and is passed to
	 * &dma_fence_preempt_ops.preempt_wait.
	 */
	long timeout;
	/** @context: Fence context of the preemption fences. */
	u64 context;
	/** @seqno: Sequence number of the last armed preemption fence. */
	u64 seqno;
	/**
	 * @active: Number of signalling works and of
	 * dma_fence_preempt_wait_resume() callers using the context.
	 */
	atomic_t active;
	/** @preempting: Signaling was enabled on @fence, publishing fails. */
	bool preempting;
	/** @dead: The context was torn down. */
	bool dead;
};

/**
 * struct dma_fence_preempt - preemption fence
 *
 * A &dma_fence that signals once its context has been preempted, i.e. stopped
 * accessing memory. Enabling signaling on it triggers the preemption. Embedded
 * in a driver structure and armed with dma_fence_preempt_arm(); all members
 * except @base, @ctx and @ops are private to the class.
 */
struct dma_fence_preempt {
	/** @base: The fence, using the inline fence lock. */
	struct dma_fence base;
	/**
	 * @ctx: The context. Valid in the operations, which typically use
	 * container_of() on it to reach the driver's context; the fence may
	 * outlive the context.
	 */
	struct dma_fence_preempt_ctx *ctx;
	/**
	 * @ops: The operations of @ctx. A driver may compare it to tell its
	 * fences from others'. The class reads the operations through it only
	 * in the signalling work and for the driver name of an unsignaled
	 * fence (the core asks a signaled one for none): the driver's
	 * operations may be gone once the fence signaled.
	 */
	const struct dma_fence_preempt_ops *ops;
	/**
	 * @release: &dma_fence_preempt_ops.release of @ctx, copied when the
	 * fence is armed, so that releasing the fence does not read @ops.
	 */
	void (*release)(struct dma_fence_preempt *fence);
	/** @last: Completion fence the preemption waits for, or NULL. */
	struct dma_fence *last;
	/**
	 * @work: The signalling work, delayed only to retry
	 * &dma_fence_preempt_ops.preempt_wait.
	 */
	struct delayed_work work;
	/**
	 * @preempted: &dma_fence_preempt_ops.preempt returned 0, the work only
	 * waits for the preemption to complete when it runs again.
	 */
	bool preempted;
};

void dma_fence_preempt_ctx_init(struct dma_fence_preempt_ctx *ctx,
				const struct dma_fence_preempt_ops *ops,
				long timeout);
void dma_fence_preempt_ctx_fini(struct dma_fence_preempt_ctx *ctx);
int dma_fence_preempt_arm(struct dma_fence_preempt_ctx *ctx,
			  struct dma_fence_preempt *fence);
int dma_fence_preempt_publish(struct dma_fence_preempt_ctx *ctx,
			      struct dma_fence *fence);
long dma_fence_preempt_wait_resume(struct dma_fence_preempt_ctx *ctx,
				   bool intr, long timeout);
bool dma_fence_is_preempt(struct dma_fence *fence);

/**
 * to_dma_fence_preempt - cast a &dma_fence to a &dma_fence_preempt
 * @fence: the fence to cast
 *
 * Return: the preemption fence embedding @fence, or NULL if @fence is not a
 * preemption fence.
 */
static inline struct dma_fence_preempt *
to_dma_fence_preempt(struct dma_fence *fence)
{
	if (!fence || !dma_fence_is_preempt(fence))
		return NULL;

	return container_of(fence, struct dma_fence_preempt, base);
}

#endif /* __LINUX_DMA_FENCE_PREEMPT_H */
