// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the DRM GPU scheduler: jobs depending on preemption fences
 * only trigger them once every other dependency signaled.
 *
 * The preemption fences are &struct dma_fence_preempt of mock contexts whose
 * operations record, with the sequence numbers of the mock scheduler, when
 * the preemption started and when it completed, and can be held up by a gate
 * to check that several preemptions are in progress at the same time.
 */

#include <kunit/resource.h>
#include <kunit/test.h>
#include <linux/delay.h>
#include <linux/dma-fence-preempt.h>
#include <linux/dma-resv.h>
#include <linux/module.h>
#include <linux/prandom.h>
#include <linux/slab.h>
#include <linux/xarray.h>

#include "drm_sched_mock.h"

/* Long enough for the scheduler to do what it must not do */
#define SETTLE_MS		20
/* Longer than the tests wait: a gate is only opened by the test */
#define PREEMPT_TIMEOUT		(4 * DRM_SCHED_MOCK_TIMEOUT)

struct mock_pctx {
	struct dma_fence_preempt_ctx base;
	struct drm_sched_mock *sched;

	/* protects cur */
	spinlock_t lock;
	/* the current preemption fence, a reference */
	struct mock_pfence *cur;

	/* behaviour of the operations */
	int error;
	bool gated;
	struct completion gate;
	bool auto_resume;
	struct work_struct resume_work;

	/* what the operations saw */
	struct completion entered;
	atomic_t preempts;
	unsigned int preempt_seq;
	unsigned int done_seq;
};

struct mock_pfence {
	struct dma_fence_preempt base;
};

/* Not per test: fences may be released after the test that made them */
static atomic_t mock_pfences_alive;

static struct mock_pctx *to_mock_pctx(struct dma_fence_preempt *pfence)
{
	return container_of(pfence->ctx, struct mock_pctx, base);
}

static int mock_preempt(struct dma_fence_preempt *pfence)
{
	struct mock_pctx *pctx = to_mock_pctx(pfence);

	pctx->preempt_seq = drm_sched_mock_seq(pctx->sched);
	atomic_inc(&pctx->preempts);
	complete_all(&pctx->entered);
	if (pctx->error)
		pctx->done_seq = drm_sched_mock_seq(pctx->sched);
	return pctx->error;
}

static int mock_preempt_wait(struct dma_fence_preempt *pfence, long timeout)
{
	struct mock_pctx *pctx = to_mock_pctx(pfence);
	int ret = 0;

	if (pctx->gated && !wait_for_completion_timeout(&pctx->gate, timeout))
		ret = -ETIME;
	/* the fence signals right after this */
	pctx->done_seq = drm_sched_mock_seq(pctx->sched);
	return ret;
}

static void mock_preempt_finished(struct dma_fence_preempt *pfence)
{
	struct mock_pctx *pctx = to_mock_pctx(pfence);

	if (pctx->auto_resume)
		queue_work(system_unbound_wq, &pctx->resume_work);
}

static void mock_pfence_release(struct dma_fence_preempt *pfence)
{
	struct mock_pfence *mp = container_of(pfence, typeof(*mp), base);

	atomic_dec(&mock_pfences_alive);
	kfree_rcu(mp, base.base.rcu);
}

static const struct dma_fence_preempt_ops mock_preempt_ops = {
	.driver_name = "drm_sched_mock_preempt",
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

	mp = kzalloc(sizeof(*mp), GFP_KERNEL);
	if (!mp)
		return -ENOMEM;

	err = dma_fence_preempt_arm(&pctx->base, &mp->base);
	if (err) {
		kfree(mp);
		return err;
	}
	atomic_inc(&mock_pfences_alive);

	spin_lock_irq(&pctx->lock);
	old = pctx->cur;
	pctx->cur = mp;
	spin_unlock_irq(&pctx->lock);
	if (old)
		dma_fence_put(&old->base.base);

	return 0;
}

/* What the resume work of a driver does */
static void mock_pctx_resume_work(struct work_struct *work)
{
	struct mock_pctx *pctx = container_of(work, typeof(*pctx), resume_work);

	/* -ENODEV: torn down */
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

static void mock_pctx_fini_action(void *data)
{
	struct mock_pctx *pctx = data;

	complete_all(&pctx->gate);
	pctx->auto_resume = false;
	dma_fence_preempt_ctx_fini(&pctx->base);
	cancel_work_sync(&pctx->resume_work);
	if (pctx->cur)
		dma_fence_put(&pctx->cur->base.base);
	pctx->cur = NULL;
}

static struct mock_pctx *mock_pctx_new(struct kunit *test,
				       struct drm_sched_mock *sched)
{
	struct mock_pctx *pctx;

	pctx = kunit_kzalloc(test, sizeof(*pctx), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, pctx);

	pctx->sched = sched;
	spin_lock_init(&pctx->lock);
	init_completion(&pctx->gate);
	init_completion(&pctx->entered);
	INIT_WORK(&pctx->resume_work, mock_pctx_resume_work);
	dma_fence_preempt_ctx_init(&pctx->base, &mock_preempt_ops,
				   PREEMPT_TIMEOUT);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test,
							mock_pctx_fini_action,
							pctx), 0);
	KUNIT_ASSERT_EQ(test, mock_pctx_arm(pctx), 0);

	return pctx;
}

