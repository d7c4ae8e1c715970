// SPDX-License-Identifier: GPL-2.0 AND MIT
/*
 * KUnit tests of the Xe preempt fence, on mocked long-running exec queues of
 * a fake VM in preempt fence mode, on the mock device.
 *
 * The backend operations of the queues (suspend, suspend_wait,
 * suspend_wait_blocking, resume, kill and reset_status) are mocked: they log
 * their calls, and what they return is set by each case, so the cases check
 * what the preempt fence did and in which order. The VM's rebind worker is
 * replaced by a work item counting its runs.
 */

#include <kunit/test.h>

#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/irqflags.h>
#include <linux/wait_bit.h>
#include <linux/workqueue.h>

#include "xe_device.h"
#include "xe_kunit_helpers.h"

#define PF_TEST_TIMEOUT		(5 * HZ)
/*
 * Negative checks ("X does not happen"): how long a case watches for X.
 * Passing such a check only means that X did not happen within this bound.
 */
#define PF_TEST_NEGATIVE_MS	50
/* one jiffy more: a wait of N jiffies may end up to one jiffy early */
#define PF_TEST_NEGATIVE	(msecs_to_jiffies(PF_TEST_NEGATIVE_MS) + 1)
#define PF_TEST_QUEUES		2
#define PF_TEST_MAX_CALLS	8

enum pf_test_call {
	PF_NONE,
	PF_SUSPEND,
	PF_SUSPEND_WAIT,
	PF_SUSPEND_WAIT_BLOCKING,
	PF_RESUME,
	PF_KILL,
};

/* A mocked exec queue: its backend state, what its operations do, its log */
struct pf_test_queue {
	/* the fake backend state, q->guc points here */
	struct xe_guc_exec_queue guc;
	struct xe_exec_queue *q;

	/* what reset_status returns, updated as the knobs below say */
	int status;
	int suspend_err;
	/* status once suspend returned, 0 to keep it */
	int status_after_suspend;
	int wait_err;
	/* status once suspend_wait returned, 0 to keep it */
	int status_after_wait;
	int blocking_err;
	/* status once kill was called, 0 to keep it */
	int kill_status;
	/* suspend_wait returns -EAGAIN that many times first */
	int again;
	/* status once the last -EAGAIN was returned, 0 to keep it */
	int status_after_again;
	/*
	 * If set, suspend_wait signals @in_wait and waits for @gate, at most
	 * twice PF_TEST_TIMEOUT (longer than any wait of a case);
	 * @gate_timed_out if it was not opened in time.
	 */
	bool gated;
	bool gate_timed_out;
	struct completion gate;
	struct completion in_wait;

	/* the fence under test, looked at by the operations */
	struct dma_fence *fence;

	/* call log, written by whichever thread calls an operation */
	spinlock_t log_lock;	/* protects calls, num_calls and atomic */
	enum pf_test_call calls[PF_TEST_MAX_CALLS];
	int num_calls;
	/* an operation ran with interrupts disabled, e.g. under a fence lock */
	bool atomic;
	/* the fence had signaled when suspend_wait was called */
	bool signaled_in_wait;
	/* the fence had signaled when kill was called */
	bool signaled_at_kill;
};

struct pf_test {
	struct xe_device *xe;
	struct xe_vm *vm;
	struct workqueue_struct *wq;
	struct workqueue_struct *saved_ordered_wq;
	struct pf_test_queue queues[PF_TEST_QUEUES];

	/* runs of the VM's rebind worker */
	atomic_t rebinds;
	/* the rebind worker ran while a fence under test had not signaled */
	bool rebind_early;

	/* a completion fence, which Xe's queues refuse to publish */
	struct dma_fence last;
};

static struct pf_test *pf_test;

static struct pf_test_queue *pf_test_queue(struct xe_exec_queue *q)
{
	return container_of(q->guc, struct pf_test_queue, guc);
}

static void pf_test_log(struct pf_test_queue *tq, enum pf_test_call call)
{
	bool atomic = irqs_disabled();
	unsigned long flags;

	spin_lock_irqsave(&tq->log_lock, flags);
	if (atomic)
		tq->atomic = true;
	if (tq->num_calls < PF_TEST_MAX_CALLS)
		tq->calls[tq->num_calls] = call;
	tq->num_calls++;
	spin_unlock_irqrestore(&tq->log_lock, flags);
}

static int pf_test_suspend(struct xe_exec_queue *q)
{
	struct pf_test_queue *tq = pf_test_queue(q);

	pf_test_log(tq, PF_SUSPEND);
	if (tq->status_after_suspend)
		WRITE_ONCE(tq->status, tq->status_after_suspend);

	return tq->suspend_err;
}

