// SPDX-License-Identifier: GPL-2.0 AND MIT
/*
 * KUnit tests: TTM waits for the preemption fences of a buffer object
 * (DMA_RESV_USAGE_PREEMPT) before it moves, evicts, shrinks or frees its
 * memory, triggers them only once the other fences of the object have
 * signaled, and never takes a buffer with a running user queue for idle.
 */

#include <linux/completion.h>
#include <linux/dma-resv.h>
#include <linux/workqueue.h>

#include <drm/ttm/ttm_tt.h>

#include "ttm_kunit_helpers.h"
#include "ttm_mock_manager.h"

#define BO_SIZE		SZ_4K
#define MANAGER_SIZE	SZ_1M
#define WORK_DELAY_MS	20
#define TEST_TIMEOUT	(5 * HZ)

enum {
	EV_WORK_ENABLE,		/* signaling enabled on the ordinary fence */
	EV_WORK_SIGNAL,		/* the ordinary fence signaled */
	EV_PREEMPT_ENABLE,	/* preemption triggered */
	EV_PREEMPT_SIGNAL,	/* preemption done */
	EV_DONE,		/* the TTM operation returned, or the BO is freed */
};

struct preempt_test_log {
	spinlock_t lock; /* protects count and events */
	unsigned int count;
	int events[8];
};

/*
 * A fence that records when signaling is enabled on it and when it signals.
 * The "work" fence completes by itself a little after signaling is enabled,
 * the "preemption" fence at once (from a worker), like a user queue that is
 * told to stop; a manual preemption fence only completes when the test
 * signals it, so that the test can look at the buffer in between.
 */
struct preempt_test_fence {
	struct dma_fence base; /* first: freed with dma_fence_free() */
	struct delayed_work work;
	struct completion enabled;
	struct preempt_test_log *log;
	int ev_enable, ev_signal;
	unsigned long delay;
	bool manual;
};

struct preempt_test_bo {
	struct ttm_buffer_object tbo;
	struct ttm_buffer_object *bo; /* &tbo */
	struct preempt_test_fence *work, *preempt;
	struct preempt_test_log log;
	struct completion freed;
};

static void log_event(struct preempt_test_log *log, int event)
{
	unsigned long flags;

	spin_lock_irqsave(&log->lock, flags);
	if (log->count < ARRAY_SIZE(log->events))
		log->events[log->count++] = event;
	spin_unlock_irqrestore(&log->lock, flags);
}

static unsigned int log_count(struct preempt_test_log *log)
{
	unsigned long flags;
	unsigned int count;

	spin_lock_irqsave(&log->lock, flags);
	count = log->count;
	spin_unlock_irqrestore(&log->lock, flags);
	return count;
}

static struct preempt_test_fence *to_preempt_test_fence(struct dma_fence *f)
{
	return container_of(f, struct preempt_test_fence, base);
}

static const char *preempt_test_fence_name(struct dma_fence *f)
{
	return "ttm-preempt-test";
}

static bool preempt_test_fence_enable_signaling(struct dma_fence *f)
{
	struct preempt_test_fence *pf = to_preempt_test_fence(f);

	log_event(pf->log, pf->ev_enable);
	complete_all(&pf->enabled);
	if (!pf->manual)
		queue_delayed_work(system_dfl_wq, &pf->work, pf->delay);
	return true;
}

static const struct dma_fence_ops preempt_test_fence_ops = {
	.get_driver_name = preempt_test_fence_name,
	.get_timeline_name = preempt_test_fence_name,
	.enable_signaling = preempt_test_fence_enable_signaling,
};

static void preempt_test_fence_signal(struct preempt_test_fence *pf)
{
	log_event(pf->log, pf->ev_signal);
	dma_fence_signal(&pf->base);
}