static struct dma_fence *pfence_of(struct mock_pctx *pctx)
{
	return &pctx->cur->base.base;
}

static bool enabled(struct dma_fence *fence)
{
	return test_bit(DMA_FENCE_FLAG_ENABLE_SIGNAL_BIT, &fence->flags);
}

static bool job_ran(struct drm_sched_mock_job *job)
{
	return completion_done(&job->ran);
}

static unsigned long count_deps(struct xarray *xa)
{
	struct dma_fence *fence;
	unsigned long index, count = 0;

	xa_for_each(xa, index, fence)
		count++;
	return count;
}

static void add_dep(struct kunit *test, struct drm_sched_mock_job *job,
		    struct dma_fence *fence)
{
	KUNIT_ASSERT_EQ(test, drm_sched_job_add_dependency(&job->base,
							   dma_fence_get(fence)),
			0);
}

/*
 * Tears everything down and checks that every job, dependency fence and
 * preemption fence was freed.
 */
static void check_no_leak(struct kunit *test, struct drm_sched_mock *sched,
			  struct mock_pctx **pctxs, unsigned int count)
{
	unsigned int i;

	for (i = 0; i < count; i++)
		kunit_release_action(test, mock_pctx_fini_action, pctxs[i]);
	drm_sched_mock_fini(sched);
	KUNIT_EXPECT_TRUE(test, drm_sched_mock_wait_idle());
	KUNIT_EXPECT_TRUE(test, drm_sched_mock_wait_zero(&mock_pfences_alive));
}

/*
 * Signaling is not enabled on a preemption fence while the job waits for
 * its other dependencies, whatever the order they were added in.
 */
static void drm_sched_test_preempt_after_deps(struct kunit *test)
{
	struct drm_sched_mock *sched = drm_sched_mock_new(test);
	struct drm_sched_mock_entity *entity = drm_sched_mock_entity_new(sched);
	struct drm_sched_mock_job *job = drm_sched_mock_job_new(entity);
	struct drm_sched_mock_fence *a = drm_sched_mock_fence_new(sched, 0, 1);
	struct drm_sched_mock_fence *b = drm_sched_mock_fence_new(sched, 0, 1);
	struct mock_pctx *pctx = mock_pctx_new(test, sched);
	struct dma_fence *p = pfence_of(pctx);

	add_dep(test, job, p);
	add_dep(test, job, &a->base);
	add_dep(test, job, &b->base);
	KUNIT_EXPECT_EQ(test, count_deps(&job->base.dependencies), 2);
	KUNIT_EXPECT_EQ(test, count_deps(&job->base.preempt_dependencies), 1);
	drm_sched_mock_job_push(job);

	KUNIT_ASSERT_TRUE(test, drm_sched_mock_fence_wait_enabled(a));
	msleep(SETTLE_MS);
	KUNIT_EXPECT_FALSE(test, enabled(p));
	KUNIT_EXPECT_EQ(test, atomic_read(&pctx->preempts), 0);

	drm_sched_mock_fence_signal(a, 0);
	KUNIT_ASSERT_TRUE(test, drm_sched_mock_fence_wait_enabled(b));
	msleep(SETTLE_MS);
	KUNIT_EXPECT_FALSE(test, enabled(p));
	KUNIT_EXPECT_EQ(test, atomic_read(&pctx->preempts), 0);
	KUNIT_EXPECT_FALSE(test, job_ran(job));

	drm_sched_mock_fence_signal(b, 0);
	KUNIT_ASSERT_TRUE(test, drm_sched_mock_job_wait_finished(job));
	KUNIT_EXPECT_EQ(test, atomic_read(&pctx->preempts), 1);
	KUNIT_EXPECT_GT(test, pctx->preempt_seq, b->signal_seq);
	KUNIT_EXPECT_GT(test, job->run_seq, pctx->done_seq);
	KUNIT_EXPECT_TRUE(test, dma_fence_is_signaled(p));
	KUNIT_EXPECT_EQ(test, job->finished->error, 0);

	drm_sched_mock_job_put(job);
	drm_sched_mock_fence_put(a);
	drm_sched_mock_fence_put(b);
	check_no_leak(test, sched, &pctx, 1);
}

