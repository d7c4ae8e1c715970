// SPDX-License-Identifier: GPL-2.0 AND MIT
/*
 * Copyright © 2024 Intel Corporation
 */

#include <kunit/test.h>

#include <linux/delay.h>
#include <linux/workqueue.h>

#include "xe_device.h"
#include "xe_kunit_helpers.h"

/*
 * A fake long-running exec queue of a fake VM in preempt fence mode on the
 * mock device, with mocked suspend ops. The ops log their calls so the cases
 * can check what the converted preempt fence did, and in which order.
 */

#define PF_TEST_TIMEOUT	(5 * HZ)

enum pf_test_call {
	PF_SUSPEND,
	PF_SUSPEND_WAIT,
	PF_KILL,
	PF_RESUME,
};

struct pf_test {
	struct xe_device *xe;
	struct xe_vm *vm;
	struct xe_exec_queue *q;
	struct workqueue_struct *wq;
	/* what the mocked ops return */
	int status;
	int suspend_err;
	int wait_err;
	/* status after a suspend_wait failed, as if reset meanwhile */
	int status_after_wait;
	/* call log */
	enum pf_test_call calls[8];
	int num_calls;
	atomic_t rebinds;
	/* the fake completion fence */
	struct dma_fence last;
	/* the lock of @last */
	spinlock_t last_lock;
};

static struct pf_test *pf_test;

static void pf_test_log(enum pf_test_call call)
{
	if (pf_test->num_calls < ARRAY_SIZE(pf_test->calls))
		pf_test->calls[pf_test->num_calls] = call;
	pf_test->num_calls++;
}

static int pf_test_suspend(struct xe_exec_queue *q)
{
	pf_test_log(PF_SUSPEND);
	return pf_test->suspend_err;
}

static int pf_test_suspend_wait(struct xe_exec_queue *q)
{
	pf_test_log(PF_SUSPEND_WAIT);
	if (pf_test->wait_err)
		pf_test->status = pf_test->status_after_wait;
	return pf_test->wait_err;
}

static void pf_test_kill(struct xe_exec_queue *q)
{
	pf_test_log(PF_KILL);
}

static void pf_test_resume(struct xe_exec_queue *q)
{
	pf_test_log(PF_RESUME);
}

static int pf_test_reset_status(struct xe_exec_queue *q)
{
	return pf_test->status;
}

static const struct xe_exec_queue_ops pf_test_queue_ops = {
	.kill = pf_test_kill,
	.suspend = pf_test_suspend,
	.suspend_wait = pf_test_suspend_wait,
	.resume = pf_test_resume,
	.reset_status = pf_test_reset_status,
};

static void pf_test_rebind_work(struct work_struct *w)
{
	atomic_inc(&pf_test->rebinds);
}

static const char *pf_test_fence_name(struct dma_fence *fence)
{
	return "xe_preempt_fence_test";
}

/* Embedded in the test state, which KUnit frees */
static void pf_test_fence_release(struct dma_fence *fence)
{
}

static const struct dma_fence_ops pf_test_fence_ops = {
	.get_driver_name = pf_test_fence_name,
	.get_timeline_name = pf_test_fence_name,
	.release = pf_test_fence_release,
};

static int pf_test_init(struct kunit *test)
{
	struct pf_test *t;

	xe_kunit_helper_xe_device_test_init(test);

	t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, t);
	t->xe = test->priv;

	t->wq = alloc_ordered_workqueue("xe-preempt-fence-test", 0);
	KUNIT_ASSERT_NOT_NULL(test, t->wq);
	t->xe->ordered_wq = t->wq;

	t->vm = kunit_kzalloc(test, sizeof(*t->vm), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, t->vm);
	t->vm->xe = t->xe;
	t->vm->flags = XE_VM_FLAG_LR_MODE;
	INIT_WORK(&t->vm->preempt.rebind_work, pf_test_rebind_work);

	t->q = kunit_kzalloc(test, sizeof(*t->q), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, t->q);
	t->q->ops = &pf_test_queue_ops;
	t->q->vm = t->vm;
	INIT_LIST_HEAD(&t->q->lr.link);
	xe_preempt_fence_ctx_init(t->q);

	spin_lock_init(&t->last_lock);
	dma_fence_init(&t->last, &pf_test_fence_ops, &t->last_lock,
		       dma_fence_context_alloc(1), 1);

	pf_test = t;
	test->priv = t;

	return 0;
}

