// SPDX-License-Identifier: GPL-2.0
/*
 * DRM scheduler tests of jobs depending on preemption fences: the scheduler
 * only triggers them once every other dependency of the job is resolved
 * (signaled, or scheduled for a job of the same scheduler, which it
 * pipelines), all of them at once, and waits for them before the job runs
 * or is killed.
 *
 * The preemption fences are &struct dma_fence_preempt of mock contexts whose
 * operations record when the preemption started and when it completed, and
 * can be held up by a gate, so that the tests can check that several
 * preemptions are in progress at the same time. The other dependencies are
 * fences the test signals, which record when signaling was enabled on them
 * and when they signaled.
 */

#include <kunit/resource.h>
#include <linux/delay.h>
#include <linux/dma-fence-preempt.h>
#include <linux/dma-resv.h>
#include <linux/dma-resv-vm.h>
#include <linux/jiffies.h>
#include <linux/list.h>
#include <linux/prandom.h>
#include <linux/slab.h>
#include <linux/wait_bit.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

#include "sched_tests.h"

/* How long a test waits for something that must happen */
#define WAIT_TIMEOUT		(2 * HZ)
/*
 * Negative checks: how long a test watches for something the scheduler must
 * not do, long enough for a wrong implementation to do it. Passing such a
 * check only means that it did not happen within this bound.
 */
#define SETTLE_MS		20
/* Preemption timeout of the contexts: longer than a test holds a gate */
#define PREEMPT_TIMEOUT		(4 * WAIT_TIMEOUT)

/*
 * Dependency fences and preemption fences alive. Not per test: a fence may
 * be released after the test that made it, when a job drops it.
 */
static atomic_t fences_alive;

static void fence_alive_dec(void)
{
	if (atomic_dec_and_test(&fences_alive))
		wake_up_var(&fences_alive);
}

/**
 * struct preempt_test - state of a test
 * @test: the test
 * @sched: the mock scheduler of the test
 * @seq: event sequence numbers, to check the order of things
 * @fences: the dependency fences the test holds, &struct dep_fence.link
 * @pctxs: the preemptible contexts of the test, &struct mock_pctx.link
 * @scheds: the schedulers of the test; the test tears them down, with
 *	@entities, before the KUnit-managed memory of its first job is freed
 * @num_scheds: the number of entries of @scheds in use
 * @entities: the entities of the test, torn down before @scheds
 * @num_entities: the number of entries of @entities in use
 */
struct preempt_test {
	struct kunit *test;
	struct drm_mock_scheduler *sched;
	atomic_t seq;
	struct list_head fences;
	struct list_head pctxs;
	struct drm_mock_scheduler *scheds[2];
	unsigned int num_scheds;
	struct drm_mock_sched_entity *entities[4];
	unsigned int num_entities;
};

static unsigned int next_seq(struct preempt_test *t)
{
	return atomic_inc_return(&t->seq);
}

/*
 * The number of jobs the mock scheduler ran so far. The hardware fence of a
 * job gets the next number when the job runs, so a job ran after an event
 * exactly when its hardware fence seqno is greater than the count taken at
 * the event.
 */
static unsigned int hw_count(struct drm_mock_scheduler *sched)
{
	return atomic_read(&sched->hw_timeline.next_seqno);
}

static u64 job_hw_seqno(struct drm_mock_sched_job *job)
{
	return READ_ONCE(job->hw_fence.seqno);
}

static bool job_ran(struct drm_mock_sched_job *job)
{
	return job_hw_seqno(job) != 0;
}

/* Dependency fences, signaled by the test */

/**
 * struct dep_fence - a dependency fence signaled by the test
 * @base: the fence, with the inline fence lock
 * @t: the test
 * @link: in &preempt_test.fences while the test holds the fence
 * @enabled: completed when signaling is enabled on the fence
 * @signal_work: signals the fence, for the tests that queue it
 * @enable_seq: sequence number of enable_signaling, 0 if not called
 * @signal_seq: sequence number of the signal, 0 if not signaled
 * @signal_hw: hw_count() when the fence signaled
 */
struct dep_fence {
	struct dma_fence base;
	struct preempt_test *t;
	struct list_head link;
	struct completion enabled;
	struct delayed_work signal_work;
	unsigned int enable_seq;
	unsigned int signal_seq;
	unsigned int signal_hw;
};

static struct dep_fence *to_dep_fence(struct dma_fence *fence)
{
	return container_of(fence, struct dep_fence, base);
}

static const char *dep_fence_name(struct dma_fence *fence)
{
	return "drm_sched_preempt_test";
}

static bool dep_fence_enable_signaling(struct dma_fence *fence)
{
	struct dep_fence *f = to_dep_fence(fence);

	f->enable_seq = next_seq(f->t);
	complete_all(&f->enabled);

	return true;
}

static void dep_fence_release(struct dma_fence *fence)
{
	fence_alive_dec();
	dma_fence_free(fence);
}

static const struct dma_fence_ops dep_fence_ops = {
	.get_driver_name = dep_fence_name,
	.get_timeline_name = dep_fence_name,
	.enable_signaling = dep_fence_enable_signaling,
	.release = dep_fence_release,
};

static void dep_fence_signal(struct dep_fence *f, int error)
{
	unsigned long flags;

	dma_fence_lock_irqsave(&f->base, flags);
	if (!dma_fence_is_signaled_locked(&f->base)) {
		f->signal_seq = next_seq(f->t);
		f->signal_hw = hw_count(f->t->sched);
		if (error)
			dma_fence_set_error(&f->base, error);
		dma_fence_signal_locked(&f->base);
	}
	dma_fence_unlock_irqrestore(&f->base, flags);
}

static void dep_fence_signal_work(struct work_struct *work)
{
	struct dep_fence *f = container_of(work, typeof(*f), signal_work.work);

	dep_fence_signal(f, 0);
}

/* Unblocks whatever still waits for the fence and drops the test's reference */
static void dep_fence_put_action(void *data)
{
	struct dep_fence *f = data;

	cancel_delayed_work_sync(&f->signal_work);
	dep_fence_signal(f, -ECANCELED);
	list_del(&f->link);
	dma_fence_put(&f->base);
}

static struct dep_fence *dep_fence_new(struct preempt_test *t)
{
	struct kunit *test = t->test;
	struct dep_fence *f;

	f = kzalloc_obj(*f);
	KUNIT_ASSERT_NOT_NULL(test, f);

	f->t = t;
	init_completion(&f->enabled);
	INIT_DELAYED_WORK(&f->signal_work, dep_fence_signal_work);
	dma_fence_init(&f->base, &dep_fence_ops, NULL,
		       dma_fence_context_alloc(1), 1);
	atomic_inc(&fences_alive);
	list_add_tail(&f->link, &t->fences);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test,
							dep_fence_put_action,
							f), 0);

	return f;
}

static bool dep_fence_wait_enabled(struct dep_fence *f)
{
	return wait_for_completion_timeout(&f->enabled, WAIT_TIMEOUT);
}

/* Preemptible contexts and their preemption fences */

/**
 * struct mock_pctx - a preemptible context
 * @base: the context
 * @t: the test
 * @link: in &preempt_test.pctxs until torn down
 * @lock: protects @cur
 * @cur: the current preemption fence, a reference
 * @error: returned by the preempt operation
 * @gated: the preempt_wait operation waits for @gate
 * @gate: completed by the test to let the preemption complete
 * @auto_resume: the context is resumed with a new preemption fence once
 *	preempted, as a driver does
 * @resume_work: arms the new preemption fence
 * @on_preempt: optional, called from the preempt operation
 * @owner: for @on_preempt
 * @entered: completed by the preempt operation
 * @preempts: number of preempt operations
 * @preempt_seq: sequence number of the last preempt operation
 * @done_seq: sequence number of the last completed preemption, 0 if none
 * @done_hw: hw_count() when the last preemption completed
 */
struct mock_pctx {
	struct dma_fence_preempt_ctx base;
	struct preempt_test *t;
	struct list_head link;

	/* Protects cur */
	spinlock_t lock;
	struct mock_pfence *cur;

	int error;
	bool gated;
	struct completion gate;
	bool auto_resume;
	struct work_struct resume_work;
	void (*on_preempt)(struct mock_pctx *pctx);
	void *owner;

	struct completion entered;
	atomic_t preempts;
	unsigned int preempt_seq;
	unsigned int done_seq;
	unsigned int done_hw;
};

/**
 * struct mock_pfence - a preemption fence of a &struct mock_pctx
 * @base: the preemption fence
 */
struct mock_pfence {
	struct dma_fence_preempt base;
};

