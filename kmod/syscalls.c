// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/* System calls the module makes for the guest in the kernel, for one VM exit and no
 * return to user space (docs/kmod.md, "System calls").
 *
 * The guest's addresses are the process's own (the engine maps guest-virtual to
 * guest-physical to host-virtual one to one), so a buffer the guest passes is a user
 * pointer of the calling task here, and every call runs as that task, with its files,
 * credentials and limits. A call is made here only where the kernel exports what the
 * system call itself does, and where the engine has no bookkeeping of its own around it;
 * any other call, any file whose operations the exported paths do not reach, and every
 * call of a task whose calls are filtered, traced or audited, goes to the engine in user
 * space, as on the kvm backend. */
#include <linux/audit.h>
#include <linux/errno.h>
#include <linux/fdtable.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mman.h>
#include <linux/sched/signal.h>
#include <linux/syscalls.h>
#include <linux/sched/xacct.h>
#include <linux/seccomp.h>
#include <linux/uio.h>

#include "gcvm_kmod.h"
#include "guest_abi.h"

_Static_assert(GCVM_ABI_MAP_FIXED == MAP_FIXED, "gcvm/src/guest_abi.h");

/* ---- Interrupted calls ---- */

/* Signals the kernel delivers before any other, as its signal dequeueing does. */
#define SYNCHRONOUS_SIGNALS                                                                        \
	(sigmask(SIGSEGV) | sigmask(SIGBUS) | sigmask(SIGILL) | sigmask(SIGTRAP) |                 \
	 sigmask(SIGFPE) | sigmask(SIGSYS))

/* The lowest-numbered signal of @set, synchronous ones first; 0 if @set is empty. */
static int next_in_set(unsigned long set)
{
	unsigned long sync = set & SYNCHRONOUS_SIGNALS;

	if (sync)
		set = sync;
	return set ? __ffs(set) + 1 : 0;
}

/* Whether the signal the kernel will deliver next to this thread runs a handler, and
 * that handler's sa_flags. The kernel takes the thread's own pending signals before the
 * process's, and passes over those ignored or left to their default action (which either
 * stops the thread, then resumes it, or ends the process). */
static bool next_handled_signal(unsigned long *flags)
{
	struct sighand_struct *sighand = current->sighand;
	unsigned long sets[2];
	bool found = false;
	int i, sig;

	spin_lock_irq(&sighand->siglock);
	sets[0] = current->pending.signal.sig[0] & ~current->blocked.sig[0];
	sets[1] = current->signal->shared_pending.signal.sig[0] & ~current->blocked.sig[0];
	for (i = 0; i < 2 && !found; i++) {
		while (!found && (sig = next_in_set(sets[i])) != 0) {
			const struct k_sigaction *ka = &sighand->action[sig - 1];

			sets[i] &= ~sigmask(sig);
			if (ka->sa.sa_handler == SIG_IGN || ka->sa.sa_handler == SIG_DFL)
				continue;
			*flags = ka->sa.sa_flags;
			found = true;
		}
	}
	spin_unlock_irq(&sighand->siglock);
	return found;
}

static bool is_restart_code(long ret)
{
	return ret == -ERESTARTSYS || ret == -ERESTARTNOINTR || ret == -ERESTARTNOHAND ||
		ret == -ERESTART_RESTARTBLOCK;
}

/* A call that a signal interrupted before it did anything: whether the kernel would make
 * it again once the signal is handled (true), or return EINTR (false). It makes it again
 * unless a handler runs, and then only for ERESTARTNOINTR, or ERESTARTSYS under
 * SA_RESTART. */
static bool restarts_after_signal(long ret)
{
	unsigned long flags = 0;

	if (ret == -ERESTARTNOINTR || !next_handled_signal(&flags))
		return true;
	return ret == -ERESTARTSYS && (flags & SA_RESTART);
}

/* ---- Files ---- */

/* The file position is shared: its users are serialized as the kernel's own read(2),
 * write(2) and lseek(2) serialize them, with the file's f_pos_lock where it has one.
 * Returns whether it took the lock, for unlock_position. */
static bool lock_position(struct file *file)
{
	bool locked = file->f_mode & FMODE_ATOMIC_POS;

	if (locked)
		mutex_lock(&file->f_pos_lock);
	return locked;
}

static void unlock_position(struct file *file, bool locked)
{
	if (locked)
		mutex_unlock(&file->f_pos_lock);
}

