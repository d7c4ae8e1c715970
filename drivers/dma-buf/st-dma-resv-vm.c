// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for per-VM shared locking: dma_resv_read_lock() and
 * dma_resv_write_lock().
 *
 * Exclusion is checked with threads: a reader of a write-locked buffer must
 * block, a reader of another buffer must not. The stress case runs readers
 * on their own VMs and writers on the shared buffers for about two seconds,
 * with a counter that only these locks protect. The concurrent cases start
 * their threads with a barrier and count the operations that overlapped.
 */

#include <kunit/static_stub.h>
#include <kunit/test.h>
#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/dma-buf.h>
#include <linux/dma-fence.h>
#include <linux/dma-resv-vm.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/random.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "dma-resv-vm-test.h"

#define TEST_TIMEOUT	(10 * HZ)
/*
 * Negative checks ("this thread stays blocked"): how long a test waits for a
 * lock that must not be granted. Passing such a check only means that it was
 * not granted within this bound.
 */
#define BLOCK_CHECK_MS	100
/* one jiffy more: a wait of N jiffies may end up to one jiffy early */
#define BLOCK_CHECK	(msecs_to_jiffies(BLOCK_CHECK_MS) + 1)

/*
 * A start barrier for the threads of a concurrent case: returns once
 * @count threads got there, or false after TEST_TIMEOUT. The last thread to
 * arrive starts the clock: the run ends @len jiffies later, at *@end, so
 * that a slow start does not eat into the run.
 */
static bool test_start_barrier(atomic_t *arrived, int count,
			       unsigned long *end, unsigned long len)
{
	if (atomic_inc_return(arrived) == count) {
		/* 0 means "not started"; pairs with the acquire below */
		smp_store_release(end, (jiffies + len) ?: 1);
		/* wake_up_var() needs the store ordered before it */
		smp_mb();
		wake_up_var(arrived);
	}
	/* pairs with the release above: *end is read after the wait */
	if (wait_var_event_timeout(arrived, smp_load_acquire(end),
				   TEST_TIMEOUT))
		return true;
	/* Not all threads came: end the run now, for every thread */
	cmpxchg(end, 0, jiffies ?: 1);
	return false;
}

struct test_threads {
	unsigned int n;
	struct task_struct *t[8];	/* referenced */
};

/* KUnit action: waits for the threads of a case to end, however it ended */
static void test_threads_stop(void *arg)
{
	struct test_threads *th = arg;
	unsigned int i;

	for (i = 0; i < th->n; i++) {
		kthread_stop(th->t[i]);
		put_task_struct(th->t[i]);
	}
}

/*
 * Creates @n threads, thread i running @fns[i](@data[i]), then starts them:
 * none runs unless all of them could be created. The threads end on their
 * own, bounded by their run time and TEST_TIMEOUT; when the case ends, also
 * after a failed assertion, a KUnit action waits for that, so that no thread
 * outlives the data of its case.
 */
static void test_run_threads(struct kunit *test, unsigned int n,
			     int (*const *fns)(void *), void *const *data,
			     const char *name)
{
	struct test_threads *th = kunit_kzalloc(test, sizeof(*th), GFP_KERNEL);
	struct task_struct *t;
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, th);
	KUNIT_ASSERT_LE(test, n, ARRAY_SIZE(th->t));
	for (i = 0; i < n; i++) {
		t = kthread_create(fns[i], data[i], "%s", name);
		if (IS_ERR(t)) {
			/* a thread never woken up exits without running */
			test_threads_stop(th);
			KUNIT_FAIL_AND_ABORT(test, "kthread_create: %pe", t);
		}
		th->t[th->n++] = get_task_struct(t);
	}
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test,
							test_threads_stop, th),
			0);
	for (i = 0; i < n; i++)
		wake_up_process(th->t[i]);
}

/* Records the largest @value seen in @max */
static void test_note_max(atomic_t *max, int value)
{
	int old = atomic_read(max);

	while (old < value && !atomic_try_cmpxchg(max, &old, value))
		;
}

struct test_vm {
	struct dma_resv_vm base;
	struct dma_resv resv;
	bool *released;
};

/*
 * Waits until a writer backed off on @vm, at most TEST_TIMEOUT: it holds a
 * reference to @vm, taken before trying the VM's lock and kept while it
 * slow-locks it, and it released @buf. Before the write lock took @buf the
 * writer has no reference, after that @buf stays locked until the back-off.
 * No wait queue is woken for that state: poll it.
 */
static bool test_wait_backed_off(struct dma_resv *buf, struct test_vm *vm)
{
	unsigned long end = jiffies + TEST_TIMEOUT;

	while (kref_read(&vm->base.refcount) < 2 ||
	       ww_mutex_is_locked(&buf->lock)) {
		if (time_after(jiffies, end))
			return false;
		usleep_range(100, 200);
	}

	return true;
}

static void test_vm_release(struct dma_resv_vm *vm)
{
	struct test_vm *tvm = container_of(vm, struct test_vm, base);

	if (dma_resv_vm_fini(vm))
		return;	/* misuse: leak rather than free a bound VM */

	if (tvm->released)
		*tvm->released = true;
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

/*
 * The end of a case: unbinds the @n VMs of @vms from @buf, drops the case's
 * reference on each of them and finalizes @buf.
 */
static void test_teardown(struct kunit *test, struct dma_resv *buf,
			  struct test_vm *const *vms, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		KUNIT_EXPECT_EQ(test, test_unbind(buf, vms[i]), 0);
	for (i = 0; i < n; i++)
		dma_resv_vm_put(&vms[i]->base);
	dma_resv_fini(buf);
}

static bool test_held(struct dma_resv *resv, struct ww_acquire_ctx *ctx)
{
	return dma_resv_locking_ctx(resv) == ctx &&
	       ww_mutex_is_locked(&resv->lock);
}

static unsigned int test_num_vms(struct dma_resv *obj)
{
	unsigned int num;

	dma_resv_lock(obj, NULL);
	num = dma_resv_num_vms(obj);
	dma_resv_unlock(obj);
	return num;
}

/* Read lock with the ww_mutex back-off protocol; @ctx holds nothing. */
static void test_read_lock(struct dma_resv *obj, struct dma_resv_vm *vm,
			   struct ww_acquire_ctx *ctx)
{
	if (dma_resv_read_lock(obj, vm, ctx) == -EDEADLK)
		dma_resv_lock_slow(vm->resv, ctx);
}

/*
 * With @first held by @ctx, lock @second too, backing off as often as
 * needed: CONFIG_DEBUG_WW_MUTEX_SLOWPATH injects -EDEADLK.
 */
static void test_lock_second(struct dma_resv *first, struct dma_resv *second,
			     struct ww_acquire_ctx *ctx)
{
	while (dma_resv_lock(second, ctx) == -EDEADLK) {
		dma_resv_unlock(first);
		dma_resv_lock_slow(second, ctx);
		swap(first, second);
	}
}

/*
 * A ww transaction over up to four reservation objects, the way drm_exec
 * locks them: those marked in @write are locked with dma_resv_lock() and
 * dma_resv_write_lock_vms(), the others with dma_resv_lock() only (a VM's
 * own reservation object is read-locked that way). It backs off as often as
 * the ww_mutex rules require; CONFIG_DEBUG_WW_MUTEX_SLOWPATH injects
 * -EDEADLK too.
 */
struct test_txn {
	struct dma_resv *objs[4];
	bool write[4];
	unsigned int n;
};

static void test_vm_unlock_put(struct dma_resv_vm *vm)
{
	dma_resv_unlock(vm->resv);
	dma_resv_vm_put(vm);
}

/* Drop what the first @n objects, @pre_obj and @pre_vm hold. */
static void test_txn_drop(struct test_txn *t, unsigned int n,
			  struct dma_resv **pre_obj, struct dma_resv_vm **pre_vm)
{
	while (n--) {
		if (t->write[n])
			dma_resv_write_unlock(t->objs[n]);
		else
			dma_resv_unlock(t->objs[n]);
	}
	if (*pre_obj)
		dma_resv_unlock(*pre_obj);
	*pre_obj = NULL;
	if (*pre_vm)
		test_vm_unlock_put(*pre_vm);
	*pre_vm = NULL;
}

/* @ctx holds nothing on entry; on success it holds every object of @t. */
static int test_txn_lock(struct test_txn *t, struct ww_acquire_ctx *ctx)
{
	struct dma_resv_vm *pre_vm = NULL, *contended;
	struct dma_resv *obj, *pre_obj = NULL;
	unsigned int i;
	int ret;

retry:
	for (i = 0; i < t->n; i++) {
		obj = t->objs[i];
		if (obj == pre_obj) {
			pre_obj = NULL;
		} else {
			ret = dma_resv_lock(obj, ctx);
			if (ret == -EDEADLK) {
				test_txn_drop(t, i, &pre_obj, &pre_vm);
				dma_resv_lock_slow(obj, ctx);
				pre_obj = obj;
				goto retry;
			}
			if (ret)
				goto err;
		}

		if (!t->write[i])
			continue;
		ret = dma_resv_write_lock_vms(obj, ctx, &pre_vm, &contended,
					      false);
		if (ret == -EDEADLK) {
			dma_resv_unlock(obj);
			test_txn_drop(t, i, &pre_obj, &pre_vm);
			dma_resv_lock_slow(contended->resv, ctx);
			pre_vm = contended;
			goto retry;
		}
		if (ret) {
			dma_resv_unlock(obj);
			goto err;
		}
	}

	/* Not bound to any of the objects any more. */
	test_txn_drop(t, 0, &pre_obj, &pre_vm);
	return 0;

err:
	test_txn_drop(t, i, &pre_obj, &pre_vm);
	return ret;
}

/*
 * A case that needs a transaction to go the way it sets it up turns off the
 * back-offs CONFIG_DEBUG_WW_MUTEX_SLOWPATH injects for @ctx.
 */
static void test_no_injection(struct ww_acquire_ctx *ctx)
{
#ifdef CONFIG_DEBUG_WW_MUTEX_SLOWPATH
	ctx->deadlock_inject_countdown = UINT_MAX;
#endif
}

/* Unlock the objects of @t that test_txn_lock() locked. */
static void test_txn_unlock(struct test_txn *t)
{
	struct dma_resv *pre_obj = NULL;
	struct dma_resv_vm *pre_vm = NULL;

	test_txn_drop(t, t->n, &pre_obj, &pre_vm);
}

/* A buffer with no VM bound locks exactly like dma_resv_lock(). */
static void test_opt_in(struct kunit *test)
{
	struct dma_resv *obj = test_buf_create(test);
	struct ww_acquire_ctx ctx;

	ww_acquire_init(&ctx, &reservation_ww_class);
	KUNIT_EXPECT_EQ(test, dma_resv_write_lock(obj, &ctx), 0);
	KUNIT_EXPECT_TRUE(test, test_held(obj, &ctx));
	KUNIT_EXPECT_EQ(test, ctx.acquired, 1);
	KUNIT_EXPECT_EQ(test, dma_resv_write_lock(obj, &ctx), -EALREADY);
	KUNIT_EXPECT_EQ(test, dma_resv_num_vms(obj), 0);
	/* No tracking state is allocated for buffers that do not opt in. */
	KUNIT_EXPECT_NULL(test, rcu_access_pointer(obj->vms));
	KUNIT_EXPECT_TRUE(test, dma_resv_test_signaled(obj,
						       DMA_RESV_USAGE_PREEMPT));
	dma_resv_write_unlock(obj);
	KUNIT_EXPECT_FALSE(test, ww_mutex_is_locked(&obj->lock));
	ww_acquire_fini(&ctx);
	dma_resv_fini(obj);
}

static void test_vm_refcount(struct kunit *test)
{
	struct test_vm *tvm = test_vm_create(test);
	bool released = false;

	tvm->released = &released;
	dma_resv_vm_get(&tvm->base);
	KUNIT_EXPECT_EQ(test, kref_read(&tvm->base.refcount), 2);
	dma_resv_vm_put(&tvm->base);
	KUNIT_EXPECT_FALSE(test, released);
	dma_resv_vm_put(&tvm->base);
	KUNIT_EXPECT_TRUE(test, released);
}

static void test_bind_unbind(struct kunit *test)
{
	struct dma_resv *obj = test_buf_create(test);
	struct test_vm *tvm[6];
	int i;

	for (i = 0; i < ARRAY_SIZE(tvm); i++) {
		tvm[i] = test_vm_create(test);
		KUNIT_EXPECT_EQ(test, test_bind(obj, tvm[i]), 0);
		KUNIT_EXPECT_EQ(test, atomic_read(&tvm[i]->base.num_bound), 1);
	}
	/* The array grew past its initial size. */
	KUNIT_EXPECT_EQ(test, test_num_vms(obj), ARRAY_SIZE(tvm));
	for (i = 0; i < ARRAY_SIZE(tvm); i++)
		KUNIT_EXPECT_TRUE(test, dma_resv_vm_is_bound(obj, &tvm[i]->base));

	KUNIT_EXPECT_EQ(test, test_unbind(obj, tvm[2]), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&tvm[2]->base.num_bound), 0);
	KUNIT_EXPECT_FALSE(test, dma_resv_vm_is_bound(obj, &tvm[2]->base));
	KUNIT_EXPECT_EQ(test, test_num_vms(obj), ARRAY_SIZE(tvm) - 1);
	for (i = 0; i < ARRAY_SIZE(tvm); i++)
		if (i != 2)
			KUNIT_EXPECT_TRUE(test,
					  dma_resv_vm_is_bound(obj, &tvm[i]->base));

	/* A freed slot is reused. */
	KUNIT_EXPECT_EQ(test, test_bind(obj, tvm[2]), 0);
	KUNIT_EXPECT_EQ(test, test_num_vms(obj), ARRAY_SIZE(tvm));

	for (i = 0; i < ARRAY_SIZE(tvm); i++) {
		KUNIT_EXPECT_EQ(test, test_unbind(obj, tvm[i]), 0);
		dma_resv_vm_put(&tvm[i]->base);
	}
	KUNIT_EXPECT_EQ(test, test_num_vms(obj), 0);
	dma_resv_fini(obj);
}

