/*
 * store.c - the local volume store: <root>/volumes/<name>/{_data,volume.json}.
 *
 * A volume is made under a temporary name (".tmp-<hex>") and renamed into
 * place, and removed by renaming it to ".trash-<hex>" before its tree is
 * deleted, so readers see a whole volume or none. Names starting with '.'
 * are never valid volume names, so these never collide with a volume and
 * list skips them; hamn_volume_store_open() deletes what a crash left.
 *
 * Not here: mounting. Driver options (tmpfs, bind devices) become OCI
 * mounts of the container (mount.c), so nothing is ever mounted on the host.
 */
#include <dirent.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "volume/internal.h"

/* ---- names ---- */

/* ASCII only, whatever the locale */
static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool hamn_volume_name_valid(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n < 2 || n > 255 || !is_alnum(name[0]))
		return false;
	for (size_t i = 1; i < n; i++) {
		char c = name[i];

		if (!is_alnum(c) && c != '_' && c != '.' && c != '-')
			return false;
	}
	return true;
}

int hamn_volume_name_check(const char *name, struct hamn_error **err)
{
	if (hamn_volume_name_valid(name))
		return 0;
	if (name && strlen(name) == 1 && is_alnum(name[0]))
		return hamn_error_setq(err, EINVAL,
				       "volume name is too short, names should be at "
				       "least two alphanumeric characters");
	return hamn_error_setq(
		err, EINVAL,
		"create %s: \"%s\" includes invalid characters for a local volume "
		"name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended "
		"to pass a host directory, use absolute path",
		name ? name : "", name ? name : "");
}

int vol_no_such(const char *name, struct hamn_error **err)
{
	return hamn_error_setq(err, ENOENT, "get %s: no such volume", name);
}

/* ---- open ---- */

/* Delete ".tmp-*" and ".trash-*" leftovers of a crash. */
void hamn_volume_store_sweep(struct hamn_volume_store *st)
{
	_cleanup_closedir_ DIR *d = NULL;
	int fd = openat(st->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;

	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d))) {
		_cleanup_error_ struct hamn_error *err = NULL;

		if (!str_has_prefix(de->d_name, ".tmp-") && !str_has_prefix(de->d_name, ".trash-"))
			continue;
		if (hamn_rm_rf(st->dirfd, de->d_name, &err) < 0)
			log_kv(HAMN_LOG_WARN, "cannot remove a volume leftover",
			       "path=%s/%s error=\"%s\"", st->dir, de->d_name, err->msg);
	}
}

struct hamn_volume_store *hamn_volume_store_open(const char *root, struct hamn_error **err)
{
	struct hamn_volume_store *st = xzalloc(sizeof(*st));

