// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for struct dma_fence_preempt.
 *
 * A mock user-queue driver: each queue has a fake ring whose jobs are
 * completion fences, signaled by the test or by a "hardware" work item, a
 * preemptible context and a preemption fence embedded in a driver structure.
 * The operations and the fences record events in a log, which is how the
 * tests check the order in which things happen.
 */

#include <kunit/test-bug.h>
#include <kunit/test.h>
#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/dma-fence-array.h>
#include <linux/dma-fence-chain.h>
#include <linux/dma-fence-preempt.h>
#include <linux/dma-resv.h>
#include <linux/iopoll.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/wait_bit.h>
#include <linux/workqueue.h>
#include <uapi/linux/sched/types.h>

#define TEST_TIMEOUT		(5 * HZ)
#define PREEMPT_TIMEOUT		(2 * HZ)
#define JOB_DURATION_US		20
/*
 * Negative checks ("X does not happen"): how long a test watches for X, so
 * that a wrong implementation gets the chance to do it. Passing such a check
 * only means that X did not happen within this bound.
 */
#define NEGATIVE_CHECK_MS	20
/* one jiffy more: a wait of N jiffies may end up to one jiffy early */
#define NEGATIVE_CHECK		(msecs_to_jiffies(NEGATIVE_CHECK_MS) + 1)

/* Events, or-ed with the queue id << 8 and, for jobs, the seqno */
#define EV_JOB_ENABLE		0x010000
#define EV_JOB_SIGNAL		0x020000
#define EV_PREEMPT		0x100000
#define EV_WAIT			0x200000
#define EV_SIGNALED		0x300000
#define EV_FINISHED		0x400000
#define EV_KILL			0x500000

#define MOCK_MAGIC		0x70726565UL

/* What the preempt_wait operation of a mock queue does */
enum mock_wait {
	WAIT_DONE,	/* the queue stopped at once */
	WAIT_TICK,	/* the queue stops after a tick */
	WAIT_HANG,	/* the queue never stops: time out */
	WAIT_GATE,	/* wait for the test to open the gate */
	WAIT_BARRIER,	/* wait for every queue of a barrier to be waiting */
	WAIT_AGAIN,	/* ask to be called again q->again times, then done */
};

struct mock_barrier {
	atomic_t waiting;
	int count;
};

struct mock_queue {
	struct dma_fence_preempt_ctx pctx;
	int id;

	/* the log of events */
	spinlock_t log_lock;
	unsigned int log_count;
	int log[32];

	/* the ring: published jobs that have not signaled yet, in order */
	spinlock_t ring_lock;
	struct list_head ring;
	u64 signaled_seqno;
	atomic_t order_violations;
	struct work_struct hw_work;
	bool hw_auto;
	wait_queue_head_t submit_wq;

	/* submission: serializes job creation, publishing and resume */
	struct mutex submit_lock;
	u64 job_context;
	u64 job_seqno;
	bool stopped;
	atomic_t violations;

	/* the current preemption fence */
	spinlock_t cur_lock;
	struct mock_pfence *cur;

	/* behaviour of the operations */
	int preempt_error;
	enum mock_wait wait;
	atomic_t again;
	struct completion gate;
	struct completion wait_entered;
	struct mock_barrier *barrier;
	bool auto_resume;
	struct work_struct resume_work;
	atomic_t resumes;
	atomic_t resume_errors;
	struct completion resumed;

	atomic_t preempt_calls;
	atomic_t kill_calls;
	atomic_t wait_calls;
	atomic_t finished_calls;
	struct completion finished;
};

struct mock_job {
	struct dma_fence base;
	struct list_head link;
	struct mock_queue *q;
	struct completion enabled;
};

struct mock_pfence {
	unsigned long magic;
	struct dma_fence_preempt base;
};

/* Not per test: fences may be released after the test that made them */
static atomic_t mock_pfences_alive;
static atomic_t mock_jobs_alive;

static void mock_log(struct mock_queue *q, int event)
{
	unsigned long flags;

	spin_lock_irqsave(&q->log_lock, flags);
	if (q->log_count < ARRAY_SIZE(q->log))
		q->log[q->log_count++] = event | (q->id << 8);
	spin_unlock_irqrestore(&q->log_lock, flags);
}

static void expect_log(struct kunit *test, struct mock_queue *q,
		       const int *events, unsigned int count)
{
	unsigned int i;

	KUNIT_ASSERT_EQ(test, q->log_count, count);
	for (i = 0; i < count; i++)
		KUNIT_EXPECT_EQ_MSG(test, q->log[i], events[i] | (q->id << 8),
				    "event %u", i);
}

/* Jobs: the completion fences of a mock queue */

static struct mock_job *to_mock_job(struct dma_fence *f)
{
	return container_of(f, struct mock_job, base);
}

static const char *mock_job_name(struct dma_fence *f)
{
	return "mock-job";
}

static bool mock_job_enable_signaling(struct dma_fence *f)
{
	struct mock_job *job = to_mock_job(f);

	mock_log(job->q, EV_JOB_ENABLE | (int)f->seqno);
	complete_all(&job->enabled);
	return true;
}

static void mock_job_release(struct dma_fence *f)
{
	atomic_dec(&mock_jobs_alive);
	dma_fence_free(f);
}

static const struct dma_fence_ops mock_job_ops = {
	.get_driver_name = mock_job_name,
	.get_timeline_name = mock_job_name,
	.enable_signaling = mock_job_enable_signaling,
	.release = mock_job_release,
};

static struct mock_job *mock_job_alloc(struct mock_queue *q, u64 seqno)
{
	struct mock_job *job;

	job = kzalloc_obj(*job);
	if (!job)
		return NULL;

	INIT_LIST_HEAD(&job->link);
	init_completion(&job->enabled);
	job->q = q;
	dma_fence_init(&job->base, &mock_job_ops, NULL, q->job_context, seqno);
	atomic_inc(&mock_jobs_alive);
	return job;
}

static void mock_job_signal(struct mock_job *job, int error)
{
	struct mock_queue *q = job->q;
	unsigned long flags;
	bool on_ring;

	spin_lock_irqsave(&q->ring_lock, flags);
	on_ring = !list_empty(&job->link);
	list_del_init(&job->link);
	if (job->base.seqno != q->signaled_seqno + 1)
		atomic_inc(&q->order_violations);
	q->signaled_seqno = job->base.seqno;
	spin_unlock_irqrestore(&q->ring_lock, flags);

	mock_log(q, EV_JOB_SIGNAL | (int)job->base.seqno);
	if (error)
		dma_fence_set_error(&job->base, error);
	dma_fence_signal(&job->base);

	/* the reference of the ring */
	if (on_ring)
		dma_fence_put(&job->base);
}

/*
 * Submits a job: publishes its completion fence, then puts it on the ring.
 * Returns the job with a reference for the caller, or an ERR_PTR().
 */
static struct mock_job *mock_submit(struct mock_queue *q)
{
	struct mock_job *job;
	int err;

	mutex_lock(&q->submit_lock);
	job = mock_job_alloc(q, q->job_seqno + 1);
	if (!job) {
		mutex_unlock(&q->submit_lock);
		return ERR_PTR(-ENOMEM);
	}

	err = dma_fence_preempt_publish(&q->pctx, &job->base);
	if (err) {
		mutex_unlock(&q->submit_lock);
		dma_fence_put(&job->base);
		return ERR_PTR(err);
	}

	/* the preemption must not have stopped the queue after that */
	if (READ_ONCE(q->stopped))
		atomic_inc(&q->violations);

	q->job_seqno++;
	spin_lock_irq(&q->ring_lock);
	list_add_tail(&job->link, &q->ring);
	dma_fence_get(&job->base);
	spin_unlock_irq(&q->ring_lock);
	mutex_unlock(&q->submit_lock);

	if (q->hw_auto)
		queue_work(system_dfl_wq, &q->hw_work);
	wake_up_all(&q->submit_wq);

	return job;
}

/* The hardware: executes the jobs of the ring in order */
static void mock_hw_work(struct work_struct *work)
{
	struct mock_queue *q = container_of(work, typeof(*q), hw_work);
	struct mock_job *job;

	for (;;) {
		spin_lock_irq(&q->ring_lock);
		job = list_first_entry_or_null(&q->ring, struct mock_job, link);
		if (job)
			dma_fence_get(&job->base);
		spin_unlock_irq(&q->ring_lock);
		if (!job)
			break;

		/*
		 * Each job takes a while, so that the ring is rarely empty
		 * when the preemption starts. No sleep: that would be a
		 * jiffy on UML without high resolution timers.
		 */
		udelay(JOB_DURATION_US);
		cond_resched();
		mock_job_signal(job, 0);
		dma_fence_put(&job->base);
	}
}

/* Preemption fences of the mock queues */

static struct mock_queue *to_mock_queue(struct dma_fence_preempt *pfence)
{
	return container_of(pfence->ctx, struct mock_queue, pctx);
}

static int mock_preempt(struct dma_fence_preempt *pfence)
{
	struct mock_queue *q = to_mock_queue(pfence);

	mock_log(q, EV_PREEMPT);
	atomic_inc(&q->preempt_calls);
	/* wake_up_var() needs the store ordered before it */
	smp_mb__after_atomic();
	wake_up_var(&q->preempt_calls);

	/* every published job must have completed */
	spin_lock_irq(&q->ring_lock);
	if (!list_empty(&q->ring))
		atomic_inc(&q->violations);
	spin_unlock_irq(&q->ring_lock);
	WRITE_ONCE(q->stopped, true);

	return q->preempt_error;
}

