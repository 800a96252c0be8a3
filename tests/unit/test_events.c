/*
 * test_events.c - the event bus (src/engine/events.c): message rendering,
 * replay windows from the ring and from the database, live delivery without
 * gaps or repeats, history across a reopen, a damaged database, a slow
 * subscriber; the filters of GET /events (src/api/events.c); and the pure
 * parsers of src/engine/stats.c (net/dev, memory.stat, /proc/stat, blkio,
 * io.stat, cgroup directories).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <cmocka.h>

#include <poll.h>
#include <unistd.h>

#include "api/events.h"
#include "engine/events.h"
#include "engine/stats.h"

#define SEC 1000000000LL
#define T0 (1795949783LL * SEC)

/* ---- helpers ---- */

struct tmp {
	char dir[64];
	char *db;
};

static void tmp_make(struct tmp *t)
{
	snprintf(t->dir, sizeof(t->dir), "/tmp/hamn-test-events-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	t->db = xasprintf("%s/events.db", t->dir);
}

static void tmp_remove(struct tmp *t)
{
	struct hamn_error *err = NULL;

	assert_int_equal(hamn_rm_rf(AT_FDCWD, t->dir, &err), 0);
	free(t->db);
}

static struct hamn_events *bus_open(struct tmp *t)
{
	struct hamn_error *err = NULL;
	struct hamn_events *b = hamn_events_open(t->db, &err);

	if (!b)
		fail_msg("open: %s", err->msg);
	return b;
}

/* Emit n container events "a<i>" at T0 + i seconds, i from first. */
static void emit_n(struct hamn_events *b, int first, int n)
{
	for (int i = first; i < first + n; i++) {
		char action[16];

		snprintf(action, sizeof(action), "a%d", i);
		hamn_events_emit_at(b, T0 + i * SEC, "container", action, "cid", NULL);
	}
}

/* Read everything available now into actions ("a1 a2 ..."); the count is returned. */
static int drain(struct hamn_events_sub *s, struct hamn_buf *actions)
{
	struct hamn_error *err = NULL;
	struct hamn_event *ev;
	int n = 0, r;

	while ((r = hamn_events_sub_next(s, &ev, &err)) == 1) {
		if (actions->len)
			hamn_buf_putc(actions, ' ');
		hamn_buf_puts(actions, ev->action);
		hamn_event_unref(ev);
		n++;
	}
	assert_int_equal(r, 0);
	return n;
}

static bool fd_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1;
}

/* ---- messages ---- */

static void container_event_renders_like_dockerd(void **state)
{
	json_t *attrs = json_pack("{s:s, s:s, s:s, s:i}", "name", "evt", "image", "busybox:local",
				  "exitCode", "0", "bad", 1);
	struct hamn_event *ev = hamn_event_new(7, T0 + 349267687, "container", "die", "a882",
					       attrs);

	(void)state;
	assert_string_equal(
		ev->text,
		"{\"status\":\"die\",\"id\":\"a882\",\"from\":\"busybox:local\",\"Type\":"
		"\"container\",\"Action\":\"die\",\"Actor\":{\"ID\":\"a882\",\"Attributes\":{"
		"\"exitCode\":\"0\",\"image\":\"busybox:local\",\"name\":\"evt\"}},\"scope\":"
		"\"local\",\"time\":1795949783,\"timeNano\":1795949783349267687}");
	/* only strings are attributes; the caller's object is copied */
	assert_null(json_object_get(ev->attrs, "bad"));
	json_object_set_new(attrs, "name", json_string("changed"));
	assert_string_equal(json_string_value(json_object_get(ev->attrs, "name")), "evt");
	json_decref(attrs);
	hamn_event_unref(ev);
}

static void network_and_image_events_have_no_legacy_from(void **state)
{
	json_t *attrs = json_pack("{s:s}", "driver", "local");
	struct hamn_event *v = hamn_event_new(1, T0, "volume", "create", "evvol", attrs);
	struct hamn_event *i = hamn_event_new(2, T0, "image", "tag", "sha256:ab", NULL);

	(void)state;
	assert_string_equal(v->text, "{\"Type\":\"volume\",\"Action\":\"create\",\"Actor\":{\"ID\":"
				     "\"evvol\",\"Attributes\":{\"driver\":\"local\"}},\"scope\":"
				     "\"local\",\"time\":1795949783,\"timeNano\":"
				     "1795949783000000000}");
	assert_non_null(strstr(i->text, "\"status\":\"tag\",\"id\":\"sha256:ab\",\"Type\""));
	assert_null(strstr(i->text, "\"from\""));
	json_decref(attrs);
	hamn_event_unref(v);
	hamn_event_unref(i);
}