static int pf_test_suspend_wait(struct xe_exec_queue *q)
{
	struct pf_test_queue *tq = pf_test_queue(q);

	pf_test_log(tq, PF_SUSPEND_WAIT);
	if (tq->fence && dma_fence_is_signaled(tq->fence))
		tq->signaled_in_wait = true;

	if (tq->again) {
		if (!--tq->again && tq->status_after_again)
			WRITE_ONCE(tq->status, tq->status_after_again);
		return -EAGAIN;
	}

	if (tq->gated) {
		complete(&tq->in_wait);
		if (!wait_for_completion_timeout(&tq->gate,
						 2 * PF_TEST_TIMEOUT))
			WRITE_ONCE(tq->gate_timed_out, true);
	}

	if (tq->status_after_wait)
		WRITE_ONCE(tq->status, tq->status_after_wait);

	return tq->wait_err;
}

static int pf_test_suspend_wait_blocking(struct xe_exec_queue *q)
{
	struct pf_test_queue *tq = pf_test_queue(q);

	pf_test_log(tq, PF_SUSPEND_WAIT_BLOCKING);

	return tq->blocking_err;
}

static void pf_test_resume(struct xe_exec_queue *q)
{
	pf_test_log(pf_test_queue(q), PF_RESUME);
}

static void pf_test_kill(struct xe_exec_queue *q)
{
	struct pf_test_queue *tq = pf_test_queue(q);

	pf_test_log(tq, PF_KILL);
	if (tq->fence && dma_fence_is_signaled(tq->fence))
		tq->signaled_at_kill = true;
	if (tq->kill_status)
		WRITE_ONCE(tq->status, tq->kill_status);
}

static int pf_test_reset_status(struct xe_exec_queue *q)
{
	return READ_ONCE(pf_test_queue(q)->status);
}

static const struct xe_exec_queue_ops pf_test_queue_ops = {
	.kill = pf_test_kill,
	.suspend = pf_test_suspend,
	.suspend_wait = pf_test_suspend_wait,
	.suspend_wait_blocking = pf_test_suspend_wait_blocking,
	.resume = pf_test_resume,
	.reset_status = pf_test_reset_status,
};

static void pf_test_rebind_work(struct work_struct *w)
{
	struct pf_test *t = pf_test;
	int i;

	for (i = 0; i < PF_TEST_QUEUES; i++)
		if (t->queues[i].fence &&
		    !dma_fence_is_signaled(t->queues[i].fence))
			t->rebind_early = true;

	atomic_inc(&t->rebinds);
	/* wake_up_var() needs the store ordered before it */
	smp_mb__after_atomic();
	wake_up_var(&t->rebinds);
}

static const char *pf_test_fence_name(struct dma_fence *fence)
{
	return "xe_preempt_fence_test";
}

/* Embedded in the test state, which KUnit frees */
static void pf_test_fence_release(struct dma_fence *fence)
{
}

static const struct dma_fence_ops pf_test_fence_ops = {
	.get_driver_name = pf_test_fence_name,
	.get_timeline_name = pf_test_fence_name,
	.release = pf_test_fence_release,
};

static int pf_test_init(struct kunit *test)
{
	struct pf_test *t;
	int i;

	xe_kunit_helper_xe_device_test_init(test);

	t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, t);
	t->xe = test->priv;

	t->wq = alloc_ordered_workqueue("xe-preempt-fence-test", 0);
	KUNIT_ASSERT_NOT_NULL(test, t->wq);
	t->saved_ordered_wq = t->xe->ordered_wq;
	t->xe->ordered_wq = t->wq;

	t->vm = kunit_kzalloc(test, sizeof(*t->vm), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, t->vm);
	t->vm->xe = t->xe;
	t->vm->flags = XE_VM_FLAG_LR_MODE;
	init_rwsem(&t->vm->lock);
	INIT_LIST_HEAD(&t->vm->preempt.exec_queues);
	INIT_WORK(&t->vm->preempt.rebind_work, pf_test_rebind_work);

	for (i = 0; i < PF_TEST_QUEUES; i++) {
		struct pf_test_queue *tq = &t->queues[i];
		struct xe_exec_queue *q;

		q = kunit_kzalloc(test, sizeof(*q), GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, q);
		q->ops = &pf_test_queue_ops;
		q->vm = t->vm;
		q->gt = xe_device_get_gt(t->xe, 0);
		q->guc = &tq->guc;
		tq->guc.id = i + 1;
		INIT_LIST_HEAD(&q->lr.link);
		INIT_LIST_HEAD(&q->multi_gt_list);
		spin_lock_init(&tq->log_lock);
		init_completion(&tq->gate);
		init_completion(&tq->in_wait);
		xe_preempt_fence_ctx_init(q);
		tq->q = q;
	}

	dma_fence_init(&t->last, &pf_test_fence_ops, NULL,
		       dma_fence_context_alloc(1), 1);

	pf_test = t;
	test->priv = t;

	return 0;
}