	st->dirfd = -1;
	st->dir = xasprintf("%s/volumes", root);
	pthread_mutex_init(&st->lock, NULL);
	if (hamn_mkdir_p(AT_FDCWD, st->dir, 0700, err) < 0) {
		hamn_error_wrap(err, "open the volume store");
		goto fail;
	}
	st->dirfd = open(st->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (st->dirfd < 0) {
		hamn_error_set(err, errno, "open '%s'", st->dir);
		goto fail;
	}
	return st;
fail:
	hamn_volume_store_free(st);
	return NULL;
}

void hamn_volume_store_free(struct hamn_volume_store *st)
{
	if (!st)
		return;
	if (st->dirfd >= 0)
		close(st->dirfd);
	pthread_mutex_destroy(&st->lock);
	free(st->dir);
	free(st);
}

void hamn_volume_store_set_users_fn(struct hamn_volume_store *st, hamn_volume_users_fn fn, void *ud)
{
	st->users_fn = fn;
	st->users_ud = ud;
}

void hamn_volume_store_set_event_fn(struct hamn_volume_store *st, hamn_volume_event_fn fn, void *ud)
{
	st->event_fn = fn;
	st->event_ud = ud;
}

char **vol_users(struct hamn_volume_store *st, const char *name)
{
	char **ids = st->users_fn ? st->users_fn(name, st->users_ud) : NULL;

	if (ids && !ids[0]) {
		hamn_strv_free(ids);
		return NULL;
	}
	return ids;
}

char *hamn_volume_mountpoint(struct hamn_volume_store *st, const char *name)
{
	return xasprintf("%s/%s/" DATA_DIR, st->dir, name);
}

/* ---- metadata ---- */

void vol_meta_release(struct vol_meta *m)
{
	free(m->name);
	free(m->driver);
	free(m->created_at);
	if (m->labels)
		json_decref(m->labels);
	if (m->options)
		json_decref(m->options);
	memset(m, 0, sizeof(*m));
}

static json_t *string_map_or_null(json_t *v)
{
	const char *k;
	json_t *x;

	if (!json_is_object(v))
		return NULL;
	json_object_foreach (v, k, x)
		if (!json_is_string(x))
			return NULL;
	return json_incref(v);
}

int vol_meta_read(struct hamn_volume_store *st, const char *name, struct vol_meta *m,
		  struct hamn_error **err)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_json_ json_t *doc = NULL;
	const char *driver, *created;

	memset(m, 0, sizeof(*m));
	if (!hamn_volume_name_valid(name))
		return vol_no_such(name ? name : "", err);
	path = xasprintf("%s/" META_FILE, name);
	doc = hamn_json_load_file(st->dirfd, path, META_MAX, err);
	if (!doc) {
		if ((*err)->errnum == ENOENT || (*err)->errnum == ENOTDIR) {
			hamn_error_free(err);
			return vol_no_such(name, err);
		}
		return hamn_error_wrap(err, "read volume '%s'", name);
	}
	driver = json_string_value(json_object_get(doc, "Driver"));
	created = json_string_value(json_object_get(doc, "CreatedAt"));
	m->name = xstrdup(name);
	m->driver = xstrdup(driver ? driver : "local");
	m->created_at = xstrdup(created ? created : "");
	m->labels = string_map_or_null(json_object_get(doc, "Labels"));
	m->options = string_map_or_null(json_object_get(doc, "Options"));
	m->populated = json_is_true(json_object_get(doc, "Populated"));
	return 0;
}

int vol_meta_write(int voldirfd, const struct vol_meta *m, struct hamn_error **err)
{
	_cleanup_json_ json_t *doc =
		json_pack("{s:s, s:s, s:s, s:O?, s:O?, s:b}", "Name", m->name, "Driver", m->driver,
			  "CreatedAt", m->created_at, "Labels", m->labels, "Options", m->options,
			  "Populated", m->populated);
	_cleanup_free_ char *text = NULL;

	if (!doc)
		hamn_bug("cannot build the record of volume %s", m->name);
	text = hamn_json_dump(doc);
	return hamn_write_atomic(voldirfd, META_FILE, text, strlen(text), 0600, err);
}

json_t *vol_meta_json(struct hamn_volume_store *st, const struct vol_meta *m)
{
	_cleanup_free_ char *mp = hamn_volume_mountpoint(st, m->name);
	json_t *o = json_pack("{s:s, s:s, s:O?, s:s, s:s, s:O?, s:s}", "CreatedAt", m->created_at,
			      "Driver", m->driver, "Labels", m->labels, "Mountpoint", mp, "Name",
			      m->name, "Options", m->options, "Scope", "local");

	if (!o)
		hamn_bug("cannot build the object of volume %s", m->name);
	return o;
}

/* ---- create ---- */

