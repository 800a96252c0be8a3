/*
 * steptrace.c - run a program under ptrace, single-stepping, and write the
 * distinct instruction addresses it executed (hex, one a line) to OUT. For
 * tools/hot-order.sh, on programs valgrind cannot run (hamn-monitor uses
 * open_tree and clone3). Follows execs, not forks. Slow: startup paths only.
 *
 * usage: steptrace OUT PROGRAM [ARG...]
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#define SET_BITS 22 /* 4M slots: open addressing, far more than any startup runs */

static uint64_t *set;

static void set_add(uint64_t a)
{
	uint64_t mask = (1ULL << SET_BITS) - 1, i = (a * 0x9E3779B97F4A7C15ULL) >> (64 - SET_BITS);

	while (set[i] && set[i] != a)
		i = (i + 1) & mask;
	set[i] = a;
}

int main(int argc, char **argv)
{
	pid_t pid;
	int status, sig = 0;
	FILE *out;

	if (argc < 3) {
		fprintf(stderr, "usage: steptrace OUT PROGRAM [ARG...]\n");
		return 2;
	}
	set = calloc(1ULL << SET_BITS, sizeof(*set));
	pid = fork();
	if (pid == 0) {
		ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		execvp(argv[2], argv + 2);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) == pid) {
		struct user_regs_struct regs;

		if (WIFEXITED(status) || WIFSIGNALED(status))
			break;
		sig = WSTOPSIG(status) == SIGTRAP ? 0 : WSTOPSIG(status);
		if (ptrace(PTRACE_GETREGS, pid, NULL, &regs) == 0)
			set_add(regs.rip);
		if (ptrace(PTRACE_SINGLESTEP, pid, NULL, (void *)(long)sig) < 0)
			break;
	}
	out = fopen(argv[1], "w");
	if (!out)
		return 1;
	for (uint64_t i = 0; i < (1ULL << SET_BITS); i++)
		if (set[i])
			fprintf(out, "%llx\n", (unsigned long long)set[i]);
	return fclose(out) == 0 ? 0 : 1;
}