static void preempt_test_fence_work(struct work_struct *work)
{
	struct preempt_test_fence *pf =
		container_of(to_delayed_work(work), typeof(*pf), work);

	preempt_test_fence_signal(pf);
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
			  bool preempt, bool manual)
{
	struct preempt_test_fence *pf;

	pf = kzalloc_obj(*pf);
	KUNIT_ASSERT_NOT_NULL(test, pf);

	INIT_DELAYED_WORK(&pf->work, preempt_test_fence_work);
	init_completion(&pf->enabled);
	pf->log = log;
	pf->ev_enable = preempt ? EV_PREEMPT_ENABLE : EV_WORK_ENABLE;
	pf->ev_signal = preempt ? EV_PREEMPT_SIGNAL : EV_WORK_SIGNAL;
	pf->delay = preempt ? 0 : msecs_to_jiffies(WORK_DELAY_MS);
	pf->manual = manual;
	dma_fence_init(&pf->base, &preempt_test_fence_ops, NULL,
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

static void preempt_test_bo_destroy(struct ttm_buffer_object *bo)
{
	struct preempt_test_bo *t = container_of(bo, typeof(*t), tbo);

	log_event(&t->log, EV_DONE);
	drm_gem_object_release(&bo->base);
	complete(&t->freed);
}

/*
 * A BO in @mem_type of @bdev, reserved, with a user queue's preemption fence
 * (completing only when the test signals it if @manual) and, if @with_work,
 * the fence of still running work.
 */
static struct preempt_test_bo *
preempt_test_bo_init(struct kunit *test, struct ttm_device *bdev, u32 mem_type,
		     bool with_work, bool manual)
{
	struct ttm_test_devices *priv = test->priv;
	struct ttm_operation_ctx ctx = { };
	struct ttm_placement *placement;
	struct preempt_test_bo *t;
	int err;

	/* Allocated first, so that it outlives the fences' workers */
	t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, t);
	spin_lock_init(&t->log.lock);
	init_completion(&t->freed);

	placement = preempt_test_placement(test, mem_type);

	t->bo = &t->tbo;
	drm_gem_private_object_init(priv->drm, &t->bo->base, BO_SIZE);
	err = ttm_bo_init_reserved(bdev, t->bo, ttm_bo_type_device, placement,
				   PAGE_SIZE, &ctx, NULL, NULL,
				   &preempt_test_bo_destroy);
	KUNIT_ASSERT_EQ(test, err, 0);

	KUNIT_ASSERT_EQ(test, dma_resv_reserve_fences(t->bo->base.resv, 2), 0);
	t->preempt = preempt_test_fence_create(test, &t->log, true, manual);
	dma_resv_add_fence(t->bo->base.resv, &t->preempt->base,
			   DMA_RESV_USAGE_PREEMPT);
	if (with_work) {
		t->work = preempt_test_fence_create(test, &t->log, false,
						    false);
		dma_resv_add_fence(t->bo->base.resv, &t->work->base,
				   DMA_RESV_USAGE_BOOKKEEP);
	}

	return t;
}

/*
 * The operation waited for the preemption, which was triggered after the
 * work had completed.
 */
static void preempt_test_check_order(struct kunit *test,
				     struct preempt_test_bo *t)
{
	static const int expected[] = {
		EV_WORK_ENABLE, EV_WORK_SIGNAL, EV_PREEMPT_ENABLE,
		EV_PREEMPT_SIGNAL, EV_DONE,
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
	struct preempt_test_bo *t;
	int err;

	ttm_mock_manager_init(priv->ttm_dev, fst_mem, MANAGER_SIZE);
	ttm_mock_manager_init(priv->ttm_dev, snd_mem, MANAGER_SIZE);
	t = preempt_test_bo_init(test, priv->ttm_dev, fst_mem, true, false);

	placement = preempt_test_placement(test, snd_mem);
	err = ttm_bo_validate(t->bo, placement, &ctx);
	log_event(&t->log, EV_DONE);
	dma_resv_unlock(t->bo->base.resv);

	KUNIT_EXPECT_EQ(test, err, 0);
	KUNIT_EXPECT_EQ(test, t->bo->resource->mem_type, snd_mem);
	preempt_test_check_order(test, t);

	ttm_bo_fini(t->bo);
	ttm_mock_manager_fini(priv->ttm_dev, fst_mem);
	ttm_mock_manager_fini(priv->ttm_dev, snd_mem);
}

/*
 * ttm_bo_wait_ctx(), which eviction, swapout, shrinking and the drivers' moves
 * use: without waiting it reports a buffer with a running user queue as busy,
 * without preempting the queue; waiting preempts it.
 */
static void ttm_bo_preempt_wait_ctx(struct kunit *test)
{
	struct ttm_test_devices *priv = test->priv;
	struct ttm_operation_ctx no_wait = { .no_wait_gpu = true };
	struct ttm_operation_ctx wait = { };
	u32 mem_type = TTM_PL_VRAM;
	struct preempt_test_bo *t;

	ttm_mock_manager_init(priv->ttm_dev, mem_type, MANAGER_SIZE);
	t = preempt_test_bo_init(test, priv->ttm_dev, mem_type, false, false);

	KUNIT_EXPECT_EQ(test, ttm_bo_wait_ctx(t->bo, &no_wait), -EBUSY);
	KUNIT_EXPECT_EQ(test, log_count(&t->log), 0u);

	KUNIT_EXPECT_EQ(test, ttm_bo_wait_ctx(t->bo, &wait), 0);
	log_event(&t->log, EV_DONE);
	preempt_test_check_order(test, t);
	KUNIT_EXPECT_EQ(test, ttm_bo_wait_ctx(t->bo, &no_wait), 0);
	dma_resv_unlock(t->bo->base.resv);

	ttm_bo_fini(t->bo);
	ttm_mock_manager_fini(priv->ttm_dev, mem_type);
}

/* Evicting a whole manager, as on suspend or memory pressure */
static void ttm_bo_preempt_evict(struct kunit *test)
{
	struct ttm_test_devices *priv = test->priv;
	u32 mem_type = TTM_PL_MOCK1;
	struct ttm_resource_manager *man;
	struct preempt_test_bo *t;
	int err;

	ttm_mock_manager_init(priv->ttm_dev, mem_type, MANAGER_SIZE);
	t = preempt_test_bo_init(test, priv->ttm_dev, mem_type, true, false);
	dma_resv_unlock(t->bo->base.resv);

	/* MOCK1 objects are evicted without placement: the memory is freed */
	man = ttm_manager_type(priv->ttm_dev, mem_type);
	err = ttm_resource_manager_evict_all(priv->ttm_dev, man);
	log_event(&t->log, EV_DONE);

	KUNIT_EXPECT_EQ(test, err, 0);
	KUNIT_EXPECT_NULL(test, t->bo->resource);
	KUNIT_EXPECT_EQ(test, ttm_resource_manager_usage(man), 0ull);
	preempt_test_check_order(test, t);

	ttm_bo_fini(t->bo);
	ttm_mock_manager_fini(priv->ttm_dev, mem_type);
}

/*
 * ttm_bo_validate() without placement drops the backing store without
 * waiting, through a ghost object if the BO is busy: a BO with a running user
 * queue is busy, its memory must stay until the queue is preempted.
 */
static void ttm_bo_preempt_gutting(struct kunit *test)
{
	struct ttm_test_devices *priv = test->priv;
	struct ttm_placement no_placement = { };
	struct ttm_operation_ctx ctx = { };
	u32 mem_type = TTM_PL_MOCK1;
	struct ttm_resource_manager *man;
	struct preempt_test_bo *t;
	int err;

	ttm_mock_manager_init(priv->ttm_dev, mem_type, MANAGER_SIZE);
	man = ttm_manager_type(priv->ttm_dev, mem_type);
	t = preempt_test_bo_init(test, priv->ttm_dev, mem_type, false, true);

	err = ttm_bo_validate(t->bo, &no_placement, &ctx);
	dma_resv_unlock(t->bo->base.resv);
	KUNIT_EXPECT_EQ(test, err, 0);
	KUNIT_EXPECT_NULL(test, t->bo->resource);

	/* The ghost object's delayed delete triggers the preemption... */
	KUNIT_EXPECT_TRUE(test,
			  wait_for_completion_timeout(&t->preempt->enabled,
						      TEST_TIMEOUT));
	/* ...and keeps the memory until it is done */
	KUNIT_EXPECT_EQ(test, ttm_resource_manager_usage(man), (u64)BO_SIZE);

	preempt_test_fence_signal(t->preempt);
	flush_workqueue(priv->ttm_dev->wq);
	KUNIT_EXPECT_EQ(test, ttm_resource_manager_usage(man), 0ull);

	ttm_bo_fini(t->bo);
	ttm_mock_manager_fini(priv->ttm_dev, mem_type);
}

/*
 * Releasing a busy BO: TTM enables signaling on the fences of the other work
 * right away but only triggers the preemption from the delayed delete, once
 * that work is done, and frees the memory after the preemption. A BO with
 * only a preemption fence is busy too.
 */
static void preempt_test_release(struct kunit *test, bool with_work)
{
	struct ttm_test_devices *priv = test->priv;
	u32 mem_type = TTM_PL_VRAM;
	struct ttm_resource_manager *man;
	struct preempt_test_bo *t;

	ttm_mock_manager_init(priv->ttm_dev, mem_type, MANAGER_SIZE);
	man = ttm_manager_type(priv->ttm_dev, mem_type);
	t = preempt_test_bo_init(test, priv->ttm_dev, mem_type, with_work,
				 true);
	dma_resv_unlock(t->bo->base.resv);

	ttm_bo_fini(t->bo);

	KUNIT_EXPECT_TRUE(test,
			  wait_for_completion_timeout(&t->preempt->enabled,
						      TEST_TIMEOUT));
	KUNIT_EXPECT_FALSE(test, completion_done(&t->freed));
	KUNIT_EXPECT_EQ(test, ttm_resource_manager_usage(man), (u64)BO_SIZE);

	preempt_test_fence_signal(t->preempt);
	KUNIT_EXPECT_TRUE(test, wait_for_completion_timeout(&t->freed,
							    TEST_TIMEOUT));
	KUNIT_EXPECT_EQ(test, ttm_resource_manager_usage(man), 0ull);
	preempt_test_check_order(test, t);

	ttm_mock_manager_fini(priv->ttm_dev, mem_type);
}

static void ttm_bo_preempt_release(struct kunit *test)
{
	preempt_test_release(test, true);
}

static void ttm_bo_preempt_release_preempt_only(struct kunit *test)
{
	preempt_test_release(test, false);
}

/*
 * Shrinking: the shrinker backs up or purges system memory pages, which needs
 * a ttm_tt with a backup, as drivers using ttm_bo_shrink() set up. The mock
 * device's ttm_tt has none, use one of our own.
 */
static struct ttm_tt *preempt_test_tt_create(struct ttm_buffer_object *bo,
					     u32 page_flags)
{
	struct ttm_tt *tt;

	tt = kzalloc_obj(*tt);
	if (!tt)
		return NULL;

	page_flags |= TTM_TT_FLAG_EXTERNAL | TTM_TT_FLAG_EXTERNAL_MAPPABLE;
	if (ttm_tt_init(tt, bo, page_flags, ttm_cached, 0))
		goto err_free;
	if (ttm_tt_setup_backup(tt))
		goto err_fini;

	return tt;

err_fini:
	ttm_tt_fini(tt);
err_free:
	kfree(tt);
	return NULL;
}

static void preempt_test_tt_destroy(struct ttm_device *bdev, struct ttm_tt *tt)
{
	ttm_tt_fini(tt);
	kfree(tt);
}

static void preempt_test_device_fini(void *bdev)
{
	ttm_device_fini(bdev);
}

static struct ttm_device *preempt_test_shrink_device(struct kunit *test)
{
	struct ttm_test_devices *priv = test->priv;
	struct ttm_device_funcs *funcs;
	struct ttm_device *bdev;
	int err;

	funcs = kunit_kzalloc(test, sizeof(*funcs), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, funcs);
	*funcs = ttm_dev_funcs;
	funcs->ttm_tt_create = preempt_test_tt_create;
	funcs->ttm_tt_destroy = preempt_test_tt_destroy;

	bdev = kunit_kzalloc(test, sizeof(*bdev), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, bdev);
	err = ttm_device_init(bdev, funcs, priv->drm->dev,
			      priv->drm->anon_inode->i_mapping,
			      priv->drm->vma_offset_manager, 0);
	KUNIT_ASSERT_EQ(test, err, 0);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test,
							preempt_test_device_fini,
							bdev), 0);
	return bdev;
}

