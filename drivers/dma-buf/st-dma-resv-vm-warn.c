// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for the misuse checks of per-VM shared locking.
 *
 * Misuse gets a warning and an error, and leaves the state as it was. Every
 * case prints a WARNING splat by design, which is why this suite is only built
 * with CONFIG_DMABUF_KUNIT_TEST_WARN and not part of
 * drivers/dma-buf/.kunitconfig.
 */

#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/dma-resv-vm.h>
#include <linux/kthread.h>
#include <linux/slab.h>

struct test_vm {
	struct dma_resv_vm base;
	struct dma_resv resv;
};

static void test_vm_release(struct dma_resv_vm *vm)
{
	struct test_vm *tvm = container_of(vm, struct test_vm, base);

	if (dma_resv_vm_fini(vm))
		return;	/* misuse: leak rather than free a bound VM */

	dma_resv_fini(&tvm->resv);
	kfree(tvm);
}

/* Not test managed: the last dma_resv_vm_put() frees it. */
static struct test_vm *test_vm_create(struct kunit *test)
{
	struct test_vm *tvm = kzalloc_obj(*tvm);

	KUNIT_ASSERT_NOT_NULL(test, tvm);
	dma_resv_init(&tvm->resv);
	dma_resv_vm_init(&tvm->base, &tvm->resv, test_vm_release);
	return tvm;
}

static struct dma_resv *test_buf_create(struct kunit *test)
{
	struct dma_resv *obj = kunit_kzalloc(test, sizeof(*obj), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, obj);
	dma_resv_init(obj);
	return obj;
}

static int test_bind(struct dma_resv *obj, struct test_vm *tvm)
{
	int ret;

	dma_resv_lock(obj, NULL);
	ret = dma_resv_bind_vm(obj, &tvm->base);
	dma_resv_unlock(obj);
	return ret;
}

static int test_unbind(struct dma_resv *obj, struct test_vm *tvm)
{
	int ret;

	dma_resv_lock(obj, NULL);
	ret = dma_resv_unbind_vm(obj, &tvm->base);
	dma_resv_unlock(obj);
	return ret;
}

static unsigned int test_num_vms(struct dma_resv *obj)
{
	unsigned int num;

	dma_resv_lock(obj, NULL);
	num = dma_resv_num_vms(obj);
	dma_resv_unlock(obj);
	return num;
}

/* Binding a VM twice to one buffer. */
static void test_bind_twice(struct kunit *test)
{
	struct dma_resv *buf = test_buf_create(test);
	struct test_vm *a = test_vm_create(test);

	KUNIT_ASSERT_EQ(test, test_bind(buf, a), 0);
	KUNIT_EXPECT_EQ(test, test_bind(buf, a), -EEXIST);
	KUNIT_EXPECT_EQ(test, test_num_vms(buf), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&a->base.num_bound), 1);

	KUNIT_EXPECT_EQ(test, test_unbind(buf, a), 0);
	dma_resv_vm_put(&a->base);
	dma_resv_fini(buf);
}

/* Unbinding a VM that is not bound. */
static void test_unbind_not_bound(struct kunit *test)
{
	struct dma_resv *buf = test_buf_create(test);
	struct test_vm *a = test_vm_create(test), *b = test_vm_create(test);

	KUNIT_ASSERT_EQ(test, test_bind(buf, a), 0);
	KUNIT_EXPECT_EQ(test, test_unbind(buf, b), -ENOENT);
	KUNIT_EXPECT_EQ(test, test_num_vms(buf), 1);
	KUNIT_EXPECT_TRUE(test, dma_resv_vm_is_bound(buf, &a->base));
	KUNIT_EXPECT_EQ(test, atomic_read(&b->base.num_bound), 0);

	KUNIT_EXPECT_EQ(test, test_unbind(buf, a), 0);
	dma_resv_vm_put(&a->base);
	dma_resv_vm_put(&b->base);
	dma_resv_fini(buf);
}

