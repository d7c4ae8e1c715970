// SPDX-License-Identifier: GPL-2.0
/*
 * Preloaded into a UML kernel built with CONFIG_GCOV, to make it write its
 * .gcda files when it exits.
 *
 * gcc's libgcov writes the coverage data from a destructor it places in
 * .fini_array.00100 (a priority section). UML's linker script,
 * arch/um/kernel/dyn.lds.S, collects .fini_array but not .fini_array.*, so
 * the C library never runs that destructor and a UML kernel built with gcc
 * 12 exits without writing any .gcda file (the "missing .gcda files" that
 * Documentation/dev-tools/kunit/running_tips.rst warns about). This
 * object's own destructor calls the kernel binary's __gcov_exit() instead:
 * the harness passes its address (from nm; the UML binary is not
 * position-independent) in UML_GCOV_EXIT, and the path of the binary in
 * UML_GCOV_EXE. Nothing happens in any other program the variables reach
 * (kunit.py itself), nor in the processes UML forks at startup to probe
 * the host (they exit through the same destructors).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pid_t started;

__attribute__((constructor)) static void umlgcov_start(void)
{
	started = getpid();
}

__attribute__((destructor)) static void umlgcov_exit(void)
{
	const char *exe = getenv("UML_GCOV_EXE");
	const char *addr = getenv("UML_GCOV_EXIT");
	unsigned long long fn;
	char self[4096], *end;
	ssize_t n;

	if (!exe || !addr || !*addr || getpid() != started)
		return;
	fn = strtoull(addr, &end, 16);
	if (*end || !fn)
		return;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return;
	self[n] = '\0';
	if (strcmp(self, exe))
		return;
	((void (*)(void))(uintptr_t)fn)();
}