static void pf_test_exit(struct kunit *test)
{
	struct pf_test *t = test->priv;
	int i;

	/* Idempotent, cancels whatever a case left pending */
	for (i = 0; i < PF_TEST_QUEUES; i++) {
		complete_all(&t->queues[i].gate);
		xe_preempt_fence_ctx_fini(t->queues[i].q);
		/* a gated suspend_wait went on without its gate opened */
		KUNIT_EXPECT_FALSE_MSG(test,
				       READ_ONCE(t->queues[i].gate_timed_out),
				       "queue %d", i);
	}
	if (!dma_fence_is_signaled(&t->last))
		dma_fence_signal(&t->last);
	dma_fence_put(&t->last);

	destroy_workqueue(t->wq);
	t->xe->ordered_wq = t->saved_ordered_wq;
	pf_test = NULL;
}

static struct dma_fence *pf_test_create(struct kunit *test,
					struct pf_test_queue *tq)
{
	struct dma_fence *fence;

	fence = xe_preempt_fence_create(tq->q);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, fence);
	tq->fence = fence;

	return fence;
}

/* Adds the queue to the VM with @fence as its current preempt fence */
static void pf_test_add_to_vm(struct pf_test_queue *tq, struct dma_fence *fence)
{
	struct xe_vm *vm = tq->q->vm;

	list_add(&tq->q->lr.link, &vm->preempt.exec_queues);
	++vm->preempt.num_exec_queues;
	tq->q->lr.pfence = dma_fence_get(fence);
}

static int pf_test_publish(struct pf_test *t, struct pf_test_queue *tq)
{
	return dma_fence_preempt_publish(&tq->q->lr.pctx, &t->last);
}

/* The number of calls logged so far */
static int pf_test_num_calls(struct pf_test_queue *tq)
{
	int n;

	spin_lock_irq(&tq->log_lock);
	n = tq->num_calls;
	spin_unlock_irq(&tq->log_lock);
	return n;
}

static void pf_test_expect_calls(struct kunit *test, struct pf_test_queue *tq,
				 const enum pf_test_call *calls)
{
	enum pf_test_call logged[PF_TEST_MAX_CALLS];
	int i, n = 0, num_calls;

	while (n < PF_TEST_MAX_CALLS && calls[n] != PF_NONE)
		n++;

	spin_lock_irq(&tq->log_lock);
	num_calls = tq->num_calls;
	memcpy(logged, tq->calls, sizeof(logged));
	spin_unlock_irq(&tq->log_lock);

	KUNIT_EXPECT_EQ(test, num_calls, n);
	for (i = 0; i < min(n, num_calls); i++)
		KUNIT_EXPECT_EQ_MSG(test, logged[i], calls[i], "call %d", i);
}

/*
 * Triggers @fence, waits for it and for the signalling work to be done, and
 * returns the error of @fence. Tears the queue's preemption down to wait for
 * the work: the rebind worker is queued after the fence signaled.
 */
static int pf_test_preempt(struct kunit *test, struct pf_test_queue *tq,
			   struct dma_fence *fence)
{
	dma_fence_enable_signaling(fence);
	KUNIT_ASSERT_GT(test, dma_fence_wait_timeout(fence, false,
						     PF_TEST_TIMEOUT), 0);

	xe_preempt_fence_ctx_fini(tq->q);
	flush_workqueue(pf_test->wq);

	return fence->error;
}

static int pf_test_other_preempt(struct dma_fence_preempt *fence)
{
	return 0;
}

static const struct dma_fence_preempt_ops pf_test_other_driver_ops = {
	.driver_name = "other",
	.preempt = pf_test_other_preempt,
};

/* Only Xe's preempt fences are recognized, signaled or not */
static void pf_test_is_xe_preempt(struct kunit *test)
{
	struct pf_test *t = test->priv;
	struct pf_test_queue *tq = &t->queues[0];
	struct dma_fence_preempt_ctx *octx;
	struct dma_fence_preempt *other;
	const char __rcu *name;
	struct dma_fence *fence;

	fence = pf_test_create(test, tq);
	KUNIT_EXPECT_TRUE(test, xe_fence_is_xe_preempt(fence));
	KUNIT_EXPECT_TRUE(test, dma_fence_is_preempt(fence));
	KUNIT_EXPECT_FALSE(test, xe_fence_is_xe_preempt(&t->last));
	rcu_read_lock();
	name = dma_fence_driver_name(fence);
	KUNIT_EXPECT_STREQ(test, rcu_dereference(name), "xe");
	rcu_read_unlock();

	/* The preemption fence of another driver */
	octx = kunit_kzalloc(test, sizeof(*octx), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, octx);
	other = kzalloc_obj(*other);
	KUNIT_ASSERT_NOT_NULL(test, other);
	dma_fence_preempt_ctx_init(octx, &pf_test_other_driver_ops, HZ);
	KUNIT_ASSERT_EQ(test, dma_fence_preempt_arm(octx, other), 0);
	KUNIT_EXPECT_TRUE(test, dma_fence_is_preempt(&other->base));
	KUNIT_EXPECT_FALSE(test, xe_fence_is_xe_preempt(&other->base));
	dma_fence_preempt_ctx_fini(octx);
	dma_fence_put(&other->base);

	/* Still an Xe preempt fence once signaled, the queue torn down */
	xe_preempt_fence_ctx_fini(tq->q);
	KUNIT_EXPECT_TRUE(test, dma_fence_is_signaled(fence));
	KUNIT_EXPECT_TRUE(test, xe_fence_is_xe_preempt(fence));

	dma_fence_put(fence);
}