/* Binding a VM to its own reservation object. */
static void test_bind_own_resv(struct kunit *test)
{
	struct test_vm *a = test_vm_create(test);

	KUNIT_EXPECT_EQ(test, test_bind(&a->resv, a), -EINVAL);
	KUNIT_EXPECT_EQ(test, test_num_vms(&a->resv), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&a->base.num_bound), 0);
	dma_resv_vm_put(&a->base);
}

/* Destroying a VM that is still bound. */
static void test_fini_bound(struct kunit *test)
{
	struct dma_resv *buf = test_buf_create(test);
	struct test_vm *a = test_vm_create(test);

	KUNIT_ASSERT_EQ(test, test_bind(buf, a), 0);
	KUNIT_EXPECT_EQ(test, dma_resv_vm_fini(&a->base), -EBUSY);
	KUNIT_EXPECT_TRUE(test, dma_resv_vm_is_bound(buf, &a->base));

	KUNIT_EXPECT_EQ(test, test_unbind(buf, a), 0);
	dma_resv_vm_put(&a->base);
	dma_resv_fini(buf);
}

/* Destroying a VM that is still referenced. */
static void test_fini_referenced(struct kunit *test)
{
	struct test_vm *a = test_vm_create(test);

	KUNIT_EXPECT_EQ(test, dma_resv_vm_fini(&a->base), -EBUSY);
	KUNIT_EXPECT_EQ(test, kref_read(&a->base.refcount), 1);
	dma_resv_vm_put(&a->base);
}

/* Write lock without an acquire context. */
static void test_write_lock_no_ctx(struct kunit *test)
{
	struct dma_resv *buf = test_buf_create(test);
	struct test_vm *a = test_vm_create(test);

	KUNIT_ASSERT_EQ(test, test_bind(buf, a), 0);
	KUNIT_EXPECT_EQ(test, dma_resv_write_lock(buf, NULL), -EINVAL);
	KUNIT_EXPECT_FALSE(test, ww_mutex_is_locked(&buf->lock));
	KUNIT_EXPECT_FALSE(test, ww_mutex_is_locked(&a->resv.lock));

	KUNIT_EXPECT_EQ(test, test_unbind(buf, a), 0);
	dma_resv_vm_put(&a->base);
	dma_resv_fini(buf);
}

/*
 * Write lock in a transaction that holds another lock: backing off would need
 * the caller's locks dropped, so it is refused. So is it when the context
 * holds the buffer itself without its VMs, which is not a write lock held
 * already (-EALREADY).
 */
static void test_write_lock_in_transaction(struct kunit *test)
{
	struct dma_resv *buf = test_buf_create(test), *priv = test_buf_create(test);
	struct test_vm *a = test_vm_create(test);
	struct ww_acquire_ctx ctx;

	KUNIT_ASSERT_EQ(test, test_bind(buf, a), 0);
	ww_acquire_init(&ctx, &reservation_ww_class);
	KUNIT_ASSERT_EQ(test, dma_resv_lock(priv, &ctx), 0);
	KUNIT_EXPECT_EQ(test, dma_resv_write_lock(buf, &ctx), -EINVAL);
	KUNIT_EXPECT_FALSE(test, ww_mutex_is_locked(&buf->lock));
	KUNIT_EXPECT_FALSE(test, ww_mutex_is_locked(&a->resv.lock));
	KUNIT_EXPECT_EQ(test, ctx.acquired, 1);
	dma_resv_unlock(priv);
	ww_acquire_fini(&ctx);

	ww_acquire_init(&ctx, &reservation_ww_class);
	KUNIT_ASSERT_EQ(test, dma_resv_lock(buf, &ctx), 0);
	KUNIT_EXPECT_EQ(test, dma_resv_write_lock(buf, &ctx), -EINVAL);
	KUNIT_EXPECT_FALSE(test, ww_mutex_is_locked(&a->resv.lock));
	KUNIT_EXPECT_EQ(test, ctx.acquired, 1);
	dma_resv_unlock(buf);
	ww_acquire_fini(&ctx);

	KUNIT_EXPECT_EQ(test, test_unbind(buf, a), 0);
	dma_resv_vm_put(&a->base);
	dma_resv_fini(buf);
	dma_resv_fini(priv);
}