/* A submission using K buffers of one VM takes exactly one lock. */
static void test_read_lock_one_lock(struct kunit *test)
{
	struct test_vm *tvm = test_vm_create(test), *other = test_vm_create(test);
	struct dma_resv *bufs[16];
	struct ww_acquire_ctx ctx;
	int i;

	for (i = 0; i < ARRAY_SIZE(bufs); i++) {
		bufs[i] = test_buf_create(test);
		KUNIT_ASSERT_EQ(test, test_bind(bufs[i], tvm), 0);
		KUNIT_ASSERT_EQ(test, test_bind(bufs[i], other), 0);
	}

	ww_acquire_init(&ctx, &reservation_ww_class);
	KUNIT_EXPECT_EQ(test, dma_resv_read_lock(bufs[0], &tvm->base, &ctx), 0);
	for (i = 1; i < ARRAY_SIZE(bufs); i++)
		KUNIT_EXPECT_EQ(test,
				dma_resv_read_lock(bufs[i], &tvm->base, &ctx),
				-EALREADY);
	KUNIT_EXPECT_EQ(test, ctx.acquired, 1);
	KUNIT_EXPECT_TRUE(test, test_held(&tvm->resv, &ctx));
	KUNIT_EXPECT_FALSE(test, ww_mutex_is_locked(&other->resv.lock));
	for (i = 0; i < ARRAY_SIZE(bufs); i++)
		KUNIT_EXPECT_FALSE(test, ww_mutex_is_locked(&bufs[i]->lock));
	dma_resv_read_unlock(bufs[0], &tvm->base);
	KUNIT_EXPECT_FALSE(test, ww_mutex_is_locked(&tvm->resv.lock));
	ww_acquire_fini(&ctx);

	for (i = 0; i < ARRAY_SIZE(bufs); i++) {
		KUNIT_EXPECT_EQ(test, test_unbind(bufs[i], tvm), 0);
		KUNIT_EXPECT_EQ(test, test_unbind(bufs[i], other), 0);
		dma_resv_fini(bufs[i]);
	}
	dma_resv_vm_put(&tvm->base);
	dma_resv_vm_put(&other->base);
}

static void test_write_lock_all_vms(struct kunit *test)
{
	struct dma_resv *obj = test_buf_create(test);
	struct test_vm *tvm[3], *unbound = test_vm_create(test);
	struct ww_acquire_ctx ctx;
	int i;

	for (i = 0; i < ARRAY_SIZE(tvm); i++) {
		tvm[i] = test_vm_create(test);
		KUNIT_ASSERT_EQ(test, test_bind(obj, tvm[i]), 0);
	}

	ww_acquire_init(&ctx, &reservation_ww_class);
	KUNIT_EXPECT_EQ(test, dma_resv_write_lock(obj, &ctx), 0);
	KUNIT_EXPECT_TRUE(test, test_held(obj, &ctx));
	for (i = 0; i < ARRAY_SIZE(tvm); i++) {
		KUNIT_EXPECT_TRUE(test, test_held(&tvm[i]->resv, &ctx));
		/* Each locked VM is kept alive while it is locked. */
		KUNIT_EXPECT_EQ(test, kref_read(&tvm[i]->base.refcount), 2);
	}
	KUNIT_EXPECT_FALSE(test, ww_mutex_is_locked(&unbound->resv.lock));
	KUNIT_EXPECT_EQ(test, ctx.acquired, 1 + ARRAY_SIZE(tvm));
	/* Held already, VMs included. */
	KUNIT_EXPECT_EQ(test, dma_resv_write_lock(obj, &ctx), -EALREADY);
	KUNIT_EXPECT_EQ(test, ctx.acquired, 1 + ARRAY_SIZE(tvm));
	dma_resv_write_unlock(obj);

	KUNIT_EXPECT_EQ(test, ctx.acquired, 0);
	KUNIT_EXPECT_FALSE(test, ww_mutex_is_locked(&obj->lock));
	for (i = 0; i < ARRAY_SIZE(tvm); i++) {
		KUNIT_EXPECT_FALSE(test, ww_mutex_is_locked(&tvm[i]->resv.lock));
		KUNIT_EXPECT_EQ(test, kref_read(&tvm[i]->base.refcount), 1);
	}
	ww_acquire_fini(&ctx);

	/* Unbinding under the write lock drops that VM's lock. */
	ww_acquire_init(&ctx, &reservation_ww_class);
	KUNIT_EXPECT_EQ(test, dma_resv_write_lock(obj, &ctx), 0);
	KUNIT_EXPECT_EQ(test, dma_resv_unbind_vm(obj, &tvm[1]->base), 0);
	KUNIT_EXPECT_FALSE(test, ww_mutex_is_locked(&tvm[1]->resv.lock));
	KUNIT_EXPECT_EQ(test, kref_read(&tvm[1]->base.refcount), 1);
	dma_resv_write_unlock(obj);
	KUNIT_EXPECT_EQ(test, ctx.acquired, 0);
	ww_acquire_fini(&ctx);

	for (i = 0; i < ARRAY_SIZE(tvm); i++) {
		if (i != 1)
			KUNIT_EXPECT_EQ(test, test_unbind(obj, tvm[i]), 0);
		dma_resv_vm_put(&tvm[i]->base);
	}
	dma_resv_vm_put(&unbound->base);
	dma_resv_fini(obj);
}

/*
 * A VM the caller already holds (its own read lock) is left alone: unlocking
 * the write lock keeps it held.
 */
static void test_write_lock_caller_vm(struct kunit *test)
{
	struct dma_resv *obj = test_buf_create(test);
	struct test_vm *mine = test_vm_create(test), *other = test_vm_create(test);
	struct test_txn t = { .objs = { &mine->resv, obj },
			      .write = { false, true }, .n = 2 };
	struct ww_acquire_ctx ctx;

	KUNIT_ASSERT_EQ(test, test_bind(obj, mine), 0);
	KUNIT_ASSERT_EQ(test, test_bind(obj, other), 0);

	ww_acquire_init(&ctx, &reservation_ww_class);
	KUNIT_ASSERT_EQ(test, test_txn_lock(&t, &ctx), 0);
	KUNIT_EXPECT_TRUE(test, test_held(obj, &ctx));
	KUNIT_EXPECT_TRUE(test, test_held(&other->resv, &ctx));
	KUNIT_EXPECT_EQ(test, ctx.acquired, 3);
	KUNIT_EXPECT_EQ(test, mine->base.write_count, 0);
	KUNIT_EXPECT_EQ(test, other->base.write_count, 1);
	dma_resv_write_unlock(obj);
	KUNIT_EXPECT_TRUE(test, test_held(&mine->resv, &ctx));
	KUNIT_EXPECT_FALSE(test, ww_mutex_is_locked(&other->resv.lock));
	dma_resv_read_unlock(obj, &mine->base);
	ww_acquire_fini(&ctx);

	test_teardown(test, obj, (struct test_vm *[]){ mine, other }, 2);
}

/*
 * The write locks of two buffers sharing a VM in one acquire context: the
 * shared VM stays locked until both are unlocked, in either order, and so
 * does it when one of them unbinds it.
 */
static void test_write_lock_shared_vms(struct kunit *test)
{
	struct dma_resv *a = test_buf_create(test), *b = test_buf_create(test);
	struct test_vm *x = test_vm_create(test), *y = test_vm_create(test);
	struct test_vm *z = test_vm_create(test);
	struct ww_acquire_ctx ctx;
	int first;

	/* a: x, y; b: y, z */
	KUNIT_ASSERT_EQ(test, test_bind(a, x), 0);
	KUNIT_ASSERT_EQ(test, test_bind(a, y), 0);
	KUNIT_ASSERT_EQ(test, test_bind(b, y), 0);
	KUNIT_ASSERT_EQ(test, test_bind(b, z), 0);

	for (first = 0; first < 3; first++) {
		struct test_txn t = { .objs = { a, b }, .write = { true, true },
				      .n = 2 };
		struct dma_resv *early = first == 1 ? b : a;
		struct dma_resv *late = first == 1 ? a : b;
		struct test_vm *gone = first == 1 ? z : x;
		struct test_vm *kept = first == 1 ? x : z;

		ww_acquire_init(&ctx, &reservation_ww_class);
		KUNIT_ASSERT_EQ(test, test_txn_lock(&t, &ctx), 0);
		KUNIT_EXPECT_EQ(test, ctx.acquired, 5);
		KUNIT_EXPECT_EQ(test, y->base.write_count, 2);
		KUNIT_EXPECT_EQ(test, kref_read(&y->base.refcount), 3);

		if (first == 2) {
			/* a lets go of y by unbinding it; b still needs y. */
			KUNIT_EXPECT_EQ(test, dma_resv_unbind_vm(a, &y->base), 0);
			KUNIT_EXPECT_TRUE(test, test_held(&y->resv, &ctx));
			KUNIT_EXPECT_EQ(test, y->base.write_count, 1);
			KUNIT_EXPECT_EQ(test, kref_read(&y->base.refcount), 2);
		}

		dma_resv_write_unlock(early);
		KUNIT_EXPECT_FALSE(test, ww_mutex_is_locked(&early->lock));
		KUNIT_EXPECT_FALSE(test, ww_mutex_is_locked(&gone->resv.lock));
		/* Readers of y stay out: the other buffer is still locked. */
		KUNIT_EXPECT_TRUE(test, test_held(&y->resv, &ctx));
		KUNIT_EXPECT_EQ(test, y->base.write_count, 1);
		KUNIT_EXPECT_TRUE(test, test_held(&kept->resv, &ctx));
		KUNIT_EXPECT_EQ(test, ctx.acquired, 3);

		dma_resv_write_unlock(late);
		KUNIT_EXPECT_EQ(test, ctx.acquired, 0);
		KUNIT_EXPECT_FALSE(test, ww_mutex_is_locked(&y->resv.lock));
		KUNIT_EXPECT_EQ(test, y->base.write_count, 0);
		KUNIT_EXPECT_EQ(test, kref_read(&x->base.refcount), 1);
		KUNIT_EXPECT_EQ(test, kref_read(&y->base.refcount), 1);
		KUNIT_EXPECT_EQ(test, kref_read(&z->base.refcount), 1);
		ww_acquire_fini(&ctx);
	}

	KUNIT_EXPECT_EQ(test, test_unbind(a, x), 0);
	KUNIT_EXPECT_EQ(test, test_unbind(b, y), 0);
	KUNIT_EXPECT_EQ(test, test_unbind(b, z), 0);
	dma_resv_vm_put(&x->base);
	dma_resv_vm_put(&y->base);
	dma_resv_vm_put(&z->base);
	dma_resv_fini(a);
	dma_resv_fini(b);
}

/*
 * A thread taking a read or write lock, holding it until released. It
 * completes @ready, @trying, @locked and @done for all waiters: a test may
 * wait for them more than once. The lockers of a case are on a list in
 * test->priv and are released together when the case ends, also after a
 * failed assertion.
 */
struct test_locker {
	struct kunit *test;
	struct list_head link;		/* in the list of test->priv */
	struct task_struct *task;	/* referenced */
	struct dma_resv *obj;
	struct dma_resv_vm *vm;		/* NULL: write lock */
	/* dma_resv_write_lock_interruptible(), SIGUSR1 interrupts it */
	bool intr;
	/* once its acquire context exists, waits for @go (bounded) */
	bool gated;
	struct completion ready;	/* the acquire context exists */
	struct completion go;
	struct completion trying;	/* about to take the lock */
	struct completion locked;	/* took the lock, or failed to */
	struct completion release;
	struct completion done;
	int ret;			/* of the write lock */
	unsigned int acquired;		/* locks of the context after locking */
	bool held_all;
};

static int test_locker_fn(void *arg)
{
	struct test_locker *l = arg;
	struct ww_acquire_ctx ctx;

	if (l->intr)
		allow_signal(SIGUSR1);
	ww_acquire_init(&ctx, &reservation_ww_class);
	complete_all(&l->ready);
	if (l->gated)
		wait_for_completion_timeout(&l->go, TEST_TIMEOUT);
	complete_all(&l->trying);
	if (l->vm) {
		test_read_lock(l->obj, l->vm, &ctx);
		l->held_all = test_held(l->vm->resv, &ctx);
	} else {
		l->ret = l->intr ?
			 dma_resv_write_lock_interruptible(l->obj, &ctx) :
			 dma_resv_write_lock(l->obj, &ctx);
		l->held_all = !l->ret && test_held(l->obj, &ctx);
	}
	l->acquired = ctx.acquired;
	complete_all(&l->locked);
	wait_for_completion(&l->release);
	if (l->vm)
		dma_resv_read_unlock(l->obj, l->vm);
	else if (!l->ret)
		dma_resv_write_unlock(l->obj);
	ww_acquire_fini(&ctx);
	complete_all(&l->done);
	return 0;
}

/*
 * KUnit action of each locker, run when its case ends. The first one to run
 * releases every locker of the case, so that a locker blocked behind another
 * one gets its lock and lets go of it. Each then waits for its own thread,
 * for a bound; a thread that does not end keeps its locker, leaked on
 * purpose, and the case fails.
 */
static void test_locker_cleanup(void *arg)
{
	struct test_locker *l = arg, *it;
	struct list_head *lockers = l->test->priv;

	list_for_each_entry(it, lockers, link) {
		complete_all(&it->go);
		complete(&it->release);
	}
	list_del(&l->link);
	if (!wait_for_completion_timeout(&l->done, TEST_TIMEOUT)) {
		KUNIT_FAIL(l->test, "a locker thread did not end");
		return;
	}
	/* past @done: returns once the thread has left this module's code */
	kthread_stop(l->task);
	put_task_struct(l->task);
	kfree(l);
}