/*
 * Several preemption fences are triggered together: every preemption is
 * in progress before the first one completes, and the job runs after all.
 */
static void drm_sched_test_preempt_together(struct kunit *test)
{
	struct drm_sched_mock *sched = drm_sched_mock_new(test);
	struct drm_sched_mock_entity *entity = drm_sched_mock_entity_new(sched);
	struct drm_sched_mock_job *job = drm_sched_mock_job_new(entity);
	struct drm_sched_mock_fence *a = drm_sched_mock_fence_new(sched, 0, 1);
	struct mock_pctx *pctxs[3];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(pctxs); i++) {
		pctxs[i] = mock_pctx_new(test, sched);
		pctxs[i]->gated = true;
		add_dep(test, job, pfence_of(pctxs[i]));
		if (!i)
			add_dep(test, job, &a->base);
	}
	KUNIT_EXPECT_EQ(test, count_deps(&job->base.preempt_dependencies),
			ARRAY_SIZE(pctxs));
	drm_sched_mock_job_push(job);

	KUNIT_ASSERT_TRUE(test, drm_sched_mock_fence_wait_enabled(a));
	msleep(SETTLE_MS);
	for (i = 0; i < ARRAY_SIZE(pctxs); i++)
		KUNIT_EXPECT_FALSE(test, enabled(pfence_of(pctxs[i])));

	drm_sched_mock_fence_signal(a, 0);
	for (i = 0; i < ARRAY_SIZE(pctxs); i++)
		KUNIT_ASSERT_TRUE_MSG(test,
				      wait_for_completion_timeout(&pctxs[i]->entered,
								  DRM_SCHED_MOCK_TIMEOUT),
				      "preemption %u not started", i);
	msleep(SETTLE_MS);
	KUNIT_EXPECT_FALSE(test, job_ran(job));
	for (i = 0; i < ARRAY_SIZE(pctxs); i++)
		KUNIT_EXPECT_EQ(test, pctxs[i]->done_seq, 0);

	/* complete them in reverse order: the job waits for all */
	for (i = ARRAY_SIZE(pctxs); i--;) {
		KUNIT_EXPECT_GT(test, pctxs[i]->preempt_seq, a->signal_seq);
		complete_all(&pctxs[i]->gate);
		if (i) {
			msleep(SETTLE_MS);
			KUNIT_EXPECT_FALSE(test, job_ran(job));
		}
	}

	KUNIT_ASSERT_TRUE(test, drm_sched_mock_job_wait_finished(job));
	for (i = 0; i < ARRAY_SIZE(pctxs); i++) {
		KUNIT_EXPECT_EQ(test, atomic_read(&pctxs[i]->preempts), 1);
		KUNIT_EXPECT_GT(test, job->run_seq, pctxs[i]->done_seq);
	}

	drm_sched_mock_job_put(job);
	drm_sched_mock_fence_put(a);
	check_no_leak(test, sched, pctxs, ARRAY_SIZE(pctxs));
}

/* A job with only preemption fence dependencies triggers them at once. */
static void drm_sched_test_preempt_only(struct kunit *test)
{
	struct drm_sched_mock *sched = drm_sched_mock_new(test);
	struct drm_sched_mock_entity *entity = drm_sched_mock_entity_new(sched);
	struct drm_sched_mock_job *job = drm_sched_mock_job_new(entity);
	struct mock_pctx *pctxs[2];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(pctxs); i++) {
		pctxs[i] = mock_pctx_new(test, sched);
		pctxs[i]->gated = true;
		add_dep(test, job, pfence_of(pctxs[i]));
	}
	KUNIT_EXPECT_EQ(test, count_deps(&job->base.dependencies), 0);
	drm_sched_mock_job_push(job);

	for (i = 0; i < ARRAY_SIZE(pctxs); i++)
		KUNIT_ASSERT_TRUE(test,
				  wait_for_completion_timeout(&pctxs[i]->entered,
							      DRM_SCHED_MOCK_TIMEOUT));
	msleep(SETTLE_MS);
	KUNIT_EXPECT_FALSE(test, job_ran(job));

	for (i = 0; i < ARRAY_SIZE(pctxs); i++)
		complete_all(&pctxs[i]->gate);
	KUNIT_ASSERT_TRUE(test, drm_sched_mock_job_wait_finished(job));
	for (i = 0; i < ARRAY_SIZE(pctxs); i++)
		KUNIT_EXPECT_GT(test, job->run_seq, pctxs[i]->done_seq);
	KUNIT_EXPECT_EQ(test, job->finished->error, 0);
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
 * Preemption fences are de-duplicated per context like ordinary
 * dependencies, whether added directly or from a dma_resv.
 */