static void pf_test_exit(struct kunit *test)
{
	struct pf_test *t = test->priv;

	/* Idempotent, cancels whatever a case left pending */
	xe_preempt_fence_ctx_fini(t->q);
	if (!dma_fence_is_signaled(&t->last))
		dma_fence_signal(&t->last);
	dma_fence_put(&t->last);

	destroy_workqueue(t->wq);
	t->xe->ordered_wq = NULL;
	pf_test = NULL;
}

static int pf_test_publish(struct pf_test *t)
{
	return dma_fence_preempt_publish(&t->q->lr.pctx, &t->last);
}

/* Triggers @fence and waits for it, returns its error. */
static int pf_test_preempt(struct kunit *test, struct dma_fence *fence)
{
	long ret;

	dma_fence_enable_sw_signaling(fence);
	ret = dma_fence_wait_timeout(fence, false, PF_TEST_TIMEOUT);
	KUNIT_ASSERT_GT(test, ret, 0);

	/* The rebind worker is queued after the fence signaled */
	xe_preempt_fence_ctx_fini(pf_test->q);
	flush_workqueue(pf_test->wq);

	return fence->error;
}

static void pf_test_is_xe_preempt(struct kunit *test)
{
	struct pf_test *t = test->priv;
	struct dma_fence *fence;

	fence = xe_preempt_fence_create(t->q);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, fence);

	KUNIT_EXPECT_TRUE(test, xe_fence_is_xe_preempt(fence));
	KUNIT_EXPECT_TRUE(test, dma_fence_is_preempt(fence));
	KUNIT_EXPECT_FALSE(test, xe_fence_is_xe_preempt(&t->last));
	KUNIT_EXPECT_STREQ(test, fence->ops->get_driver_name(fence), "xe");

	dma_fence_put(fence);
}

/* Suspend, then wait for it, then the rebind worker, then the VM resumes */
static void pf_test_suspend_flow(struct kunit *test)
{
	struct pf_test *t = test->priv;
	struct dma_fence *fence;

	fence = xe_preempt_fence_create(t->q);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, fence);

	KUNIT_EXPECT_EQ(test, pf_test_preempt(test, fence), 0);
	KUNIT_EXPECT_EQ(test, t->num_calls, 2);
	KUNIT_EXPECT_EQ(test, t->calls[0], PF_SUSPEND);
	KUNIT_EXPECT_EQ(test, t->calls[1], PF_SUSPEND_WAIT);
	KUNIT_EXPECT_TRUE(test, READ_ONCE(t->q->lr.suspended));
	KUNIT_EXPECT_EQ(test, atomic_read(&t->rebinds), 1);

	dma_fence_put(fence);
}

/*
 * The preemption waits for the last completion fence published for the
 * queue before it suspends the queue. Xe publishes none for its own
 * long-running queues, this checks that the ops honour the class ordering.
 */
static void pf_test_last_fence_first(struct kunit *test)
{
	struct pf_test *t = test->priv;
	struct dma_fence *fence;

	fence = xe_preempt_fence_create(t->q);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, fence);
	KUNIT_ASSERT_EQ(test, pf_test_publish(t), 0);

	dma_fence_enable_sw_signaling(fence);
	msleep(50);
	KUNIT_EXPECT_EQ(test, t->num_calls, 0);
	KUNIT_EXPECT_FALSE(test, dma_fence_is_signaled(fence));

	/* While preempting, no new completion fence can be published */
	KUNIT_EXPECT_EQ(test, pf_test_publish(t), -EAGAIN);

	dma_fence_signal(&t->last);
	KUNIT_EXPECT_EQ(test, pf_test_preempt(test, fence), 0);
	KUNIT_EXPECT_EQ(test, t->num_calls, 2);
	KUNIT_EXPECT_EQ(test, t->calls[0], PF_SUSPEND);

	dma_fence_put(fence);
}