static int mock_preempt_wait(struct dma_fence_preempt *pfence, long timeout)
{
	struct mock_queue *q = to_mock_queue(pfence);
	struct mock_barrier *barrier = q->barrier;

	mock_log(q, EV_WAIT);
	atomic_inc(&q->wait_calls);
	complete_all(&q->wait_entered);

	switch (q->wait) {
	case WAIT_DONE:
		return 0;
	case WAIT_TICK:
		/*
		 * Load, not ordering: widens the window in which publishers
		 * run into a preemption in progress.
		 */
		schedule_timeout_uninterruptible(1);
		return 0;
	case WAIT_HANG:
		/* A queue that never stops: use up the whole timeout */
		schedule_timeout_uninterruptible(timeout);
		return -ETIME;
	case WAIT_GATE:
		if (!wait_for_completion_timeout(&q->gate, timeout))
			return -ETIME;
		return 0;
	case WAIT_BARRIER:
		atomic_inc(&barrier->waiting);
		/* wake_up_var() needs the store ordered before it */
		smp_mb__after_atomic();
		wake_up_var(&barrier->waiting);
		if (!wait_var_event_timeout(&barrier->waiting,
					    atomic_read(&barrier->waiting) >=
					    barrier->count, timeout))
			return -ETIME;
		return 0;
	case WAIT_AGAIN:
		return atomic_dec_if_positive(&q->again) >= 0 ? -EAGAIN : 0;
	}

	return -EINVAL;
}

/*
 * Kills the ring: every job on it signals with -ECANCELED, in order. What a
 * driver does when it bans a queue.
 */
static void mock_ring_kill(struct mock_queue *q)
{
	struct mock_job *job;

	for (;;) {
		spin_lock_irq(&q->ring_lock);
		job = list_first_entry_or_null(&q->ring, struct mock_job, link);
		if (job)
			dma_fence_get(&job->base);
		spin_unlock_irq(&q->ring_lock);
		if (!job)
			break;
		mock_job_signal(job, -ECANCELED);
		dma_fence_put(&job->base);
	}
}

static void mock_kill(struct dma_fence_preempt *pfence)
{
	struct mock_queue *q = to_mock_queue(pfence);

	mock_log(q, EV_KILL);
	atomic_inc(&q->kill_calls);
	WRITE_ONCE(q->stopped, true);
	mock_ring_kill(q);
}

static void mock_preempt_finished(struct dma_fence_preempt *pfence)
{
	struct mock_queue *q = to_mock_queue(pfence);

	mock_log(q, EV_FINISHED);
	atomic_inc(&q->finished_calls);
	complete_all(&q->finished);
	if (q->auto_resume)
		queue_work(system_dfl_wq, &q->resume_work);
}

static void mock_pfence_release(struct dma_fence_preempt *pfence)
{
	struct mock_pfence *mp = container_of(pfence, typeof(*mp), base);

	WARN_ON(mp->magic != MOCK_MAGIC);
	if (atomic_dec_and_test(&mock_pfences_alive))
		wake_up_var(&mock_pfences_alive);
	kfree_rcu(mp, base.base.rcu);
}

static const struct dma_fence_preempt_ops mock_preempt_ops = {
	.driver_name = "mock-user-queue",
	.preempt = mock_preempt,
	.preempt_wait = mock_preempt_wait,
	.preempt_finished = mock_preempt_finished,
	.kill = mock_kill,
	.release = mock_pfence_release,
};

static struct mock_pfence *mock_pfence_alloc(void)
{
	struct mock_pfence *mp;

	mp = kzalloc_obj(*mp);
	if (mp)
		mp->magic = MOCK_MAGIC;
	return mp;
}

/* Arms a new preemption fence; the queue keeps a reference in q->cur. */
static int mock_arm(struct mock_queue *q)
{
	struct mock_pfence *mp, *old;
	int err;

	mp = mock_pfence_alloc();
	if (!mp)
		return -ENOMEM;

	err = dma_fence_preempt_arm(&q->pctx, &mp->base);
	if (err) {
		kfree(mp);
		return err;
	}
	atomic_inc(&mock_pfences_alive);

	spin_lock_irq(&q->cur_lock);
	old = q->cur;
	q->cur = mp;
	spin_unlock_irq(&q->cur_lock);
	if (old)
		dma_fence_put(&old->base.base);

	return 0;
}

static struct dma_fence_preempt *mock_get_cur(struct mock_queue *q)
{
	struct dma_fence_preempt *pfence = NULL;

	spin_lock_irq(&q->cur_lock);
	if (q->cur) {
		pfence = &q->cur->base;
		dma_fence_get(&pfence->base);
	}
	spin_unlock_irq(&q->cur_lock);
	return pfence;
}

/* What the resume work of a driver does: re-arm, then restart the queue. */
static int mock_resume(struct mock_queue *q)
{
	int err;

	mutex_lock(&q->submit_lock);
	err = mock_arm(q);
	if (!err)
		WRITE_ONCE(q->stopped, false);
	mutex_unlock(&q->submit_lock);

	return err;
}

static void mock_resume_work(struct work_struct *work)
{
	struct mock_queue *q = container_of(work, typeof(*q), resume_work);
	int err = mock_resume(q);

	/* -ENODEV: the queue is being torn down */
	if (err && err != -ENODEV)
		atomic_inc(&q->resume_errors);
	atomic_inc(&q->resumes);
	complete_all(&q->resumed);
}

static struct mock_queue *mock_queue_create(struct kunit *test, int id,
					    long timeout)
{
	struct mock_queue *q;

	/* Not test managed: freed by mock_queue_destroy() */
	q = kzalloc_obj(*q);
	KUNIT_ASSERT_NOT_NULL(test, q);

	q->id = id;
	spin_lock_init(&q->log_lock);
	spin_lock_init(&q->ring_lock);
	INIT_LIST_HEAD(&q->ring);
	INIT_WORK(&q->hw_work, mock_hw_work);
	init_waitqueue_head(&q->submit_wq);
	mutex_init(&q->submit_lock);
	q->job_context = dma_fence_context_alloc(1);
	spin_lock_init(&q->cur_lock);
	q->wait = WAIT_DONE;
	init_completion(&q->gate);
	init_completion(&q->wait_entered);
	INIT_WORK(&q->resume_work, mock_resume_work);
	init_completion(&q->resumed);
	init_completion(&q->finished);
	dma_fence_preempt_ctx_init(&q->pctx, &mock_preempt_ops, timeout);
	return q;
}

/*
 * Tears a queue down the way a driver must: kill the ring, signaling every
 * job with an error, then tear the context down, then stop resuming.
 */
static void mock_queue_kill(struct mock_queue *q)
{
	cancel_work_sync(&q->hw_work);
	mock_ring_kill(q);
	dma_fence_preempt_ctx_fini(&q->pctx);
	cancel_work_sync(&q->resume_work);
}

static void mock_queue_free(struct mock_queue *q)
{
	if (q->cur)
		dma_fence_put(&q->cur->base.base);
	mutex_destroy(&q->submit_lock);
	kfree(q);
}

static void mock_queue_destroy(struct mock_queue *q)
{
	mock_queue_kill(q);
	mock_queue_free(q);
}

static void put_fence(struct dma_fence_preempt *pfence)
{
	dma_fence_put(&pfence->base);
}

static long wait_fence(struct dma_fence *fence)
{
	return dma_fence_wait_timeout(fence, false, TEST_TIMEOUT);
}

/*
 * Negative check: watches for the preempt operation of @q to be called for
 * NEGATIVE_CHECK, and returns true if it was not.
 */
static bool no_preempt_within_bound(struct mock_queue *q)
{
	return !wait_var_event_timeout(&q->preempt_calls,
				       atomic_read(&q->preempt_calls),
				       NEGATIVE_CHECK);
}

struct log_cb {
	struct dma_fence_cb cb;
	struct mock_queue *q;
};

static void log_signaled_cb(struct dma_fence *fence, struct dma_fence_cb *cb)
{
	mock_log(container_of(cb, struct log_cb, cb)->q, EV_SIGNALED);
}

static int dma_fence_preempt_test_init(struct kunit *test)
{
	atomic_set(&mock_pfences_alive, 0);
	atomic_set(&mock_jobs_alive, 0);
	return 0;
}

static void dma_fence_preempt_test_exit(struct kunit *test)
{
	/*
	 * Every fence was released: nothing leaked, nothing freed twice. The
	 * preemption work may still hold the last reference for a moment
	 * after the fence signaled: wait for the release of the last fence.
	 */
	wait_var_event_timeout(&mock_pfences_alive,
			       atomic_read(&mock_pfences_alive) <= 0, 2 * HZ);
	rcu_barrier();
	KUNIT_EXPECT_EQ(test, atomic_read(&mock_pfences_alive), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&mock_jobs_alive), 0);
}

/*
 * The preemption starts only once the last published completion fence
 * signaled, and nothing can be published from the moment signaling was
 * enabled on the preemption fence.
 */
