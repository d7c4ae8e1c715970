// SPDX-License-Identifier: GPL-2.0
/*
 * A mock driver for the KUnit tests of the DRM GPU scheduler: a scheduler
 * whose run_job callback returns a fence that a work item signals, entities,
 * jobs and dependency fences signaled by the test.
 *
 * Everything a test creates is torn down by KUnit actions, also when the test
 * fails half way: the dependency fences still pending are signaled, then the
 * entities are torn down, the jobs waited for and the scheduler finalized.
 */

#include <kunit/device.h>
#include <kunit/resource.h>
#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/slab.h>
#include <linux/wait_bit.h>

#include "drm_sched_mock.h"

struct drm_sched_mock_hw_fence {
	struct dma_fence base;
	spinlock_t lock; /* the fence lock */
	struct list_head link;
	unsigned long deadline;
	bool initialized;
};

/* Not per test: fences may be released after the test that made them */
static atomic_t mock_jobs_alive;
static atomic_t mock_fences_alive;

/**
 * drm_sched_mock_jobs_alive - number of mock jobs not freed yet
 *
 * Return: the number of mock jobs of all tests not freed yet.
 */
int drm_sched_mock_jobs_alive(void)
{
	return atomic_read(&mock_jobs_alive);
}

/**
 * drm_sched_mock_wait_zero - wait for a counter to drop to zero
 * @counter: the counter
 *
 * For counters of objects released asynchronously, e.g. by work items.
 *
 * Return: true if @counter dropped to zero in time.
 */
bool drm_sched_mock_wait_zero(const atomic_t *counter)
{
	unsigned long timeout = jiffies + DRM_SCHED_MOCK_TIMEOUT;

	while (atomic_read(counter)) {
		if (time_after(jiffies, timeout))
			return false;
		usleep_range(1000, 2000);
	}
	return true;
}

/**
 * drm_sched_mock_wait_idle - wait for every mock job and fence to be freed
 *
 * Return: true if no mock job nor mock dependency fence is left.
 */
bool drm_sched_mock_wait_idle(void)
{
	return drm_sched_mock_wait_zero(&mock_jobs_alive) &&
	       drm_sched_mock_wait_zero(&mock_fences_alive);
}

/**
 * drm_sched_mock_seq - next event sequence number
 * @sched: the scheduler
 *
 * Return: a sequence number, starting at 1.
 */
unsigned int drm_sched_mock_seq(struct drm_sched_mock *sched)
{
	return atomic_inc_return(&sched->seq);
}

/* The hardware */

static const char *mock_hw_fence_name(struct dma_fence *fence)
{
	return "drm_sched_mock_hw";
}

static const struct dma_fence_ops mock_hw_fence_ops = {
	.get_driver_name = mock_hw_fence_name,
	.get_timeline_name = mock_hw_fence_name,
};

static void mock_hw_work(struct work_struct *work)
{
	struct drm_sched_mock *sched =
		container_of(work, typeof(*sched), hw_work.work);
	struct drm_sched_mock_hw_fence *hw;

	for (;;) {
		spin_lock_irq(&sched->lock);
		hw = list_first_entry_or_null(&sched->ring, typeof(*hw), link);
		if (hw && time_before(jiffies, hw->deadline)) {
			mod_delayed_work(system_unbound_wq, &sched->hw_work,
					 hw->deadline - jiffies);
			hw = NULL;
		}
		if (hw)
			list_del_init(&hw->link);
		spin_unlock_irq(&sched->lock);
		if (!hw)
			break;

		dma_fence_signal(&hw->base);
		/* the reference of the ring */
		dma_fence_put(&hw->base);
	}
}

/* Signals what is left on the ring: nothing, unless jobs are stuck */
static void mock_hw_drain(struct drm_sched_mock *sched)
{
	struct drm_sched_mock_hw_fence *hw;

	for (;;) {
		spin_lock_irq(&sched->lock);
		hw = list_first_entry_or_null(&sched->ring, typeof(*hw), link);
		if (hw)
			list_del_init(&hw->link);
		spin_unlock_irq(&sched->lock);
		if (!hw)
			break;

		dma_fence_signal(&hw->base);
		dma_fence_put(&hw->base);
	}
}

/* The scheduler callbacks */

static struct drm_sched_mock_job *to_mock_job(struct drm_sched_job *job)
{
	return container_of(job, struct drm_sched_mock_job, base);
}

static struct dma_fence *mock_run_job(struct drm_sched_job *sched_job)
{
	struct drm_sched_mock_job *job = to_mock_job(sched_job);
	struct drm_sched_mock *sched = job->sched;
	struct drm_sched_mock_hw_fence *hw = job->hw;

	job->run_seq = drm_sched_mock_seq(sched);
	if (job->run)
		job->run(job);