static void drm_sched_test_preempt_dedup(struct kunit *test)
{
	struct drm_sched_mock *sched = drm_sched_mock_new(test);
	struct drm_sched_mock_entity *entity = drm_sched_mock_entity_new(sched);
	struct drm_sched_mock_job *job = drm_sched_mock_job_new(entity);
	struct drm_sched_mock_fence *a = drm_sched_mock_fence_new(sched, 0, 1);
	struct mock_pctx *pctxs[2] = {
		mock_pctx_new(test, sched),
		mock_pctx_new(test, sched),
	};
	struct dma_resv *resv = resv_new(test);
	struct dma_fence *p1, *p2, *q;
	unsigned int refs;

	/* p1 and p2 are two fences of the same context, p2 the later */
	p1 = mock_pctx_get(pctxs[0]);
	dma_fence_enable_sw_signaling(p1);
	KUNIT_ASSERT_GT(test, dma_fence_wait_timeout(p1, false,
						     DRM_SCHED_MOCK_TIMEOUT), 0);
	KUNIT_ASSERT_EQ(test, mock_pctx_arm(pctxs[0]), 0);
	p2 = mock_pctx_get(pctxs[0]);
	KUNIT_ASSERT_EQ(test, p1->context, p2->context);
	q = mock_pctx_get(pctxs[1]);
	refs = kref_read(&q->refcount);

	add_dep(test, job, p1);
	add_dep(test, job, q);
	add_dep(test, job, p2);		/* replaces p1 */
	add_dep(test, job, p1);		/* dropped */
	add_dep(test, job, q);		/* dropped */
	KUNIT_EXPECT_EQ(test, kref_read(&p1->refcount), 1);
	KUNIT_EXPECT_EQ(test, kref_read(&q->refcount), refs + 1);

	dma_resv_lock(resv, NULL);
	resv_add(test, resv, &a->base, DMA_RESV_USAGE_WRITE);
	resv_add(test, resv, q, DMA_RESV_USAGE_PREEMPT);
	resv_add(test, resv, p2, DMA_RESV_USAGE_PREEMPT);
	KUNIT_EXPECT_EQ(test,
			drm_sched_job_add_resv_dependencies(&job->base, resv,
							    DMA_RESV_USAGE_PREEMPT),
			0);
	dma_resv_unlock(resv);

	KUNIT_EXPECT_EQ(test, count_deps(&job->base.dependencies), 1);
	KUNIT_EXPECT_PTR_EQ(test, xa_load(&job->base.dependencies, 0), &a->base);
	KUNIT_EXPECT_EQ(test, count_deps(&job->base.preempt_dependencies), 2);
	KUNIT_EXPECT_PTR_EQ(test, xa_load(&job->base.preempt_dependencies, 0), p2);
	KUNIT_EXPECT_PTR_EQ(test, xa_load(&job->base.preempt_dependencies, 1), q);

	drm_sched_mock_job_push(job);
	KUNIT_ASSERT_TRUE(test, drm_sched_mock_fence_wait_enabled(a));
	msleep(SETTLE_MS);
	KUNIT_EXPECT_FALSE(test, enabled(p2));
	KUNIT_EXPECT_FALSE(test, enabled(q));
	drm_sched_mock_fence_signal(a, 0);
	KUNIT_ASSERT_TRUE(test, drm_sched_mock_job_wait_finished(job));
	/* p1 by the test, p2 by the job */
	KUNIT_EXPECT_EQ(test, atomic_read(&pctxs[0]->preempts), 2);
	KUNIT_EXPECT_EQ(test, atomic_read(&pctxs[1]->preempts), 1);

	dma_fence_put(p1);
	dma_fence_put(p2);
	dma_fence_put(q);
}

/*
 * A dma_resv walked at DMA_RESV_USAGE_PREEMPT: what is installed at that
 * usage is a preemption fence, whatever its type, and is waited for last;
 * below that usage preemption fences are not collected at all.
 */