static void parse_round_trips_and_refuses_junk(void **state)
{
	json_t *attrs = json_pack("{s:s}", "name", "x");
	struct hamn_event *ev = hamn_event_new(3, T0 + 5, "container", "start", "c1", attrs);
	struct hamn_error *err = NULL;
	struct hamn_event *back = hamn_event_parse(3, ev->text, &err);

	(void)state;
	assert_non_null(back);
	assert_int_equal(back->time_ns, T0 + 5);
	assert_string_equal(back->type, "container");
	assert_string_equal(back->action, "start");
	assert_string_equal(back->id, "c1");
	assert_string_equal(back->text, ev->text);
	assert_string_equal(json_string_value(json_object_get(back->attrs, "name")), "x");
	assert_null(hamn_event_parse(4, "{\"Type\":\"container\"}", &err));
	assert_int_equal(err->errnum, EINVAL);
	hamn_error_free(&err);
	assert_null(hamn_event_parse(4, "not json", &err));
	hamn_error_free(&err);
	json_decref(attrs);
	hamn_event_unref(ev);
	hamn_event_unref(back);
}

/* ---- the bus ---- */

static void live_events_wake_the_fd_in_order(void **state)
{
	struct tmp t;
	struct hamn_events *b;
	struct hamn_events_sub *s;
	struct hamn_error *err = NULL;
	_cleanup_buf_ struct hamn_buf got = HAMN_BUF_INIT;

	(void)state;
	tmp_make(&t);
	b = bus_open(&t);
	emit_n(b, 1, 2); /* before: not for a subscriber without replay */
	s = hamn_events_subscribe(b, false, 0, 0, &err);
	assert_non_null(s);
	assert_false(fd_readable(hamn_events_sub_fd(s)));
	assert_int_equal(drain(s, &got), 0);
	emit_n(b, 3, 3);
	assert_true(fd_readable(hamn_events_sub_fd(s)));
	assert_int_equal(drain(s, &got), 3);
	assert_string_equal(got.data, "a3 a4 a5");
	/* drained: the fd is quiet again until the next event */
	assert_false(fd_readable(hamn_events_sub_fd(s)));
	hamn_events_sub_free(s);
	hamn_events_free(b);
	tmp_remove(&t);
}

static void replay_window_then_live_without_gaps(void **state)
{
	struct tmp t;
	struct hamn_events *b;
	struct hamn_events_sub *s;
	struct hamn_error *err = NULL;
	_cleanup_buf_ struct hamn_buf got = HAMN_BUF_INIT;

	(void)state;
	tmp_make(&t);
	b = bus_open(&t);
	emit_n(b, 1, 10);
	/* since a4 (inclusive) .. until a7 (inclusive) */
	s = hamn_events_subscribe(b, true, T0 + 4 * SEC, T0 + 7 * SEC, &err);
	assert_true(hamn_events_sub_replaying(s));
	emit_n(b, 11, 1); /* comes during the replay: live, after it */
	assert_int_equal(drain(s, &got), 5);
	assert_string_equal(got.data, "a4 a5 a6 a7 a11");
	assert_false(hamn_events_sub_replaying(s));
	hamn_events_sub_free(s);
	/* since only: from there to now */
	hamn_buf_reset(&got);
	s = hamn_events_subscribe(b, true, T0 + 9 * SEC, 0, &err);
	assert_int_equal(drain(s, &got), 3);
	assert_string_equal(got.data, "a9 a10 a11");
	hamn_events_sub_free(s);
	/* since after everything: nothing to replay */
	s = hamn_events_subscribe(b, true, T0 + 100 * SEC, 0, &err);
	assert_false(hamn_events_sub_replaying(s));
	hamn_events_sub_free(s);
	hamn_events_free(b);
	tmp_remove(&t);
}

