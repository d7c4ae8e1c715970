// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the DRM GPU scheduler: running jobs and waiting for their
 * dependencies, with the mock scheduler of drm_sched_mock.c.
 */

#include <kunit/test.h>
#include <linux/delay.h>
#include <linux/dma-resv.h>
#include <linux/module.h>
#include <linux/xarray.h>

#include "drm_sched_mock.h"

/* Long enough for the scheduler to do what it must not do */
#define SETTLE_MS	20

static unsigned long count_deps(struct xarray *xa)
{
	struct dma_fence *fence;
	unsigned long index, count = 0;

	xa_for_each(xa, index, fence)
		count++;
	return count;
}

static bool job_ran(struct drm_sched_mock_job *job)
{
	return completion_done(&job->ran);
}

/* A job without dependencies runs and its finished fence signals. */
static void drm_sched_test_run_job(struct kunit *test)
{
	struct drm_sched_mock *sched = drm_sched_mock_new(test);
	struct drm_sched_mock_entity *entity = drm_sched_mock_entity_new(sched);
	struct drm_sched_mock_job *job = drm_sched_mock_job_new(entity);

	drm_sched_mock_job_push(job);
	KUNIT_ASSERT_TRUE(test, drm_sched_mock_job_wait_finished(job));
	KUNIT_EXPECT_EQ(test, job->finished->error, 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&job->run_count), 1);

	drm_sched_mock_job_put(job);
	drm_sched_mock_fini(sched);
	KUNIT_EXPECT_TRUE(test, drm_sched_mock_wait_idle());
}

/* The jobs of an entity run in the order they were pushed. */
static void drm_sched_test_job_order(struct kunit *test)
{
	struct drm_sched_mock *sched = drm_sched_mock_new(test);
	struct drm_sched_mock_entity *entity = drm_sched_mock_entity_new(sched);
	struct drm_sched_mock_job *jobs[8];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(jobs); i++) {
		jobs[i] = drm_sched_mock_job_new(entity);
		jobs[i]->duration = i % 2;
		drm_sched_mock_job_push(jobs[i]);
	}

	for (i = 0; i < ARRAY_SIZE(jobs); i++) {
		KUNIT_ASSERT_TRUE(test, drm_sched_mock_job_wait_finished(jobs[i]));
		if (i)
			KUNIT_EXPECT_GT(test, jobs[i]->run_seq, jobs[i - 1]->run_seq);
	}
}

/*
 * A job aborted before it was armed drops its dependencies with
 * drm_sched_job_cleanup(), the error path of every driver.
 */
static void drm_sched_test_abort_job(struct kunit *test)
{
	struct drm_sched_mock *sched = drm_sched_mock_new(test);
	struct drm_sched_mock_entity *entity = drm_sched_mock_entity_new(sched);
	struct drm_sched_mock_job *job = drm_sched_mock_job_new(entity);
	struct drm_sched_mock_fence *a = drm_sched_mock_fence_new(sched, 0, 1);
	struct drm_sched_mock_fence *b = drm_sched_mock_fence_new(sched, 0, 1);

	KUNIT_ASSERT_EQ(test, drm_sched_job_add_dependency(&job->base,
							   dma_fence_get(&a->base)), 0);
	KUNIT_ASSERT_EQ(test, drm_sched_job_add_dependency(&job->base,
							   dma_fence_get(&b->base)), 0);
	/* a NULL fence is no dependency */
	KUNIT_EXPECT_EQ(test, drm_sched_job_add_dependency(&job->base, NULL), 0);
	KUNIT_EXPECT_EQ(test, count_deps(&job->base.dependencies), 2);

	drm_sched_mock_job_put(job);
	KUNIT_EXPECT_EQ(test, kref_read(&a->base.refcount), 1);
	KUNIT_EXPECT_EQ(test, kref_read(&b->base.refcount), 1);
	KUNIT_EXPECT_FALSE(test, test_bit(DMA_FENCE_FLAG_ENABLE_SIGNAL_BIT,
					  &a->base.flags));

	drm_sched_mock_fence_put(a);
	drm_sched_mock_fence_put(b);
	drm_sched_mock_fini(sched);
	KUNIT_EXPECT_TRUE(test, drm_sched_mock_wait_idle());
}