/*
 * Suspend, then wait for it, in process context rather than under the fence
 * lock, then the rebind worker once the fence signaled, with a resume owed.
 */
static void pf_test_suspend_flow(struct kunit *test)
{
	static const enum pf_test_call calls[] = {
		PF_SUSPEND, PF_SUSPEND_WAIT, PF_NONE,
	};
	struct pf_test *t = test->priv;
	struct pf_test_queue *tq = &t->queues[0];
	struct dma_fence *fence;
	bool atomic;

	fence = pf_test_create(test, tq);
	KUNIT_EXPECT_FALSE(test, READ_ONCE(tq->q->lr.suspended));

	KUNIT_EXPECT_EQ(test, pf_test_preempt(test, tq, fence), 0);
	pf_test_expect_calls(test, tq, calls);
	spin_lock_irq(&tq->log_lock);
	atomic = tq->atomic;
	spin_unlock_irq(&tq->log_lock);
	KUNIT_EXPECT_FALSE(test, atomic);
	KUNIT_EXPECT_FALSE(test, tq->signaled_in_wait);
	KUNIT_EXPECT_TRUE(test, READ_ONCE(tq->q->lr.suspended));
	KUNIT_EXPECT_EQ(test, atomic_read(&t->rebinds), 1);
	KUNIT_EXPECT_FALSE(test, t->rebind_early);

	dma_fence_put(fence);
}

/*
 * Xe's long-running queues publish no completion fence, and their context
 * has no kill operation, which publishing requires: a completion fence
 * published for one anyway is refused with a warning, and the preemption
 * goes straight to the suspend.
 */
static void pf_test_publish_refused(struct kunit *test)
{
	static const enum pf_test_call calls[] = {
		PF_SUSPEND, PF_SUSPEND_WAIT, PF_NONE,
	};
	struct pf_test *t = test->priv;
	struct pf_test_queue *tq = &t->queues[0];
	struct dma_fence *fence;

	fence = pf_test_create(test, tq);
	kunit_warning_suppress(test) {
		KUNIT_EXPECT_EQ(test, pf_test_publish(t, tq), -EINVAL);
		KUNIT_EXPECT_SUPPRESSED_WARNING_COUNT(test, 1);
	}

	KUNIT_EXPECT_EQ(test, pf_test_preempt(test, tq, fence), 0);
	KUNIT_EXPECT_FALSE(test, test_bit(DMA_FENCE_FLAG_ENABLE_SIGNAL_BIT,
					  &t->last.flags));
	pf_test_expect_calls(test, tq, calls);

	dma_fence_put(fence);
}

/* The next fence is on the same fence context, with a later seqno */
static void pf_test_rearm(struct kunit *test)
{
	static const enum pf_test_call calls[] = {
		PF_SUSPEND, PF_SUSPEND_WAIT, PF_SUSPEND, PF_SUSPEND_WAIT, PF_NONE,
	};
	struct pf_test *t = test->priv;
	struct pf_test_queue *tq = &t->queues[0];
	struct dma_fence *first, *second;

	first = pf_test_create(test, tq);
	dma_fence_enable_signaling(first);
	KUNIT_ASSERT_GT(test, dma_fence_wait_timeout(first, false,
						     PF_TEST_TIMEOUT), 0);
	KUNIT_EXPECT_EQ(test, first->error, 0);
	/*
	 * The first preemption queues the rebind worker after its fence has
	 * signaled. Let that run first: queued again while still pending,
	 * the worker would run once for both preemptions (seen on SMP).
	 */
	KUNIT_ASSERT_GT(test, wait_var_event_timeout(&t->rebinds,
						     atomic_read(&t->rebinds) == 1,
						     PF_TEST_TIMEOUT), 0);

	second = pf_test_create(test, tq);
	KUNIT_EXPECT_EQ(test, first->context, second->context);
	KUNIT_EXPECT_TRUE(test, dma_fence_is_later(second, first));

	KUNIT_EXPECT_EQ(test, pf_test_preempt(test, tq, second), 0);
	pf_test_expect_calls(test, tq, calls);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->rebinds), 2);

	dma_fence_put(second);
	dma_fence_put(first);
}