/* A read or a write as the system calls describe it. */
struct rw_call {
	int dir; /* READ or WRITE */
	unsigned int fd;
	u64 buf, len; /* a buffer and its length, or an iovec array and its length */
	bool vector; /* readv, writev */
	loff_t *at; /* pread64, pwrite64: where; NULL: at the file position */
};

/* Imports the call's user memory into @iter: 0, or the error the system call gives.
 * *@iov is then NULL or an array the caller frees. */
static long import_buffers(const struct rw_call *c, struct iovec *stack, struct iovec **iov,
			   struct iov_iter *iter)
{
	ssize_t bytes;

	if (!c->vector) {
		*iov = NULL;
		return import_single_range(c->dir, u64_to_user_ptr(c->buf), c->len, stack, iter);
	}
	/* NULL afterwards when @stack was enough, otherwise an array to kfree() */
	*iov = stack;
	bytes = import_iovec(c->dir, u64_to_user_ptr(c->buf), c->len, UIO_FASTIOV, iov, iter);
	return bytes < 0 ? bytes : 0;
}

/* Reads or writes through the file's read_iter or write_iter, checking what the system
 * call checks in the order it does. False, with nothing done, when the file has no
 * read_iter or write_iter (the only paths the kernel exports): the engine then makes the
 * call. */
static bool file_rw(const struct rw_call *c, long *ret)
{
	struct iovec stack[UIO_FASTIOV], *iov;
	struct iov_iter iter;
	struct file *file;
	loff_t pos, *ppos = NULL;
	bool locked = false;

	if (c->at && *c->at < 0) {
		*ret = -EINVAL;
		return true;
	}
	file = fget(c->fd);
	if (!file) {
		*ret = -EBADF;
		return true;
	}
	if (!(c->dir == READ ? file->f_op->read_iter : file->f_op->write_iter)) {
		fput(file);
		return false;
	}
	if (c->at && !(file->f_mode & (c->dir == READ ? FMODE_PREAD : FMODE_PWRITE))) {
		*ret = -ESPIPE;
		goto out;
	}
	if (!c->vector && !(file->f_mode & (c->dir == READ ? FMODE_READ : FMODE_WRITE))) {
		*ret = -EBADF;
		goto out;
	}
	*ret = import_buffers(c, stack, &iov, &iter);
	if (*ret)
		goto out;
	if (c->at) {
		pos = *c->at;
		ppos = &pos;
	} else {
		locked = lock_position(file);
		if (!(file->f_mode & FMODE_STREAM)) {
			pos = file->f_pos;
			ppos = &pos;
		}
	}
	if (c->dir == READ) {
		*ret = vfs_iter_read(file, &iter, ppos, 0);
		if (*ret > 0)
			add_rchar(current, *ret);
		inc_syscr(current);
	} else {
		file_start_write(file);
		*ret = vfs_iter_write(file, &iter, ppos, 0);
		file_end_write(file);
		if (*ret > 0)
			add_wchar(current, *ret);
		inc_syscw(current);
	}
	if (!c->at && ppos && *ret >= 0)
		file->f_pos = pos;
	unlock_position(file, locked);
	kfree(iov);
out:
	fput(file);
	return true;
}

static long file_lseek(unsigned int fd, loff_t offset, unsigned int whence)
{
	struct file *file;
	bool locked;
	long ret;

	file = fget(fd);
	if (!file)
		return -EBADF;
	if (whence > SEEK_MAX) {
		fput(file);
		return -EINVAL;
	}
	locked = lock_position(file);
	ret = vfs_llseek(file, offset, whence);
	unlock_position(file, locked);
	fput(file);
	return ret;
}

static long file_fsync(unsigned int fd, int datasync)
{
	struct file *file = fget(fd);
	long ret;

	if (!file)
		return -EBADF;
	ret = vfs_fsync(file, datasync);
	fput(file);
	return ret;
}

/* close(2): the file table entry is gone whatever happens, so it is never made again. */
static long file_close(unsigned int fd)
{
	long ret = close_fd(fd);

	return is_restart_code(ret) ? -EINTR : ret;
}

/* ---- Memory ---- */

/* mmap(2) of new anonymous memory: MAP_ANONYMOUS without MAP_FIXED (which would replace
 * mappings the engine mirrors) or MAP_HUGETLB (whose set-up the kernel does not export).
 * False for any other mapping. */
