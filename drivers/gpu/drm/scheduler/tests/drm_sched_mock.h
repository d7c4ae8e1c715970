/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A mock driver for the KUnit tests of the DRM GPU scheduler.
 */

#ifndef __DRM_SCHED_MOCK_H__
#define __DRM_SCHED_MOCK_H__

#include <kunit/test.h>
#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/dma-fence.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

#include <drm/gpu_scheduler.h>

/* How long a test waits for anything before it gives up */
#define DRM_SCHED_MOCK_TIMEOUT	(5 * HZ)

/**
 * struct drm_sched_mock - a scheduler with a fake hardware ring
 *
 * The run_job callback puts a hardware fence on the ring, which a work item
 * signals in order once the duration of the job has elapsed. Every event the
 * tests care about gets a sequence number from @seq, which is how they check
 * the order of things.
 */
struct drm_sched_mock {
	/** @base: The scheduler. */
	struct drm_gpu_scheduler base;
	/** @test: The test using the scheduler. */
	struct kunit *test;
	/** @lock: Protects @ring, @hw_seqno and @entities. */
	spinlock_t lock;
	/** @ring: Hardware fences of the running jobs, in order. */
	struct list_head ring;
	/** @hw_work: Signals the hardware fences whose time has come. */
	struct delayed_work hw_work;
	/** @hw_context: Fence context of the hardware fences. */
	u64 hw_context;
	/** @hw_seqno: Last hardware fence sequence number. */
	u64 hw_seqno;
	/** @seq: Event sequence numbers. */
	atomic_t seq;
	/** @jobs_pushed: Jobs pushed and not freed by the scheduler yet. */
	atomic_t jobs_pushed;
	/** @entities: Entities not torn down yet. */
	struct list_head entities;
	/** @name: Name of the scheduler and of its device. */
	char name[32];
	/** @initialized: drm_sched_init() succeeded, not torn down yet. */
	bool initialized;
};

/**
 * struct drm_sched_mock_entity - an entity of a mock scheduler
 */
struct drm_sched_mock_entity {
	/** @base: The entity. */
	struct drm_sched_entity base;
	/** @sched: The scheduler. */
	struct drm_sched_mock *sched;
	/** @link: In &drm_sched_mock.entities while not torn down. */
	struct list_head link;
};

struct drm_sched_mock_job;

/**
 * typedef drm_sched_mock_run_t - called from the run_job callback
 * @job: the job being run
 */
typedef void (*drm_sched_mock_run_t)(struct drm_sched_mock_job *job);

/**
 * struct drm_sched_mock_job - a job of a mock scheduler
 *
 * Reference counted: the test holds a reference until the end of the test,
 * the scheduler one from drm_sched_mock_job_push() to free_job.
 */
struct drm_sched_mock_job {
	/** @base: The scheduler job. */
	struct drm_sched_job base;
	/** @refcount: See above. */
	struct kref refcount;
	/** @sched: The scheduler. */
	struct drm_sched_mock *sched;
	/** @hw: The hardware fence, allocated with the job. */
	struct drm_sched_mock_hw_fence *hw;
	/** @finished: The finished fence, once pushed. */
	struct dma_fence *finished;
	/** @duration: How long the hardware takes to run the job, jiffies. */
	unsigned long duration;
	/** @run: Optional, called first from the run_job callback. */
	drm_sched_mock_run_t run;
	/** @priv: For @run. */
	void *priv;
	/** @run_seq: Sequence number of the run_job call, 0 if none. */
	unsigned int run_seq;
	/** @run_count: Number of run_job calls. */
	atomic_t run_count;
	/** @ran: Completed by the run_job callback. */
	struct completion ran;
	/** @pushed: drm_sched_mock_job_push() was called. */
	bool pushed;
};

/**
 * struct drm_sched_mock_fence - a dependency signaled by the test
 */
struct drm_sched_mock_fence {
	/** @base: The fence. */
	struct dma_fence base;
	/** @lock: The fence lock. */
	spinlock_t lock;
	/** @sched: Scheduler whose sequence numbers the events get. */
	struct drm_sched_mock *sched;
	/** @enable_seq: Sequence number of enable_signaling, 0 if none. */
	unsigned int enable_seq;
	/** @signal_seq: Sequence number of the signal, 0 if none. */
	unsigned int signal_seq;
	/** @enabled: Completed when signaling is enabled. */
	struct completion enabled;
};

struct drm_sched_mock *drm_sched_mock_new(struct kunit *test);
void drm_sched_mock_fini(struct drm_sched_mock *sched);
unsigned int drm_sched_mock_seq(struct drm_sched_mock *sched);

struct drm_sched_mock_entity *
drm_sched_mock_entity_new(struct drm_sched_mock *sched);
void drm_sched_mock_entity_kill(struct drm_sched_mock_entity *entity);

struct drm_sched_mock_job *
drm_sched_mock_job_new(struct drm_sched_mock_entity *entity);
void drm_sched_mock_job_put(struct drm_sched_mock_job *job);
void drm_sched_mock_job_push(struct drm_sched_mock_job *job);
bool drm_sched_mock_job_wait_finished(struct drm_sched_mock_job *job);

struct drm_sched_mock_fence *
drm_sched_mock_fence_new(struct drm_sched_mock *sched, u64 context,
			 u64 seqno);
void drm_sched_mock_fence_put(struct drm_sched_mock_fence *fence);
void drm_sched_mock_fence_signal(struct drm_sched_mock_fence *fence,
				 int error);
bool drm_sched_mock_fence_wait_enabled(struct drm_sched_mock_fence *fence);

int drm_sched_mock_jobs_alive(void);
bool drm_sched_mock_wait_zero(const atomic_t *counter);
bool drm_sched_mock_wait_idle(void);

#endif /* __DRM_SCHED_MOCK_H__ */
