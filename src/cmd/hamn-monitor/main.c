/*
 * hamn-monitor - the monitor zygote of hamnd. hamnd execs it once at start
 * with one end of a socketpair as fd 3 ("hamn-monitor --zygote 3 --root R
 * --exec-root E"; the directories only label it for ps); it forks one
 * monitor per started container (src/engine/zygote.c, monitor.c). It is a
 * separate small program so that monitors map few libraries and stay small.
 * Not meant to be run by hand.
 */
#include "engine/engine.h"
#include "runtime/runtime.h"

int main(int argc, char **argv)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	int64_t fd = -1;

	/*
	 * Every container init is forked from here, so until its execve its
	 * /proc/PID/exe is this program: run from a read-only clone so nothing in
	 * a container can reopen it for writing (CVE-2019-5736). fd 3 survives.
	 */
	if (hamn_runtime_protect_exe(argv, &err) < 0) {
		fprintf(stderr, "hamn-monitor: %s\n", err->msg);
		return 1;
	}
	if (argc < 3 || !streq(argv[1], "--zygote") || hamn_parse_int64(argv[2], &fd, &err) < 0 ||
	    fd < 3 || fd > 1000) {
		fprintf(stderr, "hamn-monitor: started by hamnd only (usage: hamn-monitor --zygote FD)\n");
		return 2;
	}
	hamn_engine_zygote_main((int)fd);
}