	/* A job is run again after a reset only: the mock never resets */
	if (atomic_inc_return(&job->run_count) > 1)
		return ERR_PTR(-ECANCELED);

	spin_lock_irq(&sched->lock);
	dma_fence_init(&hw->base, &mock_hw_fence_ops, &hw->lock,
		       sched->hw_context, ++sched->hw_seqno);
	hw->initialized = true;
	hw->deadline = jiffies + job->duration;
	/* one for the ring, one for the job; the scheduler gets the first */
	dma_fence_get(&hw->base);
	dma_fence_get(&hw->base);
	list_add_tail(&hw->link, &sched->ring);
	spin_unlock_irq(&sched->lock);

	mod_delayed_work(system_unbound_wq, &sched->hw_work, job->duration);
	complete_all(&job->ran);

	return &hw->base;
}

static enum drm_gpu_sched_stat mock_timedout_job(struct drm_sched_job *job)
{
	/* The mock scheduler has no timeout */
	return DRM_GPU_SCHED_STAT_NOMINAL;
}

static void mock_job_release(struct kref *kref)
{
	struct drm_sched_mock_job *job =
		container_of(kref, typeof(*job), refcount);

	/* A job that was never pushed is aborted, see drm_sched_job_init() */
	if (!job->pushed)
		drm_sched_job_cleanup(&job->base);

	if (job->hw->initialized)
		dma_fence_put(&job->hw->base);
	else
		kfree(job->hw);
	dma_fence_put(job->finished);
	kfree(job);
	atomic_dec(&mock_jobs_alive);
}

static void mock_free_job(struct drm_sched_job *sched_job)
{
	struct drm_sched_mock_job *job = to_mock_job(sched_job);
	struct drm_sched_mock *sched = job->sched;

	drm_sched_job_cleanup(sched_job);
	kref_put(&job->refcount, mock_job_release);

	if (atomic_dec_and_test(&sched->jobs_pushed))
		wake_up_var(&sched->jobs_pushed);
}

static const struct drm_sched_backend_ops mock_sched_ops = {
	.run_job = mock_run_job,
	.timedout_job = mock_timedout_job,
	.free_job = mock_free_job,
};

/* Scheduler */

static void mock_sched_fini_action(void *data)
{
	drm_sched_mock_fini(data);
}

/**
 * drm_sched_mock_new - create a mock scheduler
 * @test: the test
 *
 * The scheduler is finalized by drm_sched_mock_fini(), at the latest when the
 * test ends. Fails the test on error.
 *
 * Return: the scheduler.
 */
struct drm_sched_mock *drm_sched_mock_new(struct kunit *test)
{
	struct drm_sched_init_args args = {
		.ops = &mock_sched_ops,
		.num_rqs = DRM_SCHED_PRIORITY_COUNT,
		.credit_limit = 64,
		.timeout = MAX_SCHEDULE_TIMEOUT,
	};
	static atomic_t count = ATOMIC_INIT(0);
	struct drm_sched_mock *sched;
	int ret;

	sched = kunit_kzalloc(test, sizeof(*sched), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, sched);

	/* the name of a KUnit device must be unique */
	snprintf(sched->name, sizeof(sched->name), "drm_sched_mock.%d",
		 atomic_inc_return(&count));
	args.name = sched->name;
	args.dev = kunit_device_register(test, sched->name);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, args.dev);

	sched->test = test;
	spin_lock_init(&sched->lock);
	INIT_LIST_HEAD(&sched->ring);
	INIT_DELAYED_WORK(&sched->hw_work, mock_hw_work);
	sched->hw_context = dma_fence_context_alloc(1);
	INIT_LIST_HEAD(&sched->entities);

	ret = drm_sched_init(&sched->base, &args);
	KUNIT_ASSERT_EQ(test, ret, 0);
	sched->initialized = true;

	ret = kunit_add_action_or_reset(test, mock_sched_fini_action, sched);
	KUNIT_ASSERT_EQ(test, ret, 0);

	return sched;
}

/**
 * drm_sched_mock_fini - tear a mock scheduler down
 * @sched: the scheduler
 *
 * Tears the remaining entities down, waits for every pushed job to be freed,
 * then finalizes the scheduler. Reports a failure if jobs are stuck. Called
 * when the test ends; tests may call it earlier to check that nothing leaked.
 */
void drm_sched_mock_fini(struct drm_sched_mock *sched)
{
	struct drm_sched_mock_entity *entity;

	if (!sched->initialized)
		return;

	for (;;) {
		spin_lock_irq(&sched->lock);
		entity = list_first_entry_or_null(&sched->entities,
						  typeof(*entity), link);
		spin_unlock_irq(&sched->lock);
		if (!entity)
			break;
		drm_sched_mock_entity_kill(entity);
	}

	if (!wait_var_event_timeout(&sched->jobs_pushed,
				    !atomic_read(&sched->jobs_pushed),
				    DRM_SCHED_MOCK_TIMEOUT))
		KUNIT_FAIL(sched->test, "%d jobs not freed",
			   atomic_read(&sched->jobs_pushed));

	drm_sched_fini(&sched->base);
	cancel_delayed_work_sync(&sched->hw_work);
	mock_hw_drain(sched);
	sched->initialized = false;
}

