// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Preemption fences: a common base class for the fences that stop a context
 * whose work the kernel does not see job by job, e.g. a user mode queue.
 */

#include <linux/dma-fence-preempt.h>
#include <linux/dma-fence-unwrap.h>
#include <linux/export.h>
#include <linux/init.h>
#include <linux/jiffies.h>
#include <linux/wait_bit.h>

/**
 * DOC: preemption fences overview
 *
 * With user mode submission the kernel does not see the jobs of a context, so
 * it cannot put a completion fence for each of them on the buffers they use.
 * The driver puts a preemption fence (also called eviction fence) there
 * instead, at %DMA_RESV_USAGE_PREEMPT: enabling signaling on it stops the
 * context, and it signals once the context no longer accesses memory. After
 * that the memory may move and the driver resumes the context with a new
 * preemption fence.
 *
 * &struct dma_fence_preempt_ctx is embedded in the driver's context and
 * &struct dma_fence_preempt in the driver's preemption fence. The life of a
 * context:
 *
 * 1. dma_fence_preempt_ctx_init() with the driver's
 *    &struct dma_fence_preempt_ops and the timeout of a preemption.
 * 2. dma_fence_preempt_arm() initializes a preemption fence and makes it the
 *    current one of the context, before the driver adds it to any
 *    &dma_resv. A context has at most one unsignaled preemption fence.
 * 3. Each time the driver hands out a completion fence of the context, in a
 *    &drm_syncobj, a &sync_file, a &dma_resv or as a dependency of a kernel
 *    job, it first publishes it with dma_fence_preempt_publish(). When that
 *    fails with -EAGAIN, the context is being preempted: the driver drops
 *    its locks, waits for the resume with dma_fence_preempt_wait_resume()
 *    and retries.
 * 4. When signaling is enabled on the preemption fence, publishing starts to
 *    fail and a work item waits for the last published completion fence,
 *    calls &dma_fence_preempt_ops.preempt and &dma_fence_preempt_ops.preempt_wait,
 *    signals the preemption fence and calls
 *    &dma_fence_preempt_ops.preempt_finished, which queues the driver's resume
 *    work.
 * 5. The resume work revalidates the memory of the context, arms and installs
 *    a new preemption fence with dma_fence_preempt_arm(), which makes
 *    publishing succeed again, and restarts the queues.
 * 6. dma_fence_preempt_ctx_fini() tears the context down, even with a
 *    preemption fence pending.
 *
 * Two orderings keep preemption from deadlocking against the work it stops:
 *
 * * Per object, through the &dma_resv: a preemption fence installed at
 *   %DMA_RESV_USAGE_PREEMPT is only triggered by dma_resv_wait_timeout(),
 *   or by the fence dma_resv_get_singleton() returns, once every other fence
 *   of that object has signaled. Work already queued on the buffer completes
 *   before the context is stopped, even if it depends on the context.
 * * Per context, through the last published completion fence: completion
 *   fences also travel outside of any &dma_resv, in &drm_syncobj and
 *   &sync_file, and other engines and devices wait for them. The preemption
 *   therefore first waits for the last completion fence published for the
 *   context (enabling signaling on it), and only then stops the context.
 *   Completion fences of a context signal in the order they were published,
 *   so the last one covers all of them.
 *
 * That order holds for the completion fences of one timeline: a context
 * publishes the fences of one fence context, in seqno order.
 * dma_fence_preempt_publish() warns and fails with -EINVAL for a fence of
 * another fence context than the first one the context published, and keeps
 * the later fence when an earlier one of the same timeline is published
 * again. A context whose queues complete out of order (several rings)
 * publishes one fence that covers all of them, or uses one context per ring.
 *
 * A completion fence must never depend on a preemption fence of its own
 * context, for instance through a job of the context that waits for a
 * buffer's fences at %DMA_RESV_USAGE_PREEMPT: the preemption waits for the
 * completion fence, which waits for the preemption. Where that is cheap to
 * see, publishing catches it: a preemption fence of the context itself, or
 * a &dma_fence_array or &dma_fence_chain containing one, is refused with a
 * warning and -EDEADLK. A dependency hidden in the driver's job is not
 * visible to the class; the bounded wait below turns it into a killed
 * context instead of a deadlock.
 *
 * Publishing is serialized against preemption: the context lock is held
 * across checking the state and storing the new last fence, and across
 * marking the context as preempting and taking the last fence. Once signaling
 * has been enabled on the current preemption fence, dma_fence_preempt_publish()
 * fails with -EAGAIN until dma_fence_preempt_arm() installs the next one, so a
 * completion fence is never published after the preemption took the last one.
 * Publishing fails rather than waits because drivers publish from their
 * submission paths, with &dma_resv locks held, while resuming the context
 * takes those locks: the caller drops its locks, waits for the resume and
 * retries, or returns -EAGAIN to user space.
 *
 * The signalling path follows the rules of the fence cross-driver contract:
 * &dma_fence_ops.enable_signaling only takes the context spinlock and queues
 * the work, it never sleeps nor adds a callback. The work runs on an unbound
 * %WQ_MEM_RECLAIM workqueue shared by all contexts but not ordered, so
 * independent contexts are preempted concurrently. The work runs inside
 * dma_fence_begin_signalling() and dma_fence_end_signalling(), takes no
 * &dma_resv lock and allocates no memory, and so must the operations: with
 * lockdep enabled, taking a &dma_resv lock or allocating with GFP_KERNEL from
 * an operation is reported. Resuming needs both, so it is queued from
 * &dma_fence_preempt_ops.preempt_finished, never done inline.
 *
 * A preemption fence always signals in bounded time. The cross-driver
 * contract of Documentation/driver-api/dma-buf.rst ("Indefinite DMA
 * Fences") requires every &dma_fence to signal in bounded time, but the
 * completion fence of a user mode queue depends on work that user space
 * controls: it is exactly the kind of fence that contract excludes unless
 * something bounds it. The class does: it waits for the last completion
 * fence at most the timeout of the context, and when that expires it kills
 * the context (&dma_fence_preempt_ops.kill), which makes the completion
 * fences signal with an error, and signals the preemption fence with
 * -ETIME, the way a preemption timeout is handled.
 * &dma_fence_preempt_ops.preempt_wait is bounded by the same timeout, so a
 * preemption takes at most about twice the timeout of the context, plus
 * the time of the operations, once its work runs: when the workqueue cannot
 * get a new worker under memory pressure, its rescuer runs the pending
 * works one after the other, so N preemptions may then take up to N times
 * that. A preempt_wait that asks to be called again is retried after a
 * delay rather than at once; the driver bounds how long it does. Errors
 * are reported with dma_fence_set_error() on the preemption fence. Either
 * way the context must not access memory once the fence signaled. The
 * errors of a preemption fence:
 *
 * * -ECANCELED: the context was torn down by dma_fence_preempt_ctx_fini()
 *   before the preemption called any operation (possibly while it waited
 *   for the last completion fence, which the driver made signal before the
 *   teardown); or, by convention, an operation found the context banned or
 *   killed.
 * * -ETIME: the last completion fence did not signal within the timeout and
 *   the context was killed, or &dma_fence_preempt_ops.preempt_wait timed
 *   out; the driver reset or banned the context.
 * * -EIO: by convention, an operation found the context reset or the device
 *   wedged.
 * * any other negative error code returned by an operation.
 *
 * The errors of the interface:
 *
 * * dma_fence_preempt_publish() returns -EAGAIN while the context is being
 *   or has been preempted, until the next dma_fence_preempt_arm();
 *   dma_fence_preempt_wait_resume() waits for that.
 * * dma_fence_preempt_publish() warns and returns -EINVAL for a context
 *   without &dma_fence_preempt_ops.kill or a fence of another timeline,
 *   -EDEADLK for a preemption fence of the context itself.
 * * dma_fence_preempt_arm() returns -EBUSY while the current preemption fence
 *   has not signaled.
 * * Both return -ENODEV once the context was torn down.
 */

