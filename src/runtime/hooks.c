/*
 * hooks.c - parent-side helpers: OCI hooks run in the runtime's
 * namespaces, the state text they read on stdin, the device cgroup rules,
 * and process start times (to tell a live init from a reused pid).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "runtime/internal.h"

char *rt_state_text(const char *id, enum hamn_oci_status st, pid_t pid, const char *bundle,
		    const struct hamn_oci_spec *spec)
{
	_cleanup_json_ json_t *j = hamn_oci_state_json(id, st, pid, bundle ? bundle : "", 0,
						       spec ? spec->annotations : NULL);
	return hamn_json_dump(j);
}

int rt_run_hooks(const struct hamn_oci_spec *spec, enum hamn_oci_hook_kind kind,
		 const char *state_json, struct hamn_error **err)
{
	for (size_t i = 0; i < spec->n_hooks[kind]; i++) {
		const struct hamn_oci_hook *s = &spec->hooks[kind][i];
		struct rt_hook h = {s->path, s->args, s->env, s->timeout};
		int status = 0;
		if (rt_run_hook(&h, state_json, &status) == 0)
			continue;
		if (errno == ECANCELED)
			return hamn_error_setq(err, ECANCELED, "hook '%s' exited with status %d",
					       s->path, status);
		if (errno == ETIMEDOUT)
			return hamn_error_setq(err, ETIMEDOUT, "hook '%s' timed out after %d s",
					       s->path, s->timeout);
		return hamn_error_set(err, errno, "hook '%s'", s->path);
	}
	return 0;
}

static void add_rule(struct hamn_oci_device_rule *r, size_t *n, char type, int64_t major,
		     int64_t minor, const char *access)
{
	struct hamn_oci_device_rule *d = &r[(*n)++];

	memset(d, 0, sizeof(*d));
	d->allow = true;
	d->type = type;
	d->major = major;
	d->minor = minor;
	snprintf(d->access, sizeof(d->access), "%s", access);
}

struct hamn_oci_resources *rt_resources_with_devices(const struct hamn_oci_spec *spec,
						     struct hamn_oci_device_rule **rules_store)
{
	/* runc's allowed defaults, appended after the config's own rules as runc does. */
	static const struct {
		char type;
		int64_t major, minor;
		const char *access;
	} defaults[] = {
		{'c', -1, -1, "m"},    {'b', -1, -1, "m"}, {'c', 1, 3, "rwm"},
		{'c', 1, 8, "rwm"},    {'c', 1, 7, "rwm"}, {'c', 5, 0, "rwm"},
		{'c', 1, 5, "rwm"},    {'c', 1, 9, "rwm"}, {'c', 5, 1, "rwm"},
		{'c', 136, -1, "rwm"}, {'c', 5, 2, "rwm"}, {'c', 10, 200, "rwm"},
	};
	const struct hamn_oci_resources *src = spec->linux.resources;
	struct hamn_oci_resources *res = xzalloc(sizeof(*res));
	size_t n = 0, cap = (src ? src->n_devices : 0) + spec->linux.n_devices +
			    sizeof(defaults) / sizeof(defaults[0]);
	struct hamn_oci_device_rule *r = xcalloc(cap, sizeof(*r));

	if (src)
		*res = *src; /* shallow: the arrays stay the spec's */
	for (size_t i = 0; src && i < src->n_devices; i++)
		r[n++] = src->devices[i];
	for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
		add_rule(r, &n, defaults[i].type, defaults[i].major, defaults[i].minor,
			 defaults[i].access);
	for (size_t i = 0; i < spec->linux.n_devices; i++) {
		const struct hamn_oci_device *d = &spec->linux.devices[i];
		if (d->type != 'p')
			add_rule(r, &n, d->type == 'b' ? 'b' : 'c', d->major, d->minor, "rwm");
	}
	res->devices = r;
	res->n_devices = n;
	*rules_store = r;
	return res;
}

uint64_t rt_pid_start_time(pid_t pid, char *state_out)
{
	char path[64], buf[1024];
	ssize_t n;
	int fd;

	if (state_out)
		*state_out = 'X';
	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return 0;
	p += 2; /* field 3: state */
	if (state_out)
		*state_out = *p;
	for (int field = 3; field < 22 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	return p ? strtoull(p, NULL, 10) : 0;
}
