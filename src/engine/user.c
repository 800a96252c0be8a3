/*
 * user.c - "user[:group]" of a container resolved against the container's
 * own /etc/passwd and /etc/group, as docker does at start: names must
 * exist, numbers need not; the user's supplementary groups come from
 * /etc/group plus HostConfig.GroupAdd; HOME comes from passwd ("/" when the
 * user has no entry).
 *
 * The files are read by the monitor through hamn_open_in_root on the
 * mounted rootfs (a symlinked /etc/passwd cannot point outside it); the
 * parsing here is pure and works on their text.
 */
#include "engine/internal.h"
#include "engine/user.h"

static bool parse_id(const char *s, uint32_t *out)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	uint64_t v;

	if (!s[0] || s[0] < '0' || s[0] > '9')
		return false;
	if (hamn_parse_uint64(s, &v, &err) < 0 || v >= UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

/* Split one line into at most max ':'-separated fields (in place). */
static size_t fields(char *line, char **f, size_t max)
{
	size_t n = 0;

	f[n++] = line;
	for (char *p = line; *p && n < max; p++) {
		if (*p == ':') {
			*p = '\0';
			f[n++] = p + 1;
		}
	}
	return n;
}

struct pw_entry {
	bool found;
	uint32_t uid, gid;
	char name[256];
	char home[1024];
};

/* Find the passwd entry whose name (by_name) or uid matches. */
static void pw_lookup(const char *passwd, const char *name, bool by_name, uint32_t uid,
		      struct pw_entry *out)
{
	_cleanup_strv_ char **lines = str_split(passwd ? passwd : "", '\n');

	out->found = false;
	for (size_t i = 0; lines[i]; i++) {
		char *f[7];
		uint32_t u, g;

		if (lines[i][0] == '#' || fields(lines[i], f, 7) < 7)
			continue;
		if (!parse_id(f[2], &u) || !parse_id(f[3], &g))
			continue;
		if (by_name ? !streq(f[0], name) : u != uid)
			continue;
		out->found = true;
		out->uid = u;
		out->gid = g;
		snprintf(out->name, sizeof(out->name), "%s", f[0]);
		snprintf(out->home, sizeof(out->home), "%s", f[5]);
		return;
	}
}

/* The gid of group name (or -1); members: append the gids of groups listing user. */
static int64_t gr_lookup(const char *group, const char *name, const char *member,
			 uint32_t **gids, size_t *n)
{
	_cleanup_strv_ char **lines = str_split(group ? group : "", '\n');
	int64_t found = -1;

	for (size_t i = 0; lines[i]; i++) {
		char *f[4];
		uint32_t g;

		if (lines[i][0] == '#' || fields(lines[i], f, 4) < 4 || !parse_id(f[2], &g))
			continue;
		if (name && streq(f[0], name) && found < 0)
			found = g;
		if (member && member[0]) {
			_cleanup_strv_ char **m = str_split(f[3], ',');

			if (strv_contains(m, member)) {
				*gids = xreallocarray(*gids, *n + 1, sizeof(uint32_t));
				(*gids)[(*n)++] = g;
			}
		}
	}
	return found;
}

static int resolve_uid(const char *user, const char *passwd, struct pw_entry *pw,
		       struct hamn_user *out, struct hamn_error **err)
{
	uint32_t uid;

	if (parse_id(user, &uid)) {
		pw_lookup(passwd, NULL, false, uid, pw);
		out->uid = uid;
		out->gid = pw->found ? pw->gid : 0;
		return 0;
	}
	pw_lookup(passwd, user, true, 0, pw);
	if (!pw->found)
		return hamn_error_setq(err, EINVAL,
				       "unable to find user %s: no matching entries in passwd file",
				       user);
	out->uid = pw->uid;
	out->gid = pw->gid;
	return 0;
}

static int resolve_group(const char *gname, const char *group, uint32_t *gid,
			 struct hamn_error **err)
{
	uint32_t *none = NULL;
	size_t n0 = 0;
	int64_t g;

	if (parse_id(gname, gid))
		return 0;
	g = gr_lookup(group, gname, NULL, &none, &n0);
	free(none);
	if (g < 0)
		return hamn_error_setq(err, EINVAL,
				       "unable to find group %s: no matching entries in group file",
				       gname);
	*gid = (uint32_t)g;
	return 0;
}

static void add_gid(struct hamn_user *out, uint32_t g)
{
	for (size_t i = 0; i < out->n_gids; i++)
		if (out->gids[i] == g)
			return;
	out->gids = xreallocarray(out->gids, out->n_gids + 1, sizeof(uint32_t));
	out->gids[out->n_gids++] = g;
}

int hamn_user_resolve(const char *spec, const char *passwd, const char *group,
		      char *const *group_add, struct hamn_user *out, struct hamn_error **err)
{
	_cleanup_free_ char *user = xstrdup(spec && spec[0] ? spec : "0");
	char *colon = strchr(user, ':');
	struct pw_entry pw;
	uint32_t *member_gids = NULL;
	size_t n_member = 0;

	memset(out, 0, sizeof(*out));
	if (colon)
		*colon++ = '\0';
	if (!user[0])
		return hamn_error_setq(err, EINVAL, "invalid user '%s'", spec);
	if (resolve_uid(user, passwd, &pw, out, err) < 0)
		return -1;
	if (colon && resolve_group(colon, group, &out->gid, err) < 0)
		return -1;
	snprintf(out->home, sizeof(out->home), "%s", pw.found && pw.home[0] ? pw.home : "/");
	/* as dockerd: the primary group is also a supplementary one */
	add_gid(out, out->gid);
	/* supplementary groups: those listing the user (only without an explicit group) */
	if (pw.found && !colon)
		gr_lookup(group, NULL, pw.name, &member_gids, &n_member);
	for (size_t i = 0; i < n_member; i++)
		if (member_gids[i] != out->gid)
			add_gid(out, member_gids[i]);
	free(member_gids);
	for (size_t i = 0; group_add && group_add[i]; i++) {
		uint32_t g;

		if (resolve_group(group_add[i], group, &g, err) < 0) {
			hamn_user_release(out);
			return -1;
		}
		add_gid(out, g);
	}
	return 0;
}

void hamn_user_release(struct hamn_user *u)
{
	free(u->gids);
	u->gids = NULL;
	u->n_gids = 0;
}