/* Creates a locker; test_locker_run() starts it. */
static struct test_locker *test_locker_create(struct kunit *test,
					      struct dma_resv *obj,
					      struct dma_resv_vm *vm)
{
	struct test_locker *l;

	if (!test->priv) {
		struct list_head *lockers = kunit_kzalloc(test,
							  sizeof(*lockers),
							  GFP_KERNEL);

		KUNIT_ASSERT_NOT_NULL(test, lockers);
		INIT_LIST_HEAD(lockers);
		test->priv = lockers;
	}

	l = kzalloc(sizeof(*l), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, l);
	l->test = test;
	l->obj = obj;
	l->vm = vm;
	init_completion(&l->ready);
	init_completion(&l->go);
	init_completion(&l->trying);
	init_completion(&l->locked);
	init_completion(&l->release);
	init_completion(&l->done);
	return l;
}

static void test_locker_run(struct kunit *test, struct test_locker *l)
{
	struct task_struct *t;

	t = kthread_create(test_locker_fn, l, "dma-resv-vm-locker");
	if (IS_ERR(t)) {
		kfree(l);
		KUNIT_FAIL_AND_ABORT(test, "kthread_create: %pe", t);
	}
	l->task = get_task_struct(t);
	list_add_tail(&l->link, test->priv);
	wake_up_process(t);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test,
							test_locker_cleanup, l),
			0);
}

static struct test_locker *test_locker_start(struct kunit *test,
					     struct dma_resv *obj,
					     struct dma_resv_vm *vm)
{
	struct test_locker *l = test_locker_create(test, obj, vm);

	test_locker_run(test, l);
	return l;
}

static void test_locker_stop(struct kunit *test, struct test_locker *l)
{
	complete(&l->release);
	KUNIT_ASSERT_TRUE(test, wait_for_completion_timeout(&l->done,
							    TEST_TIMEOUT));
}

/*
 * A writer excludes the readers of its buffer in every bound VM, and not the
 * readers of another buffer.
 */
static void test_writer_excludes_readers(struct kunit *test)
{
	struct dma_resv *buf = test_buf_create(test), *other = test_buf_create(test);
	struct test_vm *a = test_vm_create(test), *b = test_vm_create(test);
	struct test_vm *c = test_vm_create(test);
	struct test_locker *w, *ra, *rb, *rc;

	KUNIT_ASSERT_EQ(test, test_bind(buf, a), 0);
	KUNIT_ASSERT_EQ(test, test_bind(buf, b), 0);
	KUNIT_ASSERT_EQ(test, test_bind(other, c), 0);

	w = test_locker_start(test, buf, NULL);
	KUNIT_ASSERT_TRUE(test, wait_for_completion_timeout(&w->locked,
							    TEST_TIMEOUT));
	KUNIT_EXPECT_TRUE(test, w->held_all);

	ra = test_locker_start(test, buf, &a->base);
	rb = test_locker_start(test, buf, &b->base);
	rc = test_locker_start(test, other, &c->base);

	/* The reader of the other buffer is not held up. */
	KUNIT_EXPECT_TRUE(test, wait_for_completion_timeout(&rc->locked,
							    TEST_TIMEOUT));
	/*
	 * Negative check: the readers of buf, once about to lock, stay
	 * blocked, for a bound
	 */
	KUNIT_ASSERT_TRUE(test, wait_for_completion_timeout(&ra->trying,
							    TEST_TIMEOUT));
	KUNIT_ASSERT_TRUE(test, wait_for_completion_timeout(&rb->trying,
							    TEST_TIMEOUT));
	KUNIT_EXPECT_FALSE(test, wait_for_completion_timeout(&ra->locked,
							     BLOCK_CHECK));
	KUNIT_EXPECT_FALSE(test, completion_done(&ra->locked));
	KUNIT_EXPECT_FALSE(test, completion_done(&rb->locked));

	test_locker_stop(test, w);
	KUNIT_EXPECT_TRUE(test, wait_for_completion_timeout(&ra->locked,
							    TEST_TIMEOUT));
	KUNIT_EXPECT_TRUE(test, wait_for_completion_timeout(&rb->locked,
							    TEST_TIMEOUT));
	KUNIT_EXPECT_TRUE(test, ra->held_all && rb->held_all && rc->held_all);
	test_locker_stop(test, ra);
	test_locker_stop(test, rb);
	test_locker_stop(test, rc);

	KUNIT_EXPECT_EQ(test, test_unbind(buf, a), 0);
	KUNIT_EXPECT_EQ(test, test_unbind(buf, b), 0);
	KUNIT_EXPECT_EQ(test, test_unbind(other, c), 0);
	dma_resv_vm_put(&a->base);
	dma_resv_vm_put(&b->base);
	dma_resv_vm_put(&c->base);
	dma_resv_fini(buf);
	dma_resv_fini(other);
}

/* A reader in any bound VM holds off the writer. */
static void test_reader_blocks_writer(struct kunit *test)
{
	struct dma_resv *buf = test_buf_create(test);
	struct test_vm *a = test_vm_create(test), *b = test_vm_create(test);
	struct test_locker *w, *rb;

	KUNIT_ASSERT_EQ(test, test_bind(buf, a), 0);
	KUNIT_ASSERT_EQ(test, test_bind(buf, b), 0);

	rb = test_locker_start(test, buf, &b->base);
	KUNIT_ASSERT_TRUE(test, wait_for_completion_timeout(&rb->locked,
							    TEST_TIMEOUT));
	w = test_locker_start(test, buf, NULL);
	/*
	 * Negative check: the writer, once about to lock, stays blocked, for a
	 * bound
	 */
	KUNIT_ASSERT_TRUE(test, wait_for_completion_timeout(&w->trying,
							    TEST_TIMEOUT));
	KUNIT_EXPECT_FALSE(test, wait_for_completion_timeout(&w->locked,
							     BLOCK_CHECK));
	KUNIT_EXPECT_FALSE(test, completion_done(&w->locked));
	test_locker_stop(test, rb);
	KUNIT_EXPECT_TRUE(test, wait_for_completion_timeout(&w->locked,
							    TEST_TIMEOUT));
	KUNIT_EXPECT_TRUE(test, w->held_all);
	test_locker_stop(test, w);

	test_teardown(test, buf, (struct test_vm *[]){ a, b }, 2);
}

/*
 * The write trylock takes the buffer and every bound VM or nothing, and
 * never waits: a reader holding one of the VMs makes it fail with nothing
 * of it left. In an acquire context, two buffers share a VM as with the
 * write lock.
 */
static void test_write_trylock(struct kunit *test)
{
	struct dma_resv *buf = test_buf_create(test);
	struct dma_resv *other = test_buf_create(test);
	struct test_vm *a = test_vm_create(test), *b = test_vm_create(test);
	struct ww_acquire_ctx ctx;
	struct test_locker *rb;

	KUNIT_ASSERT_EQ(test, test_bind(buf, a), 0);
	KUNIT_ASSERT_EQ(test, test_bind(buf, b), 0);
	KUNIT_ASSERT_EQ(test, test_bind(other, b), 0);

	/* Nothing held: all taken, without an acquire context too. */
	KUNIT_EXPECT_EQ(test, dma_resv_write_trylock(buf, NULL), 0);
	KUNIT_EXPECT_TRUE(test, ww_mutex_is_locked(&buf->lock));
	KUNIT_EXPECT_TRUE(test, ww_mutex_is_locked(&a->resv.lock));
	KUNIT_EXPECT_TRUE(test, ww_mutex_is_locked(&b->resv.lock));
	KUNIT_EXPECT_EQ(test, a->base.write_count, 1);
	/* Without a context, b is busy for a buffer sharing it. */
	KUNIT_EXPECT_EQ(test, dma_resv_write_trylock(other, NULL), -EBUSY);
	KUNIT_EXPECT_FALSE(test, ww_mutex_is_locked(&other->lock));
	KUNIT_EXPECT_EQ(test, b->base.write_count, 1);
	/* Complete already: takes nothing, one write lock to release. */
	KUNIT_EXPECT_EQ(test, dma_resv_write_trylock_vms(buf, NULL), 0);
	KUNIT_EXPECT_EQ(test, a->base.write_count, 1);
	dma_resv_write_unlock(buf);
	KUNIT_EXPECT_FALSE(test, ww_mutex_is_locked(&buf->lock));
	KUNIT_EXPECT_FALSE(test, ww_mutex_is_locked(&a->resv.lock));
	KUNIT_EXPECT_FALSE(test, ww_mutex_is_locked(&b->resv.lock));

	/* A reader in VM b: nothing taken, a let go of again. */
	rb = test_locker_start(test, buf, &b->base);
	KUNIT_ASSERT_TRUE(test, wait_for_completion_timeout(&rb->locked,
							    TEST_TIMEOUT));
	KUNIT_EXPECT_EQ(test, dma_resv_write_trylock(buf, NULL), -EBUSY);
	KUNIT_EXPECT_FALSE(test, ww_mutex_is_locked(&buf->lock));
	KUNIT_EXPECT_FALSE(test, ww_mutex_is_locked(&a->resv.lock));
	KUNIT_EXPECT_EQ(test, a->base.write_count, 0);
	KUNIT_EXPECT_EQ(test, kref_read(&a->base.refcount), 1);
	/* The buffer locked already: its VMs alone, all or nothing. */
	dma_resv_lock(buf, NULL);
	KUNIT_EXPECT_EQ(test, dma_resv_write_trylock_vms(buf, NULL), -EBUSY);
	KUNIT_EXPECT_TRUE(test, ww_mutex_is_locked(&buf->lock));
	KUNIT_EXPECT_FALSE(test, ww_mutex_is_locked(&a->resv.lock));
	dma_resv_unlock(buf);
	test_locker_stop(test, rb);
	KUNIT_EXPECT_TRUE(test, rb->held_all);

	/* Two buffers sharing b in one context, which holds the locks. */
	ww_acquire_init(&ctx, &reservation_ww_class);
	KUNIT_EXPECT_EQ(test, dma_resv_write_trylock(buf, &ctx), 0);
	KUNIT_EXPECT_EQ(test, dma_resv_write_trylock(other, &ctx), 0);
	KUNIT_EXPECT_EQ(test, b->base.write_count, 2);
	KUNIT_EXPECT_EQ(test, ctx.acquired, 4);
	KUNIT_EXPECT_TRUE(test, test_held(&b->resv, &ctx));
	/* Held by the context already: -EALREADY, and nothing changes. */
	KUNIT_EXPECT_EQ(test, dma_resv_write_trylock(buf, &ctx), -EALREADY);
	KUNIT_EXPECT_EQ(test, ctx.acquired, 4);
	dma_resv_write_unlock(buf);
	/* b stays held for other's write lock. */
	KUNIT_EXPECT_TRUE(test, test_held(&b->resv, &ctx));
	KUNIT_EXPECT_FALSE(test, ww_mutex_is_locked(&a->resv.lock));
	dma_resv_write_unlock(other);
	KUNIT_EXPECT_EQ(test, ctx.acquired, 0);
	ww_acquire_fini(&ctx);

	KUNIT_EXPECT_EQ(test, test_unbind(buf, a), 0);
	KUNIT_EXPECT_EQ(test, test_unbind(buf, b), 0);
	KUNIT_EXPECT_EQ(test, test_unbind(other, b), 0);
	dma_resv_vm_put(&a->base);
	dma_resv_vm_put(&b->base);
	dma_resv_fini(other);
	dma_resv_fini(buf);
}

static const char *test_fence_name(struct dma_fence *f)
{
	return "dma-resv-vm-test";
}

static const struct dma_fence_ops test_fence_ops = {
	.get_driver_name = test_fence_name,
	.get_timeline_name = test_fence_name,
};

/* Not test managed: the last dma_fence_put() frees it. */
static struct dma_fence *test_fence_create(struct kunit *test)
{
	struct dma_fence *f = kzalloc_obj(*f);

	KUNIT_ASSERT_NOT_NULL(test, f);
	dma_fence_init(f, &test_fence_ops, NULL, dma_fence_context_alloc(1), 1);
	return f;
}

/*
 * Polls, for up to @timeout, until signaling is enabled on at least @want of
 * the @n fences of @f; returns on how many it is.
 */
static unsigned int test_wait_enabled(struct dma_fence **f, unsigned int n,
				      unsigned int want, unsigned long timeout)
{
	unsigned long end = jiffies + timeout;
	unsigned int i, count;

	for (;;) {
		count = 0;
		for (i = 0; i < n; i++)
			count += test_bit(DMA_FENCE_FLAG_ENABLE_SIGNAL_BIT,
					  &f[i]->flags);
		if (count >= want || time_after(jiffies, end))
			return count;
		/* polled: nothing wakes up when signaling is enabled */
		usleep_range(100, 200);
	}
}

static void test_add_fence(struct kunit *test, struct dma_resv *resv,
			   struct dma_fence *fence, enum dma_resv_usage usage)
{
	KUNIT_ASSERT_EQ(test, dma_resv_lock(resv, NULL), 0);
	KUNIT_ASSERT_EQ(test, dma_resv_reserve_fences(resv, 1), 0);
	dma_resv_add_fence(resv, fence, usage);
	dma_resv_unlock(resv);
}

/*
 * Fences added under the read lock go to the VM only; the buffer's own
 * unlocked queries report them, after the buffer's fences and at the usage
 * asked for, until the VM is unbound.
 */