int vol_check_driver_opts(json_t *opts, struct hamn_error **err)
{
	const char *k;
	json_t *v;
	bool has_type;

	if (!opts || json_is_null(opts))
		return 0;
	if (!json_is_object(opts))
		return hamn_error_setq(err, EINVAL, "volume driver options must be an object");
	json_object_foreach (opts, k, v) {
		if (!json_is_string(v))
			return hamn_error_setq(err, EINVAL,
					       "volume driver option \"%s\" must be a "
					       "string",
					       k);
		if (!streq(k, "type") && !streq(k, "o") && !streq(k, "device"))
			return hamn_error_setq(err, EINVAL, "invalid option: \"%s\"", k);
	}
	has_type = json_string_length(json_object_get(opts, "type")) > 0;
	if (!has_type && (json_object_get(opts, "o") || json_object_get(opts, "device")))
		return hamn_error_setq(err, EINVAL, "missing required option: \"type\"");
	if (has_type && !json_object_get(opts, "device") &&
	    !streq(json_string_value(json_object_get(opts, "type")), "tmpfs"))
		return hamn_error_setq(err, EINVAL, "missing required option: \"device\"");
	return 0;
}

static int check_labels(json_t *labels, struct hamn_error **err)
{
	const char *k;
	json_t *v;

	if (!labels || json_is_null(labels))
		return 0;
	if (!json_is_object(labels))
		return hamn_error_setq(err, EINVAL, "volume labels must be an object");
	json_object_foreach (labels, k, v)
		if (!json_is_string(v))
			return hamn_error_setq(err, EINVAL, "volume label \"%s\" must be a string",
					       k);
	return 0;
}

static char *created_now(void)
{
	time_t t = time(NULL);
	struct tm tm;
	char buf[32];

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return xstrdup(buf);
}

/* Make the volume in a temporary directory and rename it into place (lock held). */
static int create_locked(struct hamn_volume_store *st, const struct vol_meta *m,
			 struct hamn_error **err)
{
	_cleanup_free_ char *hex = hamn_random_id();
	_cleanup_free_ char *tmp = xasprintf(".tmp-%.16s", hex);
	_cleanup_close_ int vfd = -1;