/*
 * A buffer destroyed with a VM still bound: warns, and unbinds the VM, whose
 * teardown then succeeds.
 */
static void test_fini_buffer_bound(struct kunit *test)
{
	struct dma_resv *buf = test_buf_create(test);
	struct test_vm *a = test_vm_create(test);

	KUNIT_ASSERT_EQ(test, test_bind(buf, a), 0);
	dma_resv_fini(buf);
	KUNIT_EXPECT_EQ(test, atomic_read(&a->base.num_bound), 0);
	/* Without the unbinding, the release would warn and leak the VM. */
	dma_resv_vm_put(&a->base);
}

/* Binding a VM to a write-locked buffer: the write lock would not hold it. */
static void test_bind_write_locked(struct kunit *test)
{
	struct dma_resv *buf = test_buf_create(test);
	struct test_vm *a = test_vm_create(test), *b = test_vm_create(test);
	struct ww_acquire_ctx ctx;

	KUNIT_ASSERT_EQ(test, test_bind(buf, a), 0);
	ww_acquire_init(&ctx, &reservation_ww_class);
	KUNIT_ASSERT_EQ(test, dma_resv_write_lock(buf, &ctx), 0);
	KUNIT_EXPECT_EQ(test, dma_resv_bind_vm(buf, &b->base), -EBUSY);
	KUNIT_EXPECT_EQ(test, dma_resv_num_vms(buf), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&b->base.num_bound), 0);
	dma_resv_write_unlock(buf);
	ww_acquire_fini(&ctx);

	KUNIT_EXPECT_EQ(test, test_unbind(buf, a), 0);
	dma_resv_vm_put(&a->base);
	dma_resv_vm_put(&b->base);
	dma_resv_fini(buf);
}

struct test_holder {
	struct dma_resv *obj;
	struct completion locked;
	struct completion release;
};

static int test_holder_fn(void *arg)
{
	struct test_holder *h = arg;

	dma_resv_lock(h->obj, NULL);
	complete(&h->locked);
	/* bounded: the case joins this thread before it frees the buffer */
	wait_for_completion_timeout(&h->release, 10 * HZ);
	dma_resv_unlock(h->obj);
	return 0;
}

/*
 * VM part of the write lock without the buffer locked in the context: here
 * another thread holds it. Locking the buffer without a context in this
 * thread, next to an acquire context of the same class, would be a lockdep
 * report of its own. With lockdep, dma_resv_assert_held() warns first.
 */
static void test_write_lock_vms_not_in_ctx(struct kunit *test)
{
	struct dma_resv *buf = test_buf_create(test);
	struct test_vm *a = test_vm_create(test);
	struct dma_resv_vm *pre = NULL, *cont = NULL;
	struct test_holder h = { .obj = buf };
	struct ww_acquire_ctx ctx;
	struct task_struct *t;

	KUNIT_ASSERT_EQ(test, test_bind(buf, a), 0);
	init_completion(&h.locked);
	init_completion(&h.release);
	t = kthread_run(test_holder_fn, &h, "dma-resv-vm-holder");
	KUNIT_ASSERT_FALSE(test, IS_ERR(t));
	get_task_struct(t);
	/* No assertion from here until the thread is joined: h is on stack. */
	if (wait_for_completion_timeout(&h.locked, 10 * HZ)) {
		ww_acquire_init(&ctx, &reservation_ww_class);
		KUNIT_EXPECT_EQ(test, dma_resv_write_lock_vms(buf, &ctx, &pre,
							      &cont, false),
				-EINVAL);
		KUNIT_EXPECT_FALSE(test, ww_mutex_is_locked(&a->resv.lock));
		KUNIT_EXPECT_NULL(test, cont);
		KUNIT_EXPECT_EQ(test, ctx.acquired, 0);
		ww_acquire_fini(&ctx);
	} else {
		KUNIT_FAIL(test, "the holder did not lock the buffer");
	}
	complete(&h.release);
	kthread_stop(t);
	put_task_struct(t);

	KUNIT_EXPECT_EQ(test, test_unbind(buf, a), 0);
	dma_resv_vm_put(&a->base);
	dma_resv_fini(buf);
}