static void replay_reaches_past_the_ring_into_the_database(void **state)
{
	int n = HAMN_EVENTS_RING * 3 + 17;
	struct tmp t;
	struct hamn_events *b;
	struct hamn_events_sub *s;
	struct hamn_error *err = NULL;
	struct hamn_event *ev;
	int count = 0, r;
	uint64_t prev = 0;

	(void)state;
	tmp_make(&t);
	b = bus_open(&t);
	emit_n(b, 1, n);
	s = hamn_events_subscribe(b, true, 0, 0, &err);
	while ((r = hamn_events_sub_next(s, &ev, &err)) == 1) {
		assert_true(ev->seq == prev + 1);
		prev = ev->seq;
		/* overwrite the ring while replaying: the rest comes from the database */
		if (count == 10)
			emit_n(b, n + 1, HAMN_EVENTS_RING);
		count++;
		hamn_event_unref(ev);
	}
	assert_int_equal(r, 0);
	assert_int_equal(count, n + HAMN_EVENTS_RING);
	hamn_events_sub_free(s);
	hamn_events_free(b);
	tmp_remove(&t);
}

static void history_survives_a_reopen(void **state)
{
	struct tmp t;
	struct hamn_events *b;
	struct hamn_events_sub *s;
	struct hamn_error *err = NULL;
	struct hamn_event *ev;
	_cleanup_buf_ struct hamn_buf got = HAMN_BUF_INIT;

	(void)state;
	tmp_make(&t);
	b = bus_open(&t);
	emit_n(b, 1, 3);
	hamn_events_free(b);
	b = bus_open(&t);
	emit_n(b, 4, 1);
	s = hamn_events_subscribe(b, true, T0 + 2 * SEC, 0, &err);
	assert_int_equal(drain(s, &got), 3);
	assert_string_equal(got.data, "a2 a3 a4");
	hamn_events_sub_free(s);
	/* numbering goes on after the old events */
	s = hamn_events_subscribe(b, false, 0, 0, &err);
	emit_n(b, 5, 1);
	assert_int_equal(hamn_events_sub_next(s, &ev, &err), 1);
	assert_int_equal(ev->seq, 5);
	hamn_event_unref(ev);
	hamn_events_sub_free(s);
	hamn_events_free(b);
	tmp_remove(&t);
}

static void a_damaged_database_is_set_aside(void **state)
{
	static const char junk[] = "this is not an SQLite database, not at all, really not\n";
	struct tmp t;
	struct hamn_events *b;
	struct hamn_events_sub *s;
	struct hamn_error *err = NULL;
	_cleanup_free_ char *aside = NULL;
	_cleanup_buf_ struct hamn_buf got = HAMN_BUF_INIT;

	(void)state;
	tmp_make(&t);
	assert_int_equal(hamn_write_atomic(AT_FDCWD, t.db, junk, sizeof(junk) - 1, 0600, &err), 0);
	b = bus_open(&t);
	aside = xasprintf("%s.corrupt", t.db);
	assert_int_equal(access(aside, F_OK), 0);
	emit_n(b, 1, 1);
	s = hamn_events_subscribe(b, true, 0, 0, &err);
	assert_int_equal(drain(s, &got), 1);
	hamn_events_sub_free(s);
	hamn_events_free(b);
	tmp_remove(&t);
}

static void a_slow_subscriber_is_cut_off(void **state)
{
	struct tmp t;
	struct hamn_events *b;
	struct hamn_events_sub *s, *quick;
	struct hamn_error *err = NULL;
	struct hamn_event *ev;
	int n = 0, r;

	(void)state;
	tmp_make(&t);
	b = bus_open(&t);
	s = hamn_events_subscribe(b, false, 0, 0, &err);
	quick = hamn_events_subscribe(b, false, 0, 0, &err);
	for (int i = 0; i < HAMN_EVENTS_QUEUE_MAX + 5; i++) {
		hamn_events_emit(b, "container", "x", "c", NULL);
		if (hamn_events_sub_next(quick, &ev, &err) == 1)
			hamn_event_unref(ev);
	}
	while ((r = hamn_events_sub_next(s, &ev, &err)) == 1) {
		hamn_event_unref(ev);
		n++;
	}
	/* what was queued still comes, then the overflow is reported */
	assert_int_equal(n, HAMN_EVENTS_QUEUE_MAX);
	assert_int_equal(r, -1);
	assert_int_equal(err->errnum, EOVERFLOW);
	hamn_error_free(&err);
	/* the other one is unaffected */
	assert_int_equal(hamn_events_sub_next(quick, &ev, &err), 0);
	hamn_events_sub_free(s);
	hamn_events_sub_free(quick);
	hamn_events_free(b);
	tmp_remove(&t);
}

/* ---- filters ---- */