static struct mock_pctx *to_mock_pctx(struct dma_fence_preempt *pfence)
{
	return container_of(pfence->ctx, struct mock_pctx, base);
}

static void mock_pctx_done(struct mock_pctx *pctx)
{
	pctx->done_hw = hw_count(pctx->t->sched);
	pctx->done_seq = next_seq(pctx->t);
}

static int mock_preempt(struct dma_fence_preempt *pfence)
{
	struct mock_pctx *pctx = to_mock_pctx(pfence);

	pctx->preempt_seq = next_seq(pctx->t);
	atomic_inc(&pctx->preempts);
	if (pctx->on_preempt)
		pctx->on_preempt(pctx);
	complete_all(&pctx->entered);
	if (pctx->error)
		mock_pctx_done(pctx);

	return pctx->error;
}

static int mock_preempt_wait(struct dma_fence_preempt *pfence, long timeout)
{
	struct mock_pctx *pctx = to_mock_pctx(pfence);
	int ret = 0;

	if (pctx->gated && !wait_for_completion_timeout(&pctx->gate, timeout))
		ret = -ETIME;
	/* The fence signals right after this */
	mock_pctx_done(pctx);

	return ret;
}

static void mock_preempt_finished(struct dma_fence_preempt *pfence)
{
	struct mock_pctx *pctx = to_mock_pctx(pfence);

	if (READ_ONCE(pctx->auto_resume))
		queue_work(system_dfl_wq, &pctx->resume_work);
}

static void mock_pfence_release(struct dma_fence_preempt *pfence)
{
	struct mock_pfence *mp = container_of(pfence, typeof(*mp), base);

	fence_alive_dec();
	kfree_rcu(mp, base.base.rcu);
}

static const struct dma_fence_preempt_ops mock_preempt_ops = {
	.driver_name = "drm_sched_preempt_test",
	.preempt = mock_preempt,
	.preempt_wait = mock_preempt_wait,
	.preempt_finished = mock_preempt_finished,
	.release = mock_pfence_release,
};

/* Arms a new preemption fence, which becomes the current one */
static int mock_pctx_arm(struct mock_pctx *pctx)
{
	struct mock_pfence *mp, *old;
	int err;

	mp = kzalloc_obj(*mp);
	if (!mp)
		return -ENOMEM;

	err = dma_fence_preempt_arm(&pctx->base, &mp->base);
	if (err) {
		kfree(mp);
		return err;
	}
	atomic_inc(&fences_alive);

	spin_lock_irq(&pctx->lock);
	old = pctx->cur;
	pctx->cur = mp;
	spin_unlock_irq(&pctx->lock);
	if (old)
		dma_fence_put(&old->base.base);

	return 0;
}

/* What the resume work of a driver does, once the context was preempted */
static void mock_pctx_resume_work(struct work_struct *work)
{
	struct mock_pctx *pctx = container_of(work, typeof(*pctx), resume_work);

	/* Fails with -ENODEV once the context is torn down */
	mock_pctx_arm(pctx);
}

/* Returns a reference to the current preemption fence */
static struct dma_fence *mock_pctx_get(struct mock_pctx *pctx)
{
	struct dma_fence *fence;

	spin_lock_irq(&pctx->lock);
	fence = dma_fence_get(&pctx->cur->base.base);
	spin_unlock_irq(&pctx->lock);

	return fence;
}

/* The current preemption fence, for tests that do not resume the context */
static struct dma_fence *pfence_of(struct mock_pctx *pctx)
{
	return &pctx->cur->base.base;
}

static void mock_pctx_fini_action(void *data)
{
	struct mock_pctx *pctx = data;

	complete_all(&pctx->gate);
	WRITE_ONCE(pctx->auto_resume, false);
	dma_fence_preempt_ctx_fini(&pctx->base);
	cancel_work_sync(&pctx->resume_work);
	if (pctx->cur)
		dma_fence_put(&pctx->cur->base.base);
	pctx->cur = NULL;
	list_del(&pctx->link);
}

static struct mock_pctx *mock_pctx_new(struct preempt_test *t)
{
	struct kunit *test = t->test;
	struct mock_pctx *pctx;

	pctx = kunit_kzalloc(test, sizeof(*pctx), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, pctx);

	pctx->t = t;
	spin_lock_init(&pctx->lock);
	init_completion(&pctx->gate);
	init_completion(&pctx->entered);
	INIT_WORK(&pctx->resume_work, mock_pctx_resume_work);
	dma_fence_preempt_ctx_init(&pctx->base, &mock_preempt_ops,
				   PREEMPT_TIMEOUT);
	list_add_tail(&pctx->link, &t->pctxs);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test,
							mock_pctx_fini_action,
							pctx), 0);
	KUNIT_ASSERT_EQ(test, mock_pctx_arm(pctx), 0);

	return pctx;
}

static bool mock_pctx_wait_entered(struct mock_pctx *pctx)
{
	return wait_for_completion_timeout(&pctx->entered, WAIT_TIMEOUT);
}

/* Entities and jobs */

KUNIT_DEFINE_ACTION_WRAPPER(entity_free_action, drm_mock_sched_entity_free,
			    struct drm_mock_sched_entity *);

static struct drm_mock_sched_entity *
entity_new(struct preempt_test *t, struct drm_mock_scheduler *sched)
{
	struct drm_mock_sched_entity *entity;

	KUNIT_ASSERT_LT(t->test, t->num_entities, ARRAY_SIZE(t->entities));
	entity = drm_mock_sched_entity_new(t->test, DRM_SCHED_PRIORITY_NORMAL,
					   sched);
	/* Before the scheduler is torn down, after what the jobs wait for */
	KUNIT_ASSERT_EQ(t->test, kunit_add_action_or_reset(t->test,
							   entity_free_action,
							   entity), 0);
	t->entities[t->num_entities++] = entity;

	return entity;
}

static void sched_fini_action(void *sched);

/*
 * Frees the entities, then tears the schedulers down, which frees the jobs
 * they still hold and waits for their work: nothing of the scheduler touches
 * a job once its test managed memory is freed. A no-op the second time.
 */
static void teardown_before_jobs(void *data)
{
	struct preempt_test *t = data;

	while (t->num_entities)
		kunit_release_action(t->test, entity_free_action,
				     t->entities[--t->num_entities]);
	while (t->num_scheds)
		kunit_release_action(t->test, sched_fini_action,
				     t->scheds[--t->num_scheds]);
}

static struct drm_mock_sched_job *job_new(struct preempt_test *t,
					  struct drm_mock_sched_entity *entity)
{
	struct drm_mock_sched_job *job = drm_mock_sched_job_new(t->test, entity);

	drm_mock_sched_job_set_duration_us(job, 100);

	/*
	 * The job's memory is test managed and would be freed before the
	 * entity and the scheduler, which were created first: tearing the
	 * entity down puts the scheduled fence of its last job, and with it
	 * the job's hardware fence, and the scheduler frees finished jobs from
	 * a work item. Tear both down right before the job's memory goes,
	 * after what the job waits for, which the test creates later.
	 */
	KUNIT_ASSERT_EQ(t->test, kunit_add_action_or_reset(t->test,
							   teardown_before_jobs,
							   t), 0);

	return job;
}

static void add_dep(struct kunit *test, struct drm_mock_sched_job *job,
		    struct dma_fence *fence)
{
	KUNIT_ASSERT_EQ(test, drm_sched_job_add_dependency(&job->base,
							   dma_fence_get(fence)),
			0);
}

static void fence_put_action(void *data)
{
	dma_fence_put(data);
}

/*
 * Arms and pushes @job. Returns its finished fence, which the test holds
 * until it ends: &drm_sched_job.s_fence is gone once the job is freed.
 */
static struct dma_fence *submit(struct preempt_test *t,
				struct drm_mock_sched_job *job)
{
	struct dma_fence *finished;

	drm_sched_job_arm(&job->base);
	finished = dma_fence_get(&job->base.s_fence->finished);
	KUNIT_ASSERT_EQ(t->test, kunit_add_action_or_reset(t->test,
							   fence_put_action,
							   finished), 0);
	drm_sched_entity_push_job(&job->base);

	return finished;
}

static bool wait_fence(struct dma_fence *fence)
{
	return dma_fence_wait_timeout(fence, false, WAIT_TIMEOUT) > 0;
}

/*
 * Waits for a job of a killed entity to be killed, and for the scheduler to
 * be done with it: it is freed right after its finished fence signals.
 */
static bool wait_killed(struct drm_mock_sched_job *job,
			struct dma_fence *finished)
{
	if (!wait_fence(finished))
		return false;

	flush_work(&job->base.work);
	return true;
}

