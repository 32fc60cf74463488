/*
 * mallocount.c -- LD_PRELOAD allocation counter for `make bench`.
 * Owns: counting malloc, calloc, realloc, memalign-family calls and frees
 * in every process that preloads it, into one shared counter page (the
 * file named by $MALLOCOUNT_FILE, mapped MAP_SHARED), so a script can read
 * the counts between two requests with `od` while the process runs.
 * Never: changes what an allocation returns, allocates itself, or calls
 * dlsym (which may allocate): it forwards to glibc's __libc_* entry points.
 *
 * Counter page layout (u64, native endian):
 *   [0] allocations (malloc + calloc + memalign family + realloc(NULL, n)),
 *   [1] frees of non-NULL pointers, [2] reallocs of a live block,
 *   [3] bytes requested by all of them,
 *   [4] allocations made by threads other than the process's main thread,
 *   [5] reallocs of a live block by those threads.
 * [4] and [5] exist because the proxy's main thread only starts threads
 * and runs the once-a-second upkeep (LMDB's reader check mallocs), while
 * every request is served by a worker thread: they count the request path
 * without the clock's noise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void *__libc_memalign(size_t align, size_t n);
extern void  __libc_free(void *p);

enum { C_ALLOC, C_FREE, C_REALLOC, C_BYTES, C_W_ALLOC, C_W_REALLOC,
    C__MAX };

static uint64_t local[C__MAX];		/* until the page is mapped */
static uint64_t *counters = local;

__attribute__((constructor)) static void
mc_init(void)
{
	const char *path = getenv("MALLOCOUNT_FILE");
	struct stat st;
	void *p;
	int fd;

	if (path == NULL)
		return;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (fstat(fd, &st) == 0 && st.st_size < 4096 &&
	    ftruncate(fd, 4096) != 0) {
		close(fd);
		return;
	}
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p != MAP_FAILED)
		counters = p;
}

/* Not the main thread? Two raw syscalls: no TLS, safe at any time. */
static int
in_worker(void)
{
	return syscall(SYS_gettid) != syscall(SYS_getpid);
}

static void
count(int what, size_t bytes)
{
	__atomic_fetch_add(&counters[what], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&counters[C_BYTES], bytes, __ATOMIC_RELAXED);
	if (counters != local && in_worker())
		__atomic_fetch_add(&counters[what == C_ALLOC ? C_W_ALLOC :
		    C_W_REALLOC], 1, __ATOMIC_RELAXED);
}

void *
malloc(size_t n)
{
	count(C_ALLOC, n);
	return __libc_malloc(n);
}

void *
calloc(size_t n, size_t size)
{
	count(C_ALLOC, n * size);
	return __libc_calloc(n, size);
}

void *
realloc(void *p, size_t n)
{
	count(p == NULL ? C_ALLOC : C_REALLOC, n);
	return __libc_realloc(p, n);
}

void
free(void *p)
{
	if (p != NULL)
		__atomic_fetch_add(&counters[C_FREE], 1, __ATOMIC_RELAXED);
	__libc_free(p);
}

void *
memalign(size_t align, size_t n)
{
	count(C_ALLOC, n);
	return __libc_memalign(align, n);
}

void *
aligned_alloc(size_t align, size_t n)
{
	count(C_ALLOC, n);
	return __libc_memalign(align, n);
}

int
posix_memalign(void **out, size_t align, size_t n)
{
	void *p;

	if (align < sizeof(void *) || (align & (align - 1)) != 0)
		return EINVAL;
	count(C_ALLOC, n);
	p = __libc_memalign(align, n);
	if (p == NULL)
		return ENOMEM;
	*out = p;
	return 0;
}

void *
valloc(size_t n)
{
	count(C_ALLOC, n);
	return __libc_memalign((size_t)sysconf(_SC_PAGESIZE), n);
}