static bool matches(const char *filters, struct hamn_event *ev)
{
	struct hamn_api_filters *f = NULL;
	struct hamn_error *err = NULL;
	bool r;

	if (hamn_api_filters_parse(filters, &f, &err) < 0)
		fail_msg("filters '%s': %s", filters, err->msg);
	r = hamn_api_events_match(f, ev);
	hamn_api_filters_free(f);
	return r;
}

static void filters_follow_dockerd(void **state)
{
	json_t *ca = json_pack("{s:s, s:s, s:s, s:s}", "name", "web1", "image", "busybox:local",
			       "com.docker.compose.project", "cproj", "tier", "front");
	json_t *na = json_pack("{s:s, s:s, s:s}", "container", "c0ffee", "name", "bridge", "type",
			       "bridge");
	json_t *ia = json_pack("{s:s}", "name", "busybox:v2");
	struct hamn_event *c = hamn_event_new(1, T0, "container", "start", "c0ffee11", ca);
	struct hamn_event *n = hamn_event_new(2, T0, "network", "connect", "n3t", na);
	struct hamn_event *i = hamn_event_new(3, T0, "image", "tag", "sha256:1234", ia);
	struct hamn_event *h = hamn_event_new(4, T0, "container", "health_status: healthy",
					      "c0ffee11", ca);

	(void)state;
	assert_true(matches(NULL, c));
	assert_true(matches("{\"type\":{\"container\":true}}", c));
	assert_false(matches("{\"type\":{\"container\":true}}", n));
	assert_true(matches("{\"type\":[\"network\",\"volume\"]}", n));
	assert_true(matches("{\"event\":[\"start\"]}", c));
	assert_false(matches("{\"event\":[\"star\"]}", c));
	/* health_status carries a suffix: matched by prefix */
	assert_true(matches("{\"event\":[\"health_status\"]}", h));
	/* container: id or name, exactly or by prefix; other types do not pass */
	assert_true(matches("{\"container\":[\"web1\"]}", c));
	assert_true(matches("{\"container\":[\"c0f\"]}", c));
	assert_true(matches("{\"container\":[\"we\"]}", c));
	assert_false(matches("{\"container\":[\"web2\"]}", c));
	assert_false(matches("{\"container\":[\"c0ffee\"]}", n));
	assert_true(matches("{\"network\":[\"bridge\"]}", n));
	/* image: id, name, with or without the tag; containers by their image */
	assert_true(matches("{\"image\":[\"busybox\"]}", c));
	assert_true(matches("{\"image\":[\"busybox:local\"]}", c));
	assert_false(matches("{\"image\":[\"busybox:v2\"]}", c));
	assert_true(matches("{\"image\":[\"busybox:v2\"]}", i));
	assert_true(matches("{\"image\":[\"sha256:1234\"]}", i));
	assert_false(matches("{\"image\":[\"busybox\"]}", n));
	/* labels: compose's list shape, every value must hold */
	assert_true(matches("{\"label\":[\"com.docker.compose.project=cproj\",\"tier\"]}", c));
	assert_false(matches("{\"label\":[\"com.docker.compose.project=cproj\",\"x\"]}", c));
	assert_false(matches("{\"label\":[\"com.docker.compose.project=other\"]}", c));
	assert_false(matches("{\"label\":[\"tier\"]}", i));
	assert_true(matches("{\"scope\":[\"local\"],\"type\":[\"image\"]}", i));
	assert_false(matches("{\"scope\":[\"swarm\"]}", i));
	json_decref(ca);
	json_decref(na);
	json_decref(ia);
	hamn_event_unref(c);
	hamn_event_unref(n);
	hamn_event_unref(i);
	hamn_event_unref(h);
}

/* ---- stats parsers ---- */

static void net_dev_skips_lo_and_headers(void **state)
{
	static const char text[] =
		"Inter-|   Receive                                                |  Transmit\n"
		" face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets "
		"errs drop fifo colls carrier compressed\n"
		"    lo:     100       1    0    0    0     0          0         0      100       "
		"1    0    0    0     0       0          0\n"
		"  eth0:     486       5    1    2    0     0          0         0       90       "
		"3    4    5    0     0       0          0\n";
	_cleanup_json_ json_t *n = hamn_stats_parse_net_dev(text);
	_cleanup_free_ char *dump = hamn_json_dump(n);

	(void)state;
	assert_string_equal(dump, "{\"eth0\":{\"rx_bytes\":486,\"rx_packets\":5,\"rx_errors\":1,"
				  "\"rx_dropped\":2,\"tx_bytes\":90,\"tx_packets\":3,"
				  "\"tx_errors\":4,\"tx_dropped\":5}}");
}