static void test_fence_visibility(struct kunit *test)
{
	struct dma_resv *buf = test_buf_create(test);
	struct dma_resv *copy = test_buf_create(test);
	struct test_vm *a = test_vm_create(test), *b = test_vm_create(test);
	struct dma_fence *fa = test_fence_create(test);
	struct dma_fence *fb = test_fence_create(test);
	struct dma_fence *own = test_fence_create(test);
	struct dma_fence **fences, *single;
	struct ww_acquire_ctx ctx;
	struct dma_resv_iter cursor;
	struct dma_fence *fence;
	unsigned int num, i;

	KUNIT_ASSERT_EQ(test, test_bind(buf, a), 0);
	KUNIT_ASSERT_EQ(test, test_bind(buf, b), 0);
	test_add_fence(test, buf, own, DMA_RESV_USAGE_KERNEL);

	/* Submissions in VMs a and b. */
	ww_acquire_init(&ctx, &reservation_ww_class);
	test_read_lock(buf, &a->base, &ctx);
	KUNIT_ASSERT_EQ(test, dma_resv_reserve_fences(&a->resv, 1), 0);
	dma_resv_add_fence(&a->resv, fa, DMA_RESV_USAGE_WRITE);
	dma_resv_read_unlock(buf, &a->base);
	ww_acquire_fini(&ctx);

	ww_acquire_init(&ctx, &reservation_ww_class);
	test_read_lock(buf, &b->base, &ctx);
	KUNIT_ASSERT_EQ(test, dma_resv_reserve_fences(&b->resv, 1), 0);
	dma_resv_add_fence(&b->resv, fb, DMA_RESV_USAGE_BOOKKEEP);
	dma_resv_read_unlock(buf, &b->base);
	ww_acquire_fini(&ctx);

	dma_fence_signal(own);
	KUNIT_EXPECT_FALSE(test, dma_resv_test_signaled(buf,
							DMA_RESV_USAGE_WRITE));
	KUNIT_EXPECT_FALSE(test, dma_resv_test_signaled(buf,
							DMA_RESV_USAGE_PREEMPT));
	KUNIT_EXPECT_EQ(test, dma_resv_wait_timeout(buf, DMA_RESV_USAGE_PREEMPT,
						    false, 0), 0);

	/* The locked iterator only sees the buffer's own fences. */
	num = 0;
	dma_resv_lock(buf, NULL);
	dma_resv_for_each_fence(&cursor, buf, DMA_RESV_USAGE_PREEMPT, fence)
		num++;
	dma_resv_unlock(buf);
	KUNIT_EXPECT_EQ(test, num, 1);

	/* The unlocked one: the buffer's, then the VMs' in binding order. */
	dma_resv_iter_begin(&cursor, buf, DMA_RESV_USAGE_PREEMPT);
	fence = dma_resv_iter_first_unlocked(&cursor);
	KUNIT_EXPECT_PTR_EQ(test, fence, fa);
	KUNIT_EXPECT_EQ(test, dma_resv_iter_usage(&cursor),
			DMA_RESV_USAGE_WRITE);
	fence = dma_resv_iter_next_unlocked(&cursor);
	KUNIT_EXPECT_PTR_EQ(test, fence, fb);
	KUNIT_EXPECT_EQ(test, dma_resv_iter_usage(&cursor),
			DMA_RESV_USAGE_BOOKKEEP);
	KUNIT_EXPECT_NULL(test, dma_resv_iter_next_unlocked(&cursor));
	dma_resv_iter_end(&cursor);

	/* An array that grows past the buffer's own fences. */
	KUNIT_ASSERT_EQ(test, dma_resv_get_fences(buf, DMA_RESV_USAGE_PREEMPT,
						  &num, &fences), 0);
	KUNIT_EXPECT_EQ(test, num, 2);
	if (num == 2) {
		KUNIT_EXPECT_PTR_EQ(test, fences[0], fa);
		KUNIT_EXPECT_PTR_EQ(test, fences[1], fb);
	}
	for (i = 0; i < num; i++)
		dma_fence_put(fences[i]);
	kfree(fences);
	KUNIT_ASSERT_EQ(test, dma_resv_get_fences(buf, DMA_RESV_USAGE_READ,
						  &num, &fences), 0);
	KUNIT_EXPECT_EQ(test, num, 1);
	if (num)
		KUNIT_EXPECT_PTR_EQ(test, fences[0], fa);
	for (i = 0; i < num; i++)
		dma_fence_put(fences[i]);
	kfree(fences);

	/* What implicit sync and sync file export use. */
	KUNIT_ASSERT_EQ(test, dma_resv_get_singleton(buf, DMA_RESV_USAGE_READ,
						     &single), 0);
	KUNIT_EXPECT_PTR_EQ(test, single, fa);
	dma_fence_put(single);

	/* What TTM uses to give a released BO its own fences. */
	dma_resv_lock(copy, NULL);
	KUNIT_EXPECT_EQ(test, dma_resv_copy_fences(copy, buf), 0);
	dma_resv_unlock(copy);
	KUNIT_EXPECT_FALSE(test, dma_resv_test_signaled(copy,
							DMA_RESV_USAGE_WRITE));
	KUNIT_EXPECT_FALSE(test, dma_resv_test_signaled(copy,
							DMA_RESV_USAGE_BOOKKEEP));
	/* The VMs' fences are copied, the VMs are not bound to the copy. */
	KUNIT_EXPECT_NULL(test, rcu_access_pointer(copy->vms));

	dma_fence_signal(fa);
	/* Usage filters apply: only the BOOKKEEP fence is left. */
	KUNIT_EXPECT_TRUE(test, dma_resv_test_signaled(buf,
						       DMA_RESV_USAGE_READ));
	KUNIT_EXPECT_FALSE(test, dma_resv_test_signaled(buf,
							DMA_RESV_USAGE_PREEMPT));

	/* Once unbound, VM b's work is no longer the buffer's. */
	KUNIT_EXPECT_EQ(test, test_unbind(buf, b), 0);
	KUNIT_EXPECT_TRUE(test, dma_resv_test_signaled(buf,
						       DMA_RESV_USAGE_PREEMPT));
	KUNIT_EXPECT_GT(test, dma_resv_wait_timeout(buf, DMA_RESV_USAGE_PREEMPT,
						    false, HZ), 0);
	KUNIT_EXPECT_FALSE(test, dma_resv_test_signaled(copy,
							DMA_RESV_USAGE_BOOKKEEP));
	dma_fence_signal(fb);
	KUNIT_EXPECT_TRUE(test, dma_resv_test_signaled(copy,
						       DMA_RESV_USAGE_PREEMPT));

	dma_fence_put(fa);
	dma_fence_put(fb);
	dma_fence_put(own);
	KUNIT_EXPECT_EQ(test, test_unbind(buf, a), 0);
	dma_resv_vm_put(&a->base);
	dma_resv_vm_put(&b->base);
	dma_resv_fini(copy);
	dma_resv_fini(buf);
}

/*
 * A VM unbound while an unlocked iteration is on its fences restarts the
 * iteration, which does not return its fences again.
 */
static void test_iter_unbind_restart(struct kunit *test)
{
	struct dma_resv *buf = test_buf_create(test);
	struct test_vm *a = test_vm_create(test), *b = test_vm_create(test);
	struct dma_fence *fa = test_fence_create(test);
	struct dma_fence *fb = test_fence_create(test);
	struct dma_resv_iter cursor;
	struct dma_fence *fence;

	KUNIT_ASSERT_EQ(test, test_bind(buf, a), 0);
	KUNIT_ASSERT_EQ(test, test_bind(buf, b), 0);
	test_add_fence(test, &a->resv, fa, DMA_RESV_USAGE_READ);
	test_add_fence(test, &b->resv, fb, DMA_RESV_USAGE_READ);

	dma_resv_iter_begin(&cursor, buf, DMA_RESV_USAGE_READ);
	fence = dma_resv_iter_first_unlocked(&cursor);
	KUNIT_EXPECT_PTR_EQ(test, fence, fa);
	KUNIT_EXPECT_TRUE(test, dma_resv_iter_is_restarted(&cursor));

	/* a goes while the cursor is on its fences. */
	KUNIT_EXPECT_EQ(test, test_unbind(buf, a), 0);
	dma_resv_vm_put(&a->base);

	fence = dma_resv_iter_next_unlocked(&cursor);
	KUNIT_EXPECT_PTR_EQ(test, fence, fb);
	KUNIT_EXPECT_TRUE(test, dma_resv_iter_is_restarted(&cursor));
	KUNIT_EXPECT_NULL(test, dma_resv_iter_next_unlocked(&cursor));
	dma_resv_iter_end(&cursor);

	dma_fence_signal(fa);
	dma_fence_signal(fb);
	dma_fence_put(fa);
	dma_fence_put(fb);
	test_teardown(test, buf, (struct test_vm *[]){ b }, 1);
}

/*
 * The driver unbinding a VM the walk has not reached yet first makes the
 * buffer cover the VM's use of it (e.g. with its unmap fence), in fences
 * the walk has passed already: the unbind restarts the walk, which then
 * returns that fence instead of missing both.
 */
static void test_iter_unbind_ahead(struct kunit *test)
{
	struct dma_resv *buf = test_buf_create(test);
	struct test_vm *a = test_vm_create(test), *b = test_vm_create(test);
	struct dma_fence *fa = test_fence_create(test);
	struct dma_fence *fb = test_fence_create(test);
	struct dma_fence *unmap = test_fence_create(test);
	struct dma_resv_iter cursor;
	struct dma_fence *fence;

	KUNIT_ASSERT_EQ(test, test_bind(buf, a), 0);
	KUNIT_ASSERT_EQ(test, test_bind(buf, b), 0);
	test_add_fence(test, &a->resv, fa, DMA_RESV_USAGE_READ);
	test_add_fence(test, &b->resv, fb, DMA_RESV_USAGE_READ);

	dma_resv_iter_begin(&cursor, buf, DMA_RESV_USAGE_READ);
	fence = dma_resv_iter_first_unlocked(&cursor);
	KUNIT_EXPECT_PTR_EQ(test, fence, fa);

	/* b's use of the buffer is covered by the unmap, then b goes. */
	test_add_fence(test, buf, unmap, DMA_RESV_USAGE_READ);
	KUNIT_EXPECT_EQ(test, test_unbind(buf, b), 0);
	dma_resv_vm_put(&b->base);

	fence = dma_resv_iter_next_unlocked(&cursor);
	KUNIT_EXPECT_PTR_EQ(test, fence, unmap);
	KUNIT_EXPECT_TRUE(test, dma_resv_iter_is_restarted(&cursor));
	fence = dma_resv_iter_next_unlocked(&cursor);
	KUNIT_EXPECT_PTR_EQ(test, fence, fa);
	KUNIT_EXPECT_NULL(test, dma_resv_iter_next_unlocked(&cursor));
	dma_resv_iter_end(&cursor);

	dma_fence_signal(fa);
	dma_fence_signal(fb);
	dma_fence_signal(unmap);
	dma_fence_put(fa);
	dma_fence_put(fb);
	dma_fence_put(unmap);
	test_teardown(test, buf, (struct test_vm *[]){ a }, 1);
}

/*
 * dma_resv_get_singleton() at PREEMPT of a buffer with VMs: the preemption
 * fences of the buffer and its VMs are only triggered once the fences of
 * other usages of all of them have signaled.
 */
static void test_singleton_preempt_order(struct kunit *test)
{
	struct dma_resv *buf = test_buf_create(test);
	struct test_vm *a = test_vm_create(test), *b = test_vm_create(test);
	struct dma_fence *ordinary = test_fence_create(test);
	struct dma_fence *preempt[2], *single;

	preempt[0] = test_fence_create(test);
	preempt[1] = test_fence_create(test);
	KUNIT_ASSERT_EQ(test, test_bind(buf, a), 0);
	KUNIT_ASSERT_EQ(test, test_bind(buf, b), 0);
	test_add_fence(test, buf, preempt[0], DMA_RESV_USAGE_PREEMPT);
	test_add_fence(test, &a->resv, ordinary, DMA_RESV_USAGE_BOOKKEEP);
	test_add_fence(test, &b->resv, preempt[1], DMA_RESV_USAGE_PREEMPT);

	KUNIT_ASSERT_EQ(test, dma_resv_get_singleton(buf,
						     DMA_RESV_USAGE_PREEMPT,
						     &single), 0);
	KUNIT_ASSERT_NOT_NULL(test, single);
	dma_fence_enable_signaling(single);
	KUNIT_EXPECT_EQ(test, test_wait_enabled(&ordinary, 1, 1, TEST_TIMEOUT),
			1);
	/* A negative check for a bound: nothing is preempted meanwhile. */
	KUNIT_EXPECT_EQ(test, test_wait_enabled(preempt, 2, 1, BLOCK_CHECK), 0);

	dma_fence_signal(ordinary);
	KUNIT_EXPECT_EQ(test, test_wait_enabled(preempt, 2, 2, TEST_TIMEOUT), 2);
	dma_fence_signal(preempt[0]);
	dma_fence_signal(preempt[1]);
	KUNIT_EXPECT_GT(test, dma_fence_wait_timeout(single, false,
						     TEST_TIMEOUT), 0);
	dma_fence_put(single);

	test_teardown(test, buf, (struct test_vm *[]){ a, b }, 2);
	dma_fence_put(ordinary);
	dma_fence_put(preempt[0]);
	dma_fence_put(preempt[1]);
}

#define RACE_VMS	6	/* more than the first binding array holds */

struct test_iter_race {
	struct dma_resv *buf;
	struct dma_fence *fences[RACE_VMS];
	atomic_t arrived;
	unsigned long end;
	unsigned int cycles;
	int err;
	struct completion done;
};

/* Creates VM @i of a race cycle, its reservation object holding fence @i. */
static struct test_vm *test_iter_race_vm(struct test_iter_race *r,
					 unsigned int i)
{
	struct test_vm *tvm = kzalloc_obj(*tvm);

	if (!tvm) {
		r->err = -ENOMEM;
		return NULL;
	}
	dma_resv_init(&tvm->resv);
	dma_resv_vm_init(&tvm->base, &tvm->resv, test_vm_release);

	dma_resv_lock(&tvm->resv, NULL);
	r->err = dma_resv_reserve_fences(&tvm->resv, 1);
	if (!r->err)
		dma_resv_add_fence(&tvm->resv, r->fences[i],
				   DMA_RESV_USAGE_READ);
	dma_resv_unlock(&tvm->resv);
	return tvm;
}