static unsigned int count_deps(struct drm_mock_sched_job *job)
{
	struct dma_fence *fence;
	unsigned long index;
	unsigned int count = 0;

	xa_for_each(&job->base.dependencies, index, fence)
		count++;

	return count;
}

static bool in_set(struct dma_fence *fence, struct dma_fence **set,
		   unsigned int count)
{
	while (count--)
		if (set[count] == fence)
			return true;

	return false;
}

/*
 * Checks that the preemption fences in @pfences come after every other
 * dependency of @job in &drm_sched_job.dependencies, which is what the
 * drivers walking the dependencies see.
 */
static void expect_preempt_last(struct kunit *test,
				struct drm_mock_sched_job *job,
				struct dma_fence **pfences, unsigned int count)
{
	struct dma_fence *fence;
	unsigned long index;
	bool preempt = false;

	xa_for_each(&job->base.dependencies, index, fence) {
		if (in_set(fence, pfences, count))
			preempt = true;
		else
			KUNIT_EXPECT_FALSE_MSG(test, preempt,
					       "dependency %lu after a preemption fence",
					       index);
	}
}

/* Waits for the references to @fence held elsewhere to be dropped */
static bool wait_refs(struct dma_fence *fence, unsigned int refs)
{
	unsigned long timeout = jiffies + WAIT_TIMEOUT;

	while (kref_read(&fence->refcount) > refs) {
		if (time_after(jiffies, timeout))
			return false;
		usleep_range(1000, 2000);
	}

	return true;
}

static bool enabled(struct dma_fence *fence)
{
	return test_bit(DMA_FENCE_FLAG_ENABLE_SIGNAL_BIT, &fence->flags);
}

/*
 * Negative check: watches @cond for SETTLE_MS and is true if it stayed false
 * all along. Nothing wakes the test when these conditions change: poll.
 */
#define stays_false(cond) ({						\
	unsigned long __end = jiffies + msecs_to_jiffies(SETTLE_MS) + 1;\
	bool __hit;							\
									\
	for (;;) {							\
		__hit = (cond);						\
		if (__hit || !time_before(jiffies, __end))		\
			break;						\
		usleep_range(500, 1000);				\
	}								\
	!__hit;								\
})

static bool any_enabled(struct mock_pctx **pctxs, unsigned int count)
{
	while (count--)
		if (enabled(pfence_of(pctxs[count])))
			return true;

	return false;
}

/*
 * Tears down the dependency fences and contexts of the test and checks that
 * every fence was freed, the dependencies of the jobs included.
 */
static void expect_no_leak(struct preempt_test *t)
{
	struct mock_pctx *pctx, *next_pctx;
	struct dep_fence *f, *next_f;

	list_for_each_entry_safe(f, next_f, &t->fences, link)
		kunit_release_action(t->test, dep_fence_put_action, f);
	list_for_each_entry_safe(pctx, next_pctx, &t->pctxs, link)
		kunit_release_action(t->test, mock_pctx_fini_action, pctx);

	KUNIT_EXPECT_TRUE_MSG(t->test,
			      wait_var_event_timeout(&fences_alive,
						     !atomic_read(&fences_alive),
						     WAIT_TIMEOUT),
			      "%d fences leaked", atomic_read(&fences_alive));
}

KUNIT_DEFINE_ACTION_WRAPPER(sched_fini_action, drm_mock_sched_fini,
			    struct drm_mock_scheduler *);

static struct drm_mock_scheduler *sched_new(struct preempt_test *t)
{
	struct drm_mock_scheduler *sched;

	KUNIT_ASSERT_LT(t->test, t->num_scheds, ARRAY_SIZE(t->scheds));
	sched = drm_mock_sched_new(t->test, MAX_SCHEDULE_TIMEOUT);
	/* Registered before the jobs, torn down after the entities */
	KUNIT_ASSERT_EQ(t->test, kunit_add_action_or_reset(t->test,
							   sched_fini_action,
							   sched), 0);
	t->scheds[t->num_scheds++] = sched;

	return sched;
}

static int drm_sched_preempt_init(struct kunit *test)
{
	struct preempt_test *t;

	t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, t);

	t->test = test;
	INIT_LIST_HEAD(&t->fences);
	INIT_LIST_HEAD(&t->pctxs);
	t->sched = sched_new(t);
	test->priv = t;

	return 0;
}

/*
 * Signaling is not enabled on a preemption fence while the job waits for its
 * other dependencies, although the preemption fence was added first; the job
 * runs once the preemption completed.
 */
static void drm_sched_preempt_after_deps(struct kunit *test)
{
	struct preempt_test *t = test->priv;
	struct drm_mock_sched_entity *entity = entity_new(t, t->sched);
	struct drm_mock_sched_job *job = job_new(t, entity);
	struct dep_fence *a = dep_fence_new(t);
	struct dep_fence *b = dep_fence_new(t);
	struct mock_pctx *pctx = mock_pctx_new(t);
	struct dma_fence *p = pfence_of(pctx);
	struct dma_fence *finished;

	add_dep(test, job, p);
	add_dep(test, job, &a->base);
	add_dep(test, job, &b->base);
	KUNIT_EXPECT_EQ(test, count_deps(job), 3);
	finished = submit(t, job);

	KUNIT_ASSERT_TRUE(test, dep_fence_wait_enabled(a));
	KUNIT_EXPECT_TRUE(test, stays_false(enabled(p) ||
					    atomic_read(&pctx->preempts)));
	KUNIT_EXPECT_FALSE(test, enabled(p));
	KUNIT_EXPECT_EQ(test, atomic_read(&pctx->preempts), 0);

	dep_fence_signal(a, 0);
	KUNIT_ASSERT_TRUE(test, dep_fence_wait_enabled(b));
	KUNIT_EXPECT_TRUE(test, stays_false(enabled(p) ||
					    atomic_read(&pctx->preempts) ||
					    job_ran(job)));
	KUNIT_EXPECT_FALSE(test, enabled(p));
	KUNIT_EXPECT_EQ(test, atomic_read(&pctx->preempts), 0);
	KUNIT_EXPECT_FALSE(test, job_ran(job));

	dep_fence_signal(b, 0);
	KUNIT_ASSERT_TRUE(test, wait_fence(finished));
	KUNIT_EXPECT_EQ(test, atomic_read(&pctx->preempts), 1);
	KUNIT_EXPECT_GT(test, pctx->preempt_seq, b->signal_seq);
	KUNIT_EXPECT_GT(test, job_hw_seqno(job), pctx->done_hw);
	KUNIT_EXPECT_TRUE(test, dma_fence_is_signaled(p));
	KUNIT_EXPECT_EQ(test, finished->error, 0);

	expect_no_leak(t);
}

/*
 * What "every other dependency resolved" means for the preemption fences of a
 * job: a job of the same scheduler it depends on only needs to be scheduled,
 * as the scheduler pipelines it on the hardware ring, so the preemption
 * fences are triggered while that job still runs. A job of another scheduler
 * must have finished first.
 */