static void drm_sched_test_preempt_resv(struct kunit *test)
{
	struct drm_sched_mock *sched = drm_sched_mock_new(test);
	struct drm_sched_mock_entity *e1 = drm_sched_mock_entity_new(sched);
	struct drm_sched_mock_entity *e2 = drm_sched_mock_entity_new(sched);
	struct drm_sched_mock_job *job = drm_sched_mock_job_new(e1);
	struct drm_sched_mock_job *bookkeep = drm_sched_mock_job_new(e2);
	struct drm_sched_mock_fence *k = drm_sched_mock_fence_new(sched, 0, 1);
	struct drm_sched_mock_fence *r = drm_sched_mock_fence_new(sched, 0, 1);
	struct drm_sched_mock_fence *b = drm_sched_mock_fence_new(sched, 0, 1);
	/* a driver's own preemption fence, not a dma_fence_preempt */
	struct drm_sched_mock_fence *own = drm_sched_mock_fence_new(sched, 0, 1);
	struct mock_pctx *pctx = mock_pctx_new(test, sched);
	struct dma_resv *resv = resv_new(test);

	dma_resv_lock(resv, NULL);
	resv_add(test, resv, pfence_of(pctx), DMA_RESV_USAGE_PREEMPT);
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

	KUNIT_EXPECT_EQ(test, count_deps(&bookkeep->base.dependencies), 3);
	KUNIT_EXPECT_EQ(test, count_deps(&bookkeep->base.preempt_dependencies), 0);
	KUNIT_EXPECT_EQ(test, count_deps(&job->base.dependencies), 3);
	KUNIT_EXPECT_EQ(test, count_deps(&job->base.preempt_dependencies), 2);

	drm_sched_mock_job_push(job);
	drm_sched_mock_job_push(bookkeep);

	KUNIT_ASSERT_TRUE(test, drm_sched_mock_fence_wait_enabled(k));
	msleep(SETTLE_MS);
	KUNIT_EXPECT_FALSE(test, enabled(pfence_of(pctx)));
	KUNIT_EXPECT_EQ(test, own->enable_seq, 0);

	drm_sched_mock_fence_signal(k, 0);
	drm_sched_mock_fence_signal(r, 0);
	KUNIT_ASSERT_TRUE(test, drm_sched_mock_fence_wait_enabled(b));
	msleep(SETTLE_MS);
	KUNIT_EXPECT_FALSE(test, enabled(pfence_of(pctx)));
	KUNIT_EXPECT_EQ(test, own->enable_seq, 0);

	drm_sched_mock_fence_signal(b, 0);
	KUNIT_ASSERT_TRUE(test, drm_sched_mock_job_wait_finished(bookkeep));
	/* both preemption fences are triggered, neither before b signaled */
	KUNIT_ASSERT_TRUE(test, drm_sched_mock_fence_wait_enabled(own));
	KUNIT_ASSERT_TRUE(test, wait_for_completion_timeout(&pctx->entered,
							    DRM_SCHED_MOCK_TIMEOUT));
	KUNIT_EXPECT_GT(test, own->enable_seq, b->signal_seq);
	KUNIT_EXPECT_GT(test, pctx->preempt_seq, b->signal_seq);
	msleep(SETTLE_MS);
	KUNIT_EXPECT_FALSE(test, job_ran(job));

	drm_sched_mock_fence_signal(own, 0);
	KUNIT_ASSERT_TRUE(test, drm_sched_mock_job_wait_finished(job));
	KUNIT_EXPECT_GT(test, job->run_seq, own->signal_seq);
	KUNIT_EXPECT_GT(test, job->run_seq, pctx->done_seq);
}

/*
 * Killing an entity whose job waits for an ordinary dependency: the killed
 * job still triggers its preemption fence only once that dependency
 * signaled, and its finished fence signals after the preemption.
 */
static void drm_sched_test_preempt_kill_waiting(struct kunit *test)
{
	struct drm_sched_mock *sched = drm_sched_mock_new(test);
	struct drm_sched_mock_entity *entity = drm_sched_mock_entity_new(sched);
	struct drm_sched_mock_job *job = drm_sched_mock_job_new(entity);
	struct drm_sched_mock_job *next = drm_sched_mock_job_new(entity);
	struct drm_sched_mock_fence *a = drm_sched_mock_fence_new(sched, 0, 1);
	struct mock_pctx *pctxs[2] = {
		mock_pctx_new(test, sched),
		mock_pctx_new(test, sched),
	};

	add_dep(test, job, pfence_of(pctxs[0]));
	add_dep(test, job, &a->base);
	add_dep(test, next, pfence_of(pctxs[1]));
	drm_sched_mock_job_push(job);
	drm_sched_mock_job_push(next);
	KUNIT_ASSERT_TRUE(test, drm_sched_mock_fence_wait_enabled(a));

	drm_sched_mock_entity_kill(entity);
	msleep(SETTLE_MS);
	KUNIT_EXPECT_FALSE(test, enabled(pfence_of(pctxs[0])));
	KUNIT_EXPECT_FALSE(test, dma_fence_is_signaled(job->finished));

	drm_sched_mock_fence_signal(a, 0);
	KUNIT_ASSERT_TRUE(test, drm_sched_mock_job_wait_finished(job));
	KUNIT_ASSERT_TRUE(test, drm_sched_mock_job_wait_finished(next));
	KUNIT_EXPECT_EQ(test, atomic_read(&pctxs[0]->preempts), 1);
	KUNIT_EXPECT_GT(test, pctxs[0]->preempt_seq, a->signal_seq);
	KUNIT_EXPECT_TRUE(test, dma_fence_is_signaled(pfence_of(pctxs[0])));
	KUNIT_EXPECT_EQ(test, job->finished->error, -ESRCH);
	KUNIT_EXPECT_EQ(test, next->finished->error, -ESRCH);
	KUNIT_EXPECT_FALSE(test, job_ran(job));
	KUNIT_EXPECT_FALSE(test, job_ran(next));

	drm_sched_mock_job_put(job);
	drm_sched_mock_job_put(next);
	drm_sched_mock_fence_put(a);
	check_no_leak(test, sched, pctxs, ARRAY_SIZE(pctxs));
}

