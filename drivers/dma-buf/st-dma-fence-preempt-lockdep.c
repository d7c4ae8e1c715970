// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit test proving that the signalling path of struct dma_fence_preempt is
 * annotated: an operation taking a dma_resv lock makes lockdep report.
 *
 * Lockdep switches itself off after its first report, which would hide any
 * later problem, so this suite is built only with
 * CONFIG_DMABUF_KUNIT_TEST_LOCKDEP_SPLAT and run on its own:
 *
 *   ./tools/testing/kunit/kunit.py run --kunitconfig=drivers/dma-buf \
 *     --kconfig_add CONFIG_DMABUF_KUNIT_TEST_LOCKDEP_SPLAT=y \
 *     'dma-buf-fence-preempt-lockdep'
 *
 * The case passes when lockdep was enabled (debug_locks set) right before
 * the preempt operation took the lock and disabled right after: the report
 * came from that lock, which the test takes without a report outside of
 * the signalling path. The report in the kernel log names dma_fence_map,
 * the signalling annotation, as held and the reservation lock class as
 * taken.
 */

#include <kunit/test.h>
#include <linux/debug_locks.h>
#include <linux/dma-fence-preempt.h>
#include <linux/dma-resv.h>
#include <linux/slab.h>

struct splat_ctx {
	struct dma_fence_preempt_ctx pctx;
	struct dma_resv resv;
	/* debug_locks around the lock taken in the operation */
	bool locks_before;
	bool locks_after;
};

/* Wrong on purpose: the signalling path must not take a dma_resv lock. */
static int splat_preempt(struct dma_fence_preempt *pfence)
{
	struct splat_ctx *sc = container_of(pfence->ctx, struct splat_ctx,
					    pctx);

	sc->locks_before = debug_locks;
	dma_resv_lock(&sc->resv, NULL);
	sc->locks_after = debug_locks;
	dma_resv_unlock(&sc->resv);
	return 0;
}

static const struct dma_fence_preempt_ops splat_ops = {
	.preempt = splat_preempt,
};

static void test_resv_lock_in_signalling_path(struct kunit *test)
{
	struct splat_ctx *sc;
	struct dma_fence_preempt *pfence;

	KUNIT_ASSERT_TRUE_MSG(test, debug_locks,
			      "lockdep already off, cannot check the report");

	sc = kunit_kzalloc(test, sizeof(*sc), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, sc);
	/* freed with dma_fence_free(): the base class is at offset 0 */
	pfence = kzalloc_obj(*pfence);
	KUNIT_ASSERT_NOT_NULL(test, pfence);

	dma_resv_init(&sc->resv);
	dma_fence_preempt_ctx_init(&sc->pctx, &splat_ops, HZ);
	KUNIT_ASSERT_EQ(test, dma_fence_preempt_arm(&sc->pctx, pfence), 0);

	/* the lock is fine outside of the signalling path */
	dma_resv_lock(&sc->resv, NULL);
	dma_resv_unlock(&sc->resv);
	KUNIT_EXPECT_TRUE(test, debug_locks);

	dma_fence_enable_signaling(&pfence->base);
	KUNIT_EXPECT_GT(test, dma_fence_wait_timeout(&pfence->base, false,
						     5 * HZ), 0);
	dma_fence_preempt_ctx_fini(&sc->pctx);

	/* lockdep reported the dma_resv lock, and turned itself off */
	KUNIT_EXPECT_TRUE(test, sc->locks_before);
	KUNIT_EXPECT_FALSE(test, sc->locks_after);
	KUNIT_EXPECT_FALSE(test, debug_locks);

	dma_fence_put(&pfence->base);
	dma_resv_fini(&sc->resv);
}

static struct kunit_case dma_fence_preempt_lockdep_cases[] = {
	KUNIT_CASE(test_resv_lock_in_signalling_path),
	{}
};

static struct kunit_suite dma_fence_preempt_lockdep_suite = {
	.name = "dma-buf-fence-preempt-lockdep",
	.test_cases = dma_fence_preempt_lockdep_cases,
};

kunit_test_suite(dma_fence_preempt_lockdep_suite);