static struct workqueue_struct *dma_fence_preempt_wq;

/* Delay of a retried preempt_wait; msecs_to_jiffies() rounds up to a jiffy */
#define DMA_FENCE_PREEMPT_RETRY_DELAY	msecs_to_jiffies(1)

static struct dma_fence_preempt *to_preempt(struct dma_fence *fence)
{
	return container_of(fence, struct dma_fence_preempt, base);
}

static const char *dma_fence_preempt_get_driver_name(struct dma_fence *fence)
{
	const char *name = to_preempt(fence)->ops->driver_name;

	return name ?: "dma_fence_preempt";
}

static const char *dma_fence_preempt_get_timeline_name(struct dma_fence *fence)
{
	return "preempt";
}

/*
 * Runs under the fence lock: take the decision to preempt and queue the work,
 * nothing else.
 */
static bool dma_fence_preempt_enable_signaling(struct dma_fence *fence)
{
	struct dma_fence_preempt *pfence = to_preempt(fence);
	struct dma_fence_preempt_ctx *ctx = pfence->ctx;

	spin_lock(&ctx->lock);
	if (ctx->fence == pfence) {
		ctx->preempting = true;
		pfence->last = dma_fence_get(ctx->last);
	}
	atomic_inc(&ctx->active);
	spin_unlock(&ctx->lock);

	dma_fence_get(fence);
	queue_delayed_work(dma_fence_preempt_wq, &pfence->work, 0);

	return true;
}