/* A populated BO in system memory, what the shrinker works on */
static struct preempt_test_bo *
preempt_test_shrink_bo(struct kunit *test, bool with_work)
{
	struct ttm_operation_ctx ctx = { };
	struct preempt_test_bo *t;

	t = preempt_test_bo_init(test, preempt_test_shrink_device(test),
				 TTM_PL_SYSTEM, with_work, false);
	KUNIT_ASSERT_NOT_NULL(test, t->bo->ttm);
	KUNIT_ASSERT_EQ(test, ttm_bo_populate(t->bo, &ctx), 0);
	KUNIT_ASSERT_TRUE(test, ttm_tt_is_populated(t->bo->ttm));
	return t;
}

/*
 * A shrinker that must not wait, in direct reclaim for instance, skips a BO
 * with a running user queue: neither ttm_bo_shrink_suitable() nor
 * ttm_bo_shrink() take it for idle, and nobody is preempted.
 */
static void ttm_bo_preempt_shrink_no_wait(struct kunit *test)
{
	struct ttm_operation_ctx no_wait = { .no_wait_gpu = true };
	struct ttm_operation_ctx wait = { };
	struct ttm_bo_shrink_flags flags = { .purge = true };
	struct preempt_test_bo *t;

	t = preempt_test_shrink_bo(test, false);

	KUNIT_EXPECT_FALSE(test, ttm_bo_shrink_suitable(t->bo, &no_wait));
	KUNIT_EXPECT_EQ(test, ttm_bo_shrink(&no_wait, t->bo, flags),
			(long)-EBUSY);
	KUNIT_EXPECT_TRUE(test, ttm_tt_is_populated(t->bo->ttm));
	KUNIT_EXPECT_EQ(test, log_count(&t->log), 0u);
	KUNIT_EXPECT_FALSE(test, dma_fence_is_signaled(&t->preempt->base));

	/* A shrinker that may wait may take it */
	KUNIT_EXPECT_TRUE(test, ttm_bo_shrink_suitable(t->bo, &wait));
	KUNIT_EXPECT_EQ(test, log_count(&t->log), 0u);

	dma_resv_unlock(t->bo->base.resv);
	ttm_bo_fini(t->bo);
}

