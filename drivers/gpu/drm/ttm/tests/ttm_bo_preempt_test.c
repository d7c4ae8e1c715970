// SPDX-License-Identifier: GPL-2.0 AND MIT
/*
 * KUnit tests: TTM moves and evictions wait for the preemption fences of a
 * buffer object (DMA_RESV_USAGE_PREEMPT), and trigger them only once the
 * other fences of the object have signaled.
 */

#include <linux/dma-resv.h>
#include <linux/workqueue.h>

#include <drm/ttm/ttm_tt.h>

#include "ttm_kunit_helpers.h"
#include "ttm_mock_manager.h"

#define BO_SIZE		SZ_4K
#define MANAGER_SIZE	SZ_1M

enum {
	EV_WORK_ENABLE,		/* signaling enabled on the ordinary fence */
	EV_WORK_SIGNAL,		/* the ordinary fence signaled */
	EV_PREEMPT_ENABLE,	/* preemption triggered */
	EV_PREEMPT_SIGNAL,	/* preemption done */
	EV_RETURNED,		/* the TTM operation returned */
};

struct preempt_test_log {
	spinlock_t lock; /* protects count and events */
	unsigned int count;
	int events[8];
};

/*
 * A fence that completes by itself once signaling is enabled on it: after a
 * delay for the "work" fence, at once (from a worker) for the "preemption"
 * fence, like a user queue that is told to stop.
 */
struct preempt_test_fence {
	struct dma_fence base;
	spinlock_t lock; /* the fence lock */
	struct delayed_work work;
	struct preempt_test_log *log;
	int ev_enable, ev_signal;
	unsigned long delay;
};

static void log_event(struct preempt_test_log *log, int event)
{
	unsigned long flags;

	spin_lock_irqsave(&log->lock, flags);
	if (log->count < ARRAY_SIZE(log->events))
		log->events[log->count++] = event;
	spin_unlock_irqrestore(&log->lock, flags);
}

static const char *preempt_test_fence_name(struct dma_fence *f)
{
	return "ttm-preempt-test";
}

static bool preempt_test_fence_enable_signaling(struct dma_fence *f)
{
	struct preempt_test_fence *pf = container_of(f, typeof(*pf), base);

	log_event(pf->log, pf->ev_enable);
	queue_delayed_work(system_unbound_wq, &pf->work, pf->delay);
	return true;
}

static const struct dma_fence_ops preempt_test_fence_ops = {
	.get_driver_name = preempt_test_fence_name,
	.get_timeline_name = preempt_test_fence_name,
	.enable_signaling = preempt_test_fence_enable_signaling,
};

static void preempt_test_fence_work(struct work_struct *work)
{
	struct preempt_test_fence *pf =
		container_of(work, typeof(*pf), work.work);

	log_event(pf->log, pf->ev_signal);
	dma_fence_signal(&pf->base);
}

static void preempt_test_fence_release(void *data)
{
	struct preempt_test_fence *pf = data;

	cancel_delayed_work_sync(&pf->work);
	dma_fence_signal(&pf->base);
	dma_fence_put(&pf->base);
}

static struct preempt_test_fence *
preempt_test_fence_create(struct kunit *test, struct preempt_test_log *log,
			  bool preempt)
{
	struct preempt_test_fence *pf;

	pf = kzalloc(sizeof(*pf), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, pf);

	spin_lock_init(&pf->lock);
	INIT_DELAYED_WORK(&pf->work, preempt_test_fence_work);
	pf->log = log;
	pf->ev_enable = preempt ? EV_PREEMPT_ENABLE : EV_WORK_ENABLE;
	pf->ev_signal = preempt ? EV_PREEMPT_SIGNAL : EV_WORK_SIGNAL;
	pf->delay = preempt ? 0 : msecs_to_jiffies(20);
	dma_fence_init(&pf->base, &preempt_test_fence_ops, &pf->lock,
		       dma_fence_context_alloc(1), 1);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test,
							preempt_test_fence_release,
							pf), 0);
	return pf;
}