static void dma_fence_preempt_release(struct dma_fence *fence)
{
	struct dma_fence_preempt *pfence = to_preempt(fence);

	/* Not pfence->ops: the driver's operations may be gone by now */
	if (pfence->release)
		pfence->release(pfence);
	else
		dma_fence_free(fence);
}

static const struct dma_fence_ops dma_fence_preempt_fence_ops = {
	.get_driver_name = dma_fence_preempt_get_driver_name,
	.get_timeline_name = dma_fence_preempt_get_timeline_name,
	.enable_signaling = dma_fence_preempt_enable_signaling,
	.release = dma_fence_preempt_release,
};

static void dma_fence_preempt_work(struct work_struct *work)
{
	struct dma_fence_preempt *pfence =
		container_of(to_delayed_work(work), typeof(*pfence), work);
	struct dma_fence_preempt_ctx *ctx = pfence->ctx;
	const struct dma_fence_preempt_ops *ops = pfence->ops;
	bool cookie = dma_fence_begin_signalling();
	bool hung = false;
	bool dead;
	int err;

	if (pfence->last) {
		/* A negative return is an error of a custom wait operation */
		if (dma_fence_wait_timeout(pfence->last, false,
					   ctx->timeout) <= 0)
			hung = !dma_fence_is_signaled(pfence->last);
		dma_fence_put(pfence->last);
		pfence->last = NULL;
	}

	spin_lock_irq(&ctx->lock);
	dead = ctx->dead;
	spin_unlock_irq(&ctx->lock);

	if (dead && !pfence->preempted) {
		err = -ECANCELED;
	} else if (hung) {
		/* Only a context with a kill operation publishes */
		ops->kill(pfence);
		err = -ETIME;
	} else {
		err = 0;
		if (!pfence->preempted) {
			err = ops->preempt(pfence);
			pfence->preempted = !err;
		}
		if (!err && ops->preempt_wait) {
			err = ops->preempt_wait(pfence, ctx->timeout);
			if (err == -EAGAIN) {
				/*
				 * Keeps the reference and ctx->active. Delayed,
				 * not to spin while the driver cannot tell.
				 */
				queue_delayed_work(dma_fence_preempt_wq,
						   &pfence->work,
						   DMA_FENCE_PREEMPT_RETRY_DELAY);
				dma_fence_end_signalling(cookie);
				return;
			}
		}
	}

	if (err)
		dma_fence_set_error(&pfence->base, err);
	dma_fence_signal(&pfence->base);

	if (!dead && ops->preempt_finished)
		ops->preempt_finished(pfence);

	dma_fence_end_signalling(cookie);

	/*
	 * The reference of the work first, so that a context torn down holds
	 * no reference to its fences any more: this may be the last one.
	 */
	dma_fence_put(&pfence->base);

	/* dma_fence_preempt_ctx_fini() may free the context from here on */
	if (atomic_dec_and_test(&ctx->active))
		wake_up_var(&ctx->active);
}

/**
 * dma_fence_preempt_ctx_init - initialize a preemptible context
 * @ctx: the context to initialize
 * @ops: the driver operations, &dma_fence_preempt_ops.preempt is mandatory
 * @timeout: passed to &dma_fence_preempt_ops.preempt_wait, in jiffies
 *
 * Initializes @ctx with no published completion fence and no preemption
 * fence. The preemption fences of the context get their own fence context.
 * @timeout bounds the preemption of the context: it must be finite.
 *
 * Without &dma_fence_preempt_ops.preempt or with a timeout that is not
 * finite and positive, warns and initializes @ctx as torn down already:
 * dma_fence_preempt_arm() and dma_fence_preempt_publish() then return
 * -ENODEV, and dma_fence_preempt_ctx_fini() is still required.
 */