static void test_order(struct kunit *test)
{
	static const int expected[] = {
		EV_JOB_ENABLE | 2,
		EV_JOB_SIGNAL | 1,
		EV_JOB_SIGNAL | 2,
		EV_PREEMPT,
		EV_WAIT,
		EV_SIGNALED,
		EV_FINISHED,
	};
	struct mock_queue *q = mock_queue_create(test, 1, PREEMPT_TIMEOUT);
	struct mock_job *j1, *j2, *j3;
	struct dma_fence_preempt *pfence;
	struct log_cb cb = { .q = q };

	KUNIT_ASSERT_EQ(test, mock_arm(q), 0);
	pfence = mock_get_cur(q);

	j1 = mock_submit(q);
	KUNIT_ASSERT_FALSE(test, IS_ERR(j1));
	j2 = mock_submit(q);
	KUNIT_ASSERT_FALSE(test, IS_ERR(j2));

	/* adding a callback enables signaling as well */
	KUNIT_ASSERT_EQ(test, dma_fence_add_callback(&pfence->base, &cb.cb,
						     log_signaled_cb), 0);
	dma_fence_enable_signaling(&pfence->base);

	/* publishing fails at once */
	j3 = mock_submit(q);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(j3), -EAGAIN);

	/* the preemption waits for the last completion fence */
	KUNIT_EXPECT_NE(test, wait_for_completion_timeout(&j2->enabled,
							  TEST_TIMEOUT), 0);
	KUNIT_EXPECT_FALSE(test, completion_done(&j1->enabled));

	mock_job_signal(j1, 0);
	/* negative check: j2 is still pending, the preemption must wait */
	KUNIT_EXPECT_TRUE(test, no_preempt_within_bound(q));
	KUNIT_EXPECT_EQ(test, atomic_read(&q->preempt_calls), 0);
	KUNIT_EXPECT_FALSE(test, dma_fence_is_signaled(&pfence->base));

	mock_job_signal(j2, 0);
	KUNIT_EXPECT_GT(test, wait_fence(&pfence->base), 0);
	KUNIT_EXPECT_EQ(test, pfence->base.error, 0);
	KUNIT_EXPECT_NE(test, wait_for_completion_timeout(&q->finished,
							  TEST_TIMEOUT), 0);

	expect_log(test, q, expected, ARRAY_SIZE(expected));
	KUNIT_EXPECT_EQ(test, atomic_read(&q->violations), 0);

	dma_fence_put(&j1->base);
	dma_fence_put(&j2->base);
	put_fence(pfence);
	mock_queue_destroy(q);
}

/* Without a published completion fence the preemption starts at once. */
static void test_no_completion_fence(struct kunit *test)
{
	static const int expected[] = {
		EV_PREEMPT,
		EV_WAIT,
		EV_FINISHED,
	};
	struct mock_queue *q = mock_queue_create(test, 2, PREEMPT_TIMEOUT);
	struct dma_fence_preempt *pfence;

	KUNIT_ASSERT_EQ(test, mock_arm(q), 0);
	pfence = mock_get_cur(q);
	dma_fence_enable_signaling(&pfence->base);
	KUNIT_EXPECT_GT(test, wait_fence(&pfence->base), 0);
	KUNIT_EXPECT_EQ(test, pfence->base.error, 0);
	KUNIT_EXPECT_NE(test, wait_for_completion_timeout(&q->finished,
							  TEST_TIMEOUT), 0);
	expect_log(test, q, expected, ARRAY_SIZE(expected));

	put_fence(pfence);
	mock_queue_destroy(q);
}

/*
 * Publishing keeps failing after the preemption fence signaled, until the
 * context is resumed with a new preemption fence.
 */
static void test_publish_blocked_until_resume(struct kunit *test)
{
	struct mock_queue *q = mock_queue_create(test, 3, PREEMPT_TIMEOUT);
	struct dma_fence_preempt *pfence;
	struct mock_job *job;

	KUNIT_ASSERT_EQ(test, mock_arm(q), 0);
	pfence = mock_get_cur(q);

	/* armed but not triggered: publishing works */
	job = mock_submit(q);
	KUNIT_ASSERT_FALSE(test, IS_ERR(job));
	mock_job_signal(job, 0);
	dma_fence_put(&job->base);

	dma_fence_enable_signaling(&pfence->base);
	KUNIT_EXPECT_GT(test, wait_fence(&pfence->base), 0);
	KUNIT_EXPECT_NE(test, wait_for_completion_timeout(&q->finished,
							  TEST_TIMEOUT), 0);

	job = mock_submit(q);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(job), -EAGAIN);
	KUNIT_EXPECT_EQ(test, q->job_seqno, 1);

	KUNIT_ASSERT_EQ(test, mock_resume(q), 0);
	job = mock_submit(q);
	KUNIT_ASSERT_FALSE(test, IS_ERR(job));
	KUNIT_EXPECT_EQ(test, job->base.seqno, 2);
	mock_job_signal(job, 0);
	dma_fence_put(&job->base);

	KUNIT_EXPECT_EQ(test, atomic_read(&q->violations), 0);
	put_fence(pfence);
	mock_queue_destroy(q);
}

/*
 * The finished operation queues the resume, which arms a new preemption
 * fence on the same fence context; that one preempts the context again,
 * after the completion fences published since.
 */
static void test_resume_rearms(struct kunit *test)
{
	static const int expected[] = {
		EV_PREEMPT,
		EV_WAIT,
		EV_FINISHED,
		EV_JOB_ENABLE | 1,
		EV_JOB_SIGNAL | 1,
		EV_PREEMPT,
		EV_WAIT,
		EV_FINISHED,
	};
	struct mock_queue *q = mock_queue_create(test, 4, PREEMPT_TIMEOUT);
	struct dma_fence_preempt *p1, *p2;
	struct mock_job *job;

	q->auto_resume = true;
	KUNIT_ASSERT_EQ(test, mock_arm(q), 0);
	p1 = mock_get_cur(q);

	dma_fence_enable_signaling(&p1->base);
	KUNIT_EXPECT_GT(test, wait_fence(&p1->base), 0);
	KUNIT_ASSERT_NE(test, wait_for_completion_timeout(&q->resumed,
							  TEST_TIMEOUT), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&q->resume_errors), 0);

	p2 = mock_get_cur(q);
	KUNIT_ASSERT_NOT_NULL(test, p2);
	KUNIT_EXPECT_PTR_NE(test, p2, p1);
	KUNIT_EXPECT_EQ(test, p2->base.context, p1->base.context);
	KUNIT_EXPECT_EQ(test, p2->base.seqno, p1->base.seqno + 1);
	KUNIT_EXPECT_TRUE(test, dma_fence_is_later(&p2->base, &p1->base));
	KUNIT_EXPECT_FALSE(test, dma_fence_is_signaled(&p2->base));
	KUNIT_EXPECT_FALSE(test, test_bit(DMA_FENCE_FLAG_ENABLE_SIGNAL_BIT,
					  &p2->base.flags));

	/* resumed: publishing works, and the next preemption waits for it */
	job = mock_submit(q);
	KUNIT_ASSERT_FALSE(test, IS_ERR(job));
	reinit_completion(&q->resumed);
	dma_fence_enable_signaling(&p2->base);
	KUNIT_EXPECT_NE(test, wait_for_completion_timeout(&job->enabled,
							  TEST_TIMEOUT), 0);
	KUNIT_EXPECT_FALSE(test, dma_fence_is_signaled(&p2->base));
	mock_job_signal(job, 0);
	KUNIT_EXPECT_GT(test, wait_fence(&p2->base), 0);
	KUNIT_EXPECT_EQ(test, p2->base.error, 0);
	KUNIT_EXPECT_NE(test, wait_for_completion_timeout(&q->resumed,
							  TEST_TIMEOUT), 0);

	expect_log(test, q, expected, ARRAY_SIZE(expected));
	KUNIT_EXPECT_EQ(test, atomic_read(&q->resumes), 2);

	dma_fence_put(&job->base);
	put_fence(p1);
	put_fence(p2);
	mock_queue_destroy(q);
}

/* A context has at most one unsignaled preemption fence. */
static void test_arm_busy(struct kunit *test)
{
	struct mock_queue *q = mock_queue_create(test, 5, PREEMPT_TIMEOUT);
	struct dma_fence_preempt *pfence;

	q->wait = WAIT_GATE;
	KUNIT_ASSERT_EQ(test, mock_arm(q), 0);
	pfence = mock_get_cur(q);

	/* armed */
	KUNIT_EXPECT_EQ(test, mock_arm(q), -EBUSY);

	/* being preempted */
	dma_fence_enable_signaling(&pfence->base);
	KUNIT_ASSERT_NE(test, wait_for_completion_timeout(&q->wait_entered,
							  TEST_TIMEOUT), 0);
	KUNIT_EXPECT_EQ(test, mock_arm(q), -EBUSY);
	KUNIT_EXPECT_PTR_EQ(test, &q->cur->base, pfence);

	complete_all(&q->gate);
	KUNIT_EXPECT_GT(test, wait_fence(&pfence->base), 0);
	KUNIT_EXPECT_EQ(test, pfence->base.error, 0);
	KUNIT_EXPECT_EQ(test, mock_arm(q), 0);
	KUNIT_EXPECT_PTR_NE(test, &q->cur->base, pfence);

	put_fence(pfence);
	mock_queue_destroy(q);
}

static const int preempt_errors[] = { -EIO, -ECANCELED, -ENOMEM };

static void preempt_error_desc(const int *err, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%d", *err);
}

KUNIT_ARRAY_PARAM(preempt_error, preempt_errors, preempt_error_desc);

/*
 * A failing preempt operation (context reset or device wedged: -EIO, context
 * banned or killed: -ECANCELED, anything else) signals the fence with its
 * error without waiting; the finished operation still runs.
 */