/*
 * Binds RACE_VMS new VMs to the buffer (the first cycle replaces the
 * binding array), unbinds them, in reverse order every other cycle, and
 * releases them, over and over.
 */
static int test_iter_race_binder(void *arg)
{
	struct test_iter_race *r = arg;
	struct test_vm *vms[RACE_VMS];
	unsigned int i, n, k;

	if (!test_start_barrier(&r->arrived, 2, &r->end, HZ / 2))
		goto out;

	while (!r->err && time_before(jiffies, r->end)) {
		for (n = 0; n < RACE_VMS && !r->err; n++) {
			vms[n] = test_iter_race_vm(r, n);
			if (!vms[n])
				break;
			dma_resv_lock(r->buf, NULL);
			if (!r->err)
				r->err = dma_resv_bind_vm(r->buf, &vms[n]->base);
			dma_resv_unlock(r->buf);
			if (r->err) {
				dma_resv_vm_put(&vms[n]->base);
				break;
			}
		}
		/* bound for a while, for the reader to find them */
		usleep_range(10, 20);
		for (i = 0; i < n; i++) {
			k = r->cycles % 2 ? n - 1 - i : i;
			dma_resv_lock(r->buf, NULL);
			if (dma_resv_unbind_vm(r->buf, &vms[k]->base))
				r->err = -ENOENT;
			dma_resv_unlock(r->buf);
			dma_resv_vm_put(&vms[k]->base);
		}
		r->cycles++;
		cond_resched();
	}
out:
	complete_all(&r->done);
	return 0;
}

/*
 * Unlocked queries of a buffer racing VMs being bound, unbound and freed:
 * they see the VMs' fences, every fence they return is one the VMs hold,
 * and KASAN, and KCSAN on the SMP kernel, see no access to a freed VM or
 * binding array (the VMs are freed as soon as dma_resv_vm_fini() returns).
 */
static void test_iter_race_unbind(struct kunit *test)
{
	int (*fns[])(void *) = { test_iter_race_binder };
	struct test_iter_race *r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);
	unsigned int reads = 0, seen = 0, bad = 0, num, i, j;
	struct dma_fence **fences;
	void *data[1];
	bool found;

	KUNIT_ASSERT_NOT_NULL(test, r);
	r->buf = test_buf_create(test);
	for (i = 0; i < RACE_VMS; i++)
		r->fences[i] = test_fence_create(test);
	init_completion(&r->done);
	data[0] = r;
	test_run_threads(test, 1, fns, data, "dma-resv-vm-binder");

	if (test_start_barrier(&r->arrived, 2, &r->end, HZ / 2)) {
		while (time_before(jiffies, READ_ONCE(r->end))) {
			if (dma_resv_get_fences(r->buf, DMA_RESV_USAGE_PREEMPT,
						&num, &fences))
				break;
			reads++;
			seen += num;
			for (i = 0; i < num; i++) {
				found = false;
				for (j = 0; j < RACE_VMS; j++)
					found |= fences[i] == r->fences[j];
				bad += !found;
				dma_fence_put(fences[i]);
			}
			kfree(fences);
			cond_resched();
		}
	}
	/* the binder ends at r->end as well */
	KUNIT_ASSERT_TRUE(test, wait_for_completion_timeout(&r->done,
							    TEST_TIMEOUT));
	kunit_info(test, "%u reads, %u fences seen, %u bind cycles\n", reads,
		   seen, r->cycles);
	KUNIT_EXPECT_GT(test, reads, 0);
	KUNIT_EXPECT_GT(test, seen, 0);
	KUNIT_EXPECT_EQ(test, bad, 0);
	KUNIT_EXPECT_EQ(test, r->err, 0);
	KUNIT_EXPECT_GT(test, r->cycles, 0);
	dma_resv_fini(r->buf);
	for (i = 0; i < RACE_VMS; i++) {
		dma_fence_signal(r->fences[i]);
		dma_fence_put(r->fences[i]);
	}
}

struct test_vms_waiter {
	struct dma_resv *buf;
	long ret;
	struct completion done;
};

/* dma_resv_wait_timeout() at PREEMPT, under the write lock */
static int test_vms_waiter_fn(void *arg)
{
	struct test_vms_waiter *w = arg;
	struct ww_acquire_ctx ctx;

	ww_acquire_init(&ctx, &reservation_ww_class);
	w->ret = -EBUSY;
	if (!dma_resv_write_lock(w->buf, &ctx)) {
		w->ret = dma_resv_wait_timeout(w->buf, DMA_RESV_USAGE_PREEMPT,
					       false, TEST_TIMEOUT);
		dma_resv_write_unlock(w->buf);
	}
	ww_acquire_fini(&ctx);
	complete_all(&w->done);
	return 0;
}

/*
 * dma_resv_wait_timeout() at PREEMPT keeps its order across the buffer and
 * its VMs: the preemption fences of the buffer and of VM b are only
 * triggered once the ordinary fence of VM a has signaled, and then together.
 */
static void test_vms_wait_preempt_order(struct kunit *test)
{
	int (*fns[])(void *) = { test_vms_waiter_fn };
	struct test_vms_waiter *w = kunit_kzalloc(test, sizeof(*w), GFP_KERNEL);
	struct dma_resv *buf = test_buf_create(test);
	struct test_vm *a = test_vm_create(test), *b = test_vm_create(test);
	struct dma_fence *ordinary = test_fence_create(test);
	struct dma_fence *preempt[2];
	void *data[1];

	KUNIT_ASSERT_NOT_NULL(test, w);
	preempt[0] = test_fence_create(test);
	preempt[1] = test_fence_create(test);
	KUNIT_ASSERT_EQ(test, test_bind(buf, a), 0);
	KUNIT_ASSERT_EQ(test, test_bind(buf, b), 0);
	test_add_fence(test, buf, preempt[0], DMA_RESV_USAGE_PREEMPT);
	test_add_fence(test, &a->resv, ordinary, DMA_RESV_USAGE_BOOKKEEP);
	test_add_fence(test, &b->resv, preempt[1], DMA_RESV_USAGE_PREEMPT);

	w->buf = buf;
	init_completion(&w->done);
	data[0] = w;
	test_run_threads(test, 1, fns, data, "dma-resv-vm-wait");

	/* The waiter waits for the ordinary fence of VM a... */
	KUNIT_EXPECT_EQ(test, test_wait_enabled(&ordinary, 1, 1, TEST_TIMEOUT),
			1);
	/* ...and, a negative check for a bound, preempts nothing meanwhile */
	KUNIT_EXPECT_EQ(test, test_wait_enabled(preempt, 2, 1, BLOCK_CHECK), 0);

	dma_fence_signal(ordinary);
	KUNIT_EXPECT_EQ(test, test_wait_enabled(preempt, 2, 2, TEST_TIMEOUT), 2);
	KUNIT_EXPECT_FALSE(test, completion_done(&w->done));
	dma_fence_signal(preempt[0]);
	dma_fence_signal(preempt[1]);
	KUNIT_ASSERT_TRUE(test, wait_for_completion_timeout(&w->done,
							    TEST_TIMEOUT));
	KUNIT_EXPECT_GT(test, w->ret, 0);

	test_teardown(test, buf, (struct test_vm *[]){ a, b }, 2);
	dma_fence_put(ordinary);
	dma_fence_put(preempt[0]);
	dma_fence_put(preempt[1]);
}

struct test_abba {
	struct dma_resv *buf;
	struct test_vm *x, *y;
	struct completion started, done;
	bool held_all;
};

static int test_abba_writer(void *arg)
{
	struct test_abba *t = arg;
	struct ww_acquire_ctx ctx;

	/* Initialized after the main thread's context: this one is younger. */
	ww_acquire_init(&ctx, &reservation_ww_class);
	complete(&t->started);
	t->held_all = !dma_resv_write_lock(t->buf, &ctx) &&
		      test_held(t->buf, &ctx) &&
		      test_held(&t->x->resv, &ctx) &&
		      test_held(&t->y->resv, &ctx);
	dma_resv_write_unlock(t->buf);
	ww_acquire_fini(&ctx);
	complete(&t->done);
	return 0;
}

/*
 * Real ABBA contention: an older context holds VM y and wants the buffer; the
 * younger writer holds the buffer and wants y. The writer must back off
 * (release the buffer, slow-lock y) for both to make progress.
 */
static void test_abba_backoff(struct kunit *test)
{
	struct test_abba t = { .buf = test_buf_create(test) };
	struct ww_acquire_ctx ctx;
	struct task_struct *thread;

	t.x = test_vm_create(test);
	t.y = test_vm_create(test);
	init_completion(&t.started);
	init_completion(&t.done);
	KUNIT_ASSERT_EQ(test, test_bind(t.buf, t.x), 0);
	KUNIT_ASSERT_EQ(test, test_bind(t.buf, t.y), 0);

	ww_acquire_init(&ctx, &reservation_ww_class);
	KUNIT_ASSERT_EQ(test, dma_resv_lock(&t.y->resv, &ctx), 0);

	thread = kthread_run(test_abba_writer, &t, "dma-resv-vm-abba");
	KUNIT_ASSERT_FALSE(test, IS_ERR(thread));
	KUNIT_ASSERT_TRUE(test, wait_for_completion_timeout(&t.started,
							    TEST_TIMEOUT));
	/* Wait for the back-off itself; y stays held, so does the writer. */
	KUNIT_ASSERT_TRUE(test, test_wait_backed_off(t.buf, t.y));
	KUNIT_EXPECT_FALSE(test, completion_done(&t.done));

	/* The writer backed off: the buffer is free for the older context. */
	KUNIT_EXPECT_FALSE(test, ww_mutex_is_locked(&t.buf->lock));
	test_lock_second(&t.y->resv, t.buf, &ctx);
	KUNIT_EXPECT_TRUE(test, test_held(t.buf, &ctx));
	KUNIT_EXPECT_TRUE(test, test_held(&t.y->resv, &ctx));
	dma_resv_unlock(t.buf);
	dma_resv_unlock(&t.y->resv);
	ww_acquire_fini(&ctx);

	KUNIT_ASSERT_TRUE(test, wait_for_completion_timeout(&t.done,
							    TEST_TIMEOUT));
	KUNIT_EXPECT_TRUE(test, t.held_all);

	test_teardown(test, t.buf, (struct test_vm *[]){ t.x, t.y }, 2);
}

struct test_dying {
	struct dma_resv *buf;
	struct test_vm *x, *v;
	struct completion started, done;
	bool held_x;
	unsigned int acquired;
};

static int test_dying_writer(void *arg)
{
	struct test_dying *t = arg;
	struct ww_acquire_ctx ctx;

	ww_acquire_init(&ctx, &reservation_ww_class);
	complete(&t->started);
	if (!dma_resv_write_lock(t->buf, &ctx)) {
		t->held_x = test_held(&t->x->resv, &ctx);
		t->acquired = ctx.acquired;
		dma_resv_write_unlock(t->buf);
	}
	ww_acquire_fini(&ctx);
	complete(&t->done);
	return 0;
}

/*
 * A VM unbound and released while a writer backs off on it: the writer's
 * reference keeps it alive until the writer drops it, with no lock held.
 */
static void test_vm_destroyed_during_backoff(struct kunit *test)
{
	struct test_dying t = { .buf = test_buf_create(test) };
	struct task_struct *thread;
	struct ww_acquire_ctx ctx;
	bool released = false;

	t.x = test_vm_create(test);
	t.v = test_vm_create(test);
	t.v->released = &released;
	init_completion(&t.started);
	init_completion(&t.done);
	KUNIT_ASSERT_EQ(test, test_bind(t.buf, t.x), 0);
	KUNIT_ASSERT_EQ(test, test_bind(t.buf, t.v), 0);

	/* Older context holding v: the writer backs off and waits for v. */
	ww_acquire_init(&ctx, &reservation_ww_class);
	KUNIT_ASSERT_EQ(test, dma_resv_lock(&t.v->resv, &ctx), 0);
	thread = kthread_run(test_dying_writer, &t, "dma-resv-vm-dying");
	KUNIT_ASSERT_FALSE(test, IS_ERR(thread));
	KUNIT_ASSERT_TRUE(test, wait_for_completion_timeout(&t.started,
							    TEST_TIMEOUT));
	/* Wait for the back-off itself; v stays held, so does the writer. */
	KUNIT_ASSERT_TRUE(test, test_wait_backed_off(t.buf, t.v));
	KUNIT_EXPECT_FALSE(test, completion_done(&t.done));
	/* The backed-off writer references v. */
	KUNIT_EXPECT_EQ(test, kref_read(&t.v->base.refcount), 2);

	/* Tear v down: unbind it, drop the owner's reference. */
	test_lock_second(&t.v->resv, t.buf, &ctx);
	KUNIT_EXPECT_EQ(test, dma_resv_unbind_vm(t.buf, &t.v->base), 0);
	dma_resv_unlock(t.buf);
	if (kref_read(&t.v->base.refcount) > 1) {
		dma_resv_vm_put(&t.v->base);
		KUNIT_EXPECT_FALSE(test, released);
		dma_resv_unlock(&t.v->resv);
	} else {
		dma_resv_unlock(&t.v->resv);
		dma_resv_vm_put(&t.v->base);
	}
	ww_acquire_fini(&ctx);

	KUNIT_ASSERT_TRUE(test, wait_for_completion_timeout(&t.done,
							    TEST_TIMEOUT));
	/* The writer ended up with the buffer and x only. */
	KUNIT_EXPECT_TRUE(test, t.held_x);
	KUNIT_EXPECT_EQ(test, t.acquired, 2);
	KUNIT_EXPECT_TRUE(test, released);

	test_teardown(test, t.buf, (struct test_vm *[]){ t.x }, 1);
}