static struct kunit_case drm_sched_basic_tests[] = {
	KUNIT_CASE(drm_sched_test_run_job),
	KUNIT_CASE(drm_sched_test_job_order),
	KUNIT_CASE(drm_sched_test_abort_job),
	{}
};

static struct kunit_suite drm_sched_basic_suite = {
	.name = "drm_sched_basic",
	.test_cases = drm_sched_basic_tests,
};

/* A job waits for its dependency and only then runs. */
static void drm_sched_test_dep_wait(struct kunit *test)
{
	struct drm_sched_mock *sched = drm_sched_mock_new(test);
	struct drm_sched_mock_entity *entity = drm_sched_mock_entity_new(sched);
	struct drm_sched_mock_job *job = drm_sched_mock_job_new(entity);
	struct drm_sched_mock_fence *dep = drm_sched_mock_fence_new(sched, 0, 1);

	KUNIT_ASSERT_EQ(test, drm_sched_job_add_dependency(&job->base,
							   dma_fence_get(&dep->base)), 0);
	drm_sched_mock_job_push(job);

	/* the scheduler enables signaling to wait for the dependency */
	KUNIT_ASSERT_TRUE(test, drm_sched_mock_fence_wait_enabled(dep));
	msleep(SETTLE_MS);
	KUNIT_EXPECT_FALSE(test, job_ran(job));

	drm_sched_mock_fence_signal(dep, 0);
	KUNIT_ASSERT_TRUE(test, drm_sched_mock_job_wait_finished(job));
	KUNIT_EXPECT_GT(test, job->run_seq, dep->signal_seq);
	KUNIT_EXPECT_EQ(test, job->finished->error, 0);

	drm_sched_mock_job_put(job);
	drm_sched_mock_fence_put(dep);
	drm_sched_mock_fini(sched);
	KUNIT_EXPECT_TRUE(test, drm_sched_mock_wait_idle());
}

/*
 * The dependencies are waited for one at a time, in the order they were
 * added: signaling is only enabled on the next one once the previous one
 * signaled.
 */
static void drm_sched_test_dep_order(struct kunit *test)
{
	struct drm_sched_mock *sched = drm_sched_mock_new(test);
	struct drm_sched_mock_entity *entity = drm_sched_mock_entity_new(sched);
	struct drm_sched_mock_job *job = drm_sched_mock_job_new(entity);
	struct drm_sched_mock_fence *deps[3];
	unsigned int i, j;

	for (i = 0; i < ARRAY_SIZE(deps); i++) {
		deps[i] = drm_sched_mock_fence_new(sched, 0, 1);
		KUNIT_ASSERT_EQ(test,
				drm_sched_job_add_dependency(&job->base,
							     dma_fence_get(&deps[i]->base)),
				0);
	}
	KUNIT_EXPECT_EQ(test, count_deps(&job->base.dependencies), 3);
	drm_sched_mock_job_push(job);

	for (i = 0; i < ARRAY_SIZE(deps); i++) {
		KUNIT_ASSERT_TRUE(test, drm_sched_mock_fence_wait_enabled(deps[i]));
		msleep(SETTLE_MS);
		for (j = i + 1; j < ARRAY_SIZE(deps); j++)
			KUNIT_EXPECT_EQ_MSG(test, deps[j]->enable_seq, 0,
					    "dep %u enabled while waiting for %u", j, i);
		KUNIT_EXPECT_FALSE(test, job_ran(job));
		drm_sched_mock_fence_signal(deps[i], 0);
	}

	KUNIT_ASSERT_TRUE(test, drm_sched_mock_job_wait_finished(job));
	KUNIT_EXPECT_GT(test, job->run_seq, deps[2]->signal_seq);
}

/*
 * Dependencies of the same fence context are de-duplicated: the job keeps
 * the later one and drops the reference to the other.
 */