static void test_preempt_error(struct kunit *test)
{
	static const int expected[] = {
		EV_PREEMPT,
		EV_FINISHED,
	};
	const int *err = test->param_value;
	struct mock_queue *q = mock_queue_create(test, 6, PREEMPT_TIMEOUT);
	struct dma_fence_preempt *pfence;

	q->preempt_error = *err;
	KUNIT_ASSERT_EQ(test, mock_arm(q), 0);
	pfence = mock_get_cur(q);

	dma_fence_enable_signaling(&pfence->base);
	KUNIT_EXPECT_GT(test, wait_fence(&pfence->base), 0);
	KUNIT_EXPECT_EQ(test, pfence->base.error, *err);
	KUNIT_EXPECT_EQ(test, dma_fence_get_status(&pfence->base), *err);
	KUNIT_EXPECT_NE(test, wait_for_completion_timeout(&q->finished,
							  TEST_TIMEOUT), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&q->wait_calls), 0);
	expect_log(test, q, expected, ARRAY_SIZE(expected));

	put_fence(pfence);
	mock_queue_destroy(q);
}

/* A context that never stops: -ETIME after the timeout, never a hang. */
static void test_wait_timeout(struct kunit *test)
{
	const long timeout = msecs_to_jiffies(100);
	struct mock_queue *q = mock_queue_create(test, 7, timeout);
	struct dma_fence_preempt *pfence;
	unsigned long start;

	q->wait = WAIT_HANG;
	KUNIT_ASSERT_EQ(test, mock_arm(q), 0);
	pfence = mock_get_cur(q);

	start = jiffies;
	dma_fence_enable_signaling(&pfence->base);
	KUNIT_EXPECT_GT(test, wait_fence(&pfence->base), 0);
	KUNIT_EXPECT_GE(test, (long)(jiffies - start), timeout);
	KUNIT_EXPECT_EQ(test, pfence->base.error, -ETIME);
	KUNIT_EXPECT_NE(test, wait_for_completion_timeout(&q->finished,
							  TEST_TIMEOUT), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&q->wait_calls), 1);

	put_fence(pfence);
	mock_queue_destroy(q);
}

/*
 * A last completion fence that does not signal within the timeout of the
 * context: the context is killed instead of preempted, its completion
 * fences signal with an error, the preemption fence with -ETIME, bounded.
 */
static void test_last_fence_timeout(struct kunit *test)
{
	static const int expected[] = {
		EV_JOB_ENABLE | 1,
		EV_KILL,
		EV_JOB_SIGNAL | 1,
		EV_FINISHED,
	};
	const long timeout = msecs_to_jiffies(100);
	struct mock_queue *q = mock_queue_create(test, 23, timeout);
	struct dma_fence_preempt *pfence;
	struct mock_job *job;
	unsigned long start;

	KUNIT_ASSERT_EQ(test, mock_arm(q), 0);
	pfence = mock_get_cur(q);
	/* a job that never completes on its own */
	job = mock_submit(q);
	KUNIT_ASSERT_FALSE(test, IS_ERR(job));

	start = jiffies;
	dma_fence_enable_signaling(&pfence->base);
	KUNIT_EXPECT_GT_MSG(test, wait_fence(&pfence->base), 0,
			    "the preemption waits for the job without bound");
	KUNIT_EXPECT_GE(test, (long)(jiffies - start), timeout);
	KUNIT_EXPECT_EQ(test, pfence->base.error, -ETIME);
	KUNIT_EXPECT_TRUE(test, dma_fence_is_signaled(&job->base));
	KUNIT_EXPECT_EQ(test, job->base.error, -ECANCELED);
	KUNIT_EXPECT_NE(test, wait_for_completion_timeout(&q->finished,
							  TEST_TIMEOUT), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&q->kill_calls), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&q->preempt_calls), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&q->wait_calls), 0);
	expect_log(test, q, expected, ARRAY_SIZE(expected));

	dma_fence_put(&job->base);
	put_fence(pfence);
	mock_queue_destroy(q);
}

/*
 * One timeline per context: a completion fence of another fence context is
 * refused with a warning, and an earlier fence of the timeline published
 * again leaves the later one the last: the preemption waits for job 2, not
 * for job 1.
 */
static void test_publish_one_timeline(struct kunit *test)
{
	static const int expected[] = {
		EV_JOB_ENABLE | 2,
		EV_JOB_SIGNAL | 1,
		EV_JOB_SIGNAL | 2,
		EV_PREEMPT,
		EV_WAIT,
		EV_FINISHED,
	};
	struct mock_queue *q = mock_queue_create(test, 24, PREEMPT_TIMEOUT);
	struct mock_queue *other = mock_queue_create(test, 25,
						     PREEMPT_TIMEOUT);
	struct dma_fence_preempt *pfence;
	struct mock_job *j1, *j2, *foreign;

	KUNIT_ASSERT_EQ(test, mock_arm(q), 0);
	pfence = mock_get_cur(q);
	j1 = mock_submit(q);
	KUNIT_ASSERT_FALSE(test, IS_ERR(j1));
	j2 = mock_submit(q);
	KUNIT_ASSERT_FALSE(test, IS_ERR(j2));

	/* a job of another queue, i.e. of another ring */
	foreign = mock_job_alloc(other, 3);
	KUNIT_ASSERT_NOT_NULL(test, foreign);
	kunit_warning_suppress(test) {
		KUNIT_EXPECT_EQ(test,
				dma_fence_preempt_publish(&q->pctx,
							  &foreign->base),
				-EINVAL);
		KUNIT_EXPECT_SUPPRESSED_WARNING_COUNT(test, 1);
	}

	/* job 1 again, e.g. exported a second time: not the last one */
	KUNIT_EXPECT_EQ(test, dma_fence_preempt_publish(&q->pctx, &j1->base),
			0);

	dma_fence_enable_signaling(&pfence->base);
	KUNIT_EXPECT_NE(test, wait_for_completion_timeout(&j2->enabled,
							  TEST_TIMEOUT), 0);
	KUNIT_EXPECT_FALSE(test, completion_done(&j1->enabled));
	KUNIT_EXPECT_FALSE(test, dma_fence_is_signaled(&pfence->base));
	mock_job_signal(j1, 0);
	mock_job_signal(j2, 0);
	KUNIT_EXPECT_GT(test, wait_fence(&pfence->base), 0);
	KUNIT_EXPECT_EQ(test, pfence->base.error, 0);
	KUNIT_EXPECT_NE(test, wait_for_completion_timeout(&q->finished,
							  TEST_TIMEOUT), 0);
	expect_log(test, q, expected, ARRAY_SIZE(expected));

	dma_fence_signal(&foreign->base);
	dma_fence_put(&foreign->base);
	dma_fence_put(&j1->base);
	dma_fence_put(&j2->base);
	put_fence(pfence);
	mock_queue_destroy(other);
	mock_queue_destroy(q);
}

/*
 * A completion fence that is, or contains (in a &dma_fence_array or a
 * &dma_fence_chain), a preemption fence of its own context would make the
 * preemption wait for itself: refused with a warning.
 */
static void test_publish_own_preempt_fence(struct kunit *test)
{
	struct mock_queue *q = mock_queue_create(test, 26, PREEMPT_TIMEOUT);
	struct dma_fence_preempt *pfence;
	struct dma_fence_array *array;
	struct dma_fence_chain *chain;
	struct dma_fence **fences;
	struct mock_job *job;

	KUNIT_ASSERT_EQ(test, mock_arm(q), 0);
	pfence = mock_get_cur(q);
	job = mock_job_alloc(q, 1);
	KUNIT_ASSERT_NOT_NULL(test, job);

	fences = kmalloc_array(2, sizeof(*fences), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, fences);
	fences[0] = dma_fence_get(&job->base);
	fences[1] = dma_fence_get(&pfence->base);
	array = dma_fence_array_create(2, fences, dma_fence_context_alloc(1),
				       1);
	KUNIT_ASSERT_NOT_NULL(test, array);
	chain = dma_fence_chain_alloc();
	KUNIT_ASSERT_NOT_NULL(test, chain);
	dma_fence_chain_init(chain, NULL, dma_fence_get(&pfence->base), 1);

	kunit_warning_suppress(test) {
		KUNIT_EXPECT_EQ(test,
				dma_fence_preempt_publish(&q->pctx,
							  &pfence->base),
				-EDEADLK);
		KUNIT_EXPECT_EQ(test,
				dma_fence_preempt_publish(&q->pctx,
							  &array->base),
				-EDEADLK);
		KUNIT_EXPECT_EQ(test,
				dma_fence_preempt_publish(&q->pctx,
							  &chain->base),
				-EDEADLK);
		KUNIT_EXPECT_SUPPRESSED_WARNING_COUNT(test, 3);
	}
	/* nothing was published: the preemption does not wait */
	KUNIT_EXPECT_FALSE(test, test_bit(DMA_FENCE_FLAG_ENABLE_SIGNAL_BIT,
					  &pfence->base.flags));
	dma_fence_enable_signaling(&pfence->base);
	KUNIT_EXPECT_GT(test, wait_fence(&pfence->base), 0);
	KUNIT_EXPECT_EQ(test, pfence->base.error, 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&q->preempt_calls), 1);
	KUNIT_EXPECT_FALSE(test, completion_done(&job->enabled));

	dma_fence_signal(&job->base);
	dma_fence_put(&chain->base);
	dma_fence_put(&array->base);
	dma_fence_put(&job->base);
	put_fence(pfence);
	mock_queue_destroy(q);
}

static const struct dma_fence_preempt_ops mock_no_kill_ops = {
	.driver_name = "mock-user-queue",
	.preempt = mock_preempt,
};

/*
 * Publishing needs the kill operation that bounds the wait for the
 * published fence: without it, a warning and -EINVAL.
 */