/*
 * A shrinker that may wait preempts the user queue once the other work is
 * done, and only then gives the pages away.
 */
static void ttm_bo_preempt_shrink(struct kunit *test)
{
	struct ttm_bo_shrink_flags flags = { .purge = true };
	struct ttm_operation_ctx wait = { };
	struct preempt_test_bo *t;
	long ret;

	t = preempt_test_shrink_bo(test, true);

	ret = ttm_bo_shrink(&wait, t->bo, flags);
	log_event(&t->log, EV_DONE);

	KUNIT_EXPECT_EQ(test, ret, (long)(BO_SIZE >> PAGE_SHIFT));
	KUNIT_EXPECT_FALSE(test, ttm_tt_is_populated(t->bo->ttm));
	preempt_test_check_order(test, t);

	dma_resv_unlock(t->bo->base.resv);
	ttm_bo_fini(t->bo);
}

static struct kunit_case ttm_bo_preempt_test_cases[] = {
	KUNIT_CASE(ttm_bo_preempt_move),
	KUNIT_CASE(ttm_bo_preempt_wait_ctx),
	KUNIT_CASE(ttm_bo_preempt_evict),
	KUNIT_CASE(ttm_bo_preempt_gutting),
	KUNIT_CASE(ttm_bo_preempt_release),
	KUNIT_CASE(ttm_bo_preempt_release_preempt_only),
	KUNIT_CASE(ttm_bo_preempt_shrink_no_wait),
	KUNIT_CASE(ttm_bo_preempt_shrink),
	{}
};

/*
 * A case may end with a BO's delayed delete still queued on the device's
 * workqueue: let it run while the DRM device it releases the BO from exists.
 */
static void ttm_bo_preempt_test_fini(struct kunit *test)
{
	struct ttm_test_devices *priv = test->priv;

	flush_workqueue(priv->ttm_dev->wq);
	ttm_test_devices_fini(test);
}

static struct kunit_suite ttm_bo_preempt_test_suite = {
	.name = "ttm_bo_preempt",
	.init = ttm_test_devices_all_init,
	.exit = ttm_bo_preempt_test_fini,
	.test_cases = ttm_bo_preempt_test_cases,
};

kunit_test_suites(&ttm_bo_preempt_test_suite);

MODULE_DESCRIPTION("KUnit tests for TTM and preemption fences");
MODULE_LICENSE("GPL and additional rights");