/*
 * Killing an entity whose job waits for a preemption in progress: the job
 * is killed once the preemption completed.
 */
static void drm_sched_test_preempt_kill_preempting(struct kunit *test)
{
	struct drm_sched_mock *sched = drm_sched_mock_new(test);
	struct drm_sched_mock_entity *entity = drm_sched_mock_entity_new(sched);
	struct drm_sched_mock_job *job = drm_sched_mock_job_new(entity);
	struct drm_sched_mock_fence *a = drm_sched_mock_fence_new(sched, 0, 1);
	struct mock_pctx *pctxs[2] = {
		mock_pctx_new(test, sched),
		mock_pctx_new(test, sched),
	};

	pctxs[0]->gated = true;
	pctxs[1]->gated = true;
	add_dep(test, job, &a->base);
	add_dep(test, job, pfence_of(pctxs[0]));
	add_dep(test, job, pfence_of(pctxs[1]));
	drm_sched_mock_job_push(job);
	drm_sched_mock_fence_signal(a, 0);
	KUNIT_ASSERT_TRUE(test, wait_for_completion_timeout(&pctxs[0]->entered,
							    DRM_SCHED_MOCK_TIMEOUT));
	KUNIT_ASSERT_TRUE(test, wait_for_completion_timeout(&pctxs[1]->entered,
							    DRM_SCHED_MOCK_TIMEOUT));

	drm_sched_mock_entity_kill(entity);
	msleep(SETTLE_MS);
	KUNIT_EXPECT_FALSE(test, dma_fence_is_signaled(job->finished));

	complete_all(&pctxs[0]->gate);
	msleep(SETTLE_MS);
	KUNIT_EXPECT_FALSE(test, dma_fence_is_signaled(job->finished));

	complete_all(&pctxs[1]->gate);
	KUNIT_ASSERT_TRUE(test, drm_sched_mock_job_wait_finished(job));
	KUNIT_EXPECT_EQ(test, job->finished->error, -ESRCH);
	KUNIT_EXPECT_FALSE(test, job_ran(job));
	KUNIT_EXPECT_EQ(test, atomic_read(&pctxs[0]->preempts), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&pctxs[1]->preempts), 1);

	drm_sched_mock_job_put(job);
	drm_sched_mock_fence_put(a);
	check_no_leak(test, sched, pctxs, ARRAY_SIZE(pctxs));
}

/*
 * A preemption fence signaled with an error is handled like an ordinary
 * dependency signaled with an error: not propagated, the job runs.
 */
static void drm_sched_test_preempt_error(struct kunit *test)
{
	struct drm_sched_mock *sched = drm_sched_mock_new(test);
	struct drm_sched_mock_entity *e1 = drm_sched_mock_entity_new(sched);
	struct drm_sched_mock_entity *e2 = drm_sched_mock_entity_new(sched);
	struct drm_sched_mock_job *ordinary = drm_sched_mock_job_new(e1);
	struct drm_sched_mock_job *preempt = drm_sched_mock_job_new(e2);
	struct drm_sched_mock_fence *a = drm_sched_mock_fence_new(sched, 0, 1);
	struct mock_pctx *pctx = mock_pctx_new(test, sched);
	struct dma_fence *p = pfence_of(pctx);

	pctx->error = -EIO;
	add_dep(test, ordinary, &a->base);
	add_dep(test, preempt, p);
	drm_sched_mock_job_push(ordinary);
	drm_sched_mock_job_push(preempt);

	KUNIT_ASSERT_TRUE(test, drm_sched_mock_fence_wait_enabled(a));
	drm_sched_mock_fence_signal(a, -EIO);
	KUNIT_ASSERT_TRUE(test, drm_sched_mock_job_wait_finished(ordinary));
	KUNIT_ASSERT_TRUE(test, drm_sched_mock_job_wait_finished(preempt));

	KUNIT_EXPECT_EQ(test, a->base.error, -EIO);
	KUNIT_EXPECT_EQ(test, p->error, -EIO);
	KUNIT_EXPECT_EQ(test, atomic_read(&ordinary->run_count), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&preempt->run_count), 1);
	KUNIT_EXPECT_GT(test, preempt->run_seq, pctx->done_seq);
	KUNIT_EXPECT_EQ(test, preempt->finished->error,
			ordinary->finished->error);
	KUNIT_EXPECT_EQ(test, preempt->finished->error, 0);
}