static void test_publish_without_kill(struct kunit *test)
{
	struct dma_fence_preempt_ctx *ctx;
	struct dma_fence *done;

	ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ctx);
	dma_fence_preempt_ctx_init(ctx, &mock_no_kill_ops, PREEMPT_TIMEOUT);

	done = dma_fence_get_stub();
	kunit_warning_suppress(test) {
		KUNIT_EXPECT_EQ(test, dma_fence_preempt_publish(ctx, done),
				-EINVAL);
		KUNIT_EXPECT_SUPPRESSED_WARNING_COUNT(test, 1);
	}
	dma_fence_put(done);
	dma_fence_preempt_ctx_fini(ctx);
}

struct resume_waiter {
	struct mock_queue *q;
	bool intr;
	long timeout;
	long ret;
	struct completion started;
	struct completion done;
	struct task_struct *task;
};

static int resume_waiter_fn(void *arg)
{
	struct resume_waiter *w = arg;

	allow_signal(SIGUSR1);
	complete_all(&w->started);
	w->ret = dma_fence_preempt_wait_resume(&w->q->pctx, w->intr,
					       w->timeout);
	complete_all(&w->done);

	/* until kthread_stop(), which the test calls in any case */
	while (!kthread_should_stop()) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (!kthread_should_stop())
			schedule();
		__set_current_state(TASK_RUNNING);
		flush_signals(current);
	}
	return 0;
}

static void resume_waiter_stop(void *arg)
{
	struct resume_waiter *w = arg;

	kthread_stop(w->task);
	put_task_struct(w->task);
}

/* Starts a thread waiting for the resume of @q */
static struct resume_waiter *resume_waiter_start(struct kunit *test,
						 struct mock_queue *q,
						 bool intr)
{
	struct resume_waiter *w;

	w = kunit_kzalloc(test, sizeof(*w), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, w);
	w->q = q;
	w->intr = intr;
	w->timeout = TEST_TIMEOUT;
	init_completion(&w->started);
	init_completion(&w->done);
	w->task = kthread_run(resume_waiter_fn, w, "preempt-resume-wait");
	KUNIT_ASSERT_FALSE(test, IS_ERR(w->task));
	get_task_struct(w->task);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test,
							resume_waiter_stop,
							w), 0);
	KUNIT_ASSERT_NE(test, wait_for_completion_timeout(&w->started,
							  TEST_TIMEOUT), 0);
	return w;
}

/* Triggers the current preemption fence of @q and waits for it */
static void preempt_and_wait(struct kunit *test, struct mock_queue *q)
{
	struct dma_fence_preempt *pfence = mock_get_cur(q);

	KUNIT_ASSERT_NOT_NULL(test, pfence);
	dma_fence_enable_signaling(&pfence->base);
	KUNIT_EXPECT_GT(test, wait_fence(&pfence->base), 0);
	put_fence(pfence);
}

/*
 * dma_fence_preempt_wait_resume() returns at once while publishing works,
 * waits while the context is preempted and returns once it was resumed,
 * times out, is interrupted by a signal, and fails with -ENODEV once the
 * context is torn down.
 */
static void test_wait_resume(struct kunit *test)
{
	struct mock_queue *q = mock_queue_create(test, 27, PREEMPT_TIMEOUT);
	struct sched_attr idle = {
		.size = sizeof(idle),
		.sched_policy = SCHED_IDLE,
	};
	struct resume_waiter *w;
	struct mock_job *job;
	bool waiting;

	KUNIT_ASSERT_EQ(test, mock_arm(q), 0);
	KUNIT_EXPECT_GT(test, dma_fence_preempt_wait_resume(&q->pctx, true,
							    0), 0);

	preempt_and_wait(test, q);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(mock_submit(q)), -EAGAIN);
	/* negative check: no resume, no return */
	KUNIT_EXPECT_EQ(test, dma_fence_preempt_wait_resume(&q->pctx, false,
							    NEGATIVE_CHECK),
			0);

	/* resumed: the waiter returns, and publishing works */
	w = resume_waiter_start(test, q, false);
	KUNIT_EXPECT_EQ(test, wait_for_completion_timeout(&w->done,
							  NEGATIVE_CHECK), 0);
	KUNIT_ASSERT_EQ(test, mock_resume(q), 0);
	KUNIT_ASSERT_NE(test, wait_for_completion_timeout(&w->done,
							  TEST_TIMEOUT), 0);
	KUNIT_EXPECT_GT(test, w->ret, 0);
	job = mock_submit(q);
	KUNIT_ASSERT_FALSE(test, IS_ERR(job));
	mock_job_signal(job, 0);
	dma_fence_put(&job->base);

	/* interrupted */
	preempt_and_wait(test, q);
	w = resume_waiter_start(test, q, true);
	send_sig(SIGUSR1, w->task, 1);
	KUNIT_ASSERT_NE(test, wait_for_completion_timeout(&w->done,
							  TEST_TIMEOUT), 0);
	KUNIT_EXPECT_EQ(test, w->ret, -ERESTARTSYS);

	/*
	 * Torn down: the teardown waits for the waiter to be done with the
	 * context. The waiter runs as SCHED_IDLE: woken up by the teardown, it
	 * does not preempt the test, so on one CPU it only runs before the
	 * teardown returns if the teardown waits for it. Then the context is
	 * made to look alive and preempted again: a waiter still in the wait
	 * would sleep on and time out instead of returning -ENODEV. The
	 * context is freed right after (KASAN checks the accesses).
	 */
	w = resume_waiter_start(test, q, false);
	KUNIT_ASSERT_EQ(test, sched_setattr_nocheck(w->task, &idle), 0);
	/* inside the wait: on the wait queue */
	KUNIT_ASSERT_EQ(test, read_poll_timeout(waitqueue_active, waiting,
						waiting, 1000, USEC_PER_SEC,
						false, &q->pctx.resume_wq), 0);
	mock_queue_kill(q);
	spin_lock_irq(&q->pctx.lock);
	q->pctx.dead = false;
	spin_unlock_irq(&q->pctx.lock);
	KUNIT_ASSERT_NE(test, wait_for_completion_timeout(&w->done,
							  TEST_TIMEOUT), 0);
	KUNIT_EXPECT_EQ(test, w->ret, -ENODEV);
	spin_lock_irq(&q->pctx.lock);
	q->pctx.dead = true;
	spin_unlock_irq(&q->pctx.lock);
	KUNIT_EXPECT_EQ(test, dma_fence_preempt_wait_resume(&q->pctx, true,
							    TEST_TIMEOUT),
			-ENODEV);
	mock_queue_free(q);
}

/*
 * Teardown with a preemption fence that was never triggered: it signals with
 * -ECANCELED without any operation, outlives the context, and the context
 * refuses any further use.
 */
static void test_fini_pending(struct kunit *test)
{
	struct mock_queue *q = mock_queue_create(test, 8, PREEMPT_TIMEOUT);
	struct dma_fence_preempt *pfence;
	struct mock_pfence *spare;
	struct mock_job *job;
	struct dma_fence *f;

	KUNIT_ASSERT_EQ(test, mock_arm(q), 0);
	pfence = mock_get_cur(q);
	job = mock_submit(q);
	KUNIT_ASSERT_FALSE(test, IS_ERR(job));
	mock_job_signal(job, 0);
	dma_fence_put(&job->base);

	/* the test holds the only references to the context's fences now */
	dma_fence_preempt_ctx_fini(&q->pctx);
	KUNIT_EXPECT_TRUE(test, dma_fence_is_signaled(&pfence->base));
	KUNIT_EXPECT_EQ(test, pfence->base.error, -ECANCELED);
	KUNIT_EXPECT_EQ(test, atomic_read(&q->preempt_calls), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&q->finished_calls), 0);

	job = mock_job_alloc(q, 2);
	KUNIT_ASSERT_NOT_NULL(test, job);
	KUNIT_EXPECT_EQ(test, dma_fence_preempt_publish(&q->pctx, &job->base),
			-ENODEV);
	dma_fence_put(&job->base);

	spare = mock_pfence_alloc();
	KUNIT_ASSERT_NOT_NULL(test, spare);
	KUNIT_EXPECT_EQ(test, dma_fence_preempt_arm(&q->pctx, &spare->base),
			-ENODEV);
	kfree(spare);

	/* free the context, the fence lives on (KASAN checks the accesses) */
	mock_queue_free(q);

	f = &pfence->base;
	/*
	 * The core no longer asks a signaled fence for its names, but the
	 * operations stay attached (the class has a release operation): they
	 * must not touch the freed context.
	 */
	rcu_read_lock();
	KUNIT_EXPECT_STREQ(test, rcu_dereference(f->ops)->get_driver_name(f),
			   "mock-user-queue");
	KUNIT_EXPECT_NOT_NULL(test,
			      rcu_dereference(f->ops)->get_timeline_name(f));
	rcu_read_unlock();
	KUNIT_EXPECT_GT(test, wait_fence(f), 0);
	dma_fence_enable_signaling(f);
	KUNIT_EXPECT_EQ(test, atomic_read(&mock_pfences_alive), 1);
	put_fence(pfence);
	KUNIT_EXPECT_EQ(test, atomic_read(&mock_pfences_alive), 0);
}

static atomic_t ops_gone_releases;

static void ops_gone_release(struct dma_fence_preempt *pfence)
{
	atomic_inc(&ops_gone_releases);
	dma_fence_free(&pfence->base);
}

/* What the operations of a driver that is gone hold, as far as the test goes */
static void ops_gone_poison(struct dma_fence_preempt *pfence)
{
	KUNIT_FAIL(kunit_get_current_test(),
		   "release read the operations after the teardown");
	dma_fence_free(&pfence->base);
}

