/*
 * runtime-probe.c - a tiny static program the escape tests run inside
 * containers: it tries one privileged operation per argument and prints
 * "NAME ok" or "NAME ERRNO" (e.g. "keyctl EPERM"). Built by the tests with
 * gcc -static; busybox has no applet for most of these calls.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/reboot.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static const char *name(int e)
{
	switch (e) {
	case EPERM: return "EPERM";
	case EACCES: return "EACCES";
	case ENOSYS: return "ENOSYS";
	case EINVAL: return "EINVAL";
	case ENOENT: return "ENOENT";
	case EROFS: return "EROFS";
	case EBADF: return "EBADF";
	case EFAULT: return "EFAULT";
	default: return strerror(e);
	}
}

static void report(const char *what, long r)
{
	printf("%s %s\n", what, r < 0 ? name(errno) : "ok");
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		struct timespec ts = { 0, -1 };	/* invalid: can never set the clock */
		if (!strcmp(a, "mount"))
			report(a, mount("none", "/tmp", "tmpfs", 0, NULL));
		else if (!strcmp(a, "unshare"))
			report(a, unshare(CLONE_NEWUSER));
		else if (!strcmp(a, "unshare-mnt"))
			report(a, unshare(CLONE_NEWNS));
		else if (!strcmp(a, "keyctl"))
			report(a, syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3, 0));
		else if (!strcmp(a, "add_key"))
			report(a, syscall(SYS_add_key, "user", "hamn", "x", 1, -3));
		else if (!strcmp(a, "ptrace"))
			report(a, ptrace(PTRACE_TRACEME, 0, NULL, NULL));
		else if (!strcmp(a, "attach1"))
			report(a, ptrace(PTRACE_ATTACH, 1, NULL, NULL));
		else if (!strcmp(a, "kcmp"))
			report(a, syscall(SYS_kcmp, getpid(), 1, 0 /* KCMP_FILE */, 0, 0));
		else if (!strcmp(a, "pidfd_getfd"))
			report(a, syscall(SYS_pidfd_getfd, -1, 0, 0));
		else if (!strcmp(a, "reboot"))
			report(a, reboot(RB_POWER_OFF + 1 /* invalid on purpose: never reboots */));
		else if (!strcmp(a, "finit_module"))
			report(a, syscall(SYS_finit_module, -1, "", 0));
		else if (!strcmp(a, "init_module"))
			report(a, syscall(SYS_init_module, NULL, 0, ""));
		else if (!strcmp(a, "settime"))
			report(a, syscall(SYS_clock_settime, CLOCK_REALTIME, &ts));
		else if (!strcmp(a, "kexec"))
			report(a, syscall(SYS_kexec_load, 0, 0, NULL, 0));
		else if (!strcmp(a, "open_by_handle"))
			report(a, syscall(SYS_open_by_handle_at, -1, NULL, 0));
		else if (!strcmp(a, "fds")) {
			/* every fd open in this process beyond 0-2, with what it points to */
			for (int fd = 3; fd < 4096; fd++) {
				char path[64], target[512];
				if (fcntl(fd, F_GETFD) < 0)
					continue;
				snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
				ssize_t n = readlink(path, target, sizeof(target) - 1);
				target[n > 0 ? n : 0] = '\0';
				printf("fd %d %s\n", fd, target);
			}
			printf("fds done\n");
		} else if (!strcmp(a, "cwd")) {
			char buf[4096];
			printf("cwd %s\n", getcwd(buf, sizeof(buf)) ? buf : name(errno));
		} else
			printf("%s unknown\n", a);
	}
	return 0;
}