/* The next fence resumes publishing, on the same context, a later seqno */
static void pf_test_rearm(struct kunit *test)
{
	struct pf_test *t = test->priv;
	struct dma_fence *first, *second;

	first = xe_preempt_fence_create(t->q);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, first);
	dma_fence_enable_sw_signaling(first);
	KUNIT_ASSERT_GT(test, dma_fence_wait_timeout(first, false,
						     PF_TEST_TIMEOUT), 0);

	second = xe_preempt_fence_create(t->q);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, second);
	KUNIT_EXPECT_EQ(test, first->context, second->context);
	KUNIT_EXPECT_TRUE(test, dma_fence_is_later(second, first));
	KUNIT_EXPECT_EQ(test, pf_test_publish(t), 0);

	dma_fence_put(second);
	dma_fence_put(first);
}

struct pf_test_error {
	const char *name;
	int status;
	int suspend_err;
	int wait_err;
	int status_after_wait;
	int error;
	int num_calls;
	bool killed;
};

static const struct pf_test_error pf_test_errors[] = {
	{ .name = "banned or killed", .status = -ECANCELED,
	  .error = -ECANCELED, .num_calls = 0 },
	{ .name = "reset or wedged", .status = -EIO,
	  .error = -EIO, .num_calls = 0 },
	{ .name = "suspend failed", .suspend_err = -EINVAL,
	  .error = -EINVAL, .num_calls = 1 },
	{ .name = "reset while suspending", .wait_err = -ETIME,
	  .status_after_wait = -EIO, .error = -EIO, .num_calls = 2 },
	{ .name = "suspend timed out", .wait_err = -ETIME,
	  .error = -ETIME, .num_calls = 3, .killed = true },
};

static void pf_test_error_desc(const struct pf_test_error *p, char *desc)
{
	strscpy(desc, p->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(pf_test_error, pf_test_errors, pf_test_error_desc);

static void pf_test_error_mapping(struct kunit *test)
{
	const struct pf_test_error *p = test->param_value;
	struct pf_test *t = test->priv;
	struct dma_fence *fence;

	t->status = p->status;
	t->suspend_err = p->suspend_err;
	t->wait_err = p->wait_err;
	t->status_after_wait = p->status_after_wait;

	fence = xe_preempt_fence_create(t->q);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, fence);

	KUNIT_EXPECT_EQ(test, pf_test_preempt(test, fence), p->error);
	KUNIT_EXPECT_EQ(test, t->num_calls, p->num_calls);
	KUNIT_EXPECT_EQ(test, t->num_calls && t->calls[t->num_calls - 1] ==
			PF_KILL, p->killed);
	/* Only a successful suspend is paired with a resume */
	KUNIT_EXPECT_EQ(test, READ_ONCE(t->q->lr.suspended),
			!p->status && !p->suspend_err);
	/* The VM learns about the failure from its rebind worker */
	KUNIT_EXPECT_EQ(test, atomic_read(&t->rebinds), 1);

	dma_fence_put(fence);
}

/* Removing the queue cancels a pending fence without touching the queue */
static void pf_test_teardown(struct kunit *test)
{
	struct pf_test *t = test->priv;
	struct dma_fence *fence;

	fence = xe_preempt_fence_create(t->q);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, fence);

	xe_preempt_fence_ctx_fini(t->q);
	KUNIT_EXPECT_TRUE(test, dma_fence_is_signaled(fence));
	KUNIT_EXPECT_EQ(test, fence->error, -ECANCELED);
	KUNIT_EXPECT_EQ(test, t->num_calls, 0);
	flush_workqueue(t->wq);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->rebinds), 0);
	KUNIT_EXPECT_EQ(test, pf_test_publish(t), -ENODEV);

	/* The fence outlives the queue's context */
	KUNIT_EXPECT_TRUE(test, xe_fence_is_xe_preempt(fence));
	dma_fence_put(fence);
}

static struct kunit_case xe_preempt_fence_tests[] = {
	KUNIT_CASE(pf_test_is_xe_preempt),
	KUNIT_CASE(pf_test_suspend_flow),
	KUNIT_CASE(pf_test_last_fence_first),
	KUNIT_CASE(pf_test_rearm),
	KUNIT_CASE_PARAM(pf_test_error_mapping, pf_test_error_gen_params),
	KUNIT_CASE(pf_test_teardown),
	{}
};

static struct kunit_suite xe_preempt_fence_test_suite = {
	.name = "xe_preempt_fence",
	.init = pf_test_init,
	.exit = pf_test_exit,
	.test_cases = xe_preempt_fence_tests,
};

kunit_test_suite(xe_preempt_fence_test_suite);