/*
 * The operations of a driver may be gone (module unloaded) once its contexts
 * are torn down, while their fences live on: releasing a fence reads nothing
 * of them, neither with the default release nor with the driver's. The test
 * overwrites the operations' release after the teardown, and frees the
 * context (KASAN checks the accesses).
 */
static void test_release_after_ops_gone(struct kunit *test)
{
	int i;

	for (i = 0; i < 2; i++) {
		struct dma_fence_preempt_ops *ops;
		struct dma_fence_preempt_ctx *ctx;
		struct dma_fence_preempt *pfence;

		ops = kzalloc_obj(*ops);
		ctx = kzalloc_obj(*ctx);
		pfence = kzalloc_obj(*pfence);
		if (!ops || !ctx || !pfence) {
			kfree(pfence);
			kfree(ctx);
			kfree(ops);
			KUNIT_FAIL(test, "out of memory");
			return;
		}
		ops->preempt = mock_preempt;
		if (i)
			ops->release = ops_gone_release;
		atomic_set(&ops_gone_releases, 0);

		dma_fence_preempt_ctx_init(ctx, ops, PREEMPT_TIMEOUT);
		if (dma_fence_preempt_arm(ctx, pfence)) {
			dma_fence_preempt_ctx_fini(ctx);
			kfree(pfence);
			kfree(ctx);
			kfree(ops);
			KUNIT_FAIL(test, "arming failed");
			return;
		}
		dma_fence_preempt_ctx_fini(ctx);
		KUNIT_EXPECT_EQ(test, pfence->base.error, -ECANCELED);
		kfree(ctx);
		ops->release = ops_gone_poison;

		dma_fence_put(&pfence->base);
		KUNIT_EXPECT_EQ_MSG(test, atomic_read(&ops_gone_releases), i,
				    "driver release %d", i);
		kfree(ops);
	}
}

struct fini_work {
	struct work_struct work;
	struct dma_fence_preempt_ctx *ctx;
	struct completion started, done;
};

static void fini_work_fn(struct work_struct *work)
{
	struct fini_work *fw = container_of(work, typeof(*fw), work);

	complete_all(&fw->started);
	dma_fence_preempt_ctx_fini(fw->ctx);
	complete_all(&fw->done);
}

static void start_fini(struct fini_work *fw, struct mock_queue *q)
{
	INIT_WORK_ONSTACK(&fw->work, fini_work_fn);
	init_completion(&fw->started);
	init_completion(&fw->done);
	fw->ctx = &q->pctx;
	queue_work(system_dfl_wq, &fw->work);
}

static void end_fini(struct fini_work *fw)
{
	flush_work(&fw->work);
	destroy_work_on_stack(&fw->work);
}

/*
 * Teardown while the preemption waits for the last completion fence: the
 * teardown waits for the preemption to give up the context, which it does
 * once the driver killed the ring; the fence signals with -ECANCELED.
 */
static void test_fini_waiting_for_job(struct kunit *test)
{
	struct mock_queue *q = mock_queue_create(test, 9, PREEMPT_TIMEOUT);
	struct dma_fence_preempt *pfence;
	struct fini_work fw;
	struct mock_job *job;

	KUNIT_ASSERT_EQ(test, mock_arm(q), 0);
	pfence = mock_get_cur(q);
	job = mock_submit(q);
	KUNIT_ASSERT_FALSE(test, IS_ERR(job));

	dma_fence_enable_signaling(&pfence->base);
	KUNIT_ASSERT_NE(test, wait_for_completion_timeout(&job->enabled,
							  TEST_TIMEOUT), 0);

	start_fini(&fw, q);
	KUNIT_EXPECT_NE(test, wait_for_completion_timeout(&fw.started,
							  TEST_TIMEOUT), 0);
	/* negative check: the teardown waits while the job is pending */
	KUNIT_EXPECT_EQ(test, wait_for_completion_timeout(&fw.done,
							  NEGATIVE_CHECK), 0);
	KUNIT_EXPECT_FALSE(test, completion_done(&fw.done));

	/* the driver kills the ring */
	mock_job_signal(job, -ECANCELED);
	KUNIT_EXPECT_NE(test, wait_for_completion_timeout(&fw.done,
							  TEST_TIMEOUT), 0);
	end_fini(&fw);

	KUNIT_EXPECT_TRUE(test, dma_fence_is_signaled(&pfence->base));
	KUNIT_EXPECT_EQ(test, pfence->base.error, -ECANCELED);
	KUNIT_EXPECT_EQ(test, atomic_read(&q->preempt_calls), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&q->finished_calls), 0);

	dma_fence_put(&job->base);
	mock_queue_free(q);
	put_fence(pfence);
}

/*
 * Teardown while an operation runs: the teardown waits for it, so that the
 * driver can free its context afterwards.
 */
static void test_fini_during_wait(struct kunit *test)
{
	struct mock_queue *q = mock_queue_create(test, 10, PREEMPT_TIMEOUT);
	struct dma_fence_preempt *pfence;
	struct fini_work fw;

	q->wait = WAIT_GATE;
	KUNIT_ASSERT_EQ(test, mock_arm(q), 0);
	pfence = mock_get_cur(q);

	dma_fence_enable_signaling(&pfence->base);
	KUNIT_ASSERT_NE(test, wait_for_completion_timeout(&q->wait_entered,
							  TEST_TIMEOUT), 0);

	start_fini(&fw, q);
	KUNIT_EXPECT_NE(test, wait_for_completion_timeout(&fw.started,
							  TEST_TIMEOUT), 0);
	/* negative check: the teardown waits while the operation runs */
	KUNIT_EXPECT_EQ(test, wait_for_completion_timeout(&fw.done,
							  NEGATIVE_CHECK), 0);
	KUNIT_EXPECT_FALSE(test, completion_done(&fw.done));
	KUNIT_EXPECT_FALSE(test, dma_fence_is_signaled(&pfence->base));

	complete_all(&q->gate);
	KUNIT_EXPECT_NE(test, wait_for_completion_timeout(&fw.done,
							  TEST_TIMEOUT), 0);
	end_fini(&fw);

	/* the preemption had started: it completes normally */
	KUNIT_EXPECT_TRUE(test, dma_fence_is_signaled(&pfence->base));
	KUNIT_EXPECT_EQ(test, pfence->base.error, 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&q->finished_calls), 1);

	mock_queue_free(q);
	put_fence(pfence);
}

#define NUM_PARALLEL	16

/*
 * Independent contexts are preempted concurrently: every wait operation
 * blocks until all of them are waiting, which times out with -ETIME if the
 * preemptions ran one after the other. The barrier is the proof of
 * concurrency: only NUM_PARALLEL wait operations in progress at the same
 * time pass it. Bounded by PREEMPT_TIMEOUT per wait operation.
 */
static void test_parallel(struct kunit *test)
{
	struct dma_fence_preempt *pfences[NUM_PARALLEL];
	struct mock_queue *qs[NUM_PARALLEL];
	struct mock_barrier barrier = {
		.waiting = ATOMIC_INIT(0),
		.count = NUM_PARALLEL,
	};
	int i;

	for (i = 0; i < NUM_PARALLEL; i++) {
		qs[i] = mock_queue_create(test, 16 + i, PREEMPT_TIMEOUT);
		qs[i]->wait = WAIT_BARRIER;
		qs[i]->barrier = &barrier;
		KUNIT_ASSERT_EQ(test, mock_arm(qs[i]), 0);
		pfences[i] = mock_get_cur(qs[i]);
	}

	for (i = 0; i < NUM_PARALLEL; i++)
		dma_fence_enable_signaling(&pfences[i]->base);

	for (i = 0; i < NUM_PARALLEL; i++) {
		KUNIT_EXPECT_GT(test, wait_fence(&pfences[i]->base), 0);
		KUNIT_EXPECT_EQ_MSG(test, pfences[i]->base.error, 0,
				    "context %d", i);
	}
	KUNIT_EXPECT_EQ(test, atomic_read(&barrier.waiting), NUM_PARALLEL);
	kunit_info(test, "%d wait operations in progress together\n",
		   atomic_read(&barrier.waiting));

	for (i = 0; i < NUM_PARALLEL; i++) {
		put_fence(pfences[i]);
		mock_queue_destroy(qs[i]);
	}
}

/*
 * A preemption fence installed at DMA_RESV_USAGE_PREEMPT is triggered only
 * once the other fences of the object signaled (per-object order), and the
 * preemption then still waits for the last completion fence of its context
 * (per-context order).
 */
struct resv_waiter {
	struct work_struct work;
	struct dma_resv *resv;
	long ret;
};

static void resv_waiter_fn(struct work_struct *work)
{
	struct resv_waiter *w = container_of(work, typeof(*w), work);

	w->ret = dma_resv_wait_timeout(w->resv, DMA_RESV_USAGE_PREEMPT, false,
				       TEST_TIMEOUT);
}

static void add_fence(struct kunit *test, struct dma_resv *resv,
		      struct dma_fence *fence, enum dma_resv_usage usage)
{
	KUNIT_ASSERT_EQ(test, dma_resv_lock(resv, NULL), 0);
	KUNIT_ASSERT_EQ(test, dma_resv_reserve_fences(resv, 1), 0);
	dma_resv_add_fence(resv, fence, usage);
	dma_resv_unlock(resv);
}