/*
 * A job aborted before it was armed drops its preemption fence
 * dependencies without triggering them.
 */
static void drm_sched_test_preempt_abort(struct kunit *test)
{
	struct drm_sched_mock *sched = drm_sched_mock_new(test);
	struct drm_sched_mock_entity *entity = drm_sched_mock_entity_new(sched);
	struct drm_sched_mock_job *job = drm_sched_mock_job_new(entity);
	struct drm_sched_mock_fence *a = drm_sched_mock_fence_new(sched, 0, 1);
	struct mock_pctx *pctx = mock_pctx_new(test, sched);
	struct dma_fence *p = pfence_of(pctx);
	unsigned int refs = kref_read(&p->refcount);

	add_dep(test, job, p);
	add_dep(test, job, &a->base);
	KUNIT_EXPECT_EQ(test, kref_read(&p->refcount), refs + 1);

	drm_sched_mock_job_put(job);
	KUNIT_EXPECT_EQ(test, kref_read(&p->refcount), refs);
	KUNIT_EXPECT_FALSE(test, enabled(p));
	KUNIT_EXPECT_EQ(test, atomic_read(&pctx->preempts), 0);

	drm_sched_mock_fence_put(a);
	check_no_leak(test, sched, &pctx, 1);
}

static struct kunit_case drm_sched_preempt_tests[] = {
	KUNIT_CASE(drm_sched_test_preempt_after_deps),
	KUNIT_CASE(drm_sched_test_preempt_together),
	KUNIT_CASE(drm_sched_test_preempt_only),
	KUNIT_CASE(drm_sched_test_preempt_dedup),
	KUNIT_CASE(drm_sched_test_preempt_resv),
	KUNIT_CASE(drm_sched_test_preempt_kill_waiting),
	KUNIT_CASE(drm_sched_test_preempt_kill_preempting),
	KUNIT_CASE(drm_sched_test_preempt_error),
	KUNIT_CASE(drm_sched_test_preempt_abort),
	{}
};

static struct kunit_suite drm_sched_preempt_suite = {
	.name = "drm_sched_preempt_dependency",
	.test_cases = drm_sched_preempt_tests,
};

/* Stress: many jobs on two schedulers with mixed dependencies */

#define STRESS_JOBS		1024
#define STRESS_ENTITIES		4
#define STRESS_PCTXS		4
#define STRESS_MAX_DEPS		4

struct stress_signal {
	struct delayed_work work;
	struct drm_sched_mock_fence *fence;
};

struct stress_job {
	struct drm_sched_mock_job *job;
	struct dma_fence *deps[STRESS_MAX_DEPS];
	unsigned int count;
	atomic_t *violations;
};

static void stress_signal_work(struct work_struct *work)
{
	struct stress_signal *s = container_of(work, typeof(*s), work.work);

	drm_sched_mock_fence_signal(s->fence, 0);
}

static void stress_signal_cancel(void *data)
{
	struct stress_signal *s = data;

	cancel_delayed_work_sync(&s->work);
}

/* Every dependency must be resolved when the job runs */
static void stress_run(struct drm_sched_mock_job *job)
{
	struct stress_job *sj = job->priv;
	unsigned int i;

	for (i = 0; i < sj->count; i++) {
		struct dma_fence *f = sj->deps[i];
		struct drm_sched_fence *s_fence = to_drm_sched_fence(f);

		/* jobs of the same scheduler are pipelined */
		if (s_fence && s_fence->sched == job->base.sched)
			f = &s_fence->scheduled;
		if (!dma_fence_is_signaled(f))
			atomic_inc(sj->violations);
	}
}

static void stress_put_deps(void *data)
{
	struct stress_job *sj = data;

	while (sj->count)
		dma_fence_put(sj->deps[--sj->count]);
}