/*
 * The write lock inside a bigger ww transaction (what a driver does inside
 * drm_exec_until_all_locked()), younger than a reader of one of the VMs: it
 * must back off (wait-die), for that VM, with nothing of the write lock left
 * behind. After dropping everything and slow-locking the VM, the retry
 * takes the slow-locked VM over and completes.
 */
static void test_transaction_backoff(struct kunit *test)
{
	struct dma_resv *buf = test_buf_create(test), *priv = test_buf_create(test);
	struct test_vm *x = test_vm_create(test), *y = test_vm_create(test);
	struct test_txn t = { .objs = { priv, buf }, .write = { false, true },
			      .n = 2 };
	struct dma_resv_vm *pre = NULL, *contended = NULL;
	struct test_locker *holder;
	struct ww_acquire_ctx ctx;
	int ret;

	KUNIT_ASSERT_EQ(test, test_bind(buf, x), 0);
	KUNIT_ASSERT_EQ(test, test_bind(buf, y), 0);

	/* Another thread, with an older context, holds y. */
	holder = test_locker_start(test, buf, &y->base);
	KUNIT_ASSERT_TRUE(test, wait_for_completion_timeout(&holder->locked,
							    TEST_TIMEOUT));

	ww_acquire_init(&ctx, &reservation_ww_class);
	test_no_injection(&ctx);
	KUNIT_ASSERT_EQ(test, dma_resv_lock(priv, &ctx), 0);
	KUNIT_ASSERT_EQ(test, dma_resv_lock(buf, &ctx), 0);
	ret = dma_resv_write_lock_vms(buf, &ctx, &pre, &contended, false);
	KUNIT_EXPECT_EQ(test, ret, -EDEADLK);
	KUNIT_EXPECT_PTR_EQ(test, contended, &y->base);
	/* Nothing of the write lock is left behind but the buffer's lock. */
	KUNIT_EXPECT_EQ(test, ctx.acquired, 2);
	KUNIT_EXPECT_FALSE(test, ww_mutex_is_locked(&x->resv.lock));
	KUNIT_EXPECT_EQ(test, x->base.write_count, 0);
	KUNIT_EXPECT_EQ(test, kref_read(&x->base.refcount), 1);
	/* The VM to back off for comes with a reference. */
	KUNIT_EXPECT_EQ(test, kref_read(&y->base.refcount), 2);
	KUNIT_EXPECT_NULL(test, pre);
	if (ret) {
		/*
		 * Back off: drop everything, let the reader go, slow-lock
		 * y and lock again with y as the prelocked VM.
		 */
		dma_resv_unlock(buf);
		dma_resv_unlock(priv);
		complete(&holder->release);
		dma_resv_lock_slow(&y->resv, &ctx);
		pre = contended;
		KUNIT_ASSERT_EQ(test, dma_resv_lock(priv, &ctx), 0);
		KUNIT_ASSERT_EQ(test, dma_resv_lock(buf, &ctx), 0);
		ret = dma_resv_write_lock_vms(buf, &ctx, &pre, &contended,
					      false);
		KUNIT_EXPECT_EQ(test, ret, 0);
		/* y taken over, with the reference of the back-off */
		KUNIT_EXPECT_NULL(test, pre);
		KUNIT_EXPECT_EQ(test, y->base.write_count, 1);
		KUNIT_EXPECT_EQ(test, kref_read(&y->base.refcount), 2);
		KUNIT_EXPECT_TRUE(test, test_held(buf, &ctx));
		KUNIT_EXPECT_TRUE(test, test_held(&x->resv, &ctx));
		KUNIT_EXPECT_TRUE(test, test_held(&y->resv, &ctx));
		KUNIT_EXPECT_EQ(test, ctx.acquired, 4);
		if (ret)
			dma_resv_unlock(buf);
		else
			dma_resv_write_unlock(buf);
		dma_resv_unlock(priv);
		if (pre)
			test_vm_unlock_put(pre);
	} else {
		dma_resv_write_unlock(buf);
		dma_resv_unlock(priv);
		complete(&holder->release);
	}
	KUNIT_EXPECT_EQ(test, ctx.acquired, 0);
	ww_acquire_fini(&ctx);
	KUNIT_ASSERT_TRUE(test, wait_for_completion_timeout(&holder->done,
							    TEST_TIMEOUT));
	KUNIT_EXPECT_EQ(test, kref_read(&y->base.refcount), 1);

	/* The same transaction again, the reader gone: no back-off. */
	ww_acquire_init(&ctx, &reservation_ww_class);
	KUNIT_ASSERT_EQ(test, test_txn_lock(&t, &ctx), 0);
	KUNIT_EXPECT_TRUE(test, test_held(buf, &ctx));
	KUNIT_EXPECT_TRUE(test, test_held(&y->resv, &ctx));
	KUNIT_EXPECT_TRUE(test, test_held(priv, &ctx));
	test_txn_unlock(&t);
	KUNIT_EXPECT_EQ(test, ctx.acquired, 0);
	ww_acquire_fini(&ctx);

	test_teardown(test, buf, (struct test_vm *[]){ x, y }, 2);
	dma_resv_fini(priv);
}

struct test_release_later {
	struct delayed_work work;
	struct completion *release;
};

static void test_release_later_fn(struct work_struct *work)
{
	struct test_release_later *r =
		container_of(work, struct test_release_later, work.work);

	complete(r->release);
}

/*
 * The same transaction, older than the reader of y: it waits for y instead
 * of backing off (wait-die), and completes once the reader lets go.
 */
static void test_transaction_older(struct kunit *test)
{
	struct dma_resv *buf = test_buf_create(test), *priv = test_buf_create(test);
	struct test_vm *x = test_vm_create(test), *y = test_vm_create(test);
	struct dma_resv_vm *pre = NULL, *contended = NULL;
	struct test_release_later later;
	struct test_locker *holder;
	struct ww_acquire_ctx ctx;
	unsigned long start;
	int ret;

	KUNIT_ASSERT_EQ(test, test_bind(buf, x), 0);
	KUNIT_ASSERT_EQ(test, test_bind(buf, y), 0);

	ww_acquire_init(&ctx, &reservation_ww_class);
	test_no_injection(&ctx);
	holder = test_locker_start(test, buf, &y->base);
	KUNIT_ASSERT_TRUE(test, wait_for_completion_timeout(&holder->locked,
							    TEST_TIMEOUT));
	KUNIT_ASSERT_EQ(test, dma_resv_lock(priv, &ctx), 0);
	KUNIT_ASSERT_EQ(test, dma_resv_lock(buf, &ctx), 0);

	/* No assertion from here until the work is flushed: it is on stack. */
	later.release = &holder->release;
	INIT_DELAYED_WORK_ONSTACK(&later.work, test_release_later_fn);
	start = jiffies;
	schedule_delayed_work(&later.work, msecs_to_jiffies(100));
	ret = dma_resv_write_lock_vms(buf, &ctx, &pre, &contended, false);
	/* Waited for the reader to let go, instead of backing off. */
	KUNIT_EXPECT_EQ(test, ret, 0);
	KUNIT_EXPECT_GE(test, jiffies - start, msecs_to_jiffies(100));
	flush_delayed_work(&later.work);
	destroy_delayed_work_on_stack(&later.work);

	if (ret) {
		dma_resv_vm_put(contended);
		dma_resv_unlock(buf);
	} else {
		KUNIT_EXPECT_TRUE(test, test_held(&x->resv, &ctx));
		KUNIT_EXPECT_TRUE(test, test_held(&y->resv, &ctx));
		dma_resv_write_unlock(buf);
	}
	dma_resv_unlock(priv);
	ww_acquire_fini(&ctx);
	KUNIT_ASSERT_TRUE(test, wait_for_completion_timeout(&holder->done,
							    TEST_TIMEOUT));

	test_teardown(test, buf, (struct test_vm *[]){ x, y }, 2);
	dma_resv_fini(priv);
}

/*
 * An interruptible write lock of @buf, in a thread, blocked by a reader of
 * @y (also bound to @buf) and interrupted by a signal: it fails with -EINTR
 * and holds nothing. If @older, the writer's acquire context is older than
 * the reader's, so it waits for @y in its first attempt; otherwise it backs
 * off (wait-die) and waits for @y in the slow lock.
 */
static void test_write_lock_interrupted(struct kunit *test,
					struct dma_resv *buf,
					struct test_vm *x, struct test_vm *y,
					bool older)
{
	struct test_locker *holder = NULL, *w;
	unsigned long end;

	if (!older) {
		holder = test_locker_start(test, buf, &y->base);
		KUNIT_ASSERT_TRUE(test,
				  wait_for_completion_timeout(&holder->locked,
							      TEST_TIMEOUT));
	}
	w = test_locker_create(test, buf, NULL);
	w->intr = true;
	w->gated = older;
	test_locker_run(test, w);
	KUNIT_ASSERT_TRUE(test, wait_for_completion_timeout(&w->ready,
							    TEST_TIMEOUT));
	if (older) {
		/* the holder's context is younger */
		holder = test_locker_start(test, buf, &y->base);
		KUNIT_ASSERT_TRUE(test,
				  wait_for_completion_timeout(&holder->locked,
							      TEST_TIMEOUT));
		complete(&w->go);
		/*
		 * Waiting for y in its first attempt: it holds the buffer and
		 * references y (a back-off would have dropped the buffer).
		 * Polled, then checked to last, for a bound.
		 */
		end = jiffies + TEST_TIMEOUT;
		while (!(ww_mutex_is_locked(&buf->lock) &&
			 kref_read(&y->base.refcount) >= 2) &&
		       time_before(jiffies, end))
			usleep_range(100, 200);
		end = jiffies + BLOCK_CHECK;
		while (ww_mutex_is_locked(&buf->lock) &&
		       kref_read(&y->base.refcount) >= 2 &&
		       time_before(jiffies, end))
			usleep_range(100, 200);
		KUNIT_ASSERT_TRUE(test, ww_mutex_is_locked(&buf->lock));
		KUNIT_ASSERT_GE(test, kref_read(&y->base.refcount), 2);
	} else {
		/* backed off, now in the slow lock of y */
		KUNIT_ASSERT_TRUE(test, test_wait_backed_off(buf, y));
	}
	/*
	 * A signal pending before the wait interrupts it as well: either way
	 * the lock of y is what returns -EINTR.
	 */
	send_sig(SIGUSR1, w->task, 1);
	KUNIT_ASSERT_TRUE(test, wait_for_completion_timeout(&w->locked,
							    TEST_TIMEOUT));
	KUNIT_EXPECT_EQ(test, w->ret, -EINTR);
	KUNIT_EXPECT_EQ(test, w->acquired, 0);
	KUNIT_EXPECT_FALSE(test, ww_mutex_is_locked(&buf->lock));
	KUNIT_EXPECT_FALSE(test, ww_mutex_is_locked(&x->resv.lock));
	/* the writer dropped the VM references it took */
	KUNIT_EXPECT_EQ(test, kref_read(&x->base.refcount), 1);
	KUNIT_EXPECT_EQ(test, kref_read(&y->base.refcount), 1);
	test_locker_stop(test, w);
	test_locker_stop(test, holder);
}

/*
 * The interruptible variants lock like the others, and a signal makes the
 * write lock return -EINTR with nothing held, wherever it waits for a VM:
 * in its first attempt or in the slow lock after a back-off.
 */
static void test_interruptible(struct kunit *test)
{
	struct dma_resv *buf = test_buf_create(test);
	struct test_vm *x = test_vm_create(test), *y = test_vm_create(test);
	struct ww_acquire_ctx ctx;
	int ret;

	KUNIT_ASSERT_EQ(test, test_bind(buf, x), 0);
	KUNIT_ASSERT_EQ(test, test_bind(buf, y), 0);

	ww_acquire_init(&ctx, &reservation_ww_class);
	ret = dma_resv_read_lock_interruptible(buf, &x->base, &ctx);
	KUNIT_EXPECT_EQ(test, ret, 0);
	KUNIT_EXPECT_TRUE(test, test_held(&x->resv, &ctx));
	dma_resv_read_unlock(buf, &x->base);
	ww_acquire_fini(&ctx);

	ww_acquire_init(&ctx, &reservation_ww_class);
	ret = dma_resv_write_lock_interruptible(buf, &ctx);
	KUNIT_EXPECT_EQ(test, ret, 0);
	KUNIT_EXPECT_TRUE(test, test_held(buf, &ctx));
	KUNIT_EXPECT_TRUE(test, test_held(&x->resv, &ctx));
	KUNIT_EXPECT_TRUE(test, test_held(&y->resv, &ctx));
	dma_resv_write_unlock(buf);
	ww_acquire_fini(&ctx);

	test_write_lock_interrupted(test, buf, x, y, true);
	test_write_lock_interrupted(test, buf, x, y, false);

	test_teardown(test, buf, (struct test_vm *[]){ x, y }, 2);
}

/*
 * Many lock cycles: with CONFIG_DEBUG_WW_MUTEX_SLOWPATH, ww_mutex injects
 * -EDEADLK back-offs, which must be handled inside the write lock, or by the
 * caller when the write lock is part of a bigger transaction.
 */