static void test_resv_preempt_usage(struct kunit *test)
{
	static const int expected[] = {
		EV_JOB_ENABLE | 1,
		EV_JOB_SIGNAL | 1,
		EV_PREEMPT,
		EV_WAIT,
		EV_FINISHED,
	};
	struct mock_queue *q = mock_queue_create(test, 11, PREEMPT_TIMEOUT);
	struct mock_queue *other = mock_queue_create(test, 12, PREEMPT_TIMEOUT);
	struct dma_fence_preempt *pfence;
	struct resv_waiter w;
	struct mock_job *write, *job;
	struct dma_resv resv;

	dma_resv_init(&resv);
	KUNIT_ASSERT_EQ(test, mock_arm(q), 0);
	pfence = mock_get_cur(q);

	/* a job of another engine writing the buffer */
	write = mock_submit(other);
	KUNIT_ASSERT_FALSE(test, IS_ERR(write));
	add_fence(test, &resv, &pfence->base, DMA_RESV_USAGE_PREEMPT);
	add_fence(test, &resv, &write->base, DMA_RESV_USAGE_WRITE);

	KUNIT_EXPECT_FALSE(test, dma_resv_test_signaled(&resv,
							DMA_RESV_USAGE_BOOKKEEP));
	KUNIT_EXPECT_FALSE(test, test_bit(DMA_FENCE_FLAG_ENABLE_SIGNAL_BIT,
					  &pfence->base.flags));
	KUNIT_EXPECT_FALSE(test, completion_done(&write->enabled));

	INIT_WORK_ONSTACK(&w.work, resv_waiter_fn);
	w.resv = &resv;
	queue_work(system_dfl_wq, &w.work);

	KUNIT_EXPECT_NE(test, wait_for_completion_timeout(&write->enabled,
							  TEST_TIMEOUT), 0);
	/*
	 * negative check: the waiter waits for the write fence, it must not
	 * trigger the preemption fence, which would preempt at once
	 */
	KUNIT_EXPECT_TRUE(test, no_preempt_within_bound(q));
	KUNIT_EXPECT_FALSE(test, test_bit(DMA_FENCE_FLAG_ENABLE_SIGNAL_BIT,
					  &pfence->base.flags));

	/* not triggered yet: the context runs and publishes */
	job = mock_submit(q);
	if (IS_ERR(job)) {
		/* the waiter preempted: let it finish, it uses this stack */
		KUNIT_FAIL(test, "publishing failed: %ld", PTR_ERR(job));
		mock_job_signal(write, 0);
		flush_work(&w.work);
		destroy_work_on_stack(&w.work);
		goto out;
	}

	mock_job_signal(write, 0);
	KUNIT_EXPECT_NE(test, wait_for_completion_timeout(&job->enabled,
							  TEST_TIMEOUT), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&q->preempt_calls), 0);
	mock_job_signal(job, 0);

	flush_work(&w.work);
	destroy_work_on_stack(&w.work);
	KUNIT_EXPECT_GT(test, w.ret, 0);
	KUNIT_EXPECT_TRUE(test, dma_fence_is_signaled(&pfence->base));
	KUNIT_EXPECT_NE(test, wait_for_completion_timeout(&q->finished,
							  TEST_TIMEOUT), 0);
	expect_log(test, q, expected, ARRAY_SIZE(expected));
	dma_fence_put(&job->base);

out:
	dma_resv_fini(&resv);
	dma_fence_put(&write->base);
	put_fence(pfence);
	mock_queue_destroy(other);
	mock_queue_destroy(q);
}

static void test_is_preempt(struct kunit *test)
{
	struct mock_queue *q = mock_queue_create(test, 13, PREEMPT_TIMEOUT);
	struct dma_fence_preempt *pfence;
	const char __rcu *name;
	struct mock_job *job;

	KUNIT_ASSERT_EQ(test, mock_arm(q), 0);
	pfence = mock_get_cur(q);
	job = mock_submit(q);
	KUNIT_ASSERT_FALSE(test, IS_ERR(job));

	KUNIT_EXPECT_TRUE(test, dma_fence_is_preempt(&pfence->base));
	KUNIT_EXPECT_PTR_EQ(test, to_dma_fence_preempt(&pfence->base), pfence);
	KUNIT_EXPECT_FALSE(test, dma_fence_is_preempt(&job->base));
	KUNIT_EXPECT_NULL(test, to_dma_fence_preempt(&job->base));
	KUNIT_EXPECT_NULL(test, to_dma_fence_preempt(NULL));
	rcu_read_lock();
	name = dma_fence_driver_name(&pfence->base);
	KUNIT_EXPECT_STREQ(test, rcu_dereference(name), "mock-user-queue");
	rcu_read_unlock();

	mock_job_signal(job, 0);
	dma_fence_put(&job->base);

	/* the type test holds for a signaled preemption fence too */
	dma_fence_enable_signaling(&pfence->base);
	KUNIT_EXPECT_GT(test, wait_fence(&pfence->base), 0);
	KUNIT_EXPECT_TRUE(test, dma_fence_is_signaled(&pfence->base));
	KUNIT_EXPECT_TRUE(test, dma_fence_is_preempt(&pfence->base));
	KUNIT_EXPECT_PTR_EQ(test, to_dma_fence_preempt(&pfence->base), pfence);
	KUNIT_EXPECT_NE(test, wait_for_completion_timeout(&q->finished,
							  TEST_TIMEOUT), 0);

	put_fence(pfence);
	mock_queue_destroy(q);
}

static const struct dma_fence_preempt_ops mock_no_preempt_ops = {
	.driver_name = "mock-user-queue",
	.kill = mock_kill,
};

/*
 * A context without a preempt operation, or with a timeout that does not
 * bound the preemption, warns once and refuses to arm or publish, rather
 * than calling a NULL operation or waiting forever later.
 */
static void test_ctx_init_misuse(struct kunit *test)
{
	static const struct {
		const struct dma_fence_preempt_ops *ops;
		long timeout;
	} bad[] = {
		{ &mock_no_preempt_ops, PREEMPT_TIMEOUT },
		{ &mock_preempt_ops, 0 },
		{ &mock_preempt_ops, -1 },
		{ &mock_preempt_ops, MAX_SCHEDULE_TIMEOUT },
	};
	struct dma_fence_preempt_ctx ctx;
	struct mock_pfence *mp;
	struct dma_fence *done;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		kunit_warning_suppress(test) {
			dma_fence_preempt_ctx_init(&ctx, bad[i].ops,
						   bad[i].timeout);
			KUNIT_EXPECT_SUPPRESSED_WARNING_COUNT(test, 1);
		}

		mp = mock_pfence_alloc();
		KUNIT_ASSERT_NOT_NULL(test, mp);
		KUNIT_EXPECT_EQ_MSG(test, dma_fence_preempt_arm(&ctx, &mp->base),
				    -ENODEV, "case %u", i);
		kfree(mp);

		done = dma_fence_get_stub();
		KUNIT_EXPECT_EQ_MSG(test, dma_fence_preempt_publish(&ctx, done),
				    -ENODEV, "case %u", i);
		dma_fence_put(done);

		dma_fence_preempt_ctx_fini(&ctx);
	}
}

/*
 * A preempt_wait that returns -EAGAIN is called again from a requeued work,
 * without preempting again, and the fence signals without error once it
 * returns 0. The work is requeued delayed, by a jiffy at least, not to spin
 * while the driver cannot tell: three retries take three jiffies at least.
 */
static void test_wait_again(struct kunit *test)
{
	static const int expected[] = {
		EV_PREEMPT,
		EV_WAIT,
		EV_WAIT,
		EV_WAIT,
		EV_WAIT,
		EV_FINISHED,
	};
	struct mock_queue *q = mock_queue_create(test, 14, PREEMPT_TIMEOUT);
	struct dma_fence_preempt *pfence;
	unsigned long start;

	q->wait = WAIT_AGAIN;
	atomic_set(&q->again, 3);
	KUNIT_ASSERT_EQ(test, mock_arm(q), 0);
	pfence = mock_get_cur(q);
	start = jiffies;
	dma_fence_enable_signaling(&pfence->base);
	KUNIT_EXPECT_GT(test, wait_fence(&pfence->base), 0);
	KUNIT_EXPECT_EQ(test, pfence->base.error, 0);
	KUNIT_EXPECT_TRUE_MSG(test, time_after_eq(jiffies, start + 3),
			      "3 retries in %lu jiffies", jiffies - start);
	KUNIT_EXPECT_NE(test, wait_for_completion_timeout(&q->finished,
							  TEST_TIMEOUT), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&q->preempt_calls), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&q->wait_calls), 4);
	expect_log(test, q, expected, ARRAY_SIZE(expected));

	put_fence(pfence);
	mock_queue_destroy(q);
}

/*
 * Stress: publishers submit jobs executed by the mock hardware while
 * triggers preempt the queues, which resume by themselves. Every published
 * job must signal, in order; no job may be published after the preemption
 * took the last one, nor while the queue is stopped.
 *
 * Concurrency is proven, not assumed: all threads pass a start barrier
 * together, the test counts the operations (publishing, or a preemption
 * from trigger to signal) in progress at the same time and requires at
 * least two, and it requires publishing attempts on a queue that started
 * and ended while a preemption of that queue was in progress. The run lasts
 * STRESS_MS; every preemption wait is bounded by TEST_TIMEOUT, so is the
 * teardown.
 */
#define STRESS_QUEUES		2
#define STRESS_PUBLISHERS	3
#define STRESS_TRIGGERS		2
#define STRESS_MS		1500

struct stress {
	struct mock_queue *qs[STRESS_QUEUES];
	atomic_t published;
	atomic_t rejected;
	atomic_t submit_errors;
	atomic_t preempt_errors;
	atomic_t timeouts;