void dma_fence_preempt_ctx_init(struct dma_fence_preempt_ctx *ctx,
				const struct dma_fence_preempt_ops *ops,
				long timeout)
{
	bool invalid = WARN_ON(!ops->preempt) |
		       WARN_ON(timeout <= 0 || timeout == MAX_SCHEDULE_TIMEOUT);

	ctx->ops = ops;
	spin_lock_init(&ctx->lock);
	init_waitqueue_head(&ctx->resume_wq);
	ctx->last = NULL;
	ctx->fence = NULL;
	ctx->timeout = timeout;
	ctx->context = dma_fence_context_alloc(1);
	ctx->seqno = 0;
	atomic_set(&ctx->active, 0);
	ctx->preempting = false;
	ctx->dead = invalid;
}
EXPORT_SYMBOL_GPL(dma_fence_preempt_ctx_init);

/**
 * dma_fence_preempt_ctx_fini - tear down a preemptible context
 * @ctx: the context to tear down
 *
 * The driver must have stopped the queues of the context, and made sure that
 * every completion fence it published signals, before calling this function:
 * it waits for the preemption in progress, if any, which may still call the
 * operations of the context. A current preemption fence that was not
 * triggered yet is signaled with -ECANCELED, without calling any operation.
 *
 * After this function returns no signalling work uses @ctx, or holds a
 * reference to one of its preemption fences, nor does a caller of
 * dma_fence_preempt_wait_resume(), which it wakes up and waits for, any
 * more, and the driver may
 * free it; until then dma_fence_preempt_publish() and
 * dma_fence_preempt_arm() return -ENODEV. A preemption that already called
 * an operation completes, so &dma_fence_preempt_ops.preempt_finished may
 * still run, and queue the driver's resume work, until this function
 * returns: the driver cancels or flushes that work afterwards. The
 * preemption fences of the context may outlive it.
 *
 * Must not be called from an operation of the context or with locks held
 * that an operation takes. May sleep.
 */
void dma_fence_preempt_ctx_fini(struct dma_fence_preempt_ctx *ctx)
{
	struct dma_fence_preempt *pfence;
	struct dma_fence *last;

	might_sleep();

	spin_lock_irq(&ctx->lock);
	ctx->dead = true;
	pfence = ctx->fence;
	ctx->fence = NULL;
	last = ctx->last;
	ctx->last = NULL;
	spin_unlock_irq(&ctx->lock);
	wake_up_all(&ctx->resume_wq);

	/*
	 * Either queues the signalling work, which sees the context dead, or
	 * signaling was enabled before and the work is queued already.
	 */
	if (pfence) {
		dma_fence_enable_signaling(&pfence->base);
		dma_fence_put(&pfence->base);
	}

	/* Covers the works of previous preemption fences as well */
	wait_var_event(&ctx->active, !atomic_read(&ctx->active));

	dma_fence_put(last);
}
EXPORT_SYMBOL_GPL(dma_fence_preempt_ctx_fini);

/**
 * dma_fence_preempt_arm - arm a new preemption fence for a context
 * @ctx: the context
 * @fence: the preemption fence to initialize
 *
 * Initializes @fence and makes it the current preemption fence of @ctx. This
 * is what resumes a context after a preemption: from here on
 * dma_fence_preempt_publish() succeeds again, until signaling is enabled on
 * @fence. Call it before adding @fence to any &dma_resv, typically at
 * %DMA_RESV_USAGE_PREEMPT, where it replaces the previous preemption fence
 * of the context.
 *
 * The context holds a reference to @fence until the next successful call or
 * dma_fence_preempt_ctx_fini(); the caller owns the initial reference.
 *
 * Return: 0 on success, -EBUSY if the current preemption fence of @ctx has
 * not signaled yet, or -ENODEV if @ctx was torn down. On error @fence is not
 * initialized and the caller frees it directly.
 */
int dma_fence_preempt_arm(struct dma_fence_preempt_ctx *ctx,
			  struct dma_fence_preempt *fence)
{
	struct dma_fence_preempt *old;
	unsigned long flags;

	spin_lock_irqsave(&ctx->lock, flags);
	if (ctx->dead) {
		spin_unlock_irqrestore(&ctx->lock, flags);
		return -ENODEV;
	}

	old = ctx->fence;
	if (old && !dma_fence_test_signaled_flag(&old->base)) {
		spin_unlock_irqrestore(&ctx->lock, flags);
		return -EBUSY;
	}

