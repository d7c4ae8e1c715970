// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for the usages of struct dma_resv.
 *
 * Every query is checked at every usage against a reservation object holding
 * one fence of each usage. The mock fences record when signaling is enabled
 * on them, which is how the tests see that a preemption fence is only
 * triggered once every other fence of the object has signaled.
 */

#include <kunit/static_stub.h>
#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/dma-fence-array.h>
#include <linux/dma-fence-chain.h>
#include <linux/dma-resv.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "dma-resv-test.h"

#define NUM_USAGES	(DMA_RESV_USAGE_PREEMPT + 1)
#define TEST_TIMEOUT	(5 * HZ)
/*
 * Negative checks ("this fence is not enabled"): how long a test watches for
 * signaling to be enabled, giving a wrong implementation the chance to do
 * it. Passing such a check only means it did not happen within this bound.
 */
#define NEGATIVE_CHECK_MS	20

/* Events recorded in a struct test_log */
#define EV_ENABLE	0x100
#define EV_SIGNAL	0x200

struct test_log {
	spinlock_t lock; /* protects count and events */
	unsigned int count;
	int events[16];
	wait_queue_head_t enabled; /* woken when signaling is enabled */
};

struct test_fence {
	struct dma_fence base;
	struct test_log *log;
	struct completion enabled;
	int id;
};

static void test_log_init(struct test_log *log)
{
	spin_lock_init(&log->lock);
	log->count = 0;
	init_waitqueue_head(&log->enabled);
}

static void test_log_add(struct test_log *log, int event)
{
	unsigned long flags;

	if (!log)
		return;

	spin_lock_irqsave(&log->lock, flags);
	if (log->count < ARRAY_SIZE(log->events))
		log->events[log->count++] = event;
	spin_unlock_irqrestore(&log->lock, flags);
}

static struct test_fence *to_test_fence(struct dma_fence *f)
{
	return container_of(f, struct test_fence, base);
}

static const char *test_fence_name(struct dma_fence *f)
{
	return "dma-resv-test";
}

static bool test_fence_enable_signaling(struct dma_fence *f)
{
	struct test_fence *tf = to_test_fence(f);

	test_log_add(tf->log, EV_ENABLE | tf->id);
	complete_all(&tf->enabled);
	if (tf->log)
		wake_up_all(&tf->log->enabled);
	return true;
}

static const struct dma_fence_ops test_fence_ops = {
	.get_driver_name = test_fence_name,
	.get_timeline_name = test_fence_name,
	.enable_signaling = test_fence_enable_signaling,
};

static struct test_fence *test_fence_create(struct kunit *test, u64 context,
					    u64 seqno, struct test_log *log,
					    int id)
{
	struct test_fence *tf;

	/* Not test managed: the last dma_fence_put() frees it */
	tf = kzalloc_obj(*tf);
	KUNIT_ASSERT_NOT_NULL(test, tf);

	init_completion(&tf->enabled);
	tf->log = log;
	tf->id = id;
	dma_fence_init(&tf->base, &test_fence_ops, NULL, context, seqno);
	return tf;
}

static void test_fence_signal(struct test_fence *tf)
{
	test_log_add(tf->log, EV_SIGNAL | tf->id);
	dma_fence_signal(&tf->base);
}

static bool test_fence_enabled(struct test_fence *tf)
{
	return completion_done(&tf->enabled);
}

static bool test_any_enabled(struct test_fence **tf, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (test_fence_enabled(tf[i]))
			return true;
	return false;
}

/*
 * Negative check: watches for signaling to be enabled on any of the @n
 * fences of @tf, which log to @log, for NEGATIVE_CHECK_MS; returns true if
 * it was not. One jiffy more: a wait of N jiffies may end up to one jiffy
 * early.
 */
static bool test_fences_not_enabled_within_bound(struct test_log *log,
						 struct test_fence **tf,
						 unsigned int n)
{
	return !wait_event_timeout(log->enabled, test_any_enabled(tf, n),
				   msecs_to_jiffies(NEGATIVE_CHECK_MS) + 1);
}

static bool test_fence_not_enabled_within_bound(struct test_fence *tf)
{
	return !wait_for_completion_timeout(&tf->enabled,
					    msecs_to_jiffies(NEGATIVE_CHECK_MS) + 1);
}

/* A reservation object with one unsignaled fence per usage. */
struct test_resv {
	struct dma_resv resv;
	struct test_fence *fences[NUM_USAGES];
	struct test_log log;
};

static void test_resv_add(struct kunit *test, struct dma_resv *resv,
			  struct dma_fence *fence, enum dma_resv_usage usage)
{
	KUNIT_ASSERT_EQ(test, dma_resv_lock(resv, NULL), 0);
	KUNIT_ASSERT_EQ(test, dma_resv_reserve_fences(resv, 1), 0);
	dma_resv_add_fence(resv, fence, usage);
	dma_resv_unlock(resv);
}

/*
 * Fill @tr with one fence of each usage, the preemption fence first so that
 * the tests see it come last anyway.
 */
static void test_resv_init(struct kunit *test, struct test_resv *tr)
{
	int i, u;

	dma_resv_init(&tr->resv);
	test_log_init(&tr->log);
	for (i = 0; i < NUM_USAGES; i++) {
		u = (i + NUM_USAGES - 1) % NUM_USAGES;
		tr->fences[u] = test_fence_create(test,
						  dma_fence_context_alloc(1),
						  1, &tr->log, u);
		test_resv_add(test, &tr->resv, &tr->fences[u]->base, u);
	}
}

static void test_resv_fini(struct test_resv *tr)
{
	int u;

	for (u = 0; u < NUM_USAGES; u++) {
		dma_fence_signal(&tr->fences[u]->base);
		dma_fence_put(&tr->fences[u]->base);
	}
	dma_resv_fini(&tr->resv);
}