static void drm_sched_preempt_pipelined(struct kunit *test)
{
	struct preempt_test *t = test->priv;
	struct drm_mock_scheduler *other = sched_new(t);
	struct drm_mock_sched_entity *e1 = entity_new(t, t->sched);
	struct drm_mock_sched_entity *e2 = entity_new(t, t->sched);
	struct drm_mock_sched_entity *e3 = entity_new(t, other);
	struct drm_mock_sched_job *first = job_new(t, e1);
	struct drm_mock_sched_job *job = job_new(t, e2);
	struct drm_mock_sched_job *foreign = job_new(t, e3);
	struct drm_mock_sched_job *job2 = job_new(t, e2);
	struct mock_pctx *pctx = mock_pctx_new(t);
	struct mock_pctx *pctx2 = mock_pctx_new(t);
	struct dma_fence *first_done, *done, *foreign_done, *done2;
	struct dma_fence *scheduled;

	/* completed by the test: drm_mock_sched_advance() */
	drm_mock_sched_job_set_duration_us(first, 0);
	drm_mock_sched_job_set_duration_us(job, 0);
	drm_mock_sched_job_set_duration_us(foreign, 0);

	/* same scheduler: pipelined */
	first_done = submit(t, first);
	add_dep(test, job, pfence_of(pctx));
	add_dep(test, job, first_done);
	done = submit(t, job);
	scheduled = dma_fence_get(&job->base.s_fence->scheduled);
	/* the scheduler triggers the preemption, not the test */
	KUNIT_ASSERT_TRUE(test, mock_pctx_wait_entered(pctx));
	KUNIT_EXPECT_TRUE(test, job_ran(first));
	KUNIT_EXPECT_FALSE(test, dma_fence_is_signaled(first_done));
	KUNIT_EXPECT_TRUE(test, wait_fence(pfence_of(pctx)));
	KUNIT_EXPECT_GE(test, pctx->done_hw, job_hw_seqno(first));
	KUNIT_ASSERT_TRUE(test, wait_fence(scheduled));
	dma_fence_put(scheduled);
	KUNIT_EXPECT_GT(test, job_hw_seqno(job), pctx->done_hw);
	KUNIT_EXPECT_FALSE(test, dma_fence_is_signaled(first_done));
	KUNIT_EXPECT_EQ(test, drm_mock_sched_advance(t->sched, 2), 2);
	KUNIT_ASSERT_TRUE(test, wait_fence(done));
	KUNIT_EXPECT_EQ(test, done->error, 0);

	/* another scheduler: not pipelined */
	foreign_done = submit(t, foreign);
	scheduled = dma_fence_get(&foreign->base.s_fence->scheduled);
	add_dep(test, job2, pfence_of(pctx2));
	add_dep(test, job2, foreign_done);
	done2 = submit(t, job2);
	KUNIT_ASSERT_TRUE(test, wait_fence(scheduled));
	dma_fence_put(scheduled);
	KUNIT_EXPECT_TRUE(test, stays_false(enabled(pfence_of(pctx2)) ||
					    atomic_read(&pctx2->preempts)));
	KUNIT_EXPECT_EQ(test, drm_mock_sched_advance(other, 1), 1);
	KUNIT_ASSERT_TRUE(test, wait_fence(done2));
	KUNIT_EXPECT_EQ(test, atomic_read(&pctx2->preempts), 1);
	KUNIT_EXPECT_TRUE(test, dma_fence_is_signaled(pfence_of(pctx2)));
	KUNIT_EXPECT_GT(test, job_hw_seqno(job2), pctx2->done_hw);

	expect_no_leak(t);
}

/*
 * Several preemption fences are triggered together: every preemption is in
 * progress before the first one completes, and the job runs after all.
 */
static void drm_sched_preempt_together(struct kunit *test)
{
	struct preempt_test *t = test->priv;
	struct drm_mock_sched_entity *entity = entity_new(t, t->sched);
	struct drm_mock_sched_job *job = job_new(t, entity);
	struct dep_fence *a = dep_fence_new(t);
	struct dma_fence *finished;
	struct mock_pctx *pctxs[3];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(pctxs); i++) {
		pctxs[i] = mock_pctx_new(t);
		pctxs[i]->gated = true;
		add_dep(test, job, pfence_of(pctxs[i]));
		if (!i)
			add_dep(test, job, &a->base);
	}
	KUNIT_EXPECT_EQ(test, count_deps(job), ARRAY_SIZE(pctxs) + 1);
	finished = submit(t, job);

	KUNIT_ASSERT_TRUE(test, dep_fence_wait_enabled(a));
	KUNIT_EXPECT_TRUE(test, stays_false(any_enabled(pctxs, ARRAY_SIZE(pctxs))));
	for (i = 0; i < ARRAY_SIZE(pctxs); i++)
		KUNIT_EXPECT_FALSE(test, enabled(pfence_of(pctxs[i])));

	dep_fence_signal(a, 0);
	for (i = 0; i < ARRAY_SIZE(pctxs); i++)
		KUNIT_ASSERT_TRUE_MSG(test, mock_pctx_wait_entered(pctxs[i]),
				      "preemption %u not started", i);
	KUNIT_EXPECT_TRUE(test, stays_false(job_ran(job)));
	KUNIT_EXPECT_FALSE(test, job_ran(job));
	for (i = 0; i < ARRAY_SIZE(pctxs); i++) {
		KUNIT_EXPECT_EQ(test, pctxs[i]->done_seq, 0);
		KUNIT_EXPECT_GT(test, pctxs[i]->preempt_seq, a->signal_seq);
	}

	/* Complete them in reverse order: the job waits for all */
	for (i = ARRAY_SIZE(pctxs); i--;) {
		complete_all(&pctxs[i]->gate);
		if (i) {
			KUNIT_EXPECT_TRUE(test, stays_false(job_ran(job)));
			KUNIT_EXPECT_FALSE(test, job_ran(job));
		}
	}

	KUNIT_ASSERT_TRUE(test, wait_fence(finished));
	for (i = 0; i < ARRAY_SIZE(pctxs); i++) {
		KUNIT_EXPECT_EQ(test, atomic_read(&pctxs[i]->preempts), 1);
		KUNIT_EXPECT_GT(test, job_hw_seqno(job), pctxs[i]->done_hw);
	}
	KUNIT_EXPECT_EQ(test, finished->error, 0);

	expect_no_leak(t);
}

/* A job with only preemption fence dependencies triggers them all at once. */
static void drm_sched_preempt_only(struct kunit *test)
{
	struct preempt_test *t = test->priv;
	struct drm_mock_sched_entity *entity = entity_new(t, t->sched);
	struct drm_mock_sched_job *job = job_new(t, entity);
	struct dma_fence *finished;
	struct mock_pctx *pctxs[2];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(pctxs); i++) {
		pctxs[i] = mock_pctx_new(t);
		pctxs[i]->gated = true;
		add_dep(test, job, pfence_of(pctxs[i]));
	}
	finished = submit(t, job);

	for (i = 0; i < ARRAY_SIZE(pctxs); i++)
		KUNIT_ASSERT_TRUE_MSG(test, mock_pctx_wait_entered(pctxs[i]),
				      "preemption %u not started", i);
	KUNIT_EXPECT_TRUE(test, stays_false(job_ran(job)));
	KUNIT_EXPECT_FALSE(test, job_ran(job));

	for (i = 0; i < ARRAY_SIZE(pctxs); i++)
		complete_all(&pctxs[i]->gate);
	KUNIT_ASSERT_TRUE(test, wait_fence(finished));
	for (i = 0; i < ARRAY_SIZE(pctxs); i++)
		KUNIT_EXPECT_GT(test, job_hw_seqno(job), pctxs[i]->done_hw);
	KUNIT_EXPECT_EQ(test, finished->error, 0);

	expect_no_leak(t);
}

/*
 * The ordinary dependencies come first in &drm_sched_job.dependencies, in
 * the order they were added, the first at index 0, and the preemption
 * fences after them; drm_sched_job_has_dependency() finds both.
 */
static void drm_sched_preempt_order(struct kunit *test)
{
	struct preempt_test *t = test->priv;
	struct drm_mock_sched_entity *entity = entity_new(t, t->sched);
	struct drm_mock_sched_job *job = job_new(t, entity);
	struct dep_fence *a = dep_fence_new(t);
	struct dep_fence *b = dep_fence_new(t);
	struct dep_fence *other = dep_fence_new(t);
	struct mock_pctx *pctxs[2] = { mock_pctx_new(t), mock_pctx_new(t) };
	struct dma_fence *pfences[] = {
		pfence_of(pctxs[0]), pfence_of(pctxs[1]),
	};
	struct dma_fence *fence;
	unsigned long index;
	unsigned int i = 0;

	add_dep(test, job, pfences[0]);
	add_dep(test, job, &a->base);
	add_dep(test, job, pfences[1]);
	add_dep(test, job, &b->base);
	KUNIT_EXPECT_EQ(test, count_deps(job), 4);
	expect_preempt_last(test, job, pfences, ARRAY_SIZE(pfences));
	KUNIT_EXPECT_PTR_EQ(test, xa_load(&job->base.dependencies, 0),
			    &a->base);

	xa_for_each(&job->base.dependencies, index, fence) {
		if (i == 0)
			KUNIT_EXPECT_PTR_EQ(test, fence, &a->base);
		else if (i == 1)
			KUNIT_EXPECT_PTR_EQ(test, fence, &b->base);
		i++;
	}

	KUNIT_EXPECT_TRUE(test, drm_sched_job_has_dependency(&job->base,
							     &a->base));
	KUNIT_EXPECT_TRUE(test, drm_sched_job_has_dependency(&job->base,
							     &b->base));
	for (i = 0; i < ARRAY_SIZE(pfences); i++)
		KUNIT_EXPECT_TRUE(test,
				  drm_sched_job_has_dependency(&job->base,
							       pfences[i]));
	KUNIT_EXPECT_FALSE(test, drm_sched_job_has_dependency(&job->base,
							      &other->base));

	drm_sched_job_cleanup(&job->base);
	expect_no_leak(t);
}

static void resv_fini_action(void *data)
{
	dma_resv_fini(data);
}

static struct dma_resv *resv_new(struct kunit *test)
{
	struct dma_resv *resv;

	resv = kunit_kzalloc(test, sizeof(*resv), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, resv);
	dma_resv_init(resv);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, resv_fini_action,
							resv), 0);

	return resv;
}