static void test_injected_backoff(struct kunit *test)
{
	struct dma_resv *buf = test_buf_create(test), *priv = test_buf_create(test);
	struct test_vm *tvm[8];
	struct ww_acquire_ctx ctx;
	int i, n, ok = 0;

	for (i = 0; i < ARRAY_SIZE(tvm); i++) {
		tvm[i] = test_vm_create(test);
		KUNIT_ASSERT_EQ(test, test_bind(buf, tvm[i]), 0);
	}

	for (n = 0; n < 200; n++) {
		struct test_txn t = { .objs = { priv, buf },
				      .write = { false, true }, .n = 2 };
		bool held;

		ww_acquire_init(&ctx, &reservation_ww_class);
		if (n & 1)
			KUNIT_ASSERT_EQ(test, dma_resv_write_lock(buf, &ctx), 0);
		else
			KUNIT_ASSERT_EQ(test, test_txn_lock(&t, &ctx), 0);

		held = test_held(buf, &ctx);
		for (i = 0; i < ARRAY_SIZE(tvm); i++)
			held &= test_held(&tvm[i]->resv, &ctx);
		ok += held;

		if (n & 1)
			dma_resv_write_unlock(buf);
		else
			test_txn_unlock(&t);
		KUNIT_EXPECT_EQ(test, ctx.acquired, 0);
		ww_acquire_fini(&ctx);
	}
	KUNIT_EXPECT_EQ(test, ok, 200);

	for (i = 0; i < ARRAY_SIZE(tvm); i++) {
		KUNIT_EXPECT_EQ(test, kref_read(&tvm[i]->base.refcount), 1);
		KUNIT_EXPECT_EQ(test, test_unbind(buf, tvm[i]), 0);
		dma_resv_vm_put(&tvm[i]->base);
	}
	dma_resv_fini(buf);
	dma_resv_fini(priv);
}

static struct dma_resv_vms *test_vms_alloc_fail(unsigned int max_vms)
{
	return NULL;
}

/*
 * Allocation failure in bind leaves everything unchanged. The failure is
 * injected by redirecting the one allocation of dma_resv_bind_vm(),
 * dma_resv_vms_alloc(), with a KUnit static stub.
 */
static void test_bind_enomem(struct kunit *test)
{
	struct dma_resv *buf = test_buf_create(test);
	struct test_vm *tvm[5];
	struct ww_acquire_ctx ctx;
	int i;

	for (i = 0; i < ARRAY_SIZE(tvm); i++)
		tvm[i] = test_vm_create(test);

	/* First bind: nothing allocated yet. */
	kunit_activate_static_stub(test, dma_resv_vms_alloc,
				   test_vms_alloc_fail);
	KUNIT_EXPECT_EQ(test, test_bind(buf, tvm[0]), -ENOMEM);
	KUNIT_EXPECT_NULL(test, rcu_access_pointer(buf->vms));
	KUNIT_EXPECT_EQ(test, atomic_read(&tvm[0]->base.num_bound), 0);
	KUNIT_EXPECT_FALSE(test, dma_resv_vm_is_bound(buf, &tvm[0]->base));
	kunit_deactivate_static_stub(test, dma_resv_vms_alloc);

	/* Fill the first array, then fail to grow it. */
	for (i = 0; i < 4; i++)
		KUNIT_ASSERT_EQ(test, test_bind(buf, tvm[i]), 0);
	kunit_activate_static_stub(test, dma_resv_vms_alloc,
				   test_vms_alloc_fail);
	KUNIT_EXPECT_EQ(test, test_bind(buf, tvm[4]), -ENOMEM);
	kunit_deactivate_static_stub(test, dma_resv_vms_alloc);

	KUNIT_EXPECT_EQ(test, test_num_vms(buf), 4);
	KUNIT_EXPECT_EQ(test, atomic_read(&tvm[4]->base.num_bound), 0);
	KUNIT_EXPECT_FALSE(test, dma_resv_vm_is_bound(buf, &tvm[4]->base));
	ww_acquire_init(&ctx, &reservation_ww_class);
	KUNIT_ASSERT_EQ(test, dma_resv_write_lock(buf, &ctx), 0);
	for (i = 0; i < 4; i++)
		KUNIT_EXPECT_TRUE(test, test_held(&tvm[i]->resv, &ctx));
	KUNIT_EXPECT_FALSE(test, ww_mutex_is_locked(&tvm[4]->resv.lock));
	KUNIT_EXPECT_EQ(test, ctx.acquired, 5);
	dma_resv_write_unlock(buf);
	ww_acquire_fini(&ctx);

	/* And it works once memory is back. */
	KUNIT_EXPECT_EQ(test, test_bind(buf, tvm[4]), 0);
	KUNIT_EXPECT_EQ(test, test_num_vms(buf), 5);

	for (i = 0; i < ARRAY_SIZE(tvm); i++) {
		KUNIT_EXPECT_EQ(test, test_unbind(buf, tvm[i]), 0);
		dma_resv_vm_put(&tvm[i]->base);
	}
	dma_resv_fini(buf);
}

#define RACE_POOL	4
#define RACE_RUN	msecs_to_jiffies(500)

struct test_race {
	struct dma_resv *buf;
	struct test_vm *pool[RACE_POOL];
	unsigned long end;
	struct completion done[3];
	unsigned int writes, churn;
	atomic_t bad;		/* failures, from any of the threads */
	atomic_t started;	/* start barrier */
	atomic_t in_flight;	/* loop iterations in progress */
	atomic_t max_in_flight;
};

static void test_race_begin(struct test_race *r)
{
	test_note_max(&r->max_in_flight, atomic_inc_return(&r->in_flight));
}

static void test_race_end(struct test_race *r)
{
	atomic_dec(&r->in_flight);
}

/* Holding the write lock, exactly the bound pool VMs are held. */
static int test_race_writer(void *arg)
{
	struct test_race *r = arg;
	struct ww_acquire_ctx ctx;
	int i;

	if (!test_start_barrier(&r->started, 3, &r->end, RACE_RUN))
		atomic_inc(&r->bad);
	while (time_before(jiffies, r->end)) {
		test_race_begin(r);
		ww_acquire_init(&ctx, &reservation_ww_class);
		if (dma_resv_write_lock(r->buf, &ctx)) {
			atomic_inc(&r->bad);
		} else {
			for (i = 0; i < RACE_POOL; i++) {
				struct test_vm *v = r->pool[i];

				if (dma_resv_vm_is_bound(r->buf, &v->base) !=
				    test_held(&v->resv, &ctx))
					atomic_inc(&r->bad);
			}
			r->writes++;
			dma_resv_write_unlock(r->buf);
		}
		ww_acquire_fini(&ctx);
		test_race_end(r);
		cond_resched();
	}
	complete(&r->done[0]);
	return 0;
}

/* Binds, unbinds, creates and destroys VMs under the writer's feet. */
static int test_race_binder(void *arg)
{
	struct test_race *r = arg;
	struct test_vm *v;
	unsigned int n = 0;

	if (!test_start_barrier(&r->started, 3, &r->end, RACE_RUN))
		atomic_inc(&r->bad);
	while (time_before(jiffies, r->end)) {
		struct dma_resv_vm *pv = &r->pool[n % RACE_POOL]->base;

		test_race_begin(r);
		dma_resv_lock(r->buf, NULL);
		if (dma_resv_vm_is_bound(r->buf, pv))
			dma_resv_unbind_vm(r->buf, pv);
		else if (dma_resv_bind_vm(r->buf, pv))
			atomic_inc(&r->bad);
		dma_resv_unlock(r->buf);

		/* A short-lived VM, destroyed right after unbinding. */
		v = kzalloc_obj(*v);
		if (v) {
			dma_resv_init(&v->resv);
			dma_resv_vm_init(&v->base, &v->resv, test_vm_release);
			dma_resv_lock(r->buf, NULL);
			if (dma_resv_bind_vm(r->buf, &v->base))
				atomic_inc(&r->bad);
			dma_resv_unlock(r->buf);
			cond_resched();
			dma_resv_lock(r->buf, NULL);
			dma_resv_unbind_vm(r->buf, &v->base);
			dma_resv_unlock(r->buf);
			dma_resv_vm_put(&v->base);
			r->churn++;
		}
		test_race_end(r);
		n++;
		cond_resched();
	}
	complete(&r->done[1]);
	return 0;
}

/* Holds pool VM locks in its own transactions to make the writer back off. */
static int test_race_contender(void *arg)
{
	struct test_race *r = arg;
	struct ww_acquire_ctx ctx;
	unsigned int n = 0;

	if (!test_start_barrier(&r->started, 3, &r->end, RACE_RUN))
		atomic_inc(&r->bad);
	while (time_before(jiffies, r->end)) {
		struct dma_resv *a = &r->pool[n % RACE_POOL]->resv;
		struct dma_resv *b = &r->pool[(n + 1) % RACE_POOL]->resv;

		test_race_begin(r);
		ww_acquire_init(&ctx, &reservation_ww_class);
		dma_resv_lock(a, &ctx);
		if (dma_resv_lock(b, &ctx) == -EDEADLK) {
			dma_resv_unlock(a);
			dma_resv_lock_slow(b, &ctx);
			if (dma_resv_lock(a, &ctx) == -EDEADLK) {
				dma_resv_unlock(b);
				ww_acquire_fini(&ctx);
				test_race_end(r);
				n++;
				continue;
			}
		}
		/* Load: hold the locks long enough for the writer to wait */
		usleep_range(10, 50);
		dma_resv_unlock(b);
		dma_resv_unlock(a);
		ww_acquire_fini(&ctx);
		test_race_end(r);
		n++;
	}
	complete(&r->done[2]);
	return 0;
}

/*
 * Bind, unbind and VM destruction racing a writer, with real back-offs: the
 * writer must always hold exactly the VMs bound at the time. The three
 * threads pass a start barrier together and the test requires iterations of
 * two of them to have overlapped. About 500 ms, bounded by TEST_TIMEOUT.
 */
static void test_race_bind_writer(struct kunit *test)
{
	int (*fns[])(void *) = { test_race_writer, test_race_binder,
				 test_race_contender };
	/* not on the stack: the threads may outlive a failed case's frame */
	struct test_race *r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);
	unsigned long bound = RACE_RUN + 2 * TEST_TIMEOUT;
	void *data[ARRAY_SIZE(fns)];
	int i;

	KUNIT_ASSERT_NOT_NULL(test, r);
	r->buf = test_buf_create(test);
	for (i = 0; i < ARRAY_SIZE(fns); i++)
		data[i] = r;
	for (i = 0; i < RACE_POOL; i++)
		r->pool[i] = test_vm_create(test);

	for (i = 0; i < ARRAY_SIZE(fns); i++)
		init_completion(&r->done[i]);
	test_run_threads(test, ARRAY_SIZE(fns), fns, data, "dma-resv-vm-race");
	for (i = 0; i < ARRAY_SIZE(fns); i++)
		KUNIT_ASSERT_TRUE(test, wait_for_completion_timeout(&r->done[i],
								    bound));

	KUNIT_EXPECT_EQ(test, atomic_read(&r->bad), 0);
	KUNIT_EXPECT_GT(test, r->writes, 0);
	KUNIT_EXPECT_GT(test, r->churn, 0);
	KUNIT_EXPECT_GE(test, atomic_read(&r->max_in_flight), 2);
	kunit_info(test, "%u writes, %u VMs created and destroyed, up to %d threads in an iteration together\n",
		   r->writes, r->churn, atomic_read(&r->max_in_flight));

	for (i = 0; i < RACE_POOL; i++) {
		if (dma_resv_vm_is_bound(r->buf, &r->pool[i]->base))
			KUNIT_EXPECT_EQ(test, test_unbind(r->buf, r->pool[i]), 0);
		KUNIT_EXPECT_EQ(test, kref_read(&r->pool[i]->base.refcount), 1);
		dma_resv_vm_put(&r->pool[i]->base);
	}
	KUNIT_EXPECT_EQ(test, test_num_vms(r->buf), 0);
	dma_resv_fini(r->buf);
}

#define STRESS_BUFS	4
#define STRESS_READERS	4
#define STRESS_WRITERS	2
#define STRESS_RUN	(2 * HZ)

struct test_stress_buf {
	struct dma_resv resv;
	unsigned long value;	/* protected by the read/write locks only */
	atomic_t readers;
	atomic_t writers;
	unsigned long writes;	/* written under the write lock */
};

struct test_stress {
	struct test_stress_buf bufs[STRESS_BUFS];
	struct test_vm *vms[STRESS_READERS];
	struct dma_resv priv[STRESS_WRITERS];
	unsigned long end;
	atomic_t violations;
	atomic_t running;
	struct completion done;
	unsigned long reads[STRESS_READERS];
	atomic_t started;
	atomic_t max_readers;
};

struct test_stress_arg {
	struct test_stress *s;
	int id;
};

static void test_stress_exit(struct test_stress *s)
{
	if (atomic_dec_and_test(&s->running))
		complete(&s->done);
}

static int test_stress_reader(void *arg)
{
	struct test_stress_arg *a = arg;
	struct test_stress *s = a->s;
	struct dma_resv_vm *vm = &s->vms[a->id]->base;
	struct ww_acquire_ctx ctx;
	unsigned long v;
	int i, ret;

	if (!test_start_barrier(&s->started, STRESS_READERS + STRESS_WRITERS,
				&s->end, STRESS_RUN))
		atomic_inc(&s->violations);
	while (time_before(jiffies, s->end)) {
		ww_acquire_init(&ctx, &reservation_ww_class);
		/* One submission using every shared buffer: one lock. */
		for (i = 0; i < STRESS_BUFS; i++) {
			ret = dma_resv_read_lock(&s->bufs[i].resv, vm, &ctx);
			if (ret == -EDEADLK)
				dma_resv_lock_slow(vm->resv, &ctx);
		}
		for (i = 0; i < STRESS_BUFS; i++) {
			struct test_stress_buf *b = &s->bufs[i];

			test_note_max(&s->max_readers,
				      atomic_inc_return(&b->readers));
			if (atomic_read(&b->writers))
				atomic_inc(&s->violations);
			v = READ_ONCE(b->value);
			/* Load: widen the window for a writer or a reader */
			if (!(get_random_u32() & 7))
				usleep_range(1, 10);
			else
				cond_resched();
			if (READ_ONCE(b->value) != v)
				atomic_inc(&s->violations);
			atomic_dec(&b->readers);
		}
		dma_resv_read_unlock(&s->bufs[0].resv, vm);
		ww_acquire_fini(&ctx);
		s->reads[a->id]++;
		cond_resched();
	}
	test_stress_exit(s);
	return 0;
}