/*
 * The rebind worker resumes a queue its preempt fence suspended only with
 * the next preempt fence armed: a queue left without one (re-arming failed)
 * is killed, still suspended, with a warning. A queue reset meanwhile stays
 * suspended as well, and a queue is resumed once per suspend. (The mock
 * backend only logs the kill, so the queue can still be resumed after.)
 */
static void pf_test_resume_needs_fence(struct kunit *test)
{
	static const enum pf_test_call calls[] = {
		PF_SUSPEND, PF_SUSPEND_WAIT, PF_KILL, PF_RESUME, PF_NONE,
	};
	static const enum pf_test_call reset_calls[] = {
		PF_SUSPEND, PF_SUSPEND_WAIT, PF_NONE,
	};
	struct pf_test *t = test->priv;
	struct pf_test_queue *tq = &t->queues[0], *reset = &t->queues[1];
	struct dma_fence *first, *second, *rfirst, *rsecond;

	/*
	 * One preemption after the other, each followed by its run of the
	 * rebind worker, which reads the fences under test: none runs once
	 * the test arms the next fences.
	 */
	first = pf_test_create(test, tq);
	dma_fence_enable_signaling(first);
	KUNIT_ASSERT_GT(test, dma_fence_wait_timeout(first, false,
						     PF_TEST_TIMEOUT), 0);
	KUNIT_ASSERT_GT(test, wait_var_event_timeout(&t->rebinds,
						     atomic_read(&t->rebinds) == 1,
						     PF_TEST_TIMEOUT), 0);
	rfirst = pf_test_create(test, reset);
	dma_fence_enable_signaling(rfirst);
	KUNIT_ASSERT_GT(test, dma_fence_wait_timeout(rfirst, false,
						     PF_TEST_TIMEOUT), 0);
	KUNIT_ASSERT_GT(test, wait_var_event_timeout(&t->rebinds,
						     atomic_read(&t->rebinds) == 2,
						     PF_TEST_TIMEOUT), 0);
	KUNIT_ASSERT_TRUE(test, READ_ONCE(tq->q->lr.suspended));
	KUNIT_ASSERT_TRUE(test, READ_ONCE(reset->q->lr.suspended));

	/* re-arming failed: no preempt fence, killed rather than resumed */
	KUNIT_ASSERT_NULL(test, tq->q->lr.pfence);
	kunit_warning_suppress(test) {
		KUNIT_EXPECT_FALSE(test, xe_preempt_fence_resume(tq->q));
		KUNIT_EXPECT_SUPPRESSED_WARNING_COUNT(test, 1);
	}
	KUNIT_EXPECT_TRUE(test, READ_ONCE(tq->q->lr.suspended));

	/* armed: resumed, once */
	second = pf_test_create(test, tq);
	tq->q->lr.pfence = second;
	KUNIT_EXPECT_TRUE(test, xe_preempt_fence_resume(tq->q));
	KUNIT_EXPECT_FALSE(test, READ_ONCE(tq->q->lr.suspended));
	KUNIT_EXPECT_TRUE(test, xe_preempt_fence_resume(tq->q));
	pf_test_expect_calls(test, tq, calls);

	/* reset after the suspend: armed, but not resumed */
	WRITE_ONCE(reset->status, -EIO);
	rsecond = pf_test_create(test, reset);
	reset->q->lr.pfence = rsecond;
	KUNIT_EXPECT_TRUE(test, xe_preempt_fence_resume(reset->q));
	KUNIT_EXPECT_TRUE(test, READ_ONCE(reset->q->lr.suspended));
	pf_test_expect_calls(test, reset, reset_calls);

	tq->q->lr.pfence = NULL;
	reset->q->lr.pfence = NULL;
	dma_fence_put(rsecond);
	dma_fence_put(rfirst);
	dma_fence_put(second);
	dma_fence_put(first);
}

struct pf_test_error {
	const char *name;
	int status;
	int suspend_err;
	int status_after_suspend;
	int wait_err;
	int status_after_wait;
	int blocking_err;
	/* expected */
	int error;
	bool suspended;
	enum pf_test_call calls[PF_TEST_MAX_CALLS];
};