static void kv_cpu_and_device_files(void **state)
{
	_cleanup_json_ json_t *kv = hamn_stats_parse_kv("cache 4096\ntotal_inactive_file 12\n\n");
	_cleanup_json_ json_t *blk = hamn_stats_parse_blkio(
		"8:0 Read 4096\n8:0 Write 512\n8:0 Total 4608\nTotal 4608\n");
	_cleanup_json_ json_t *pc = hamn_stats_parse_percpu("9104085 29887894 \n");
	json_t *bytes = NULL, *ios = NULL;
	_cleanup_free_ char *b = NULL, *io = NULL, *kvs = NULL, *pcs = NULL;

	(void)state;
	kvs = hamn_json_dump(kv);
	assert_string_equal(kvs, "{\"cache\":4096,\"total_inactive_file\":12}");
	assert_int_equal(json_array_size(blk), 3);
	b = hamn_json_dump(json_array_get(blk, 1));
	assert_string_equal(b, "{\"major\":8,\"minor\":0,\"op\":\"Write\",\"value\":512}");
	pcs = hamn_json_dump(pc);
	assert_string_equal(pcs, "[9104085,29887894]");
	hamn_stats_parse_io_stat("259:0 rbytes=1024 wbytes=2048 rios=3 wios=4 dbytes=0 dios=0\n",
				 &bytes, &ios);
	io = hamn_json_dump(bytes);
	assert_string_equal(io, "[{\"major\":259,\"minor\":0,\"op\":\"read\",\"value\":1024},"
				"{\"major\":259,\"minor\":0,\"op\":\"write\",\"value\":2048}]");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(ios, 1), "value")), 4);
	json_decref(bytes);
	json_decref(ios);
	/* user nice system idle iowait irq softirq (steal not counted), ticks of 100 Hz */
	assert_int_equal(hamn_stats_system_cpu("intr 5\ncpu  10 1 2 100 3 0 4 7 0 0\ncpu0 1\n",
					       100),
			 120ULL * 10000000ULL);
	assert_int_equal(hamn_stats_system_cpu("cpu0 1 2 3 4\n", 100), 0);
}

static void cgroup_dirs_from_mountinfo(void **state)
{
	static const char mi[] =
		"31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755\n"
		"32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
		"35 31 0:32 /outer /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
		"41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n";
	static const char pc[] = "4:memory:/outer/hamn/abc\n"
				 "2:cpu,cpuacct:/hamn/abc\n"
				 "1:pids:/hamn/abc\n"
				 "0::/hamn/abc\n";
	_cleanup_free_ char *cpu = hamn_stats_cgroup_dir(mi, pc, "cpuacct");
	_cleanup_free_ char *mem = hamn_stats_cgroup_dir(mi, pc, "memory");
	_cleanup_free_ char *v2 = hamn_stats_cgroup_dir(mi, pc, "");
	_cleanup_free_ char *pids = hamn_stats_cgroup_dir(mi, pc, "pids");
	_cleanup_free_ char *blkio = hamn_stats_cgroup_dir(mi, pc, "blkio");

	(void)state;
	assert_string_equal(cpu, "/sys/fs/cgroup/cpu,cpuacct/hamn/abc");
	/* the mount shows /outer as its root */
	assert_string_equal(mem, "/sys/fs/cgroup/memory/hamn/abc");
	assert_string_equal(v2, "/sys/fs/cgroup/unified/hamn/abc");
	assert_null(pids);  /* not mounted */
	assert_null(blkio); /* not in the process's list */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(container_event_renders_like_dockerd),
		cmocka_unit_test(network_and_image_events_have_no_legacy_from),
		cmocka_unit_test(parse_round_trips_and_refuses_junk),
		cmocka_unit_test(live_events_wake_the_fd_in_order),
		cmocka_unit_test(replay_window_then_live_without_gaps),
		cmocka_unit_test(replay_reaches_past_the_ring_into_the_database),
		cmocka_unit_test(history_survives_a_reopen),
		cmocka_unit_test(a_damaged_database_is_set_aside),
		cmocka_unit_test(a_slow_subscriber_is_cut_off),
		cmocka_unit_test(filters_follow_dockerd),
		cmocka_unit_test(net_dev_skips_lo_and_headers),
		cmocka_unit_test(kv_cpu_and_device_files),
		cmocka_unit_test(cgroup_dirs_from_mountinfo),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