static struct ttm_placement *preempt_test_placement(struct kunit *test,
						    u32 mem_type)
{
	struct ttm_placement *placement;

	placement = kunit_kzalloc(test, sizeof(*placement), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, placement);
	placement->num_placement = 1;
	placement->placement = ttm_place_kunit_init(test, mem_type, 0);
	return placement;
}

struct preempt_test_bo {
	struct ttm_buffer_object *bo;
	struct preempt_test_fence *work, *preempt;
	struct preempt_test_log log;
};

/*
 * A BO in @mem_type, reserved, with a user queue's preemption fence and,
 * if @with_work, a fence of still running work.
 */
static void preempt_test_bo_init(struct kunit *test, struct preempt_test_bo *t,
				 u32 mem_type, bool with_work)
{
	struct ttm_test_devices *priv = test->priv;
	struct ttm_operation_ctx ctx = { };
	struct ttm_placement *placement;
	int err;

	spin_lock_init(&t->log.lock);
	t->log.count = 0;

	placement = preempt_test_placement(test, mem_type);

	t->bo = kunit_kzalloc(test, sizeof(*t->bo), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, t->bo);
	drm_gem_private_object_init(priv->drm, &t->bo->base, BO_SIZE);
	err = ttm_bo_init_reserved(priv->ttm_dev, t->bo, ttm_bo_type_device,
				   placement, PAGE_SIZE, &ctx, NULL, NULL,
				   &dummy_ttm_bo_destroy);
	KUNIT_ASSERT_EQ(test, err, 0);

	KUNIT_ASSERT_EQ(test, dma_resv_reserve_fences(t->bo->base.resv, 2), 0);
	t->preempt = preempt_test_fence_create(test, &t->log, true);
	dma_resv_add_fence(t->bo->base.resv, &t->preempt->base,
			   DMA_RESV_USAGE_PREEMPT);
	t->work = NULL;
	if (with_work) {
		t->work = preempt_test_fence_create(test, &t->log, false);
		dma_resv_add_fence(t->bo->base.resv, &t->work->base,
				   DMA_RESV_USAGE_BOOKKEEP);
	}
}

/* The operation waited for the preemption, triggered after the work. */
static void preempt_test_check_order(struct kunit *test,
				     struct preempt_test_bo *t)
{
	static const int expected[] = {
		EV_WORK_ENABLE, EV_WORK_SIGNAL, EV_PREEMPT_ENABLE,
		EV_PREEMPT_SIGNAL, EV_RETURNED,
	};
	unsigned int i, skip = t->work ? 0 : 2;

	KUNIT_EXPECT_TRUE(test, dma_fence_is_signaled(&t->preempt->base));
	KUNIT_ASSERT_EQ(test, t->log.count, ARRAY_SIZE(expected) - skip);
	for (i = 0; i < t->log.count; i++)
		KUNIT_EXPECT_EQ_MSG(test, t->log.events[i], expected[i + skip],
				    "event %u", i);
}

/*
 * ttm_bo_validate() moving a BO with the mock driver's memcpy move: TTM waits
 * for the BO before it frees the old resource.
 */
static void ttm_bo_preempt_move(struct kunit *test)
{
	struct ttm_test_devices *priv = test->priv;
	u32 fst_mem = TTM_PL_VRAM, snd_mem = TTM_PL_VRAM + 1;
	struct ttm_operation_ctx ctx = { };
	struct ttm_placement *placement;
	struct preempt_test_bo t;
	int err;

	ttm_mock_manager_init(priv->ttm_dev, fst_mem, MANAGER_SIZE);
	ttm_mock_manager_init(priv->ttm_dev, snd_mem, MANAGER_SIZE);
	preempt_test_bo_init(test, &t, fst_mem, true);

	placement = preempt_test_placement(test, snd_mem);
	err = ttm_bo_validate(t.bo, placement, &ctx);
	log_event(&t.log, EV_RETURNED);
	dma_resv_unlock(t.bo->base.resv);

	KUNIT_EXPECT_EQ(test, err, 0);
	KUNIT_EXPECT_EQ(test, t.bo->resource->mem_type, snd_mem);
	preempt_test_check_order(test, &t);

	ttm_bo_put(t.bo);
	ttm_mock_manager_fini(priv->ttm_dev, fst_mem);
	ttm_mock_manager_fini(priv->ttm_dev, snd_mem);
}