static const struct pf_test_error pf_test_errors[] = {
	{
		.name = "killed or banned",
		.status = -ECANCELED,
		.error = -ECANCELED,
	}, {
		.name = "reset or wedged",
		.status = -EIO,
		.error = -EIO,
	}, {
		.name = "suspend failed, queue killed",
		.suspend_err = -EINVAL,
		.status_after_suspend = -ECANCELED,
		.error = -ECANCELED,
		.calls = { PF_SUSPEND },
	}, {
		.name = "suspend failed, queue still usable, killed",
		.suspend_err = -ENOMEM,
		.error = -ENOMEM,
		.calls = { PF_SUSPEND, PF_KILL },
	}, {
		.name = "killed after suspend",
		.status_after_suspend = -ECANCELED,
		.error = -ECANCELED,
		.suspended = true,
		.calls = { PF_SUSPEND },
	}, {
		.name = "suspend timed out, queue banned",
		.wait_err = -ETIME,
		.status_after_wait = -ECANCELED,
		.error = -ETIME,
		.suspended = true,
		.calls = { PF_SUSPEND, PF_SUSPEND_WAIT },
	}, {
		.name = "killed during the suspend wait",
		.status_after_wait = -ECANCELED,
		.error = -ECANCELED,
		.suspended = true,
		.calls = { PF_SUSPEND, PF_SUSPEND_WAIT },
	}, {
		.name = "wait interrupted",
		.wait_err = -ERESTARTSYS,
		.error = 0,
		.suspended = true,
		.calls = { PF_SUSPEND, PF_SUSPEND_WAIT,
			   PF_SUSPEND_WAIT_BLOCKING },
	}, {
		.name = "wait interrupted, then timed out, killed",
		.wait_err = -ERESTARTSYS,
		.blocking_err = -ETIME,
		.error = -ETIME,
		.suspended = true,
		.calls = { PF_SUSPEND, PF_SUSPEND_WAIT,
			   PF_SUSPEND_WAIT_BLOCKING, PF_KILL },
	},
};

static void pf_test_error_desc(const struct pf_test_error *p, char *desc)
{
	strscpy(desc, p->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(pf_test_error, pf_test_errors, pf_test_error_desc);

/*
 * Errors: the fence reports why the queue was not suspended, -ETIME for a
 * timeout even once the backend banned the queue, -ECANCELED for a queue
 * killed while its suspend was awaited, only a successful suspend is paired
 * with a resume, and the rebind worker always learns about it. A queue still
 * usable after a failure is killed.
 */
static void pf_test_error_mapping(struct kunit *test)
{
	const struct pf_test_error *p = test->param_value;
	struct pf_test *t = test->priv;
	struct pf_test_queue *tq = &t->queues[0];
	struct dma_fence *fence;

	tq->status = p->status;
	tq->suspend_err = p->suspend_err;
	tq->status_after_suspend = p->status_after_suspend;
	tq->wait_err = p->wait_err;
	tq->status_after_wait = p->status_after_wait;
	tq->blocking_err = p->blocking_err;

	fence = pf_test_create(test, tq);

	KUNIT_EXPECT_EQ(test, pf_test_preempt(test, tq, fence), p->error);
	pf_test_expect_calls(test, tq, p->calls);
	KUNIT_EXPECT_EQ(test, READ_ONCE(tq->q->lr.suspended), p->suspended);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->rebinds), 1);

	dma_fence_put(fence);
}

/*
 * VF recovery: suspend_wait asks to be called again. The fence stays
 * unsignaled, the wait is retried without suspending the queue again.
 */
static void pf_test_again(struct kunit *test)
{
	static const enum pf_test_call calls[] = {
		PF_SUSPEND, PF_SUSPEND_WAIT, PF_SUSPEND_WAIT, PF_SUSPEND_WAIT,
		PF_SUSPEND_WAIT, PF_NONE,
	};
	struct pf_test *t = test->priv;
	struct pf_test_queue *tq = &t->queues[0];
	struct dma_fence *fence;

	tq->again = 3;
	fence = pf_test_create(test, tq);

	KUNIT_EXPECT_EQ(test, pf_test_preempt(test, tq, fence), 0);
	pf_test_expect_calls(test, tq, calls);
	KUNIT_EXPECT_FALSE(test, tq->signaled_in_wait);
	KUNIT_EXPECT_TRUE(test, READ_ONCE(tq->q->lr.suspended));
	KUNIT_EXPECT_EQ(test, atomic_read(&t->rebinds), 1);

	dma_fence_put(fence);
}

/* A queue killed during VF recovery is not waited for any more */
static void pf_test_again_killed(struct kunit *test)
{
	static const enum pf_test_call calls[] = {
		PF_SUSPEND, PF_SUSPEND_WAIT, PF_NONE,
	};
	struct pf_test *t = test->priv;
	struct pf_test_queue *tq = &t->queues[0];
	struct dma_fence *fence;

	tq->again = 1;
	tq->status_after_again = -ECANCELED;
	fence = pf_test_create(test, tq);

	KUNIT_EXPECT_EQ(test, pf_test_preempt(test, tq, fence), -ECANCELED);
	pf_test_expect_calls(test, tq, calls);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->rebinds), 1);

	dma_fence_put(fence);
}