static void resv_add(struct kunit *test, struct dma_resv *resv,
		     struct dma_fence *fence, enum dma_resv_usage usage)
{
	KUNIT_ASSERT_EQ(test, dma_resv_reserve_fences(resv, 1), 0);
	dma_resv_add_fence(resv, fence, usage);
}

/*
 * Preemption fences are de-duplicated per context like the other
 * dependencies, the later fence is kept, whether added directly or from a
 * dma_resv.
 */
static void drm_sched_preempt_dedup(struct kunit *test)
{
	struct preempt_test *t = test->priv;
	struct drm_mock_sched_entity *entity = entity_new(t, t->sched);
	struct drm_mock_sched_job *job = job_new(t, entity);
	struct dep_fence *a = dep_fence_new(t);
	struct mock_pctx *pctxs[2] = { mock_pctx_new(t), mock_pctx_new(t) };
	struct dma_resv *resv = resv_new(test);
	struct dma_fence *p1, *p2, *q, *finished;
	unsigned int refs;

	/* p1 and p2 are two fences of the same context, p2 the later */
	p1 = mock_pctx_get(pctxs[0]);
	dma_fence_enable_signaling(p1);
	KUNIT_ASSERT_TRUE(test, wait_fence(p1));
	KUNIT_ASSERT_EQ(test, mock_pctx_arm(pctxs[0]), 0);
	p2 = mock_pctx_get(pctxs[0]);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, fence_put_action,
							p1), 0);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, fence_put_action,
							p2), 0);
	KUNIT_ASSERT_EQ(test, p1->context, p2->context);
	/* The signalling work of p1 drops its reference right after signaling */
	KUNIT_ASSERT_TRUE(test, wait_refs(p1, 1));
	q = pfence_of(pctxs[1]);
	refs = kref_read(&q->refcount);

	add_dep(test, job, p1);
	add_dep(test, job, q);
	add_dep(test, job, p2);		/* replaces p1 */
	add_dep(test, job, p1);		/* dropped */
	add_dep(test, job, q);		/* dropped */
	KUNIT_EXPECT_EQ(test, count_deps(job), 2);
	KUNIT_EXPECT_EQ(test, kref_read(&p1->refcount), 1);
	KUNIT_EXPECT_EQ(test, kref_read(&q->refcount), refs + 1);
	KUNIT_EXPECT_FALSE(test, drm_sched_job_has_dependency(&job->base, p1));
	KUNIT_EXPECT_TRUE(test, drm_sched_job_has_dependency(&job->base, p2));
	KUNIT_EXPECT_TRUE(test, drm_sched_job_has_dependency(&job->base, q));

	dma_resv_lock(resv, NULL);
	resv_add(test, resv, &a->base, DMA_RESV_USAGE_WRITE);
	resv_add(test, resv, q, DMA_RESV_USAGE_PREEMPT);
	resv_add(test, resv, p2, DMA_RESV_USAGE_PREEMPT);
	KUNIT_EXPECT_EQ(test,
			drm_sched_job_add_resv_dependencies(&job->base, resv,
							    DMA_RESV_USAGE_PREEMPT),
			0);
	dma_resv_unlock(resv);

	KUNIT_EXPECT_EQ(test, count_deps(job), 3);
	KUNIT_EXPECT_EQ(test, kref_read(&q->refcount), refs + 2);
	KUNIT_EXPECT_PTR_EQ(test, xa_load(&job->base.dependencies, 0), &a->base);
	expect_preempt_last(test, job, (struct dma_fence *[]){ p2, q }, 2);

	finished = submit(t, job);
	KUNIT_ASSERT_TRUE(test, dep_fence_wait_enabled(a));
	KUNIT_EXPECT_TRUE(test, stays_false(enabled(p2) || enabled(q)));
	KUNIT_EXPECT_FALSE(test, enabled(p2));
	KUNIT_EXPECT_FALSE(test, enabled(q));
	dep_fence_signal(a, 0);
	KUNIT_ASSERT_TRUE(test, wait_fence(finished));
	/* p1 by the test, p2 by the job */
	KUNIT_EXPECT_EQ(test, atomic_read(&pctxs[0]->preempts), 2);
	KUNIT_EXPECT_EQ(test, atomic_read(&pctxs[1]->preempts), 1);

	kunit_release_action(test, resv_fini_action, resv);
	kunit_release_action(test, fence_put_action, p1);
	kunit_release_action(test, fence_put_action, p2);
	expect_no_leak(t);
}

/*
 * A dma_resv walked at DMA_RESV_USAGE_PREEMPT: what is installed at that
 * usage is a preemption fence, whatever its type, waited for last and
 * triggered together with the other preemption fences; up to
 * DMA_RESV_USAGE_BOOKKEEP preemption fences are not collected at all.
 */
static void drm_sched_preempt_resv(struct kunit *test)
{
	struct preempt_test *t = test->priv;
	struct drm_mock_sched_entity *e1 = entity_new(t, t->sched);
	struct drm_mock_sched_entity *e2 = entity_new(t, t->sched);
	struct drm_mock_sched_job *job = job_new(t, e1);
	struct drm_mock_sched_job *bookkeep = job_new(t, e2);
	struct dep_fence *k = dep_fence_new(t);
	struct dep_fence *r = dep_fence_new(t);
	struct dep_fence *b = dep_fence_new(t);
	/* A driver's own preemption fence, not a dma_fence_preempt */
	struct dep_fence *own = dep_fence_new(t);
	struct mock_pctx *pctx = mock_pctx_new(t);
	struct dma_fence *p = pfence_of(pctx);
	struct dma_resv *resv = resv_new(test);
	struct dma_fence *finished, *bookkeep_finished;

	pctx->gated = true;
	dma_resv_lock(resv, NULL);
	resv_add(test, resv, p, DMA_RESV_USAGE_PREEMPT);
	resv_add(test, resv, &own->base, DMA_RESV_USAGE_PREEMPT);
	resv_add(test, resv, &k->base, DMA_RESV_USAGE_KERNEL);
	resv_add(test, resv, &r->base, DMA_RESV_USAGE_READ);
	resv_add(test, resv, &b->base, DMA_RESV_USAGE_BOOKKEEP);
	KUNIT_EXPECT_EQ(test,
			drm_sched_job_add_resv_dependencies(&bookkeep->base, resv,
							    DMA_RESV_USAGE_BOOKKEEP),
			0);
	KUNIT_EXPECT_EQ(test,
			drm_sched_job_add_resv_dependencies(&job->base, resv,
							    DMA_RESV_USAGE_PREEMPT),
			0);
	dma_resv_unlock(resv);

	KUNIT_EXPECT_EQ(test, count_deps(bookkeep), 3);
	KUNIT_EXPECT_FALSE(test, drm_sched_job_has_dependency(&bookkeep->base,
							      p));
	KUNIT_EXPECT_FALSE(test, drm_sched_job_has_dependency(&bookkeep->base,
							      &own->base));
	KUNIT_EXPECT_EQ(test, count_deps(job), 5);
	expect_preempt_last(test, job, (struct dma_fence *[]){ p, &own->base },
			    2);

	finished = submit(t, job);
	bookkeep_finished = submit(t, bookkeep);

	KUNIT_ASSERT_TRUE(test, dep_fence_wait_enabled(k));
	KUNIT_EXPECT_TRUE(test, stays_false(enabled(p) ||
					    READ_ONCE(own->enable_seq)));
	KUNIT_EXPECT_FALSE(test, enabled(p));
	KUNIT_EXPECT_EQ(test, own->enable_seq, 0);

	dep_fence_signal(k, 0);
	dep_fence_signal(r, 0);
	KUNIT_ASSERT_TRUE(test, dep_fence_wait_enabled(b));
	KUNIT_EXPECT_TRUE(test, stays_false(enabled(p) ||
					    READ_ONCE(own->enable_seq)));
	KUNIT_EXPECT_FALSE(test, enabled(p));
	KUNIT_EXPECT_EQ(test, own->enable_seq, 0);

	dep_fence_signal(b, 0);
	KUNIT_ASSERT_TRUE(test, wait_fence(bookkeep_finished));
	/* Both preemption fences are triggered, together, after b signaled */
	KUNIT_ASSERT_TRUE(test, dep_fence_wait_enabled(own));
	KUNIT_ASSERT_TRUE(test, mock_pctx_wait_entered(pctx));
	KUNIT_EXPECT_GT(test, own->enable_seq, b->signal_seq);
	KUNIT_EXPECT_GT(test, pctx->preempt_seq, b->signal_seq);
	KUNIT_EXPECT_TRUE(test, stays_false(job_ran(job)));
	KUNIT_EXPECT_FALSE(test, job_ran(job));

	complete_all(&pctx->gate);
	KUNIT_EXPECT_TRUE(test, stays_false(job_ran(job)));
	KUNIT_EXPECT_FALSE(test, job_ran(job));

	dep_fence_signal(own, 0);
	KUNIT_ASSERT_TRUE(test, wait_fence(finished));
	KUNIT_EXPECT_GT(test, job_hw_seqno(job), own->signal_hw);
	KUNIT_EXPECT_GT(test, job_hw_seqno(job), pctx->done_hw);
	KUNIT_EXPECT_EQ(test, finished->error, 0);

	kunit_release_action(test, resv_fini_action, resv);
	expect_no_leak(t);
}

