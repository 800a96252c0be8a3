/*
 * hamn-monitor - the monitor zygote of hamnd. hamnd execs it once at start
 * with one end of a socketpair as fd 3 ("hamn-monitor --zygote 3 --root R
 * --exec-root E"; the directories only label it for ps); it forks one
 * monitor per started container (src/engine/zygote.c, monitor.c). It is a
 * separate small program so that monitors map few libraries and stay small.
 * Not meant to be run by hand.
 */
#include "engine/engine.h"

int main(int argc, char **argv)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	int64_t fd = -1;

	if (argc < 3 || !streq(argv[1], "--zygote") || hamn_parse_int64(argv[2], &fd, &err) < 0 ||
	    fd < 3 || fd > 1000) {
		fprintf(stderr, "hamn-monitor: started by hamnd only (usage: hamn-monitor --zygote FD)\n");
		return 2;
	}
	hamn_engine_zygote_main((int)fd);
}