/*
 * Read lock of a VM the buffer is not bound to: warns with
 * CONFIG_DEBUG_WW_MUTEX_SLOWPATH, and still locks.
 */
static void test_read_lock_not_bound(struct kunit *test)
{
	struct dma_resv *buf = test_buf_create(test);
	struct test_vm *a = test_vm_create(test);
	struct ww_acquire_ctx ctx;

	if (!IS_ENABLED(CONFIG_DEBUG_WW_MUTEX_SLOWPATH))
		kunit_skip(test, "needs CONFIG_DEBUG_WW_MUTEX_SLOWPATH");

	ww_acquire_init(&ctx, &reservation_ww_class);
	KUNIT_EXPECT_EQ(test, dma_resv_read_lock(buf, &a->base, &ctx), 0);
	KUNIT_EXPECT_PTR_EQ(test, dma_resv_locking_ctx(&a->resv), &ctx);
	dma_resv_read_unlock(buf, &a->base);
	ww_acquire_fini(&ctx);

	dma_resv_vm_put(&a->base);
	dma_resv_fini(buf);
}

static void test_vm_release_keep(struct dma_resv_vm *vm)
{
}

/*
 * Read lock of a VM whose last reference is gone: warns with
 * CONFIG_DEBUG_WW_MUTEX_SLOWPATH, and still locks.
 */
static void test_read_lock_unreferenced(struct kunit *test)
{
	struct dma_resv *buf = test_buf_create(test);
	struct test_vm *a = kunit_kzalloc(test, sizeof(*a), GFP_KERNEL);
	struct ww_acquire_ctx ctx;

	if (!IS_ENABLED(CONFIG_DEBUG_WW_MUTEX_SLOWPATH))
		kunit_skip(test, "needs CONFIG_DEBUG_WW_MUTEX_SLOWPATH");

	KUNIT_ASSERT_NOT_NULL(test, a);
	dma_resv_init(&a->resv);
	dma_resv_vm_init(&a->base, &a->resv, test_vm_release_keep);
	KUNIT_ASSERT_EQ(test, test_bind(buf, a), 0);
	/* The release callback leaves the VM in place for the misuse. */
	dma_resv_vm_put(&a->base);

	ww_acquire_init(&ctx, &reservation_ww_class);
	KUNIT_EXPECT_EQ(test, dma_resv_read_lock(buf, &a->base, &ctx), 0);
	KUNIT_EXPECT_PTR_EQ(test, dma_resv_locking_ctx(&a->resv), &ctx);
	dma_resv_read_unlock(buf, &a->base);
	ww_acquire_fini(&ctx);

	KUNIT_EXPECT_EQ(test, test_unbind(buf, a), 0);
	dma_resv_fini(&a->resv);
	dma_resv_fini(buf);
}

static struct kunit_case dma_resv_vm_warn_cases[] = {
	KUNIT_CASE(test_bind_twice),
	KUNIT_CASE(test_unbind_not_bound),
	KUNIT_CASE(test_bind_own_resv),
	KUNIT_CASE(test_fini_bound),
	KUNIT_CASE(test_fini_referenced),
	KUNIT_CASE(test_write_lock_no_ctx),
	KUNIT_CASE(test_write_lock_in_transaction),
	KUNIT_CASE(test_bind_write_locked),
	KUNIT_CASE(test_fini_buffer_bound),
	KUNIT_CASE(test_write_lock_vms_not_in_ctx),
	KUNIT_CASE(test_read_lock_not_bound),
	KUNIT_CASE(test_read_lock_unreferenced),
	{}
};

static struct kunit_suite dma_resv_vm_warn_suite = {
	.name = "dma-buf-resv-vm-warn",
	.test_cases = dma_resv_vm_warn_cases,
};

kunit_test_suite(dma_resv_vm_warn_suite);