struct resv_vm {
	struct dma_resv_vm base;
	struct dma_resv resv;
	struct dma_resv *buf;
};

static void resv_vm_release(struct dma_resv_vm *vm)
{
	/* Test managed: KUnit frees it once the case ends. */
	dma_resv_vm_fini(vm);
}

static void resv_vm_fini_action(void *data)
{
	struct resv_vm *vm = data;

	dma_resv_lock(vm->buf, NULL);
	dma_resv_unbind_vm(vm->buf, &vm->base);
	dma_resv_unlock(vm->buf);
	dma_resv_vm_put(&vm->base);
	dma_resv_fini(&vm->resv);
}

/* A VM bound to @buf, as a driver opting in to per-VM shared locking. */
static struct resv_vm *resv_vm_new(struct kunit *test, struct dma_resv *buf)
{
	struct resv_vm *vm;

	vm = kunit_kzalloc(test, sizeof(*vm), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, vm);
	dma_resv_init(&vm->resv);
	dma_resv_vm_init(&vm->base, &vm->resv, resv_vm_release);
	dma_resv_lock(buf, NULL);
	KUNIT_ASSERT_EQ(test, dma_resv_bind_vm(buf, &vm->base), 0);
	dma_resv_unlock(buf);
	vm->buf = buf;
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test,
							resv_vm_fini_action,
							vm), 0);
	return vm;
}

/*
 * The fences of a buffer's VMs, where submissions made under
 * dma_resv_read_lock() put theirs, are dependencies of a job that depends
 * on the buffer, filtered by usage, a VM's preemption fence after every
 * other dependency.
 */
static void drm_sched_preempt_resv_vm(struct kunit *test)
{
	struct preempt_test *t = test->priv;
	struct drm_mock_sched_entity *entity = entity_new(t, t->sched);
	struct drm_mock_sched_job *job = job_new(t, entity);
	struct drm_mock_sched_job *reader = job_new(t, entity);
	struct dep_fence *own = dep_fence_new(t);
	struct dep_fence *w = dep_fence_new(t);
	struct dep_fence *bk = dep_fence_new(t);
	struct mock_pctx *pctx = mock_pctx_new(t);
	struct dma_fence *p = pfence_of(pctx);
	struct dma_resv *buf = resv_new(test);
	struct resv_vm *vm = resv_vm_new(test, buf);
	struct dma_fence *finished;

	dma_resv_lock(&vm->resv, NULL);
	resv_add(test, &vm->resv, &w->base, DMA_RESV_USAGE_WRITE);
	resv_add(test, &vm->resv, &bk->base, DMA_RESV_USAGE_BOOKKEEP);
	resv_add(test, &vm->resv, p, DMA_RESV_USAGE_PREEMPT);
	dma_resv_unlock(&vm->resv);

	dma_resv_lock(buf, NULL);
	resv_add(test, buf, &own->base, DMA_RESV_USAGE_READ);
	KUNIT_EXPECT_EQ(test,
			drm_sched_job_add_resv_dependencies(&reader->base, buf,
							    DMA_RESV_USAGE_READ),
			0);
	KUNIT_EXPECT_EQ(test,
			drm_sched_job_add_resv_dependencies(&job->base, buf,
							    DMA_RESV_USAGE_PREEMPT),
			0);
	dma_resv_unlock(buf);

	/* Up to READ: neither the VM's BOOKKEEP nor its preemption fence. */
	KUNIT_EXPECT_EQ(test, count_deps(reader), 2);
	KUNIT_EXPECT_TRUE(test, drm_sched_job_has_dependency(&reader->base,
							     &w->base));
	KUNIT_EXPECT_FALSE(test, drm_sched_job_has_dependency(&reader->base,
							      &bk->base));
	KUNIT_EXPECT_FALSE(test, drm_sched_job_has_dependency(&reader->base,
							      p));
	drm_sched_job_cleanup(&reader->base);

	KUNIT_EXPECT_EQ(test, count_deps(job), 4);
	KUNIT_EXPECT_TRUE(test, drm_sched_job_has_dependency(&job->base,
							     &own->base));
	KUNIT_EXPECT_TRUE(test, drm_sched_job_has_dependency(&job->base,
							     &w->base));
	expect_preempt_last(test, job, (struct dma_fence *[]){ p }, 1);

	finished = submit(t, job);
	KUNIT_ASSERT_TRUE(test, dep_fence_wait_enabled(own));
	dep_fence_signal(own, 0);
	KUNIT_ASSERT_TRUE(test, dep_fence_wait_enabled(w));
	KUNIT_EXPECT_TRUE(test, stays_false(enabled(p)));
	KUNIT_EXPECT_FALSE(test, enabled(p));
	dep_fence_signal(w, 0);
	KUNIT_ASSERT_TRUE(test, dep_fence_wait_enabled(bk));
	KUNIT_EXPECT_FALSE(test, enabled(p));
	dep_fence_signal(bk, 0);
	KUNIT_ASSERT_TRUE(test, wait_fence(finished));
	KUNIT_EXPECT_GT(test, pctx->preempt_seq, bk->signal_seq);
	KUNIT_EXPECT_EQ(test, finished->error, 0);

	kunit_release_action(test, resv_vm_fini_action, vm);
	kunit_release_action(test, resv_fini_action, buf);
	expect_no_leak(t);
}

/*
 * Killing an entity whose job waits for an ordinary dependency: the killed
 * job triggers its preemption fence only once that dependency signaled, and
 * its finished fence signals after the preemption; so does the finished
 * fence of the next job of the entity.
 */
static void drm_sched_preempt_kill_waiting(struct kunit *test)
{
	struct preempt_test *t = test->priv;
	struct drm_mock_sched_entity *entity = entity_new(t, t->sched);
	struct drm_mock_sched_job *job = job_new(t, entity);
	struct drm_mock_sched_job *next = job_new(t, entity);
	struct dep_fence *a = dep_fence_new(t);
	struct mock_pctx *pctxs[2] = { mock_pctx_new(t), mock_pctx_new(t) };
	struct dma_fence *p = pfence_of(pctxs[0]);
	struct dma_fence *finished, *next_finished;

	add_dep(test, job, p);
	add_dep(test, job, &a->base);
	add_dep(test, next, pfence_of(pctxs[1]));
	finished = submit(t, job);
	next_finished = submit(t, next);
	KUNIT_ASSERT_TRUE(test, dep_fence_wait_enabled(a));

	drm_sched_entity_kill(&entity->base);
	KUNIT_EXPECT_TRUE(test, stays_false(enabled(p) ||
					    dma_fence_is_signaled(finished)));
	KUNIT_EXPECT_FALSE(test, enabled(p));
	KUNIT_EXPECT_FALSE(test, dma_fence_is_signaled(finished));

	dep_fence_signal(a, 0);
	KUNIT_ASSERT_TRUE(test, wait_killed(job, finished));
	KUNIT_ASSERT_TRUE(test, wait_killed(next, next_finished));
	KUNIT_EXPECT_EQ(test, atomic_read(&pctxs[0]->preempts), 1);
	KUNIT_EXPECT_GT(test, pctxs[0]->preempt_seq, a->signal_seq);
	KUNIT_EXPECT_TRUE(test, dma_fence_is_signaled(p));
	KUNIT_EXPECT_EQ(test, atomic_read(&pctxs[1]->preempts), 1);
	KUNIT_EXPECT_EQ(test, finished->error, -ESRCH);
	KUNIT_EXPECT_EQ(test, next_finished->error, -ESRCH);
	KUNIT_EXPECT_FALSE(test, job_ran(job));
	KUNIT_EXPECT_FALSE(test, job_ran(next));

	expect_no_leak(t);
}

/*
 * Killing an entity whose job waits for preemptions in progress: the job is
 * killed once they all completed.
 */