	fence->ctx = ctx;
	fence->ops = ctx->ops;
	fence->release = ctx->ops->release;
	fence->last = NULL;
	fence->preempted = false;
	INIT_DELAYED_WORK(&fence->work, dma_fence_preempt_work);
	dma_fence_init(&fence->base, &dma_fence_preempt_fence_ops, NULL,
		       ctx->context, ++ctx->seqno);

	ctx->fence = fence;
	dma_fence_get(&fence->base);
	ctx->preempting = false;
	spin_unlock_irqrestore(&ctx->lock, flags);
	wake_up_all(&ctx->resume_wq);

	if (old)
		dma_fence_put(&old->base);

	return 0;
}
EXPORT_SYMBOL_GPL(dma_fence_preempt_arm);

/* Whether @fence is, or contains, a preemption fence of @ctx */
static bool dma_fence_preempt_is_own(struct dma_fence_preempt_ctx *ctx,
				     struct dma_fence *fence)
{
	struct dma_fence_unwrap iter;
	struct dma_fence *f;

	/* Yields @fence itself if it is not a container */
	dma_fence_unwrap_for_each(f, &iter, fence) {
		if (f->context == ctx->context) {
			/* the cursor holds a reference to the chain */
			dma_fence_put(iter.chain);
			return true;
		}
	}

	return false;
}

/**
 * dma_fence_preempt_publish - publish a completion fence of a context
 * @ctx: the context
 * @fence: the completion fence
 *
 * Makes @fence the last completion fence of @ctx, the one its next
 * preemption waits for before stopping the context. Drivers call this before
 * the fence becomes visible to anyone else: before adding it to a
 * &drm_syncobj, a &sync_file or a &dma_resv, or making a job depend on it.
 * A published fence cannot be withdrawn: it must signal, with an error on
 * the driver's failure paths, or the next preemption waits the timeout of
 * the context for it and kills the context.
 *
 * The completion fences of a context are those of one timeline, the fence
 * context of the first fence published, and must signal in seqno order.
 * Publishing a fence of that timeline that is not later than the last one
 * leaves the last one in place. A fence of another fence context, a
 * context without &dma_fence_preempt_ops.kill, and a fence that is or
 * contains a preemption fence of @ctx are misuse: they warn.
 *
 * Return: 0 on success, -EAGAIN if signaling was enabled on the current
 * preemption fence of @ctx and no new one was armed since (see
 * dma_fence_preempt_wait_resume()), -ENODEV if @ctx was torn down, -EINVAL
 * for a fence of another timeline or a context without a kill operation,
 * -EDEADLK for a preemption fence of @ctx. On error @fence must not be
 * handed out: on -EAGAIN the caller typically drops its locks, waits for
 * the context to be resumed and retries.
 *
 * Context: Any context, takes the context spinlock with interrupts disabled.
 */
int dma_fence_preempt_publish(struct dma_fence_preempt_ctx *ctx,
			      struct dma_fence *fence)
{
	struct dma_fence *old = NULL;
	bool other_timeline = false;
	unsigned long flags;
	u64 timeline = 0;
	int ret = 0;

	if (WARN(!ctx->ops->kill,
		 "dma_fence_preempt: publishing without a kill operation\n"))
		return -EINVAL;
	if (WARN(dma_fence_preempt_is_own(ctx, fence),
		 "dma_fence_preempt: publishing a preemption fence of the context\n"))
		return -EDEADLK;

	spin_lock_irqsave(&ctx->lock, flags);
	if (ctx->dead) {
		ret = -ENODEV;
	} else if (ctx->preempting) {
		ret = -EAGAIN;
	} else if (!ctx->last) {
		ctx->last = dma_fence_get(fence);
	} else if (ctx->last->context != fence->context) {
		other_timeline = true;
		timeline = ctx->last->context;
		ret = -EINVAL;
	} else if (dma_fence_is_later(fence, ctx->last)) {
		old = ctx->last;
		ctx->last = dma_fence_get(fence);
	}
	spin_unlock_irqrestore(&ctx->lock, flags);

	/* Outside of the lock: the console may wait */
	WARN(other_timeline,
	     "dma_fence_preempt: publishing fence context %llu on timeline %llu\n",
	     fence->context, timeline);

	dma_fence_put(old);

	return ret;
}
EXPORT_SYMBOL_GPL(dma_fence_preempt_publish);