/*
 * A queue stuck in its suspend wait does not hold up another queue: the
 * preemption of the other queue completes while the first one is provably
 * in progress (inside its gated suspend wait), which is the overlap this
 * case requires. Every wait is bounded by PF_TEST_TIMEOUT.
 */
static void pf_test_concurrent(struct kunit *test)
{
	struct pf_test *t = test->priv;
	struct pf_test_queue *stuck = &t->queues[0];
	struct pf_test_queue *other = &t->queues[1];
	struct dma_fence *fence0, *fence1;

	stuck->gated = true;
	fence0 = pf_test_create(test, stuck);
	fence1 = pf_test_create(test, other);
	KUNIT_EXPECT_NE(test, fence0->context, fence1->context);

	dma_fence_enable_signaling(fence0);
	KUNIT_ASSERT_GT(test, wait_for_completion_timeout(&stuck->in_wait,
							  PF_TEST_TIMEOUT), 0);

	dma_fence_enable_signaling(fence1);
	KUNIT_EXPECT_GT(test, dma_fence_wait_timeout(fence1, false,
						     PF_TEST_TIMEOUT), 0);
	KUNIT_EXPECT_FALSE(test, dma_fence_is_signaled(fence0));

	complete(&stuck->gate);
	KUNIT_EXPECT_EQ(test, pf_test_preempt(test, stuck, fence0), 0);
	/* the gate, not its timeout, let the stuck queue go */
	KUNIT_EXPECT_FALSE(test, READ_ONCE(stuck->gate_timed_out));
	KUNIT_EXPECT_EQ(test, pf_test_preempt(test, other, fence1), 0);

	dma_fence_put(fence1);
	dma_fence_put(fence0);
}

/*
 * Killing a queue takes it off its VM first, which preempts it: its pending
 * fence signals once the queue was suspended, before the kill, instead of
 * being cancelled while the queue may still run. A queue killed already,
 * by another path, is not suspended and its fence says so. The queue's
 * context is torn down, killing again is harmless and the fence outlives
 * the context.
 */
static void pf_test_kill_preempts(struct kunit *test)
{
	static const enum pf_test_call calls[] = {
		PF_SUSPEND, PF_SUSPEND_WAIT, PF_KILL, PF_NONE,
	};
	static const enum pf_test_call killed_calls[] = {
		PF_KILL, PF_NONE,
	};
	struct pf_test *t = test->priv;
	struct pf_test_queue *tq = &t->queues[0], *killed = &t->queues[1];
	struct dma_fence *fence, *kfence;

	fence = pf_test_create(test, tq);
	pf_test_add_to_vm(tq, fence);

	xe_exec_queue_kill(tq->q);
	KUNIT_EXPECT_TRUE(test, dma_fence_is_signaled(fence));
	KUNIT_EXPECT_EQ(test, fence->error, 0);
	pf_test_expect_calls(test, tq, calls);
	KUNIT_EXPECT_TRUE(test, tq->signaled_at_kill);
	KUNIT_EXPECT_NULL(test, tq->q->lr.pfence);
	KUNIT_EXPECT_TRUE(test, list_empty(&t->vm->preempt.exec_queues));
	KUNIT_EXPECT_EQ(test, t->vm->preempt.num_exec_queues, 0);
	/* The queue's context is torn down */
	KUNIT_EXPECT_EQ(test,
			dma_fence_preempt_wait_resume(&tq->q->lr.pctx, false, 0),
			-ENODEV);
	/* the rebind worker reads the fences under test: let it run first */
	flush_workqueue(t->wq);

	/* Killed by another path before: not suspended, -ECANCELED */
	WRITE_ONCE(killed->status, -ECANCELED);
	kfence = pf_test_create(test, killed);
	pf_test_add_to_vm(killed, kfence);
	xe_exec_queue_kill(killed->q);
	KUNIT_EXPECT_TRUE(test, dma_fence_is_signaled(kfence));
	KUNIT_EXPECT_EQ(test, kfence->error, -ECANCELED);
	pf_test_expect_calls(test, killed, killed_calls);
	flush_workqueue(t->wq);
	KUNIT_EXPECT_GE(test, atomic_read(&t->rebinds), 1);
	KUNIT_EXPECT_FALSE(test, t->rebind_early);

	/* May be called again */
	xe_exec_queue_kill(tq->q);
	KUNIT_EXPECT_EQ(test, pf_test_num_calls(tq), 4);

	/* The fence outlives the queue's context */
	KUNIT_EXPECT_TRUE(test, xe_fence_is_xe_preempt(fence));
	dma_fence_put(kfence);
	dma_fence_put(fence);
}

/*
 * A multi-queue group secondary is killed before it leaves its VM: its
 * suspend would suspend its whole group until it is freed. Its pending
 * fence then reports the kill, without a suspend.
 */