/*
 * ttm_bo_wait_ctx(), which eviction, swapout and the drivers' moves use:
 * without waiting it reports a buffer with a running user queue as busy,
 * without preempting the queue; waiting preempts it.
 */
static void ttm_bo_preempt_wait_ctx(struct kunit *test)
{
	struct ttm_test_devices *priv = test->priv;
	struct ttm_operation_ctx no_wait = { .no_wait_gpu = true };
	struct ttm_operation_ctx wait = { };
	u32 mem_type = TTM_PL_VRAM;
	struct preempt_test_bo t;

	ttm_mock_manager_init(priv->ttm_dev, mem_type, MANAGER_SIZE);
	preempt_test_bo_init(test, &t, mem_type, false);

	KUNIT_EXPECT_EQ(test, ttm_bo_wait_ctx(t.bo, &no_wait), -EBUSY);
	KUNIT_EXPECT_EQ(test, t.log.count, 0u);

	KUNIT_EXPECT_EQ(test, ttm_bo_wait_ctx(t.bo, &wait), 0);
	log_event(&t.log, EV_RETURNED);
	preempt_test_check_order(test, &t);
	KUNIT_EXPECT_EQ(test, ttm_bo_wait_ctx(t.bo, &no_wait), 0);
	dma_resv_unlock(t.bo->base.resv);

	ttm_bo_put(t.bo);
	ttm_mock_manager_fini(priv->ttm_dev, mem_type);
}

/* Evicting a whole manager, as on suspend or memory pressure */
static void ttm_bo_preempt_evict(struct kunit *test)
{
	struct ttm_test_devices *priv = test->priv;
	u32 mem_type = TTM_PL_MOCK1;
	struct ttm_resource_manager *man;
	struct preempt_test_bo t;
	int err;

	ttm_mock_manager_init(priv->ttm_dev, mem_type, MANAGER_SIZE);
	preempt_test_bo_init(test, &t, mem_type, true);
	dma_resv_unlock(t.bo->base.resv);

	/* MOCK1 objects are evicted without placement: the memory is freed */
	man = ttm_manager_type(priv->ttm_dev, mem_type);
	err = ttm_resource_manager_evict_all(priv->ttm_dev, man);
	log_event(&t.log, EV_RETURNED);

	KUNIT_EXPECT_EQ(test, err, 0);
	KUNIT_EXPECT_NULL(test, t.bo->resource);
	KUNIT_EXPECT_EQ(test, ttm_resource_manager_usage(man), 0ull);
	preempt_test_check_order(test, &t);

	ttm_bo_put(t.bo);
	ttm_mock_manager_fini(priv->ttm_dev, mem_type);
}

static struct kunit_case ttm_bo_preempt_test_cases[] = {
	KUNIT_CASE(ttm_bo_preempt_move),
	KUNIT_CASE(ttm_bo_preempt_wait_ctx),
	KUNIT_CASE(ttm_bo_preempt_evict),
	{}
};

static struct kunit_suite ttm_bo_preempt_test_suite = {
	.name = "ttm_bo_preempt",
	.init = ttm_test_devices_all_init,
	.exit = ttm_test_devices_fini,
	.test_cases = ttm_bo_preempt_test_cases,
};

kunit_test_suites(&ttm_bo_preempt_test_suite);

MODULE_DESCRIPTION("KUnit tests for TTM and preemption fences");
MODULE_LICENSE("GPL and additional rights");