static void drm_sched_preempt_kill_preempting(struct kunit *test)
{
	struct preempt_test *t = test->priv;
	struct drm_mock_sched_entity *entity = entity_new(t, t->sched);
	struct drm_mock_sched_job *job = job_new(t, entity);
	struct dep_fence *a = dep_fence_new(t);
	struct mock_pctx *pctxs[2] = { mock_pctx_new(t), mock_pctx_new(t) };
	struct dma_fence *finished;

	pctxs[0]->gated = true;
	pctxs[1]->gated = true;
	add_dep(test, job, &a->base);
	add_dep(test, job, pfence_of(pctxs[0]));
	add_dep(test, job, pfence_of(pctxs[1]));
	finished = submit(t, job);
	dep_fence_signal(a, 0);
	KUNIT_ASSERT_TRUE(test, mock_pctx_wait_entered(pctxs[0]));
	KUNIT_ASSERT_TRUE(test, mock_pctx_wait_entered(pctxs[1]));

	drm_sched_entity_kill(&entity->base);
	KUNIT_EXPECT_TRUE(test, stays_false(dma_fence_is_signaled(finished)));
	KUNIT_EXPECT_FALSE(test, dma_fence_is_signaled(finished));

	complete_all(&pctxs[0]->gate);
	KUNIT_EXPECT_TRUE(test, stays_false(dma_fence_is_signaled(finished)));
	KUNIT_EXPECT_FALSE(test, dma_fence_is_signaled(finished));

	complete_all(&pctxs[1]->gate);
	KUNIT_ASSERT_TRUE(test, wait_killed(job, finished));
	KUNIT_EXPECT_EQ(test, finished->error, -ESRCH);
	KUNIT_EXPECT_FALSE(test, job_ran(job));
	KUNIT_EXPECT_EQ(test, atomic_read(&pctxs[0]->preempts), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&pctxs[1]->preempts), 1);

	expect_no_leak(t);
}

/*
 * A preemption fence signaled with an error is handled like an ordinary
 * dependency signaled with an error: not propagated, the job runs.
 */
static void drm_sched_preempt_error(struct kunit *test)
{
	struct preempt_test *t = test->priv;
	struct drm_mock_sched_entity *e1 = entity_new(t, t->sched);
	struct drm_mock_sched_entity *e2 = entity_new(t, t->sched);
	struct drm_mock_sched_job *ordinary = job_new(t, e1);
	struct drm_mock_sched_job *preempt = job_new(t, e2);
	struct dep_fence *a = dep_fence_new(t);
	struct mock_pctx *pctx = mock_pctx_new(t);
	struct dma_fence *p = pfence_of(pctx);
	struct dma_fence *ordinary_finished, *preempt_finished;

	pctx->error = -EIO;
	add_dep(test, ordinary, &a->base);
	add_dep(test, preempt, p);
	ordinary_finished = submit(t, ordinary);
	preempt_finished = submit(t, preempt);

	KUNIT_ASSERT_TRUE(test, dep_fence_wait_enabled(a));
	dep_fence_signal(a, -EIO);
	KUNIT_ASSERT_TRUE(test, wait_fence(ordinary_finished));
	KUNIT_ASSERT_TRUE(test, wait_fence(preempt_finished));

	KUNIT_EXPECT_EQ(test, a->base.error, -EIO);
	KUNIT_EXPECT_EQ(test, p->error, -EIO);
	KUNIT_EXPECT_TRUE(test, job_ran(ordinary));
	KUNIT_EXPECT_TRUE(test, job_ran(preempt));
	KUNIT_EXPECT_GT(test, job_hw_seqno(preempt), pctx->done_hw);
	KUNIT_EXPECT_EQ(test, preempt_finished->error,
			ordinary_finished->error);
	KUNIT_EXPECT_EQ(test, preempt_finished->error, 0);

	expect_no_leak(t);
}

/*
 * A job aborted before it was armed drops its preemption fence dependencies
 * without triggering them.
 */
static void drm_sched_preempt_abort(struct kunit *test)
{
	struct preempt_test *t = test->priv;
	struct drm_mock_sched_entity *entity = entity_new(t, t->sched);
	struct drm_mock_sched_job *job = job_new(t, entity);
	struct dep_fence *a = dep_fence_new(t);
	struct mock_pctx *pctx = mock_pctx_new(t);
	struct dma_fence *p = pfence_of(pctx);
	unsigned int refs = kref_read(&p->refcount);

	add_dep(test, job, p);
	add_dep(test, job, &a->base);
	KUNIT_EXPECT_EQ(test, kref_read(&p->refcount), refs + 1);

	drm_sched_job_cleanup(&job->base);
	KUNIT_EXPECT_EQ(test, kref_read(&p->refcount), refs);
	KUNIT_EXPECT_FALSE(test, enabled(p));
	KUNIT_EXPECT_EQ(test, atomic_read(&pctx->preempts), 0);

	expect_no_leak(t);
}

static struct kunit_case drm_sched_preempt_tests[] = {
	KUNIT_CASE(drm_sched_preempt_after_deps),
	KUNIT_CASE(drm_sched_preempt_pipelined),
	KUNIT_CASE(drm_sched_preempt_together),
	KUNIT_CASE(drm_sched_preempt_only),
	KUNIT_CASE(drm_sched_preempt_order),
	KUNIT_CASE(drm_sched_preempt_dedup),
	KUNIT_CASE(drm_sched_preempt_resv),
	KUNIT_CASE(drm_sched_preempt_resv_vm),
	KUNIT_CASE(drm_sched_preempt_kill_waiting),
	KUNIT_CASE(drm_sched_preempt_kill_preempting),
	KUNIT_CASE(drm_sched_preempt_error),
	KUNIT_CASE(drm_sched_preempt_abort),
	{}
};

static struct kunit_suite drm_sched_preempt = {
	.name = "drm_sched_preempt_dependency",
	.init = drm_sched_preempt_init,
	.test_cases = drm_sched_preempt_tests,
};

/*
 * Stress: many jobs on four entities of two schedulers, each with up to two
 * ordinary dependencies and up to two preemption fences, added in random
 * order. It checks that
 *
 * - every job runs and finishes, without error;
 * - when a job runs, every dependency is resolved: signaled, or scheduled
 *   for a job of the same scheduler, which the scheduler pipelines;
 * - a preemption fence only one job depends on is only triggered once every
 *   ordinary dependency of that job is resolved.
 *
 * The ordinary dependencies are fences signaled by work items after up to
 * two jiffies, or earlier jobs of any entity. The preemption fences are the
 * current fence of one of four contexts, which resume themselves with a new
 * fence once preempted, or the fence of a context of the job alone. The test
 * is bounded by STRESS_DEADLINE.
 *
 * The schedulers must run jobs while the test still submits: the test
 * counts the jobs that ran before the last one was pushed and requires
 * some, so that submission and execution overlapped rather than running one
 * after the other. It does not measure whether preemptions overlapped too.
 */

#define STRESS_JOBS		1024
#define STRESS_ENTITIES		4
#define STRESS_SHARED		4
#define STRESS_MAX_ORDINARY	2
#define STRESS_MAX_PREEMPT	2
#define STRESS_MAX_DEPS		(STRESS_MAX_ORDINARY + STRESS_MAX_PREEMPT)
#define STRESS_DEADLINE		(30 * HZ)

enum stress_dep_kind {
	STRESS_DEP_FENCE,
	STRESS_DEP_JOB,
	STRESS_DEP_SHARED,
	STRESS_DEP_PRIVATE,
};

/**
 * struct stress_dep - a dependency of a stress job
 * @kind: what the dependency is
 * @fence: the fence, a reference
 * @resolved: the fence whose signal resolves the dependency: @fence, or the
 *	scheduled fence of a job of the same scheduler
 */
struct stress_dep {
	enum stress_dep_kind kind;
	struct dma_fence *fence;
	struct dma_fence *resolved;
};

/**
 * struct stress_job - a job of the stress test
 * @job: the mock job
 * @finished: its finished fence, a reference
 * @sched: index of the scheduler of the job
 * @deps: the dependencies, in the order they were added
 * @count: number of @deps
 * @run_cb: checks the dependencies when the job is scheduled
 * @stress: the test
 */
struct stress_job {
	struct drm_mock_sched_job *job;
	struct dma_fence *finished;
	unsigned int sched;
	struct stress_dep deps[STRESS_MAX_DEPS];
	unsigned int count;
	struct dma_fence_cb run_cb;
	struct stress *stress;
};

/**
 * struct stress - state of the stress test
 * @jobs: the jobs
 * @run_violations: jobs that ran with a dependency not resolved
 * @preempt_violations: preemptions triggered too early
 * @private_preempts: preemptions of the contexts of a single job
 * @ran: jobs that ran so far
 */