static bool anonymous_mmap(const u64 *regs, long *ret)
{
	u64 flags = regs[R_R10];

	if (!(flags & MAP_ANONYMOUS) || (flags & (MAP_FIXED | MAP_HUGETLB)))
		return false;
	if (regs[R_R9] & ~PAGE_MASK) {
		*ret = -EINVAL;
		return true;
	}
	*ret = vm_mmap(NULL, regs[R_RDI], regs[R_RSI], regs[R_RDX], flags, regs[R_R9]);
	return true;
}

/* ---- The task ---- */

static long task_identity(u64 nr)
{
	long ret;

	switch (nr) {
	case __NR_getpid: return task_tgid_vnr(current);
	case __NR_gettid: return task_pid_vnr(current);
	case __NR_getppid:
		rcu_read_lock();
		ret = task_tgid_vnr(rcu_dereference(current->real_parent));
		rcu_read_unlock();
		return ret;
	case __NR_getuid: return from_kuid_munged(current_user_ns(), current_uid());
	case __NR_geteuid: return from_kuid_munged(current_user_ns(), current_euid());
	case __NR_getgid: return from_kgid_munged(current_user_ns(), current_gid());
	default: return from_kgid_munged(current_user_ns(), current_egid());
	}
}

/* ---- Dispatch ---- */

/* Makes the call, with the number and arguments in the registers SYSCALL and the
 * system-call convention left them; false when the engine must make it. */
/* read, write, pread64, pwrite64, readv and writev, with their arguments in @regs. */
static bool read_or_write(const u64 *regs, int dir, bool vector, bool positioned, long *ret)
{
	loff_t at = (loff_t)regs[R_R10];
	struct rw_call c = {.dir = dir,
			    .fd = regs[R_RDI],
			    .buf = regs[R_RSI],
			    .len = regs[R_RDX],
			    .vector = vector,
			    .at = positioned ? &at : NULL};

	return file_rw(&c, ret);
}

static bool make_call(const u64 *regs, long *ret)
{
	u64 a0 = regs[R_RDI], a1 = regs[R_RSI], a2 = regs[R_RDX];

	switch (regs[R_RAX]) {
	case __NR_read: return read_or_write(regs, READ, false, false, ret);
	case __NR_write: return read_or_write(regs, WRITE, false, false, ret);
	case __NR_pread64: return read_or_write(regs, READ, false, true, ret);
	case __NR_pwrite64: return read_or_write(regs, WRITE, false, true, ret);
	case __NR_readv: return read_or_write(regs, READ, true, false, ret);
	case __NR_writev: return read_or_write(regs, WRITE, true, false, ret);
	case __NR_lseek: *ret = file_lseek(a0, (loff_t)a1, a2); return true;
	case __NR_fsync: *ret = file_fsync(a0, 0); return true;
	case __NR_fdatasync: *ret = file_fsync(a0, 1); return true;
	case __NR_close: *ret = file_close(a0); return true;
	case __NR_mmap: return anonymous_mmap(regs, ret);
	case __NR_getpid:
	case __NR_gettid:
	case __NR_getppid:
	case __NR_getuid:
	case __NR_geteuid:
	case __NR_getgid:
	case __NR_getegid: *ret = task_identity(regs[R_RAX]); return true;
	case __NR_sched_yield:
		yield();
		*ret = 0;
		return true;
	default: return false;
	}
}

/* Whether something watches or filters this task's system calls: a seccomp filter, a
 * tracer, or the audit subsystem. They see only calls that enter through the system-call
 * path, so every call then goes to the engine, which makes it there: a call made here
 * would bypass a filter that forbids it, and be missing from a trace or an audit log. */
static bool calls_are_watched(void)
{
	return current->seccomp.mode != SECCOMP_MODE_DISABLED || current->ptrace || audit_context();
}

enum gcvm_syscall_outcome gcvm_syscall_in_kernel(struct gcvm_vcpu *v)
{
	long ret;

	/* The engine's own calls first: making one here would leave its bookkeeping behind. */
	if (gcvm_abi_engine_keeps_syscall(v->regs[R_RAX], v->regs[R_R10]) || calls_are_watched() ||
	    !make_call(v->regs, &ret))
		return GCVM_SYSCALL_TO_ENGINE;
	if (is_restart_code(ret) && restarts_after_signal(ret))
		return GCVM_SYSCALL_AGAIN;
	if (is_restart_code(ret))
		ret = -EINTR;
	v->regs[R_RAX] = ret;
	v->rip = v->regs[R_RCX];
	v->rflags = gcvm_guest_rflags(v->regs[R_R11]);
	return GCVM_SYSCALL_DONE;
}