static void drm_sched_test_preempt_stress(struct kunit *test)
{
	struct drm_sched_mock *scheds[2] = {
		drm_sched_mock_new(test),
		drm_sched_mock_new(test),
	};
	struct drm_sched_mock_entity *entities[STRESS_ENTITIES];
	struct mock_pctx *pctxs[STRESS_PCTXS];
	struct stress_job *jobs;
	struct rnd_state rnd;
	atomic_t violations = ATOMIC_INIT(0);
	unsigned long start = jiffies, end;
	unsigned int i, j, preempts = 0;

	prandom_seed_state(&rnd, 0x5eed);
	for (i = 0; i < STRESS_ENTITIES; i++)
		entities[i] = drm_sched_mock_entity_new(scheds[i % 2]);
	for (i = 0; i < STRESS_PCTXS; i++) {
		pctxs[i] = mock_pctx_new(test, scheds[0]);
		pctxs[i]->auto_resume = true;
	}
	jobs = kunit_kcalloc(test, STRESS_JOBS, sizeof(*jobs), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, jobs);

	end = jiffies + 10 * HZ;
	for (i = 0; i < STRESS_JOBS; i++) {
		struct stress_job *sj = &jobs[i];
		unsigned int e = prandom_u32_state(&rnd) % STRESS_ENTITIES;
		unsigned int ordinary = prandom_u32_state(&rnd) % 3;
		unsigned int preempt = prandom_u32_state(&rnd) % 3;

		sj->job = drm_sched_mock_job_new(entities[e]);
		sj->job->duration = prandom_u32_state(&rnd) % 2;
		sj->job->run = stress_run;
		sj->job->priv = sj;
		sj->violations = &violations;
		KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test,
								stress_put_deps,
								sj), 0);

		for (j = 0; j < ordinary; j++) {
			struct dma_fence *f;

			if (i && prandom_u32_state(&rnd) % 2) {
				/* an earlier job, of any entity */
				f = jobs[prandom_u32_state(&rnd) % i].job->finished;
				dma_fence_get(f);
			} else {
				struct stress_signal *s;

				s = kunit_kzalloc(test, sizeof(*s), GFP_KERNEL);
				KUNIT_ASSERT_NOT_NULL(test, s);
				s->fence = drm_sched_mock_fence_new(scheds[0], 0, 1);
				INIT_DELAYED_WORK(&s->work, stress_signal_work);
				KUNIT_ASSERT_EQ(test,
						kunit_add_action_or_reset(test,
									  stress_signal_cancel,
									  s), 0);
				queue_delayed_work(system_unbound_wq, &s->work,
						   prandom_u32_state(&rnd) % 3);
				f = dma_fence_get(&s->fence->base);
			}
			sj->deps[sj->count++] = f;
		}
		for (j = 0; j < preempt; j++) {
			unsigned int c = prandom_u32_state(&rnd) % STRESS_PCTXS;

			sj->deps[sj->count++] = mock_pctx_get(pctxs[c]);
		}

		for (j = 0; j < sj->count; j++)
			add_dep(test, sj->job, sj->deps[j]);
		preempts += preempt;

		drm_sched_mock_job_push(sj->job);
		/* let the scheduler run, do not only queue */
		if (!(i % 16))
			usleep_range(1000, 2000);
		KUNIT_ASSERT_TRUE(test, time_before(jiffies, end));
	}

	for (i = 0; i < STRESS_JOBS; i++) {
		KUNIT_ASSERT_TRUE_MSG(test,
				      drm_sched_mock_job_wait_finished(jobs[i].job),
				      "job %u", i);
		KUNIT_EXPECT_EQ(test, jobs[i].job->finished->error, 0);
		KUNIT_EXPECT_EQ(test, atomic_read(&jobs[i].job->run_count), 1);
	}
	KUNIT_EXPECT_EQ(test, atomic_read(&violations), 0);
	kunit_info(test, "%u jobs, %u preemption fence dependencies, %d preemptions, %u ms\n",
		   STRESS_JOBS, preempts,
		   atomic_read(&pctxs[0]->preempts) + atomic_read(&pctxs[1]->preempts) +
		   atomic_read(&pctxs[2]->preempts) + atomic_read(&pctxs[3]->preempts),
		   jiffies_to_msecs(jiffies - start));

	for (i = 0; i < STRESS_JOBS; i++) {
		kunit_release_action(test, stress_put_deps, &jobs[i]);
		drm_sched_mock_job_put(jobs[i].job);
	}
	for (i = 0; i < STRESS_PCTXS; i++)
		kunit_release_action(test, mock_pctx_fini_action, pctxs[i]);
	drm_sched_mock_fini(scheds[1]);
	drm_sched_mock_fini(scheds[0]);
	/* the mock fences of the signal works are put at the end of the test */
	KUNIT_EXPECT_TRUE(test, drm_sched_mock_wait_zero(&mock_pfences_alive));
	KUNIT_EXPECT_EQ(test, drm_sched_mock_jobs_alive(), 0);
}

static struct kunit_case drm_sched_preempt_stress_tests[] = {
	KUNIT_CASE_SLOW(drm_sched_test_preempt_stress),
	{}
};

static struct kunit_suite drm_sched_preempt_stress_suite = {
	.name = "drm_sched_preempt_stress",
	.test_cases = drm_sched_preempt_stress_tests,
};

kunit_test_suites(&drm_sched_preempt_suite, &drm_sched_preempt_stress_suite);