static void pf_test_kill_secondary(struct kunit *test)
{
	static const enum pf_test_call calls[] = {
		PF_KILL, PF_NONE,
	};
	struct pf_test *t = test->priv;
	struct pf_test_queue *tq = &t->queues[0];
	struct dma_fence *fence;

	tq->q->multi_queue.valid = true;
	tq->q->multi_queue.is_primary = false;
	tq->kill_status = -ECANCELED;
	fence = pf_test_create(test, tq);
	pf_test_add_to_vm(tq, fence);

	xe_exec_queue_kill(tq->q);
	KUNIT_EXPECT_TRUE(test, dma_fence_is_signaled(fence));
	KUNIT_EXPECT_EQ(test, fence->error, -ECANCELED);
	pf_test_expect_calls(test, tq, calls);
	KUNIT_EXPECT_FALSE(test, tq->signaled_at_kill);
	flush_workqueue(t->wq);

	tq->q->multi_queue.valid = false;
	dma_fence_put(fence);
}

struct pf_test_remover {
	struct work_struct work;
	struct xe_vm *vm;
	struct xe_exec_queue *q;
	struct completion started;
	struct completion done;
};

static void pf_test_remove_work(struct work_struct *w)
{
	struct pf_test_remover *r = container_of(w, typeof(*r), work);

	complete(&r->started);
	xe_vm_remove_compute_exec_queue(r->vm, r->q);
	complete(&r->done);
}

/*
 * Removing the queue from the VM waits for the preemption in progress, after
 * which no preempt fence uses the queue and the queue may be freed.
 */
static void pf_test_remove_waits(struct kunit *test)
{
	static const enum pf_test_call calls[] = {
		PF_SUSPEND, PF_SUSPEND_WAIT, PF_NONE,
	};
	struct pf_test *t = test->priv;
	struct pf_test_queue *tq = &t->queues[0];
	struct pf_test_remover remover = {
		.vm = t->vm,
		.q = tq->q,
	};
	struct dma_fence *fence;

	tq->gated = true;
	fence = pf_test_create(test, tq);
	pf_test_add_to_vm(tq, fence);

	dma_fence_enable_signaling(fence);
	KUNIT_ASSERT_GT(test, wait_for_completion_timeout(&tq->in_wait,
							  PF_TEST_TIMEOUT), 0);

	INIT_WORK_ONSTACK(&remover.work, pf_test_remove_work);
	init_completion(&remover.started);
	init_completion(&remover.done);
	queue_work(system_dfl_wq, &remover.work);
	KUNIT_EXPECT_GT(test, wait_for_completion_timeout(&remover.started,
							  PF_TEST_TIMEOUT), 0);
	/* Negative check: the removal waits for the preemption, for a bound */
	KUNIT_EXPECT_EQ(test, wait_for_completion_timeout(&remover.done,
							  PF_TEST_NEGATIVE),
			0);
	KUNIT_EXPECT_FALSE(test, completion_done(&remover.done));
	KUNIT_EXPECT_FALSE(test, dma_fence_is_signaled(fence));

	complete(&tq->gate);
	KUNIT_EXPECT_GT(test, wait_for_completion_timeout(&remover.done,
							  PF_TEST_TIMEOUT), 0);
	KUNIT_EXPECT_FALSE(test, READ_ONCE(tq->gate_timed_out));
	flush_work(&remover.work);
	destroy_work_on_stack(&remover.work);

	/* The preemption completed rather than being cancelled */
	KUNIT_EXPECT_TRUE(test, dma_fence_is_signaled(fence));
	KUNIT_EXPECT_EQ(test, fence->error, 0);
	pf_test_expect_calls(test, tq, calls);
	KUNIT_EXPECT_NULL(test, tq->q->lr.pfence);

	dma_fence_put(fence);
}

static struct kunit_case xe_preempt_fence_tests[] = {
	KUNIT_CASE(pf_test_is_xe_preempt),
	KUNIT_CASE(pf_test_suspend_flow),
	KUNIT_CASE(pf_test_publish_refused),
	KUNIT_CASE(pf_test_rearm),
	KUNIT_CASE(pf_test_resume_needs_fence),
	KUNIT_CASE_PARAM(pf_test_error_mapping, pf_test_error_gen_params),
	KUNIT_CASE(pf_test_again),
	KUNIT_CASE(pf_test_again_killed),
	KUNIT_CASE(pf_test_concurrent),
	KUNIT_CASE(pf_test_kill_preempts),
	KUNIT_CASE(pf_test_kill_secondary),
	KUNIT_CASE(pf_test_remove_waits),
	{}
};

static struct kunit_suite xe_preempt_fence_test_suite = {
	.name = "xe_preempt_fence",
	.init = pf_test_init,
	.exit = pf_test_exit,
	.test_cases = xe_preempt_fence_tests,
};

kunit_test_suite(xe_preempt_fence_test_suite);