struct stress {
	struct stress_job *jobs;
	atomic_t run_violations;
	atomic_t preempt_violations;
	atomic_t private_preempts;
	atomic_t ran;
};

static bool stress_dep_resolved(const struct stress_dep *dep)
{
	return dma_fence_test_signaled_flag(dep->resolved);
}

/*
 * Runs when the scheduled fence of the job signals, right after the job ran:
 * only tests flags, it runs under the fence lock.
 */
static void stress_run_cb(struct dma_fence *fence, struct dma_fence_cb *cb)
{
	struct stress_job *sj = container_of(cb, typeof(*sj), run_cb);
	unsigned int i;

	atomic_inc(&sj->stress->ran);
	for (i = 0; i < sj->count; i++)
		if (!stress_dep_resolved(&sj->deps[i]))
			atomic_inc(&sj->stress->run_violations);
}

/* A context of a single job is preempted: it must be ready but for them */
static void stress_on_private_preempt(struct mock_pctx *pctx)
{
	struct stress_job *sj = pctx->owner;
	unsigned int i;

	atomic_inc(&sj->stress->private_preempts);
	for (i = 0; i < sj->count; i++) {
		const struct stress_dep *dep = &sj->deps[i];

		if ((dep->kind == STRESS_DEP_FENCE ||
		     dep->kind == STRESS_DEP_JOB) && !stress_dep_resolved(dep))
			atomic_inc(&sj->stress->preempt_violations);
	}
}

static void stress_put_deps(void *data)
{
	struct stress_job *sj = data;

	while (sj->count)
		dma_fence_put(sj->deps[--sj->count].fence);
}

static void stress_add(struct stress_job *sj, enum stress_dep_kind kind,
		       struct dma_fence *fence, struct dma_fence *resolved)
{
	struct stress_dep *dep = &sj->deps[sj->count++];

	dep->kind = kind;
	dep->fence = fence;
	dep->resolved = resolved ?: fence;
}

static void drm_sched_preempt_stress_test(struct kunit *test)
{
	struct preempt_test *t = test->priv;
	struct drm_mock_scheduler *scheds[2] = { t->sched, sched_new(t) };
	struct drm_mock_sched_entity *entities[STRESS_ENTITIES];
	struct mock_pctx *shared[STRESS_SHARED];
	unsigned long start = jiffies;
	unsigned long deadline = start + STRESS_DEADLINE;
	unsigned int i, j, preempts = 0, shared_preempts = 0;
	unsigned int ran_during_submit;
	struct rnd_state rnd;
	struct stress *s;

	s = kunit_kzalloc(test, sizeof(*s), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, s);
	s->jobs = kunit_kcalloc(test, STRESS_JOBS, sizeof(*s->jobs),
				GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, s->jobs);

	prandom_seed_state(&rnd, 0x5eed);
	for (i = 0; i < STRESS_ENTITIES; i++)
		entities[i] = entity_new(t, scheds[i % 2]);
	for (i = 0; i < STRESS_SHARED; i++) {
		shared[i] = mock_pctx_new(t);
		shared[i]->auto_resume = true;
	}

	for (i = 0; i < STRESS_JOBS; i++) {
		struct stress_job *sj = &s->jobs[i];
		unsigned int e = prandom_u32_state(&rnd) % STRESS_ENTITIES;
		unsigned int ordinary = prandom_u32_state(&rnd) %
					(STRESS_MAX_ORDINARY + 1);
		unsigned int preempt = prandom_u32_state(&rnd) %
				       (STRESS_MAX_PREEMPT + 1);

		sj->stress = s;
		sj->sched = e % 2;
		sj->job = drm_mock_sched_job_new(test, entities[e]);
		/*
		 * See job_new(): after the memory of each job, so that a case
		 * that stops early tears down before freeing any job too.
		 */
		KUNIT_ASSERT_EQ(test,
				kunit_add_action_or_reset(test,
							  teardown_before_jobs,
							  t), 0);
		drm_mock_sched_job_set_duration_us(sj->job,
						   1 + prandom_u32_state(&rnd) % 50);
		KUNIT_ASSERT_EQ(test,
				kunit_add_action_or_reset(test, stress_put_deps,
							  sj), 0);

		for (j = 0; j < ordinary; j++) {
			if (i && prandom_u32_state(&rnd) % 2) {
				struct stress_job *prev =
					&s->jobs[prandom_u32_state(&rnd) % i];
				struct dma_fence *resolved = NULL;

				if (prev->sched == sj->sched)
					resolved = &to_drm_sched_fence(prev->finished)->scheduled;
				stress_add(sj, STRESS_DEP_JOB,
					   dma_fence_get(prev->finished),
					   resolved);
			} else {
				struct dep_fence *f = dep_fence_new(t);

				queue_delayed_work(system_dfl_wq,
						   &f->signal_work,
						   prandom_u32_state(&rnd) % 3);
				stress_add(sj, STRESS_DEP_FENCE,
					   dma_fence_get(&f->base), NULL);
			}
		}
		for (j = 0; j < preempt; j++) {
			if (prandom_u32_state(&rnd) % 2) {
				struct mock_pctx *pctx = mock_pctx_new(t);

				pctx->on_preempt = stress_on_private_preempt;
				pctx->owner = sj;
				stress_add(sj, STRESS_DEP_PRIVATE,
					   mock_pctx_get(pctx), NULL);
			} else {
				unsigned int c = prandom_u32_state(&rnd) %
						 STRESS_SHARED;

				stress_add(sj, STRESS_DEP_SHARED,
					   mock_pctx_get(shared[c]), NULL);
			}
		}
		preempts += preempt;

		/* Add them in random order */
		for (j = sj->count; j > 1; j--) {
			unsigned int k = prandom_u32_state(&rnd) % j;

			swap(sj->deps[j - 1], sj->deps[k]);
		}
		for (j = 0; j < sj->count; j++)
			add_dep(test, sj->job, sj->deps[j].fence);

		drm_sched_job_arm(&sj->job->base);
		sj->finished = dma_fence_get(&sj->job->base.s_fence->finished);
		KUNIT_ASSERT_EQ(test,
				kunit_add_action_or_reset(test,
							  fence_put_action,
							  sj->finished), 0);
		if (dma_fence_add_callback(&sj->job->base.s_fence->scheduled,
					   &sj->run_cb, stress_run_cb))
			KUNIT_FAIL(test, "job %u scheduled before it was pushed",
				   i);
		drm_sched_entity_push_job(&sj->job->base);

		/*
		 * Load, not ordering: let the schedulers run on a uniprocessor
		 * too, do not only queue
		 */
		if (!(i % 16))
			usleep_range(1000, 2000);
		KUNIT_ASSERT_TRUE(test, time_before(jiffies, deadline));
	}
	ran_during_submit = atomic_read(&s->ran);

	for (i = 0; i < STRESS_JOBS; i++) {
		struct dma_fence *finished = s->jobs[i].finished;
		long timeout = max_t(long, deadline - jiffies, 1);

		KUNIT_ASSERT_GT_MSG(test,
				    dma_fence_wait_timeout(finished, false,
							   timeout), 0,
				    "job %u", i);
		KUNIT_EXPECT_EQ(test, finished->error, 0);
		KUNIT_EXPECT_TRUE(test, job_ran(s->jobs[i].job));
	}
	KUNIT_EXPECT_EQ(test, atomic_read(&s->run_violations), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&s->preempt_violations), 0);
	/* Proof of concurrency: jobs ran while others were submitted */
	KUNIT_EXPECT_GT(test, ran_during_submit, 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&s->ran), STRESS_JOBS);

	for (i = 0; i < STRESS_SHARED; i++)
		shared_preempts += atomic_read(&shared[i]->preempts);
	kunit_info(test, "%u jobs, %u preemption fence dependencies, %d+%u preemptions, %u ms\n",
		   STRESS_JOBS, preempts, atomic_read(&s->private_preempts),
		   shared_preempts, jiffies_to_msecs(jiffies - start));
	kunit_info(test, "%u jobs ran while the test was still submitting\n",
		   ran_during_submit);

	for (i = 0; i < STRESS_JOBS; i++)
		kunit_release_action(test, stress_put_deps, &s->jobs[i]);
	expect_no_leak(t);
}

static struct kunit_case drm_sched_preempt_stress_tests[] = {
	KUNIT_CASE_SLOW(drm_sched_preempt_stress_test),
	{}
};

static struct kunit_suite drm_sched_preempt_stress_suite = {
	.name = "drm_sched_preempt_stress",
	.init = drm_sched_preempt_init,
	.test_cases = drm_sched_preempt_stress_tests,
};

kunit_test_suites(&drm_sched_preempt,
		  &drm_sched_preempt_stress_suite);