/* Entities */

static void mock_entity_kill_action(void *data)
{
	drm_sched_mock_entity_kill(data);
}

/**
 * drm_sched_mock_entity_new - create an entity of a mock scheduler
 * @sched: the scheduler
 *
 * Torn down by drm_sched_mock_entity_kill() or drm_sched_mock_fini(), at the
 * latest when the test ends. Fails the test on error.
 *
 * Return: the entity.
 */
struct drm_sched_mock_entity *
drm_sched_mock_entity_new(struct drm_sched_mock *sched)
{
	struct kunit *test = sched->test;
	struct drm_gpu_scheduler **list;
	struct drm_sched_mock_entity *entity;
	int ret;

	entity = kunit_kzalloc(test, sizeof(*entity), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, entity);
	list = kunit_kzalloc(test, sizeof(*list), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, list);

	list[0] = &sched->base;
	ret = drm_sched_entity_init(&entity->base, DRM_SCHED_PRIORITY_NORMAL,
				    list, 1, NULL);
	KUNIT_ASSERT_EQ(test, ret, 0);

	entity->sched = sched;
	spin_lock_irq(&sched->lock);
	list_add_tail(&entity->link, &sched->entities);
	spin_unlock_irq(&sched->lock);

	/* before KUnit frees the entity, which it does before the scheduler */
	ret = kunit_add_action_or_reset(test, mock_entity_kill_action, entity);
	KUNIT_ASSERT_EQ(test, ret, 0);

	return entity;
}

/**
 * drm_sched_mock_entity_kill - tear an entity down
 * @entity: the entity
 *
 * Calls drm_sched_entity_fini() without flushing: the jobs of the entity the
 * scheduler did not pick yet are killed. Idempotent.
 */
void drm_sched_mock_entity_kill(struct drm_sched_mock_entity *entity)
{
	struct drm_sched_mock *sched = entity->sched;
	bool live;

	spin_lock_irq(&sched->lock);
	live = !list_empty(&entity->link);
	list_del_init(&entity->link);
	spin_unlock_irq(&sched->lock);

	if (live)
		drm_sched_entity_fini(&entity->base);
}

/* Jobs */

static void mock_job_put_action(void *data)
{
	struct drm_sched_mock_job *job = data;

	kref_put(&job->refcount, mock_job_release);
}

/**
 * drm_sched_mock_job_new - create a job
 * @entity: the entity of the job
 *
 * Initializes the job with drm_sched_job_init(); the test adds dependencies
 * and pushes it with drm_sched_mock_job_push(), or not. The reference of the
 * test is dropped when the test ends. Fails the test on error.
 *
 * Return: the job.
 */
struct drm_sched_mock_job *
drm_sched_mock_job_new(struct drm_sched_mock_entity *entity)
{
	struct drm_sched_mock *sched = entity->sched;
	struct kunit *test = sched->test;
	struct drm_sched_mock_hw_fence *hw;
	struct drm_sched_mock_job *job;
	int ret;

	job = kzalloc(sizeof(*job), GFP_KERNEL);
	hw = kzalloc(sizeof(*hw), GFP_KERNEL);
	ret = job && hw ? drm_sched_job_init(&job->base, &entity->base, 1,
					     NULL, 0) : -ENOMEM;
	if (ret) {
		kfree(hw);
		kfree(job);
		hw = NULL;
		job = NULL;
	}
	KUNIT_ASSERT_EQ(test, ret, 0);
	job->hw = hw;

	kref_init(&job->refcount);
	job->sched = sched;
	spin_lock_init(&job->hw->lock);
	INIT_LIST_HEAD(&job->hw->link);
	init_completion(&job->ran);
	atomic_inc(&mock_jobs_alive);

	ret = kunit_add_action_or_reset(test, mock_job_put_action, job);
	KUNIT_ASSERT_EQ(test, ret, 0);

	return job;
}

/**
 * drm_sched_mock_job_put - drop the reference of the test to a job
 * @job: the job
 *
 * What happens when the test ends, done earlier: the job must not be used by
 * the test any more.
 */
void drm_sched_mock_job_put(struct drm_sched_mock_job *job)
{
	kunit_release_action(job->sched->test, mock_job_put_action, job);
}

/**
 * drm_sched_mock_job_push - arm and push a job
 * @job: the job
 */