	/* proof of concurrency */
	int threads;
	atomic_t started;
	atomic_t in_flight;
	atomic_t max_in_flight;
	/* preemptions of each queue in progress, and finished */
	atomic_t preempting[STRESS_QUEUES];
	atomic_t preempted[STRESS_QUEUES];
	/* publishing attempts made during a preemption of their queue */
	atomic_t overlaps;
};

static void note_max(atomic_t *max, int value)
{
	int old = atomic_read(max);

	while (old < value && !atomic_try_cmpxchg(max, &old, value))
		;
}

static void stress_op_begin(struct stress *s)
{
	note_max(&s->max_in_flight, atomic_inc_return(&s->in_flight));
}

static void stress_op_end(struct stress *s)
{
	atomic_dec(&s->in_flight);
}

/* The start barrier: returns once every thread got there */
static void stress_start(struct stress *s)
{
	atomic_inc(&s->started);
	/* wake_up_var() needs the store ordered before it */
	smp_mb__after_atomic();
	wake_up_var(&s->started);
	wait_var_event_timeout(&s->started,
			       atomic_read(&s->started) >= s->threads ||
			       kthread_should_stop(), TEST_TIMEOUT);
}

struct stress_thread {
	struct stress *s;
	int id;
};

static int stress_publisher(void *arg)
{
	struct stress_thread *t = arg;
	struct stress *s = t->s;
	unsigned int n = t->id, qi;
	struct mock_job *job;
	int during, finished;

	stress_start(s);
	while (!kthread_should_stop()) {
		qi = n++ % STRESS_QUEUES;
		stress_op_begin(s);
		finished = atomic_read(&s->preempted[qi]);
		during = atomic_read(&s->preempting[qi]);
		job = mock_submit(s->qs[qi]);
		/*
		 * The whole attempt ran during one preemption of the queue:
		 * one was in progress at its start and at its end, and none
		 * finished meanwhile.
		 */
		if (during && atomic_read(&s->preempting[qi]) &&
		    atomic_read(&s->preempted[qi]) == finished)
			atomic_inc(&s->overlaps);
		stress_op_end(s);
		if (IS_ERR(job)) {
			if (PTR_ERR(job) == -EAGAIN)
				atomic_inc(&s->rejected);
			else
				atomic_inc(&s->submit_errors);
			/* load: back off, let the queue resume */
			usleep_range(20, 50);
			continue;
		}
		atomic_inc(&s->published);
		dma_fence_put(&job->base);
		/* load: vary the submission rate */
		if (n % 8 == 0)
			usleep_range(10, 30);
		else
			cond_resched();
	}

	return 0;
}

static int stress_trigger(void *arg)
{
	struct stress_thread *t = arg;
	struct stress *s = t->s;
	unsigned int n = t->id;
	struct dma_fence_preempt *pfence;
	struct mock_queue *q;
	unsigned int qi;

	stress_start(s);
	while (!kthread_should_stop()) {
		qi = n++ % STRESS_QUEUES;
		q = s->qs[qi];
		/* preempt while jobs are in flight, if there are any */
		wait_event_timeout(q->submit_wq, !list_empty_careful(&q->ring),
				   HZ / 10);
		pfence = mock_get_cur(q);
		if (pfence) {
			stress_op_begin(s);
			dma_fence_enable_signaling(&pfence->base);
			/* from its trigger to the end of the wait for it */
			atomic_inc(&s->preempting[qi]);
			if (wait_fence(&pfence->base) <= 0)
				atomic_inc(&s->timeouts);
			else if (pfence->base.error)
				atomic_inc(&s->preempt_errors);
			stress_op_end(s);
			/* finished before it is no longer in progress */
			atomic_inc(&s->preempted[qi]);
			atomic_dec(&s->preempting[qi]);
			put_fence(pfence);
		}
		/* load: let the queue resume and fill up again */
		usleep_range(200, 500);
	}

	return 0;
}

static void test_stress(struct kunit *test)
{
	struct stress_thread pubs[STRESS_PUBLISHERS], trigs[STRESS_TRIGGERS];
	struct task_struct *tasks[STRESS_PUBLISHERS + STRESS_TRIGGERS];
	struct stress *s;
	int i, n = 0, calls = 0;

	s = kunit_kzalloc(test, sizeof(*s), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, s);
	s->threads = STRESS_PUBLISHERS + STRESS_TRIGGERS;
	for (i = 0; i < STRESS_QUEUES; i++) {
		s->qs[i] = mock_queue_create(test, 32 + i, PREEMPT_TIMEOUT);
		s->qs[i]->hw_auto = true;
		s->qs[i]->auto_resume = true;
		/* leave the publishers time to run into the preemption */
		s->qs[i]->wait = WAIT_TICK;
		KUNIT_ASSERT_EQ(test, mock_arm(s->qs[i]), 0);
	}

	for (i = 0; i < STRESS_PUBLISHERS; i++) {
		pubs[i].s = s;
		pubs[i].id = i;
		tasks[n] = kthread_run(stress_publisher, &pubs[i],
				       "preempt-pub/%d", i);
		if (!IS_ERR(tasks[n]))
			n++;
	}
	for (i = 0; i < STRESS_TRIGGERS; i++) {
		trigs[i].s = s;
		trigs[i].id = i;
		tasks[n] = kthread_run(stress_trigger, &trigs[i],
				       "preempt-trig/%d", i);
		if (!IS_ERR(tasks[n]))
			n++;
	}

	KUNIT_EXPECT_EQ(test, n, STRESS_PUBLISHERS + STRESS_TRIGGERS);
	KUNIT_EXPECT_NE(test, wait_var_event_timeout(&s->started,
						     atomic_read(&s->started) >=
						     s->threads, TEST_TIMEOUT),
			0);
	/* the duration of the run, not an ordering */
	msleep(STRESS_MS);
	for (i = 0; i < n; i++)
		kthread_stop(tasks[i]);

	for (i = 0; i < STRESS_QUEUES; i++) {
		struct mock_queue *q = s->qs[i];

		/* let the hardware finish, then tear down: nothing to kill */
		flush_work(&q->hw_work);
		KUNIT_EXPECT_TRUE(test, list_empty(&q->ring));
		mock_queue_kill(q);
		calls += atomic_read(&q->preempt_calls);
		/* every published job signaled, in order */
		KUNIT_EXPECT_EQ(test, q->signaled_seqno, q->job_seqno);
		KUNIT_EXPECT_EQ(test, atomic_read(&q->order_violations), 0);
		KUNIT_EXPECT_EQ(test, atomic_read(&q->violations), 0);
		KUNIT_EXPECT_EQ(test, atomic_read(&q->resume_errors), 0);
		KUNIT_EXPECT_EQ(test, atomic_read(&q->preempt_calls),
				atomic_read(&q->finished_calls));
	}

	KUNIT_EXPECT_EQ(test, atomic_read(&s->timeouts), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&s->preempt_errors), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&s->submit_errors), 0);
	KUNIT_EXPECT_GE(test, calls, 10);
	KUNIT_EXPECT_GE(test, atomic_read(&s->published), 100);
	KUNIT_EXPECT_GT(test, atomic_read(&s->rejected), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&s->published),
			(int)(s->qs[0]->job_seqno + s->qs[1]->job_seqno));
	KUNIT_EXPECT_GE(test, atomic_read(&s->max_in_flight), 2);
	KUNIT_EXPECT_GT(test, atomic_read(&s->overlaps), 0);
	kunit_info(test, "%d jobs published, %d rejected, %d preemptions\n",
		   atomic_read(&s->published), atomic_read(&s->rejected), calls);
	kunit_info(test, "up to %d operations in progress together\n",
		   atomic_read(&s->max_in_flight));
	kunit_info(test, "%d publishing attempts during a preemption of their queue\n",
		   atomic_read(&s->overlaps));

	for (i = 0; i < STRESS_QUEUES; i++)
		mock_queue_free(s->qs[i]);
}

static struct kunit_case dma_fence_preempt_cases[] = {
	KUNIT_CASE(test_order),
	KUNIT_CASE(test_no_completion_fence),
	KUNIT_CASE(test_publish_blocked_until_resume),
	KUNIT_CASE(test_resume_rearms),
	KUNIT_CASE(test_arm_busy),
	KUNIT_CASE_PARAM(test_preempt_error, preempt_error_gen_params),
	KUNIT_CASE(test_wait_timeout),
	KUNIT_CASE(test_last_fence_timeout),
	KUNIT_CASE(test_publish_one_timeline),
	KUNIT_CASE(test_publish_own_preempt_fence),
	KUNIT_CASE(test_publish_without_kill),
	KUNIT_CASE(test_wait_resume),
	KUNIT_CASE(test_fini_pending),
	KUNIT_CASE(test_release_after_ops_gone),
	KUNIT_CASE(test_fini_waiting_for_job),
	KUNIT_CASE(test_fini_during_wait),
	KUNIT_CASE(test_parallel),
	KUNIT_CASE(test_resv_preempt_usage),
	KUNIT_CASE(test_is_preempt),
	KUNIT_CASE(test_wait_again),
	KUNIT_CASE(test_ctx_init_misuse),
	KUNIT_CASE_SLOW(test_stress),
	{}
};

static struct kunit_suite dma_fence_preempt_suite = {
	.name = "dma-buf-fence-preempt",
	.init = dma_fence_preempt_test_init,
	.exit = dma_fence_preempt_test_exit,
	.test_cases = dma_fence_preempt_cases,
};

kunit_test_suite(dma_fence_preempt_suite);