/*
 * Publishing would not fail with -EAGAIN: resumed, never preempted, or dead;
 * *@dead tells the last one.
 */
static bool ctx_resumed(struct dma_fence_preempt_ctx *ctx, bool *dead)
{
	unsigned long flags;
	bool ret;

	spin_lock_irqsave(&ctx->lock, flags);
	*dead = ctx->dead;
	ret = !ctx->preempting || ctx->dead;
	spin_unlock_irqrestore(&ctx->lock, flags);

	return ret;
}

/**
 * dma_fence_preempt_wait_resume - wait until a context can publish again
 * @ctx: the context
 * @intr: whether a signal interrupts the wait
 * @timeout: the timeout in jiffies, or %MAX_SCHEDULE_TIMEOUT
 *
 * Waits for the context to be resumed, by dma_fence_preempt_arm(), after a
 * preemption: what a driver does when dma_fence_preempt_publish() failed
 * with -EAGAIN, before it retries. Returns at once if signaling was not
 * enabled on the current preemption fence of @ctx. Publishing may fail
 * again right after the wait, if the new preemption fence was triggered in
 * the meantime. A context that the driver does not resume, one killed by
 * its timeout say, stays preempted until the driver tears it down, which
 * ends the wait with -ENODEV: dma_fence_preempt_ctx_fini() wakes the
 * waiters up and returns once they have returned. The caller keeps @ctx
 * valid for the call, as for any other function of the class; a call that
 * starts once the teardown has begun returns -ENODEV at once.
 *
 * The resume takes the &dma_resv locks of the context's memory: the caller
 * must not hold any &dma_resv lock, nor a lock the resume work of the
 * driver takes, and must not be in the signalling path of a fence.
 *
 * Return: the remaining jiffies (at least 1) once @ctx was resumed, 0 if
 * @timeout expired first, -ERESTARTSYS if @intr and a signal arrived, or
 * -ENODEV if @ctx was torn down.
 */
long dma_fence_preempt_wait_resume(struct dma_fence_preempt_ctx *ctx,
				   bool intr, long timeout)
{
	unsigned long flags;
	bool dead;
	long ret;

	might_sleep();

	/*
	 * Keeps dma_fence_preempt_ctx_fini() from returning while we wait.
	 * Under the lock, against a teardown that already saw no one active.
	 */
	spin_lock_irqsave(&ctx->lock, flags);
	dead = ctx->dead;
	if (!dead)
		atomic_inc(&ctx->active);
	spin_unlock_irqrestore(&ctx->lock, flags);
	if (dead)
		return -ENODEV;

	/* The last evaluation of the condition, which ended the wait, sets dead */
	if (intr)
		ret = wait_event_interruptible_timeout(ctx->resume_wq,
						       ctx_resumed(ctx, &dead),
						       timeout);
	else
		ret = wait_event_timeout(ctx->resume_wq,
					 ctx_resumed(ctx, &dead), timeout);
	if (ret > 0 && dead)
		ret = -ENODEV;

	/* dma_fence_preempt_ctx_fini() may free the context from here on */
	if (atomic_dec_and_test(&ctx->active))
		wake_up_var(&ctx->active);

	return ret;
}
EXPORT_SYMBOL_GPL(dma_fence_preempt_wait_resume);

/**
 * dma_fence_is_preempt - check whether a fence is a preemption fence
 * @fence: the fence to check
 *
 * Also true once @fence has signaled: the core only detaches the operations
 * of a signaled fence that has neither &dma_fence_ops.release nor
 * &dma_fence_ops.wait, and preemption fences always have a release
 * operation, so their operations stay attached for as long as the fence
 * exists.
 *
 * Return: true if @fence is a &struct dma_fence_preempt.
 */
bool dma_fence_is_preempt(struct dma_fence *fence)
{
	/* Only compared, never dereferenced: no RCU read lock needed */
	return rcu_access_pointer(fence->ops) == &dma_fence_preempt_fence_ops;
}
EXPORT_SYMBOL_GPL(dma_fence_is_preempt);

static int __init dma_fence_preempt_init(void)
{
	dma_fence_preempt_wq = alloc_workqueue("dma_fence_preempt",
					       WQ_MEM_RECLAIM | WQ_UNBOUND, 0);
	return dma_fence_preempt_wq ? 0 : -ENOMEM;
}
subsys_initcall(dma_fence_preempt_init);