static void drm_sched_test_dep_dedup(struct kunit *test)
{
	struct drm_sched_mock *sched = drm_sched_mock_new(test);
	struct drm_sched_mock_entity *entity = drm_sched_mock_entity_new(sched);
	struct drm_sched_mock_job *job = drm_sched_mock_job_new(entity);
	u64 context = dma_fence_context_alloc(1);
	struct drm_sched_mock_fence *f1, *f2, *f3, *other;

	f1 = drm_sched_mock_fence_new(sched, context, 1);
	f2 = drm_sched_mock_fence_new(sched, context, 2);
	f3 = drm_sched_mock_fence_new(sched, context, 3);
	other = drm_sched_mock_fence_new(sched, 0, 1);

	KUNIT_ASSERT_EQ(test, drm_sched_job_add_dependency(&job->base,
							   dma_fence_get(&f2->base)), 0);
	KUNIT_ASSERT_EQ(test, drm_sched_job_add_dependency(&job->base,
							   dma_fence_get(&other->base)), 0);
	/* earlier: dropped */
	KUNIT_ASSERT_EQ(test, drm_sched_job_add_dependency(&job->base,
							   dma_fence_get(&f1->base)), 0);
	KUNIT_EXPECT_EQ(test, kref_read(&f1->base.refcount), 1);
	/* later: replaces f2 */
	KUNIT_ASSERT_EQ(test, drm_sched_job_add_dependency(&job->base,
							   dma_fence_get(&f3->base)), 0);
	KUNIT_EXPECT_EQ(test, kref_read(&f2->base.refcount), 1);
	/* the same fence again */
	KUNIT_ASSERT_EQ(test, drm_sched_job_add_dependency(&job->base,
							   dma_fence_get(&f3->base)), 0);
	KUNIT_EXPECT_EQ(test, kref_read(&f3->base.refcount), 2);

	KUNIT_EXPECT_EQ(test, count_deps(&job->base.dependencies), 2);
	KUNIT_EXPECT_PTR_EQ(test, xa_load(&job->base.dependencies, 0),
			    &f3->base);
	KUNIT_EXPECT_PTR_EQ(test, xa_load(&job->base.dependencies, 1),
			    &other->base);

	drm_sched_mock_job_push(job);
	drm_sched_mock_fence_signal(f3, 0);
	KUNIT_ASSERT_TRUE(test, drm_sched_mock_fence_wait_enabled(other));
	msleep(SETTLE_MS);
	KUNIT_EXPECT_FALSE(test, job_ran(job));
	drm_sched_mock_fence_signal(other, 0);
	KUNIT_ASSERT_TRUE(test, drm_sched_mock_job_wait_finished(job));
	/* f1 and f2 were never waited for */
	KUNIT_EXPECT_EQ(test, f1->enable_seq, 0);
	KUNIT_EXPECT_EQ(test, f2->enable_seq, 0);
}

static void resv_add(struct kunit *test, struct dma_resv *resv,
		     struct drm_sched_mock_fence *fence,
		     enum dma_resv_usage usage)
{
	KUNIT_ASSERT_EQ(test, dma_resv_reserve_fences(resv, 1), 0);
	dma_resv_add_fence(resv, &fence->base, usage);
}

static void resv_fini_action(void *data)
{
	dma_resv_fini(data);
}

/*
 * Dependencies collected from a reservation object: every fence up to the
 * usage asked for, a preemption fence only at DMA_RESV_USAGE_PREEMPT.
 */