void drm_sched_mock_job_push(struct drm_sched_mock_job *job)
{
	drm_sched_job_arm(&job->base);
	job->finished = dma_fence_get(&job->base.s_fence->finished);
	job->pushed = true;
	kref_get(&job->refcount);
	atomic_inc(&job->sched->jobs_pushed);
	drm_sched_entity_push_job(&job->base);
}

/**
 * drm_sched_mock_job_wait_finished - wait for the finished fence of a job
 * @job: the job, pushed
 *
 * Return: true if the finished fence of @job signaled in time.
 */
bool drm_sched_mock_job_wait_finished(struct drm_sched_mock_job *job)
{
	return dma_fence_wait_timeout(job->finished, false,
				      DRM_SCHED_MOCK_TIMEOUT) > 0;
}

/* Dependency fences */

static struct drm_sched_mock_fence *to_mock_fence(struct dma_fence *fence)
{
	return container_of(fence, struct drm_sched_mock_fence, base);
}

static const char *mock_fence_name(struct dma_fence *fence)
{
	return "drm_sched_mock_dep";
}

static bool mock_fence_enable_signaling(struct dma_fence *fence)
{
	struct drm_sched_mock_fence *mf = to_mock_fence(fence);

	mf->enable_seq = drm_sched_mock_seq(mf->sched);
	complete_all(&mf->enabled);
	return true;
}

static void mock_fence_release(struct dma_fence *fence)
{
	atomic_dec(&mock_fences_alive);
	dma_fence_free(fence);
}

static const struct dma_fence_ops mock_fence_ops = {
	.get_driver_name = mock_fence_name,
	.get_timeline_name = mock_fence_name,
	.enable_signaling = mock_fence_enable_signaling,
	.release = mock_fence_release,
};

static void mock_fence_put_action(void *data)
{
	struct drm_sched_mock_fence *fence = data;

	/* unblock the jobs still waiting for it */
	drm_sched_mock_fence_signal(fence, -ECANCELED);
	dma_fence_put(&fence->base);
}

/**
 * drm_sched_mock_fence_new - create a dependency fence
 * @sched: the scheduler whose sequence numbers the events of the fence get
 * @context: the fence context, 0 for a new one
 * @seqno: the sequence number
 *
 * The fence records when signaling is enabled on it and when it signals. The
 * test signals it with drm_sched_mock_fence_signal(); when the test ends it
 * is signaled with -ECANCELED, if it was not, and the reference of the test
 * dropped. Fails the test on error.
 *
 * Return: the fence.
 */
struct drm_sched_mock_fence *
drm_sched_mock_fence_new(struct drm_sched_mock *sched, u64 context, u64 seqno)
{
	struct kunit *test = sched->test;
	struct drm_sched_mock_fence *fence;
	int ret;

	fence = kzalloc(sizeof(*fence), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, fence);

	spin_lock_init(&fence->lock);
	fence->sched = sched;
	init_completion(&fence->enabled);
	dma_fence_init(&fence->base, &mock_fence_ops, &fence->lock,
		       context ?: dma_fence_context_alloc(1), seqno);
	atomic_inc(&mock_fences_alive);

	ret = kunit_add_action_or_reset(test, mock_fence_put_action, fence);
	KUNIT_ASSERT_EQ(test, ret, 0);

	return fence;
}

/**
 * drm_sched_mock_fence_put - drop the reference of the test to a fence
 * @fence: the fence
 *
 * What happens when the test ends, done earlier: signals @fence with
 * -ECANCELED if it was not signaled and drops the reference of the test.
 */
void drm_sched_mock_fence_put(struct drm_sched_mock_fence *fence)
{
	kunit_release_action(fence->sched->test, mock_fence_put_action, fence);
}

/**
 * drm_sched_mock_fence_signal - signal a dependency fence
 * @fence: the fence
 * @error: 0 or the negative error code to signal @fence with
 *
 * Does nothing if @fence already signaled.
 */
void drm_sched_mock_fence_signal(struct drm_sched_mock_fence *fence, int error)
{
	unsigned long flags;

	spin_lock_irqsave(&fence->lock, flags);
	if (!dma_fence_is_signaled_locked(&fence->base)) {
		fence->signal_seq = drm_sched_mock_seq(fence->sched);
		if (error)
			dma_fence_set_error(&fence->base, error);
		dma_fence_signal_locked(&fence->base);
	}
	spin_unlock_irqrestore(&fence->lock, flags);
}

/**
 * drm_sched_mock_fence_wait_enabled - wait for signaling to be enabled
 * @fence: the fence
 *
 * Return: true if signaling was enabled on @fence in time.
 */
bool drm_sched_mock_fence_wait_enabled(struct drm_sched_mock_fence *fence)
{
	return wait_for_completion_timeout(&fence->enabled,
					   DRM_SCHED_MOCK_TIMEOUT);
}