	if (mkdirat(st->dirfd, tmp, 0700) < 0)
		return hamn_error_set(err, errno, "create volume '%s'", m->name);
	vfd = openat(st->dirfd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (vfd < 0) {
		hamn_error_set(err, errno, "create volume '%s'", m->name);
		goto fail;
	}
	/* exact modes whatever the umask: 0700 above _data (as docker), 0755 for _data */
	if (fchmod(vfd, 0700) < 0 || mkdirat(vfd, DATA_DIR, 0755) < 0 ||
	    fchmodat(vfd, DATA_DIR, 0755, 0) < 0) {
		hamn_error_set(err, errno, "create volume '%s'", m->name);
		goto fail;
	}
	if (vol_meta_write(vfd, m, err) < 0)
		goto fail;
	if (renameat2(st->dirfd, tmp, st->dirfd, m->name, RENAME_NOREPLACE) < 0) {
		hamn_error_set(err, errno, "create volume '%s'", m->name);
		goto fail;
	}
	if (fsync(vfd) < 0)
		log_kv(HAMN_LOG_WARN, "cannot fsync a new volume", "name=%s errno=%s", m->name,
		       hamn_errno_name(errno));
	return 0;
fail : {
	_cleanup_error_ struct hamn_error *e2 = NULL;

	/* the temp dir must not outlive a failure; open() would sweep it anyway */
	hamn_rm_rf(st->dirfd, tmp, &e2);
}
	return -1;
}

/* dockerd says which create failed: "create NAME: ..." (the name check says so itself). */
static int create_checks(const struct hamn_volume_create_opts *o, const char *name,
			 struct hamn_error **err)
{
	if (o->name && o->name[0] && hamn_volume_name_check(name, err) < 0)
		return -1;
	if (o->driver && o->driver[0] && !streq(o->driver, "local"))
		return hamn_error_setq(err, ENOENT,
				       "create %s: error looking up volume plugin %s: plugin "
				       "\"%s\" not found",
				       name, o->driver, o->driver);
	if (check_labels(o->labels, err) < 0 || vol_check_driver_opts(o->driver_opts, err) < 0)
		return hamn_error_wrap(err, "create %s", name);
	return 0;
}

static json_t *labels_for(const struct hamn_volume_create_opts *o)
{
	json_t *labels = json_is_object(o->labels) ? json_deep_copy(o->labels) : NULL;

	if (o->anonymous) {
		if (!labels)
			labels = json_object();
		json_object_set_new(labels, HAMN_VOLUME_ANON_LABEL, json_string(""));
	}
	return labels;
}

json_t *hamn_volume_create(struct hamn_volume_store *st, const struct hamn_volume_create_opts *o,
			   bool *created_out, struct hamn_error **err)
{
	struct vol_meta m = {0};
	json_t *out = NULL;
	bool created = false;
	int r;

	m.name = o->name && o->name[0] ? xstrdup(o->name) : hamn_random_id();
	if (create_checks(o, m.name, err) < 0) {
		free(m.name);
		return NULL;
	}
	m.driver = xstrdup("local");
	m.created_at = created_now();
	m.labels = labels_for(o);
	m.options = json_is_object(o->driver_opts) ? json_deep_copy(o->driver_opts) : NULL;
	pthread_mutex_lock(&st->lock);
	if (hamn_volume_exists(st, m.name))
		r = 0;
	else if ((r = create_locked(st, &m, err)) == 0)
		created = true;
	pthread_mutex_unlock(&st->lock);
	if (r == 0) {
		if (created && st->event_fn)
			st->event_fn(st->event_ud, "create", m.name, "local");
		out = hamn_volume_inspect(st, m.name, false, err);
	}
	if (created_out)
		*created_out = created;
	vol_meta_release(&m);
	return out;
}

/* ---- queries ---- */

bool hamn_volume_exists(struct hamn_volume_store *st, const char *name)
{
	_cleanup_free_ char *path = NULL;
	struct stat sb;

	if (!hamn_volume_name_valid(name))
		return false;
	path = xasprintf("%s/" META_FILE, name);
	return fstatat(st->dirfd, path, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(sb.st_mode);
}

json_t *hamn_volume_inspect(struct hamn_volume_store *st, const char *name, bool usage,
			    struct hamn_error **err)
{
	struct vol_meta m;
	json_t *o;

	if (vol_meta_read(st, name, &m, err) < 0)
		return NULL;
	o = vol_meta_json(st, &m);
	if (usage) {
		_cleanup_strv_ char **users = vol_users(st, name);
		_cleanup_free_ char *data = xasprintf("%s/" DATA_DIR, name);
		_cleanup_close_ int dfd =
			openat(st->dirfd, data, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		json_object_set_new(o, "UsageData",
				    json_pack("{s:I, s:I}", "RefCount", (json_int_t)strv_len(users),
					      "Size",
					      (json_int_t)(dfd < 0 ? -1 : vol_tree_size(dfd))));
	}
	vol_meta_release(&m);
	return o;
}

bool hamn_volume_populated(struct hamn_volume_store *st, const char *name)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	struct vol_meta m;
	bool p;

	if (vol_meta_read(st, name, &m, &err) < 0)
		return false;
	p = m.populated;
	vol_meta_release(&m);
	return p;
}

/* ---- remove ---- */

static int in_use_error(const char *name, char **users, struct hamn_error **err)
{
	_cleanup_free_ char *ids = strv_join(users, ", ");

	return hamn_error_setq(err, EBUSY, "remove %s: volume is in use - [%s]", name, ids);
}

/* Rename the volume away, then delete it; put it back if the delete fails (lock held). */
static int remove_locked(struct hamn_volume_store *st, const char *name, struct hamn_error **err)
{
	_cleanup_free_ char *hex = hamn_random_id();
	_cleanup_free_ char *trash = xasprintf(".trash-%.16s", hex);

	if (renameat2(st->dirfd, name, st->dirfd, trash, RENAME_NOREPLACE) < 0)
		return hamn_error_set(err, errno, "remove %s", name);
	if (hamn_rm_rf(st->dirfd, trash, err) < 0) {
		if (renameat2(st->dirfd, trash, st->dirfd, name, RENAME_NOREPLACE) < 0)
			log_kv(HAMN_LOG_WARN, "cannot put back a volume that failed to be removed",
			       "name=%s path=%s/%s errno=%s", name, st->dir, trash,
			       hamn_errno_name(errno));
		return hamn_error_wrap(err, "remove %s", name);
	}
	return 0;
}

int hamn_volume_remove(struct hamn_volume_store *st, const char *name, bool force,
		       struct hamn_error **err)
{
	_cleanup_strv_ char **users = NULL;
	int r;

	if (!hamn_volume_exists(st, name)) {
		if (force)
			return 0;
		return vol_no_such(name ? name : "", err);
	}
	users = vol_users(st, name);
	if (users && !force)
		return in_use_error(name, users, err);
	pthread_mutex_lock(&st->lock);
	if (!hamn_volume_exists(st, name))
		r = force ? 0 : vol_no_such(name, err);
	else
		r = remove_locked(st, name, err);
	pthread_mutex_unlock(&st->lock);
	if (r == 0 && st->event_fn)
		st->event_fn(st->event_ud, "destroy", name, "local");
	return r;
}

void hamn_volume_remove_list(struct hamn_volume_store *st, char *const *names)
{
	for (size_t i = 0; names && names[i]; i++) {
		_cleanup_error_ struct hamn_error *err = NULL;

		if (hamn_volume_remove(st, names[i], true, &err) < 0)
			log_kv(HAMN_LOG_WARN, "cannot remove a volume", "name=%s error=\"%s\"",
			       names[i], err->msg);
	}
}

/* ---- copy-up ---- */

static bool dir_empty(int dirfd)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_closedir_ DIR *d = fd < 0 ? NULL : fdopendir(fd);
	struct dirent *de;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	while ((de = readdir(d)))
		if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
			return false;
	return true;
}

/* Copy under the volume's flock (held by the caller); marks m populated. */
static int populate_locked(int vfd, struct vol_meta *m, int src, struct hamn_error **err)
{
	_cleanup_close_ int data = -1;

	if (m->populated)
		return 0;
	data = openat(vfd, DATA_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (data < 0)
		return hamn_error_set(err, errno, "open the data of volume '%s'", m->name);
	if (!dir_empty(data)) {
		/* a container wrote to it already: docker never copies into a non-empty volume */
		m->populated = true;
		return vol_meta_write(vfd, m, err);
	}
	if (dir_empty(src))
		return 0;
	if (vol_copy_tree(src, data, err) < 0)
		return hamn_error_wrap(err, "copy image content into volume '%s'", m->name);
	m->populated = true;
	return vol_meta_write(vfd, m, err);
}

int hamn_volume_populate(struct hamn_volume_store *st, const char *name, int src_dirfd,
			 struct hamn_error **err)
{
	_cleanup_close_ int vfd = -1;
	struct vol_meta m;
	int r;

	if (!hamn_volume_name_valid(name))
		return vol_no_such(name ? name : "", err);
	vfd = openat(st->dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (vfd < 0)
		return errno == ENOENT ? vol_no_such(name, err)
				       : hamn_error_set(err, errno, "open volume '%s'", name);
	if (flock(vfd, LOCK_EX) < 0)
		return hamn_error_set(err, errno, "lock volume '%s'", name);
	/* read under the lock: another monitor may have populated it meanwhile */
	if (vol_meta_read(st, name, &m, err) < 0)
		return -1;
	r = populate_locked(vfd, &m, src_dirfd, err);
	vol_meta_release(&m);
	return r; /* the lock goes with vfd */
}