static void drm_sched_test_dep_resv(struct kunit *test)
{
	static const enum dma_resv_usage usages[] = {
		DMA_RESV_USAGE_KERNEL, DMA_RESV_USAGE_WRITE,
		DMA_RESV_USAGE_READ, DMA_RESV_USAGE_BOOKKEEP,
		DMA_RESV_USAGE_PREEMPT,
	};
	struct drm_sched_mock *sched = drm_sched_mock_new(test);
	struct drm_sched_mock_entity *entity = drm_sched_mock_entity_new(sched);
	struct drm_sched_mock_fence *fences[ARRAY_SIZE(usages)];
	struct drm_sched_mock_job *read, *bookkeep;
	struct dma_resv *resv;
	unsigned int i;

	resv = kunit_kzalloc(test, sizeof(*resv), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, resv);
	dma_resv_init(resv);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, resv_fini_action,
							resv), 0);

	read = drm_sched_mock_job_new(entity);
	bookkeep = drm_sched_mock_job_new(entity);

	dma_resv_lock(resv, NULL);
	for (i = 0; i < ARRAY_SIZE(usages); i++) {
		fences[i] = drm_sched_mock_fence_new(sched, 0, 1);
		resv_add(test, resv, fences[i], usages[i]);
	}
	KUNIT_EXPECT_EQ(test,
			drm_sched_job_add_resv_dependencies(&read->base, resv,
							    DMA_RESV_USAGE_READ),
			0);
	KUNIT_EXPECT_EQ(test,
			drm_sched_job_add_resv_dependencies(&bookkeep->base, resv,
							    DMA_RESV_USAGE_BOOKKEEP),
			0);
	dma_resv_unlock(resv);

	KUNIT_EXPECT_EQ(test, count_deps(&read->base.dependencies), 3);
	KUNIT_EXPECT_EQ(test, count_deps(&bookkeep->base.dependencies), 4);

	drm_sched_mock_job_push(read);
	drm_sched_mock_job_push(bookkeep);
	for (i = 0; i < ARRAY_SIZE(usages) - 1; i++)
		drm_sched_mock_fence_signal(fences[i], 0);

	KUNIT_ASSERT_TRUE(test, drm_sched_mock_job_wait_finished(read));
	KUNIT_ASSERT_TRUE(test, drm_sched_mock_job_wait_finished(bookkeep));
	/* the preemption fence was never waited for */
	KUNIT_EXPECT_EQ(test, fences[ARRAY_SIZE(usages) - 1]->enable_seq, 0);
}

/*
 * The scheduler does not propagate the error of a dependency: the job runs
 * once the dependency signaled and its finished fence gets the result of the
 * hardware fence. Drivers check the dependencies themselves if they care.
 */
static void drm_sched_test_dep_error(struct kunit *test)
{
	struct drm_sched_mock *sched = drm_sched_mock_new(test);
	struct drm_sched_mock_entity *entity = drm_sched_mock_entity_new(sched);
	struct drm_sched_mock_job *job = drm_sched_mock_job_new(entity);
	struct drm_sched_mock_fence *dep = drm_sched_mock_fence_new(sched, 0, 1);

	KUNIT_ASSERT_EQ(test, drm_sched_job_add_dependency(&job->base,
							   dma_fence_get(&dep->base)), 0);
	drm_sched_mock_job_push(job);
	KUNIT_ASSERT_TRUE(test, drm_sched_mock_fence_wait_enabled(dep));
	drm_sched_mock_fence_signal(dep, -EIO);

	KUNIT_ASSERT_TRUE(test, drm_sched_mock_job_wait_finished(job));
	KUNIT_EXPECT_EQ(test, atomic_read(&job->run_count), 1);
	KUNIT_EXPECT_GT(test, job->run_seq, dep->signal_seq);
	KUNIT_EXPECT_EQ(test, job->finished->error, 0);
}

/*
 * A job depending on the finished fence of a job of another entity of the
 * same scheduler runs after it.
 */