static const enum dma_resv_usage test_usages[] = {
	DMA_RESV_USAGE_KERNEL,
	DMA_RESV_USAGE_WRITE,
	DMA_RESV_USAGE_READ,
	DMA_RESV_USAGE_BOOKKEEP,
	DMA_RESV_USAGE_PREEMPT,
};

static const char * const test_usage_names[] = {
	"kernel", "write", "read", "bookkeep", "preempt",
};

static void test_usage_desc(const enum dma_resv_usage *usage, char *desc)
{
	strscpy(desc, test_usage_names[*usage], KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(usage, test_usages, test_usage_desc);

/* The usages a preemption fence is ordered after */
static const enum dma_resv_usage test_ordinary_usages[] = {
	DMA_RESV_USAGE_KERNEL,
	DMA_RESV_USAGE_WRITE,
	DMA_RESV_USAGE_READ,
	DMA_RESV_USAGE_BOOKKEEP,
};

KUNIT_ARRAY_PARAM(ordinary_usage, test_ordinary_usages, test_usage_desc);

static const enum dma_resv_usage *test_param_usage(struct kunit *test)
{
	return test->param_value;
}

/*
 * The fences returned at @usage must be exactly those of a lower or equal
 * usage, reported with their own usage, and the preemption fence last.
 */
static void check_iter_result(struct kunit *test, struct test_resv *tr,
			      enum dma_resv_usage usage,
			      struct dma_fence **seen,
			      enum dma_resv_usage *seen_usage,
			      unsigned int count)
{
	unsigned int i;

	KUNIT_EXPECT_EQ(test, count, usage + 1);
	for (i = 0; i < count && i < NUM_USAGES; i++) {
		KUNIT_EXPECT_PTR_EQ(test, seen[i], &tr->fences[i]->base);
		KUNIT_EXPECT_EQ(test, seen_usage[i], (enum dma_resv_usage)i);
	}
}

static void test_iter_locked(struct kunit *test)
{
	enum dma_resv_usage usage = *test_param_usage(test);
	enum dma_resv_usage seen_usage[NUM_USAGES + 1];
	struct dma_fence *seen[NUM_USAGES + 1];
	struct dma_resv_iter cursor;
	struct dma_fence *fence;
	struct test_resv tr;
	unsigned int count = 0;

	test_resv_init(test, &tr);

	KUNIT_ASSERT_EQ(test, dma_resv_lock(&tr.resv, NULL), 0);
	dma_resv_for_each_fence(&cursor, &tr.resv, usage, fence) {
		if (count == ARRAY_SIZE(seen))
			break;
		seen_usage[count] = dma_resv_iter_usage(&cursor);
		seen[count++] = fence;
	}
	dma_resv_unlock(&tr.resv);

	check_iter_result(test, &tr, usage, seen, seen_usage, count);
	test_resv_fini(&tr);
}

static void test_iter_unlocked(struct kunit *test)
{
	enum dma_resv_usage usage = *test_param_usage(test);
	enum dma_resv_usage seen_usage[NUM_USAGES + 1];
	struct dma_fence *seen[NUM_USAGES + 1];
	struct dma_resv_iter cursor;
	struct dma_fence *fence;
	struct test_resv tr;
	unsigned int count = 0;

	test_resv_init(test, &tr);

	dma_resv_iter_begin(&cursor, &tr.resv, usage);
	dma_resv_for_each_fence_unlocked(&cursor, fence) {
		if (dma_resv_iter_is_restarted(&cursor))
			count = 0;
		if (count == ARRAY_SIZE(seen))
			break;
		seen_usage[count] = dma_resv_iter_usage(&cursor);
		seen[count++] = fence;
	}
	dma_resv_iter_end(&cursor);

	check_iter_result(test, &tr, usage, seen, seen_usage, count);

	/* Signaled fences are skipped by the unlocked iterator */
	dma_fence_signal(&tr.fences[usage]->base);
	count = 0;
	dma_resv_iter_begin(&cursor, &tr.resv, usage);
	dma_resv_for_each_fence_unlocked(&cursor, fence) {
		if (dma_resv_iter_is_restarted(&cursor))
			count = 0;
		KUNIT_EXPECT_PTR_NE(test, fence, &tr.fences[usage]->base);
		count++;
	}
	dma_resv_iter_end(&cursor);
	KUNIT_EXPECT_EQ(test, count, usage);

	test_resv_fini(&tr);
}

/*
 * Querying at @usage must only see fences up to @usage, and must never
 * enable signaling on any fence.
 */
static void test_test_signaled(struct kunit *test)
{
	enum dma_resv_usage usage = *test_param_usage(test);
	struct test_resv tr;
	int u;

	test_resv_init(test, &tr);

	for (u = 0; u < NUM_USAGES; u++) {
		/* Only the fences of usage u and above are unsignaled now */
		KUNIT_EXPECT_EQ_MSG(test, dma_resv_test_signaled(&tr.resv, usage),
				    (int)usage < u,
				    "fences of usage %d and above unsignaled", u);
		test_fence_signal(tr.fences[u]);
	}
	KUNIT_EXPECT_TRUE(test, dma_resv_test_signaled(&tr.resv, usage));

	for (u = 0; u < NUM_USAGES; u++)
		KUNIT_EXPECT_FALSE(test, test_fence_enabled(tr.fences[u]));

	test_resv_fini(&tr);
}

static void test_wait_timeout(struct kunit *test)
{
	enum dma_resv_usage usage = *test_param_usage(test);
	struct test_resv tr;
	int u;

	test_resv_init(test, &tr);

	/* A zero timeout returns at once, the fences being unsignaled */
	KUNIT_EXPECT_EQ(test, dma_resv_wait_timeout(&tr.resv, usage, false, 0),
			0L);

	/* Fences above @usage are neither waited for nor triggered */
	for (u = 0; u <= usage; u++)
		test_fence_signal(tr.fences[u]);
	KUNIT_EXPECT_EQ(test, dma_resv_wait_timeout(&tr.resv, usage, false, 0),
			1L);
	KUNIT_EXPECT_GT(test,
			dma_resv_wait_timeout(&tr.resv, usage, true,
					      TEST_TIMEOUT), 0L);
	for (u = usage + 1; u < NUM_USAGES; u++)
		KUNIT_EXPECT_FALSE_MSG(test, test_fence_enabled(tr.fences[u]),
				       "fence of usage %d enabled", u);

	test_resv_fini(&tr);
}

/*
 * A zero timeout polls, and a poll never preempts: with only preemption
 * fences left unsignaled, dma_resv_wait_timeout() at PREEMPT with a zero
 * timeout returns 0 without enabling signaling on any of them. A real wait
 * does, and dma_resv_test_signaled() never does.
 */
static void test_poll_does_not_preempt(struct kunit *test)
{
	struct test_fence *other, *preempt[2];
	struct dma_resv resv;
	int i;

	dma_resv_init(&resv);
	other = test_fence_create(test, dma_fence_context_alloc(1), 1, NULL, 0);
	test_resv_add(test, &resv, &other->base, DMA_RESV_USAGE_READ);
	for (i = 0; i < 2; i++) {
		preempt[i] = test_fence_create(test, dma_fence_context_alloc(1),
					       1, NULL, 10 + i);
		test_resv_add(test, &resv, &preempt[i]->base,
			      DMA_RESV_USAGE_PREEMPT);
	}
	test_fence_signal(other);

	KUNIT_EXPECT_EQ(test, dma_resv_wait_timeout(&resv,
						    DMA_RESV_USAGE_PREEMPT,
						    false, 0), 0L);
	KUNIT_EXPECT_EQ(test, dma_resv_wait_timeout(&resv,
						    DMA_RESV_USAGE_PREEMPT,
						    true, 0), 0L);
	KUNIT_EXPECT_FALSE(test, dma_resv_test_signaled(&resv,
							DMA_RESV_USAGE_PREEMPT));
	for (i = 0; i < 2; i++)
		KUNIT_EXPECT_FALSE_MSG(test, test_fence_enabled(preempt[i]),
				       "preemption fence %d triggered by a poll",
				       i);

	/* Signaled, they are seen as such by a poll */
	test_fence_signal(preempt[0]);
	KUNIT_EXPECT_EQ(test, dma_resv_wait_timeout(&resv,
						    DMA_RESV_USAGE_PREEMPT,
						    false, 0), 0L);
	KUNIT_EXPECT_FALSE(test, test_fence_enabled(preempt[1]));
	test_fence_signal(preempt[1]);
	KUNIT_EXPECT_EQ(test, dma_resv_wait_timeout(&resv,
						    DMA_RESV_USAGE_PREEMPT,
						    false, 0), 1L);

	dma_fence_put(&other->base);
	for (i = 0; i < 2; i++)
		dma_fence_put(&preempt[i]->base);
	dma_resv_fini(&resv);
}

/* A timed out wait reports it, having enabled signaling on what it waited */
static void test_wait_timeout_expires(struct kunit *test)
{
	enum dma_resv_usage usage = *test_param_usage(test);
	struct test_resv tr;

	test_resv_init(test, &tr);

	KUNIT_EXPECT_EQ(test, dma_resv_wait_timeout(&tr.resv, usage, false, 1),
			0L);
	KUNIT_EXPECT_TRUE(test, test_fence_enabled(tr.fences[0]));
	/* Not even at PREEMPT: the wait gave up on fences[0] first */
	KUNIT_EXPECT_FALSE(test,
			   test_fence_enabled(tr.fences[DMA_RESV_USAGE_PREEMPT]));

	test_resv_fini(&tr);
}

struct test_waiter {
	struct work_struct work;
	struct dma_resv *resv;
	enum dma_resv_usage usage;
	long ret;
	struct completion done;
};

static void test_waiter_work(struct work_struct *work)
{
	struct test_waiter *w = container_of(work, typeof(*w), work);

	w->ret = dma_resv_wait_timeout(w->resv, w->usage, false, TEST_TIMEOUT);
	complete(&w->done);
}

/*
 * Waiting at PREEMPT waits for the other fence of the object first and only
 * then triggers the preemption fences, all of them before waiting for one:
 * the recorded order must be "other enabled, other signaled, both preempt
 * fences enabled".
 */
static void test_wait_preempt_order(struct kunit *test)
{
	enum dma_resv_usage usage = *test_param_usage(test);
	struct test_fence *other, *preempt[2];
	struct test_waiter w;
	struct dma_resv resv;
	struct test_log log;
	int i;

	dma_resv_init(&resv);
	test_log_init(&log);
	for (i = 0; i < 2; i++) {
		preempt[i] = test_fence_create(test, dma_fence_context_alloc(1),
					       1, &log, 10 + i);
		test_resv_add(test, &resv, &preempt[i]->base,
			      DMA_RESV_USAGE_PREEMPT);
	}
	other = test_fence_create(test, dma_fence_context_alloc(1), 1, &log, 1);
	test_resv_add(test, &resv, &other->base, usage);

	w.resv = &resv;
	w.usage = DMA_RESV_USAGE_PREEMPT;
	w.ret = 0;
	init_completion(&w.done);
	INIT_WORK_ONSTACK(&w.work, test_waiter_work);
	queue_work(system_dfl_wq, &w.work);

	KUNIT_EXPECT_TRUE(test, wait_for_completion_timeout(&other->enabled,
							    TEST_TIMEOUT));
	/*
	 * Negative check: give a wrong implementation the chance to trigger
	 * preemption while the other fence is pending.
	 */
	KUNIT_EXPECT_TRUE(test, test_fences_not_enabled_within_bound(&log,
								     preempt,
								     2));

	/*
	 * Both preemptions are triggered before the wait for the first one:
	 * neither is signaled until both are enabled.
	 */
	test_fence_signal(other);
	for (i = 0; i < 2; i++)
		KUNIT_EXPECT_TRUE(test,
				  wait_for_completion_timeout(&preempt[i]->enabled,
							      TEST_TIMEOUT));
	for (i = 0; i < 2; i++)
		test_fence_signal(preempt[i]);

	KUNIT_EXPECT_TRUE(test, wait_for_completion_timeout(&w.done,
							    TEST_TIMEOUT));
	flush_work(&w.work);
	destroy_work_on_stack(&w.work);
	KUNIT_EXPECT_GT(test, w.ret, 0L);

	KUNIT_ASSERT_EQ(test, log.count, 6u);
	KUNIT_EXPECT_EQ(test, log.events[0], EV_ENABLE | 1);
	KUNIT_EXPECT_EQ(test, log.events[1], EV_SIGNAL | 1);
	KUNIT_EXPECT_EQ(test, min(log.events[2], log.events[3]),
			EV_ENABLE | 10);
	KUNIT_EXPECT_EQ(test, max(log.events[2], log.events[3]),
			EV_ENABLE | 11);
	KUNIT_EXPECT_EQ(test, log.events[4], EV_SIGNAL | 10);
	KUNIT_EXPECT_EQ(test, log.events[5], EV_SIGNAL | 11);

	dma_fence_put(&other->base);
	for (i = 0; i < 2; i++)
		dma_fence_put(&preempt[i]->base);
	dma_resv_fini(&resv);
}

static void test_copy_fences(struct kunit *test)
{
	enum dma_resv_usage usage = *test_param_usage(test);
	enum dma_resv_usage seen_usage[NUM_USAGES + 1];
	struct dma_fence *seen[NUM_USAGES + 1];
	struct dma_resv_iter cursor;
	struct test_fence *stale;
	struct dma_fence *fence;
	struct test_resv tr;
	struct dma_resv dst;
	unsigned int count = 0;

	test_resv_init(test, &tr);
	dma_resv_init(&dst);

	/* Whatever dst held before is replaced */
	stale = test_fence_create(test, dma_fence_context_alloc(1), 1, NULL, 0);
	test_resv_add(test, &dst, &stale->base, DMA_RESV_USAGE_PREEMPT);

	KUNIT_ASSERT_EQ(test, dma_resv_lock(&dst, NULL), 0);
	KUNIT_ASSERT_EQ(test, dma_resv_copy_fences(&dst, &tr.resv), 0);
	dma_resv_for_each_fence(&cursor, &dst, usage, fence) {
		if (count == ARRAY_SIZE(seen))
			break;
		seen_usage[count] = dma_resv_iter_usage(&cursor);
		seen[count++] = fence;
	}
	dma_resv_unlock(&dst);

	check_iter_result(test, &tr, usage, seen, seen_usage, count);
	/* Only the copies hold a reference besides ours */
	KUNIT_EXPECT_EQ(test, kref_read(&stale->base.refcount), 1u);

	dma_fence_signal(&stale->base);
	dma_fence_put(&stale->base);
	dma_resv_fini(&dst);
	test_resv_fini(&tr);
}

static void test_get_singleton(struct kunit *test)
{
	enum dma_resv_usage usage = *test_param_usage(test);
	struct dma_fence *singleton;
	struct test_resv tr;
	int u;

	test_resv_init(test, &tr);

	KUNIT_ASSERT_EQ(test, dma_resv_get_singleton(&tr.resv, usage,
						     &singleton), 0);
	KUNIT_ASSERT_NOT_NULL(test, singleton);
	if (usage == DMA_RESV_USAGE_KERNEL)
		KUNIT_EXPECT_PTR_EQ(test, singleton, &tr.fences[0]->base);

	dma_fence_enable_signaling(singleton);
	for (u = 0; u <= usage; u++) {
		KUNIT_EXPECT_FALSE(test, dma_fence_is_signaled(singleton));
		/* enabled in order, see test_get_singleton_preempt_order() */
		KUNIT_EXPECT_TRUE(test,
				  wait_for_completion_timeout(&tr.fences[u]->enabled,
							      TEST_TIMEOUT));
		test_fence_signal(tr.fences[u]);
	}
	KUNIT_EXPECT_GT(test, dma_fence_wait_timeout(singleton, false,
						     TEST_TIMEOUT), 0L);
	for (u = usage + 1; u < NUM_USAGES; u++)
		KUNIT_EXPECT_FALSE(test, test_fence_enabled(tr.fences[u]));

	dma_fence_put(singleton);
	test_resv_fini(&tr);
}

/*
 * The singleton at PREEMPT must behave like dma_resv_wait_timeout(): the
 * preemption fence is triggered only once the other fences have signaled.
 */
static void test_get_singleton_preempt_order(struct kunit *test)
{
	enum dma_resv_usage usage = *test_param_usage(test);
	struct test_fence *other[2], *preempt;
	struct dma_fence *singleton;
	struct dma_resv resv;
	struct test_log log;
	int i;

	dma_resv_init(&resv);
	test_log_init(&log);
	preempt = test_fence_create(test, dma_fence_context_alloc(1), 1, &log,
				    10);
	test_resv_add(test, &resv, &preempt->base, DMA_RESV_USAGE_PREEMPT);
	for (i = 0; i < 2; i++) {
		other[i] = test_fence_create(test, dma_fence_context_alloc(1),
					     1, &log, i);
		test_resv_add(test, &resv, &other[i]->base, usage);
	}

	KUNIT_ASSERT_EQ(test, dma_resv_get_singleton(&resv,
						     DMA_RESV_USAGE_PREEMPT,
						     &singleton), 0);
	KUNIT_ASSERT_NOT_NULL(test, singleton);
	dma_fence_enable_signaling(singleton);

	/* Both others may run concurrently, the preemption waits */
	KUNIT_EXPECT_TRUE(test, test_fence_enabled(other[0]));
	KUNIT_EXPECT_TRUE(test, test_fence_enabled(other[1]));
	/* Negative checks: not triggered while an other fence is pending */
	KUNIT_EXPECT_TRUE(test, test_fence_not_enabled_within_bound(preempt));
	KUNIT_EXPECT_FALSE(test, test_fence_enabled(preempt));

	test_fence_signal(other[0]);
	KUNIT_EXPECT_TRUE(test, test_fence_not_enabled_within_bound(preempt));
	KUNIT_EXPECT_FALSE(test, test_fence_enabled(preempt));
	KUNIT_EXPECT_FALSE(test, dma_fence_is_signaled(singleton));

	test_fence_signal(other[1]);
	KUNIT_EXPECT_TRUE(test, wait_for_completion_timeout(&preempt->enabled,
							    TEST_TIMEOUT));
	KUNIT_EXPECT_FALSE(test, dma_fence_is_signaled(singleton));
	test_fence_signal(preempt);
	KUNIT_EXPECT_GT(test, dma_fence_wait_timeout(singleton, false,
						     TEST_TIMEOUT), 0L);

	KUNIT_ASSERT_EQ(test, log.count, 6u);
	KUNIT_EXPECT_EQ(test, log.events[4], EV_ENABLE | 10);
	KUNIT_EXPECT_EQ(test, log.events[5], EV_SIGNAL | 10);

	dma_fence_put(singleton);
	for (i = 0; i < 2; i++)
		dma_fence_put(&other[i]->base);
	dma_fence_put(&preempt->base);
	dma_resv_fini(&resv);
}

/*
 * Allocation failures of dma_resv_get_singleton()'s merges, injected by
 * redirecting its allocations with KUnit static stubs: the allocation
 * numbered test_merge_fail_at fails. KUnit runs one case at a time.
 */
static unsigned int test_merge_allocs, test_merge_fail_at;

static struct dma_fence_array *
test_merge_array_create(unsigned int count, struct dma_fence **fences)
{
	if (++test_merge_allocs == test_merge_fail_at)
		return NULL;
	return dma_fence_array_create(count, fences,
				      dma_fence_context_alloc(1), 1);
}

static struct dma_fence_chain *test_merge_chain_alloc(void)
{
	if (++test_merge_allocs == test_merge_fail_at)
		return NULL;
	return dma_fence_chain_alloc();
}

/*
 * The singleton at PREEMPT of two ordinary and two preemption fences takes
 * four allocations the tests can fail: the two links of the chain, then an
 * array for each class. Whichever fails, dma_resv_get_singleton() returns
 * -ENOMEM, writes no fence and drops every fence reference it took.
 */
static void test_get_singleton_enomem(struct kunit *test)
{
	struct test_fence *fences[4];
	struct dma_fence *singleton;
	struct dma_resv resv;
	unsigned int i;
	int r;

	dma_resv_init(&resv);
	for (i = 0; i < ARRAY_SIZE(fences); i++) {
		fences[i] = test_fence_create(test, dma_fence_context_alloc(1),
					      1, NULL, i);
		test_resv_add(test, &resv, &fences[i]->base,
			      i < 2 ? DMA_RESV_USAGE_READ :
				      DMA_RESV_USAGE_PREEMPT);
	}

	kunit_activate_static_stub(test, dma_resv_merge_array_create,
				   test_merge_array_create);
	kunit_activate_static_stub(test, dma_resv_merge_chain_alloc,
				   test_merge_chain_alloc);
	for (test_merge_fail_at = 1; test_merge_fail_at <= 4;
	     test_merge_fail_at++) {
		test_merge_allocs = 0;
		singleton = ERR_PTR(-EINVAL);
		r = dma_resv_get_singleton(&resv, DMA_RESV_USAGE_PREEMPT,
					   &singleton);
		KUNIT_EXPECT_EQ_MSG(test, r, -ENOMEM, "allocation %u failing",
				    test_merge_fail_at);
		/* it got that far, and did not write a fence */
		KUNIT_EXPECT_GE(test, test_merge_allocs, test_merge_fail_at);
		KUNIT_EXPECT_PTR_EQ(test, singleton, ERR_PTR(-EINVAL));
		for (i = 0; i < ARRAY_SIZE(fences); i++)
			KUNIT_EXPECT_EQ_MSG(test,
					    kref_read(&fences[i]->base.refcount),
					    2u, "fence %u, allocation %u failing",
					    i, test_merge_fail_at);
	}

	/* Without failure: exactly these four allocations */
	test_merge_fail_at = 0;
	test_merge_allocs = 0;
	KUNIT_ASSERT_EQ(test, dma_resv_get_singleton(&resv,
						     DMA_RESV_USAGE_PREEMPT,
						     &singleton), 0);
	KUNIT_EXPECT_EQ(test, test_merge_allocs, 4u);
	KUNIT_EXPECT_TRUE(test, dma_fence_is_chain(singleton));
	dma_fence_put(singleton);

	/* Two ordinary fences: one array, which fails */
	test_merge_fail_at = 1;
	test_merge_allocs = 0;
	KUNIT_EXPECT_EQ(test, dma_resv_get_singleton(&resv, DMA_RESV_USAGE_READ,
						     &singleton), -ENOMEM);
	KUNIT_EXPECT_EQ(test, test_merge_allocs, 1u);
	for (i = 0; i < ARRAY_SIZE(fences); i++) {
		KUNIT_EXPECT_EQ(test, kref_read(&fences[i]->base.refcount), 2u);
		dma_fence_signal(&fences[i]->base);
		dma_fence_put(&fences[i]->base);
	}
	dma_resv_fini(&resv);
}

static void test_describe(struct kunit *test)
{
	static const char * const labels[] = {
		"\tkernel fence:", "\twrite fence:", "\tread fence:",
		"\tbookkeep fence:", "\tpreempt fence:",
	};
	struct seq_file seq = {};
	struct test_resv tr;
	char *pos;
	int u;

	seq.size = PAGE_SIZE;
	seq.buf = kunit_kzalloc(test, seq.size, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, seq.buf);

	test_resv_init(test, &tr);
	KUNIT_ASSERT_EQ(test, dma_resv_lock(&tr.resv, NULL), 0);
	dma_resv_describe(&tr.resv, &seq);
	dma_resv_unlock(&tr.resv);
	KUNIT_ASSERT_LT(test, seq.count, seq.size);
	seq.buf[seq.count] = '\0';

	/* Every fence, once, in iteration order */
	pos = seq.buf;
	for (u = 0; u < NUM_USAGES; u++) {
		char *found = strstr(pos, labels[u]);

		KUNIT_EXPECT_NOT_NULL_MSG(test, found, "no %s in:\n%s",
					  labels[u], seq.buf);
		if (!found)
			continue;
		pos = found + strlen(labels[u]);
		KUNIT_EXPECT_NULL(test, strstr(pos, labels[u]));
	}

	test_resv_fini(&tr);
}

/*
 * A later fence of the same context replaces the earlier one at the same
 * usage; a preemption fence never replaces, nor is replaced by, another usage.
 */
static void test_replace_same_context(struct kunit *test)
{
	enum dma_resv_usage usage = *test_param_usage(test);
	enum dma_resv_usage other_usage;
	struct test_fence *first, *second, *third;
	struct dma_resv_iter cursor;
	struct dma_fence *fence;
	struct dma_resv resv;
	unsigned int count = 0;
	u64 context;

	other_usage = usage == DMA_RESV_USAGE_PREEMPT ?
		DMA_RESV_USAGE_BOOKKEEP : DMA_RESV_USAGE_PREEMPT;

	dma_resv_init(&resv);
	context = dma_fence_context_alloc(1);
	first = test_fence_create(test, context, 1, NULL, 0);
	second = test_fence_create(test, context, 2, NULL, 0);
	third = test_fence_create(test, context, 3, NULL, 0);

	test_resv_add(test, &resv, &first->base, usage);
	test_resv_add(test, &resv, &second->base, usage);
	test_resv_add(test, &resv, &third->base, other_usage);

	KUNIT_ASSERT_EQ(test, dma_resv_lock(&resv, NULL), 0);
	dma_resv_for_each_fence(&cursor, &resv, DMA_RESV_USAGE_PREEMPT, fence) {
		KUNIT_EXPECT_PTR_NE(test, fence, &first->base);
		if (fence == &second->base)
			KUNIT_EXPECT_EQ(test, dma_resv_iter_usage(&cursor),
					usage);
		else
			KUNIT_EXPECT_EQ(test, dma_resv_iter_usage(&cursor),
					other_usage);
		count++;
	}
	dma_resv_unlock(&resv);
	KUNIT_EXPECT_EQ(test, count, 2u);
	KUNIT_EXPECT_EQ(test, kref_read(&first->base.refcount), 1u);

	dma_fence_signal(&first->base);
	dma_fence_signal(&second->base);
	dma_fence_signal(&third->base);
	dma_fence_put(&first->base);
	dma_fence_put(&second->base);
	dma_fence_put(&third->base);
	dma_resv_fini(&resv);
}

/*
 * Growing the array drops the signaled fences of both classes and keeps the
 * others, in order and with their usage.
 */
static void test_reserve_compacts(struct kunit *test)
{
	struct test_fence *fences[12];
	struct dma_resv_iter cursor;
	struct dma_fence *fence;
	struct dma_resv resv;
	unsigned int i, count;

	dma_resv_init(&resv);
	KUNIT_ASSERT_EQ(test, dma_resv_lock(&resv, NULL), 0);
	KUNIT_ASSERT_EQ(test, dma_resv_reserve_fences(&resv,
						      ARRAY_SIZE(fences)), 0);
	for (i = 0; i < ARRAY_SIZE(fences); i++) {
		fences[i] = test_fence_create(test, dma_fence_context_alloc(1),
					      1, NULL, i);
		dma_resv_add_fence(&resv, &fences[i]->base,
				   i % 2 ? DMA_RESV_USAGE_PREEMPT :
					   DMA_RESV_USAGE_READ);
	}
	/* Signal one of every three: both classes lose some fences */
	for (i = 0; i < ARRAY_SIZE(fences); i += 3)
		dma_fence_signal(&fences[i]->base);

	KUNIT_ASSERT_EQ(test, dma_resv_reserve_fences(&resv, 64), 0);

	for (i = 0; i < ARRAY_SIZE(fences); i++)
		KUNIT_EXPECT_EQ_MSG(test, kref_read(&fences[i]->base.refcount),
				    i % 3 ? 2u : 1u, "fence %u", i);

	count = 0;
	dma_resv_for_each_fence(&cursor, &resv, DMA_RESV_USAGE_PREEMPT, fence) {
		unsigned int id = to_test_fence(fence)->id;

		KUNIT_EXPECT_NE(test, id % 3, 0u);
		KUNIT_EXPECT_EQ(test, dma_resv_iter_usage(&cursor),
				id % 2 ? DMA_RESV_USAGE_PREEMPT :
					 DMA_RESV_USAGE_READ);
		count++;
	}
	KUNIT_EXPECT_EQ(test, count, 8u);
	dma_resv_unlock(&resv);

	for (i = 0; i < ARRAY_SIZE(fences); i++) {
		dma_fence_signal(&fences[i]->base);
		dma_fence_put(&fences[i]->base);
	}
	dma_resv_fini(&resv);
}

/* The fence of @resv of @context, and its usage; NULL if there is none */
static struct dma_fence *test_find_context(struct dma_resv *resv, u64 context,
					   enum dma_resv_usage *usage)
{
	struct dma_resv_iter cursor;
	struct dma_fence *fence;

	*usage = NUM_USAGES;	/* none */
	dma_resv_for_each_fence(&cursor, resv, DMA_RESV_USAGE_PREEMPT, fence) {
		if (fence->context == context) {
			*usage = dma_resv_iter_usage(&cursor);
			return fence;
		}
	}
	return NULL;
}

/* The fence of @old_ctx is gone from @resv, @fence is there at @usage */
static void test_expect_replaced(struct kunit *test, struct dma_resv *resv,
				 u64 old_ctx, struct dma_fence *fence,
				 enum dma_resv_usage usage)
{
	enum dma_resv_usage found;

	KUNIT_EXPECT_NULL(test, test_find_context(resv, old_ctx, &found));
	KUNIT_EXPECT_PTR_EQ(test, test_find_context(resv, fence->context,
						    &found), fence);
	KUNIT_EXPECT_EQ(test, found, usage);
}

/*
 * dma_resv_replace_fences() replaces the fences of one context, in either
 * class, and leaves the others alone: a fence replacing a preemption fence
 * stays at DMA_RESV_USAGE_PREEMPT, a fence replacing an ordinary fence takes
 * the usage given.
 */
static void test_replace_fences(struct kunit *test)
{
	struct test_fence *preempt, *other_preempt, *ordinary, *other;
	struct test_fence *replacement, *replacement2, *signaled;
	enum dma_resv_usage usage;
	struct dma_fence *stub;
	struct dma_resv resv;
	u64 ctx[6];
	int i;

	for (i = 0; i < ARRAY_SIZE(ctx); i++)
		ctx[i] = dma_fence_context_alloc(1);
	dma_resv_init(&resv);

	/* Nothing to replace, no fence array: nothing happens */
	stub = dma_fence_get_stub();
	KUNIT_ASSERT_EQ(test, dma_resv_lock(&resv, NULL), 0);
	dma_resv_replace_fences(&resv, ctx[0], stub, DMA_RESV_USAGE_READ);
	KUNIT_EXPECT_NULL(test, test_find_context(&resv, stub->context,
						  &usage));
	dma_resv_unlock(&resv);

	preempt = test_fence_create(test, ctx[0], 1, NULL, 0);
	other_preempt = test_fence_create(test, ctx[1], 1, NULL, 1);
	ordinary = test_fence_create(test, ctx[2], 1, NULL, 2);
	other = test_fence_create(test, ctx[3], 1, NULL, 3);
	replacement = test_fence_create(test, ctx[4], 1, NULL, 4);
	replacement2 = test_fence_create(test, ctx[5], 1, NULL, 5);
	test_resv_add(test, &resv, &preempt->base, DMA_RESV_USAGE_PREEMPT);
	test_resv_add(test, &resv, &other_preempt->base,
		      DMA_RESV_USAGE_PREEMPT);
	test_resv_add(test, &resv, &ordinary->base, DMA_RESV_USAGE_READ);
	test_resv_add(test, &resv, &other->base, DMA_RESV_USAGE_READ);

	KUNIT_ASSERT_EQ(test, dma_resv_lock(&resv, NULL), 0);
	/* A preemption fence replaced: the replacement is one */
	dma_resv_replace_fences(&resv, ctx[0], &replacement->base,
				DMA_RESV_USAGE_PREEMPT);
	test_expect_replaced(test, &resv, ctx[0], &replacement->base,
			     DMA_RESV_USAGE_PREEMPT);
	KUNIT_EXPECT_EQ(test, kref_read(&preempt->base.refcount), 1u);

	/* An ordinary fence replaced, at the usage given */
	dma_resv_replace_fences(&resv, ctx[2], &replacement2->base,
				DMA_RESV_USAGE_BOOKKEEP);
	test_expect_replaced(test, &resv, ctx[2], &replacement2->base,
			     DMA_RESV_USAGE_BOOKKEEP);
	KUNIT_EXPECT_EQ(test, kref_read(&ordinary->base.refcount), 1u);

	/* The fences of the other contexts are untouched */
	KUNIT_EXPECT_PTR_EQ(test, test_find_context(&resv, ctx[1], &usage),
			    &other_preempt->base);
	KUNIT_EXPECT_EQ(test, usage, DMA_RESV_USAGE_PREEMPT);
	KUNIT_EXPECT_PTR_EQ(test, test_find_context(&resv, ctx[3], &usage),
			    &other->base);
	KUNIT_EXPECT_EQ(test, usage, DMA_RESV_USAGE_READ);

	/*
	 * An ordinary fence never becomes a preemption fence: replaced at
	 * DMA_RESV_USAGE_PREEMPT (with a signaled fence, as anything else
	 * warns), it lands at BOOKKEEP
	 */
	signaled = test_fence_create(test, dma_fence_context_alloc(1), 1, NULL,
				     6);
	dma_fence_signal(&signaled->base);
	dma_resv_replace_fences(&resv, ctx[3], &signaled->base,
				DMA_RESV_USAGE_PREEMPT);
	test_expect_replaced(test, &resv, ctx[3], &signaled->base,
			     DMA_RESV_USAGE_BOOKKEEP);

	/* Scrubbing with the stub is how drivers drop a preemption fence */
	dma_resv_replace_fences(&resv, ctx[4], stub, DMA_RESV_USAGE_BOOKKEEP);
	test_expect_replaced(test, &resv, ctx[4], stub,
			     DMA_RESV_USAGE_PREEMPT);
	dma_resv_unlock(&resv);
	dma_fence_put(stub);

	dma_fence_signal(&other_preempt->base);
	dma_fence_signal(&other->base);
	dma_fence_signal(&replacement2->base);
	KUNIT_EXPECT_TRUE(test, dma_resv_test_signaled(&resv,
						       DMA_RESV_USAGE_PREEMPT));

	dma_resv_fini(&resv);
	dma_fence_signal(&preempt->base);
	dma_fence_signal(&ordinary->base);
	dma_fence_signal(&replacement->base);
	dma_fence_put(&preempt->base);
	dma_fence_put(&other_preempt->base);
	dma_fence_put(&ordinary->base);
	dma_fence_put(&other->base);
	dma_fence_put(&replacement->base);
	dma_fence_put(&replacement2->base);
	dma_fence_put(&signaled->base);
}

/*
 * The example of dma_resv_replace_fences(): a page table update fence takes
 * over from a preemption fence. It is added at BOOKKEEP and the preemption
 * fence is replaced with the stub; asking dma_resv_replace_fences() to put
 * an unsignaled fence of the other kind in a slot warns, and the slot keeps
 * its kind, both ways.
 */
static void test_replace_fences_kind(struct kunit *test)
{
	struct test_fence *preempt, *pt_update, *ordinary, *wrong;
	enum dma_resv_usage usage;
	struct dma_fence *stub;
	struct dma_resv resv;

	dma_resv_init(&resv);
	preempt = test_fence_create(test, dma_fence_context_alloc(1), 1, NULL,
				    0);
	ordinary = test_fence_create(test, dma_fence_context_alloc(1), 1,
				     NULL, 1);
	pt_update = test_fence_create(test, dma_fence_context_alloc(1), 1,
				      NULL, 2);
	wrong = test_fence_create(test, dma_fence_context_alloc(1), 1, NULL,
				  3);
	test_resv_add(test, &resv, &preempt->base, DMA_RESV_USAGE_PREEMPT);
	test_resv_add(test, &resv, &ordinary->base, DMA_RESV_USAGE_READ);

	/* the documented way: add the new fence, scrub the old one */
	test_resv_add(test, &resv, &pt_update->base, DMA_RESV_USAGE_BOOKKEEP);
	stub = dma_fence_get_stub();
	KUNIT_ASSERT_EQ(test, dma_resv_lock(&resv, NULL), 0);
	/* a signaled replacement of the other kind is fine: no warning */
	kunit_warning_suppress(test) {
		dma_resv_replace_fences(&resv, preempt->base.context, stub,
					DMA_RESV_USAGE_BOOKKEEP);
		KUNIT_EXPECT_SUPPRESSED_WARNING_COUNT(test, 0);
	}
	test_expect_replaced(test, &resv, preempt->base.context, stub,
			     DMA_RESV_USAGE_PREEMPT);
	KUNIT_EXPECT_PTR_EQ(test, test_find_context(&resv,
						    pt_update->base.context,
						    &usage),
			    &pt_update->base);
	KUNIT_EXPECT_EQ(test, usage, DMA_RESV_USAGE_BOOKKEEP);
	dma_resv_unlock(&resv);
	dma_fence_put(stub);

	/* an ordinary fence in a preemption slot, and the reverse: warn */
	test_resv_add(test, &resv, &preempt->base, DMA_RESV_USAGE_PREEMPT);
	KUNIT_ASSERT_EQ(test, dma_resv_lock(&resv, NULL), 0);
	kunit_warning_suppress(test) {
		dma_resv_replace_fences(&resv, preempt->base.context,
					&wrong->base, DMA_RESV_USAGE_BOOKKEEP);
		KUNIT_EXPECT_SUPPRESSED_WARNING_COUNT(test, 1);
	}
	test_expect_replaced(test, &resv, preempt->base.context, &wrong->base,
			     DMA_RESV_USAGE_PREEMPT);
	kunit_warning_suppress(test) {
		dma_resv_replace_fences(&resv, ordinary->base.context,
					&preempt->base, DMA_RESV_USAGE_PREEMPT);
		KUNIT_EXPECT_SUPPRESSED_WARNING_COUNT(test, 1);
	}
	test_expect_replaced(test, &resv, ordinary->base.context,
			     &preempt->base, DMA_RESV_USAGE_BOOKKEEP);
	dma_resv_unlock(&resv);

	dma_resv_fini(&resv);
	dma_fence_signal(&preempt->base);
	dma_fence_signal(&ordinary->base);
	dma_fence_signal(&pt_update->base);
	dma_fence_signal(&wrong->base);
	dma_fence_put(&preempt->base);
	dma_fence_put(&ordinary->base);
	dma_fence_put(&pt_update->base);
	dma_fence_put(&wrong->base);
}

static struct kunit_case dma_resv_usage_cases[] = {
	KUNIT_CASE_PARAM(test_iter_locked, usage_gen_params),
	KUNIT_CASE_PARAM(test_iter_unlocked, usage_gen_params),
	KUNIT_CASE_PARAM(test_test_signaled, usage_gen_params),
	KUNIT_CASE_PARAM(test_wait_timeout, usage_gen_params),
	KUNIT_CASE_PARAM(test_wait_timeout_expires, usage_gen_params),
	KUNIT_CASE(test_poll_does_not_preempt),
	KUNIT_CASE_PARAM(test_wait_preempt_order, ordinary_usage_gen_params),
	KUNIT_CASE_PARAM(test_copy_fences, usage_gen_params),
	KUNIT_CASE_PARAM(test_get_singleton, usage_gen_params),
	KUNIT_CASE_PARAM(test_get_singleton_preempt_order,
			 ordinary_usage_gen_params),
	KUNIT_CASE(test_get_singleton_enomem),
	KUNIT_CASE(test_describe),
	KUNIT_CASE_PARAM(test_replace_same_context, usage_gen_params),
	KUNIT_CASE(test_reserve_compacts),
	KUNIT_CASE(test_replace_fences),
	KUNIT_CASE(test_replace_fences_kind),
	{}
};

static struct kunit_suite dma_resv_usage_suite = {
	.name = "dma-buf-resv-usage",
	.test_cases = dma_resv_usage_cases,
};

kunit_test_suite(dma_resv_usage_suite);

/* dmabuf_kunit uses symbols exported with EXPORT_SYMBOL_IF_KUNIT() */
MODULE_IMPORT_NS("EXPORTED_FOR_KUNIT_TESTING");