/* Update @b under its write lock: no reader and no other writer may be in. */
static void test_stress_write(struct test_stress *s, struct test_stress_buf *b)
{
	unsigned long v;

	if (atomic_inc_return(&b->writers) != 1 || atomic_read(&b->readers))
		atomic_inc(&s->violations);
	v = READ_ONCE(b->value);
	/* Load: widen the window for a lost update or a reader */
	if (!(get_random_u32() & 3))
		usleep_range(1, 10);
	else
		cond_resched();
	WRITE_ONCE(b->value, v + 1);
	b->writes++;
	atomic_dec(&b->writers);
}

/*
 * A writer evicts a buffer, in turns: alone with dma_resv_write_lock(); in
 * a transaction with a private object; or together with a second buffer,
 * which shares every VM with the first, unlocking one of the two early and
 * updating the other one after that.
 */
static int test_stress_writer(void *arg)
{
	struct test_stress_arg *a = arg;
	struct test_stress *s = a->s;
	struct dma_resv *priv = &s->priv[a->id];
	struct ww_acquire_ctx ctx;
	unsigned int n = 0;
	int ret;

	if (!test_start_barrier(&s->started, STRESS_READERS + STRESS_WRITERS,
				&s->end, STRESS_RUN))
		atomic_inc(&s->violations);
	while (time_before(jiffies, s->end)) {
		unsigned int i = get_random_u32_below(STRESS_BUFS);
		unsigned int j = (i + 1 + get_random_u32_below(STRESS_BUFS - 1)) %
				 STRESS_BUFS;
		struct test_stress_buf *b = &s->bufs[i], *b2 = &s->bufs[j];
		struct test_txn t = { .write = { true, true }, .n = 2 };
		unsigned int kind = n++ % 3;

		ww_acquire_init(&ctx, &reservation_ww_class);
		if (kind == 0) {
			ret = dma_resv_write_lock(&b->resv, &ctx);
		} else {
			t.objs[0] = kind == 1 ? priv : &b2->resv;
			t.write[0] = kind == 2;
			t.objs[1] = &b->resv;
			ret = test_txn_lock(&t, &ctx);
		}
		if (ret) {
			atomic_inc(&s->violations);
			ww_acquire_fini(&ctx);
			continue;
		}

		test_stress_write(s, b);
		if (kind == 0) {
			dma_resv_write_unlock(&b->resv);
		} else if (kind == 1) {
			test_txn_unlock(&t);
		} else {
			/* One of them early: the other stays exclusive. */
			if (get_random_u32() & 1)
				swap(b, b2);
			dma_resv_write_unlock(&b->resv);
			test_stress_write(s, b2);
			dma_resv_write_unlock(&b2->resv);
		}
		ww_acquire_fini(&ctx);
		cond_resched();
	}
	test_stress_exit(s);
	return 0;
}

/*
 * About two seconds of readers on their own VMs and writers on the shared
 * buffers. A reader must never see a writer or a value change under it, no
 * writer update may be lost, every thread progresses and nothing deadlocks.
 * The threads pass a start barrier together, and readers of different VMs
 * must have held the same buffer at the same time: the lock is shared.
 * Bounded by 2 s + TEST_TIMEOUT.
 */
static void test_stress(struct kunit *test)
{
	int (*fns[STRESS_READERS + STRESS_WRITERS])(void *);
	void *data[ARRAY_SIZE(fns)];
	/* not on the stack: the threads may outlive a failed case's frame */
	struct test_stress_arg *args = kunit_kcalloc(test, ARRAY_SIZE(fns),
						     sizeof(*args), GFP_KERNEL);
	struct test_stress *s = kunit_kzalloc(test, sizeof(*s), GFP_KERNEL);
	unsigned long total = 0;
	int i, j;

	KUNIT_ASSERT_NOT_NULL(test, args);
	KUNIT_ASSERT_NOT_NULL(test, s);
	for (i = 0; i < STRESS_BUFS; i++)
		dma_resv_init(&s->bufs[i].resv);
	for (i = 0; i < STRESS_WRITERS; i++)
		dma_resv_init(&s->priv[i]);
	for (i = 0; i < STRESS_READERS; i++) {
		s->vms[i] = test_vm_create(test);
		for (j = 0; j < STRESS_BUFS; j++)
			KUNIT_ASSERT_EQ(test, test_bind(&s->bufs[j].resv,
							s->vms[i]), 0);
	}

	init_completion(&s->done);
	atomic_set(&s->running, ARRAY_SIZE(fns));
	for (i = 0; i < ARRAY_SIZE(fns); i++) {
		args[i].s = s;
		args[i].id = i < STRESS_READERS ? i : i - STRESS_READERS;
		fns[i] = i < STRESS_READERS ? test_stress_reader :
			 test_stress_writer;
		data[i] = &args[i];
	}
	test_run_threads(test, ARRAY_SIZE(fns), fns, data,
			 "dma-resv-vm-stress");
	KUNIT_ASSERT_TRUE(test, wait_for_completion_timeout(&s->done,
							    STRESS_RUN + 2 * TEST_TIMEOUT));

	KUNIT_EXPECT_EQ(test, atomic_read(&s->violations), 0);
	for (i = 0; i < STRESS_BUFS; i++) {
		KUNIT_EXPECT_EQ(test, s->bufs[i].value, s->bufs[i].writes);
		total += s->bufs[i].writes;
	}
	KUNIT_EXPECT_GT(test, total, 0);
	for (i = 0; i < STRESS_READERS; i++)
		KUNIT_EXPECT_GT(test, s->reads[i], 0);
	KUNIT_EXPECT_GE(test, atomic_read(&s->max_readers), 2);
	kunit_info(test, "%lu writes, reads %lu %lu %lu %lu, up to %d readers of a buffer together\n",
		   total, s->reads[0], s->reads[1], s->reads[2], s->reads[3],
		   atomic_read(&s->max_readers));

	for (i = 0; i < STRESS_READERS; i++) {
		for (j = 0; j < STRESS_BUFS; j++)
			KUNIT_EXPECT_EQ(test, test_unbind(&s->bufs[j].resv,
							  s->vms[i]), 0);
		dma_resv_vm_put(&s->vms[i]->base);
	}
	for (i = 0; i < STRESS_BUFS; i++)
		dma_resv_fini(&s->bufs[i].resv);
	for (i = 0; i < STRESS_WRITERS; i++)
		dma_resv_fini(&s->priv[i]);
}

static struct sg_table *test_map(struct dma_buf_attachment *attach,
				 enum dma_data_direction dir)
{
	return ERR_PTR(-EINVAL);
}

static void test_unmap(struct dma_buf_attachment *attach,
		       struct sg_table *sgt, enum dma_data_direction dir)
{
}

static void test_release(struct dma_buf *buf)
{
}

static const struct dma_buf_ops test_dma_buf_ops = {
	.map_dma_buf = test_map,
	.unmap_dma_buf = test_unmap,
	.release = test_release,
};

/* The dma_buf_* entry points operate on the dma-buf's reservation object. */
static void test_dma_buf_wrappers(struct kunit *test)
{
	DEFINE_DMA_BUF_EXPORT_INFO(info);
	struct test_vm *a = test_vm_create(test), *b = test_vm_create(test);
	struct ww_acquire_ctx ctx;
	struct dma_buf *buf;

	info.ops = &test_dma_buf_ops;
	info.size = PAGE_SIZE;
	info.flags = O_RDWR;
	info.priv = test;
	buf = dma_buf_export(&info);
	KUNIT_ASSERT_FALSE(test, IS_ERR(buf));

	dma_resv_lock(buf->resv, NULL);
	KUNIT_EXPECT_EQ(test, dma_buf_bind_vm(buf, &a->base), 0);
	KUNIT_EXPECT_EQ(test, dma_buf_bind_vm(buf, &b->base), 0);
	dma_resv_unlock(buf->resv);

	ww_acquire_init(&ctx, &reservation_ww_class);
	KUNIT_EXPECT_EQ(test, dma_buf_read_lock(buf, &a->base, &ctx), 0);
	KUNIT_EXPECT_TRUE(test, test_held(&a->resv, &ctx));
	KUNIT_EXPECT_FALSE(test, ww_mutex_is_locked(&buf->resv->lock));
	dma_buf_read_unlock(buf, &a->base);

	KUNIT_EXPECT_EQ(test, dma_buf_write_lock(buf, &ctx), 0);
	KUNIT_EXPECT_TRUE(test, test_held(buf->resv, &ctx));
	KUNIT_EXPECT_TRUE(test, test_held(&a->resv, &ctx));
	KUNIT_EXPECT_TRUE(test, test_held(&b->resv, &ctx));
	KUNIT_EXPECT_EQ(test, dma_buf_unbind_vm(buf, &b->base), 0);
	dma_buf_write_unlock(buf);
	KUNIT_EXPECT_EQ(test, ctx.acquired, 0);
	ww_acquire_fini(&ctx);

	dma_resv_lock(buf->resv, NULL);
	KUNIT_EXPECT_EQ(test, dma_buf_unbind_vm(buf, &a->base), 0);
	dma_resv_unlock(buf->resv);
	dma_buf_put(buf);
	dma_resv_vm_put(&a->base);
	dma_resv_vm_put(&b->base);
}

#define TEST_POLL_IN	((__force unsigned int)EPOLLIN)
#define TEST_POLL_OUT	((__force unsigned int)EPOLLOUT)

/* poll() on @buf without a poll table: every event asked for, no wait */
static unsigned int test_poll(struct dma_buf *buf)
{
	return (__force unsigned int)buf->file->f_op->poll(buf->file, NULL);
}

/*
 * poll() on a dma-buf (implicit sync of user space) waits for the fences
 * of submissions made under the read lock, which are only in the VM.
 */
static void test_dma_buf_poll(struct kunit *test)
{
	DEFINE_DMA_BUF_EXPORT_INFO(info);
	struct test_vm *a = test_vm_create(test);
	struct dma_fence *fa = test_fence_create(test);
	struct dma_fence *fr = test_fence_create(test);
	struct dma_buf *buf;

	info.ops = &test_dma_buf_ops;
	info.size = PAGE_SIZE;
	info.flags = O_RDWR;
	info.priv = test;
	buf = dma_buf_export(&info);
	KUNIT_ASSERT_FALSE(test, IS_ERR(buf));

	dma_resv_lock(buf->resv, NULL);
	KUNIT_EXPECT_EQ(test, dma_buf_bind_vm(buf, &a->base), 0);
	dma_resv_unlock(buf->resv);

	/* No poll table: every event is asked for, nothing waits. */
	KUNIT_EXPECT_EQ(test, test_poll(buf), TEST_POLL_IN | TEST_POLL_OUT);

	test_add_fence(test, &a->resv, fa, DMA_RESV_USAGE_WRITE);
	/* Neither readable nor writable until the VM's write is done. */
	KUNIT_EXPECT_EQ(test, test_poll(buf), 0);
	/* The callbacks of that poll are queued on fa; signaling runs them. */
	dma_fence_signal(fa);
	KUNIT_EXPECT_EQ(test, test_poll(buf), TEST_POLL_IN | TEST_POLL_OUT);

	/* A read in the VM: the buffer can be read, not written. */
	test_add_fence(test, &a->resv, fr, DMA_RESV_USAGE_READ);
	KUNIT_EXPECT_EQ(test, test_poll(buf), TEST_POLL_IN);
	dma_fence_signal(fr);
	KUNIT_EXPECT_EQ(test, test_poll(buf), TEST_POLL_IN | TEST_POLL_OUT);

	dma_resv_lock(buf->resv, NULL);
	KUNIT_EXPECT_EQ(test, dma_buf_unbind_vm(buf, &a->base), 0);
	dma_resv_unlock(buf->resv);
	dma_buf_put(buf);
	dma_resv_vm_put(&a->base);
	dma_fence_put(fa);
	dma_fence_put(fr);
}

static struct kunit_case dma_resv_vm_cases[] = {
	KUNIT_CASE(test_opt_in),
	KUNIT_CASE(test_vm_refcount),
	KUNIT_CASE(test_bind_unbind),
	KUNIT_CASE(test_read_lock_one_lock),
	KUNIT_CASE(test_write_lock_all_vms),
	KUNIT_CASE(test_write_lock_caller_vm),
	KUNIT_CASE(test_write_lock_shared_vms),
	KUNIT_CASE(test_writer_excludes_readers),
	KUNIT_CASE(test_reader_blocks_writer),
	KUNIT_CASE(test_write_trylock),
	KUNIT_CASE(test_fence_visibility),
	KUNIT_CASE(test_iter_unbind_restart),
	KUNIT_CASE(test_iter_unbind_ahead),
	KUNIT_CASE(test_iter_race_unbind),
	KUNIT_CASE(test_singleton_preempt_order),
	KUNIT_CASE(test_vms_wait_preempt_order),
	KUNIT_CASE(test_abba_backoff),
	KUNIT_CASE(test_vm_destroyed_during_backoff),
	KUNIT_CASE(test_transaction_backoff),
	KUNIT_CASE(test_transaction_older),
	KUNIT_CASE(test_interruptible),
	KUNIT_CASE(test_injected_backoff),
	KUNIT_CASE(test_bind_enomem),
	KUNIT_CASE(test_race_bind_writer),
	KUNIT_CASE_SLOW(test_stress),
	KUNIT_CASE(test_dma_buf_wrappers),
	KUNIT_CASE(test_dma_buf_poll),
	{}
};

static struct kunit_suite dma_resv_vm_suite = {
	.name = "dma-buf-resv-vm",
	.test_cases = dma_resv_vm_cases,
};

kunit_test_suite(dma_resv_vm_suite);

/* test_dma_buf_wrappers() exports a dma_buf */
MODULE_IMPORT_NS("DMA_BUF");