static void drm_sched_test_dep_job(struct kunit *test)
{
	struct drm_sched_mock *sched = drm_sched_mock_new(test);
	struct drm_sched_mock_entity *e1 = drm_sched_mock_entity_new(sched);
	struct drm_sched_mock_entity *e2 = drm_sched_mock_entity_new(sched);
	struct drm_sched_mock_job *first = drm_sched_mock_job_new(e1);
	struct drm_sched_mock_job *second = drm_sched_mock_job_new(e2);
	struct drm_sched_mock_fence *dep = drm_sched_mock_fence_new(sched, 0, 1);

	KUNIT_ASSERT_EQ(test, drm_sched_job_add_dependency(&first->base,
							   dma_fence_get(&dep->base)), 0);
	drm_sched_mock_job_push(first);
	KUNIT_ASSERT_EQ(test, drm_sched_job_add_dependency(&second->base,
							   dma_fence_get(first->finished)), 0);
	drm_sched_mock_job_push(second);

	KUNIT_ASSERT_TRUE(test, drm_sched_mock_fence_wait_enabled(dep));
	msleep(SETTLE_MS);
	KUNIT_EXPECT_FALSE(test, job_ran(first));
	KUNIT_EXPECT_FALSE(test, job_ran(second));

	drm_sched_mock_fence_signal(dep, 0);
	KUNIT_ASSERT_TRUE(test, drm_sched_mock_job_wait_finished(second));
	KUNIT_EXPECT_GT(test, second->run_seq, first->run_seq);
}

/*
 * Killing an entity kills the jobs it did not run, but only once their
 * dependencies signaled: the finished fence of a killed job still orders
 * after everything the job depended on.
 */
static void drm_sched_test_dep_kill(struct kunit *test)
{
	struct drm_sched_mock *sched = drm_sched_mock_new(test);
	struct drm_sched_mock_entity *entity = drm_sched_mock_entity_new(sched);
	struct drm_sched_mock_job *job = drm_sched_mock_job_new(entity);
	struct drm_sched_mock_fence *a = drm_sched_mock_fence_new(sched, 0, 1);
	struct drm_sched_mock_fence *b = drm_sched_mock_fence_new(sched, 0, 1);

	KUNIT_ASSERT_EQ(test, drm_sched_job_add_dependency(&job->base,
							   dma_fence_get(&a->base)), 0);
	KUNIT_ASSERT_EQ(test, drm_sched_job_add_dependency(&job->base,
							   dma_fence_get(&b->base)), 0);
	drm_sched_mock_job_push(job);
	KUNIT_ASSERT_TRUE(test, drm_sched_mock_fence_wait_enabled(a));

	drm_sched_mock_entity_kill(entity);
	msleep(SETTLE_MS);
	KUNIT_EXPECT_FALSE(test, dma_fence_is_signaled(job->finished));

	drm_sched_mock_fence_signal(a, 0);
	KUNIT_ASSERT_TRUE(test, drm_sched_mock_fence_wait_enabled(b));
	msleep(SETTLE_MS);
	KUNIT_EXPECT_FALSE(test, dma_fence_is_signaled(job->finished));

	drm_sched_mock_fence_signal(b, 0);
	KUNIT_ASSERT_TRUE(test, drm_sched_mock_job_wait_finished(job));
	KUNIT_EXPECT_EQ(test, job->finished->error, -ESRCH);
	KUNIT_EXPECT_FALSE(test, job_ran(job));

	drm_sched_mock_job_put(job);
	drm_sched_mock_fence_put(a);
	drm_sched_mock_fence_put(b);
	drm_sched_mock_fini(sched);
	KUNIT_EXPECT_TRUE(test, drm_sched_mock_wait_idle());
}

static struct kunit_case drm_sched_dependency_tests[] = {
	KUNIT_CASE(drm_sched_test_dep_wait),
	KUNIT_CASE(drm_sched_test_dep_order),
	KUNIT_CASE(drm_sched_test_dep_dedup),
	KUNIT_CASE(drm_sched_test_dep_resv),
	KUNIT_CASE(drm_sched_test_dep_error),
	KUNIT_CASE(drm_sched_test_dep_job),
	KUNIT_CASE(drm_sched_test_dep_kill),
	{}
};

static struct kunit_suite drm_sched_dependency_suite = {
	.name = "drm_sched_dependency",
	.test_cases = drm_sched_dependency_tests,
};

kunit_test_suites(&drm_sched_basic_suite, &drm_sched_dependency_suite);

MODULE_DESCRIPTION("KUnit tests for the DRM GPU scheduler");
MODULE_LICENSE("GPL");
