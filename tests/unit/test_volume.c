/*
 * test_volume.c - src/volume: names, -v/--mount/--tmpfs/--volumes-from
 * parsing, the mount plan, the store (create, list filters, in-use removal,
 * prune), copy-up that never follows a symlink out, and OCI mounts.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <cmocka.h>

#include <sys/stat.h>
#include <unistd.h>

#include "volume/volume.h"

/* ---- helpers ---- */

static char *make_tmpdir(void)
{
	char tmpl[] = "/tmp/hamn-test-volume-XXXXXX";
	char *d = mkdtemp(tmpl);

	assert_non_null(d);
	return xstrdup(d);
}

static void rm_tree(const char *path)
{
	struct hamn_error *err = NULL;

	assert_int_equal(hamn_rm_rf(AT_FDCWD, path, &err), 0);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	struct hamn_error *err = NULL;

	assert_int_equal(hamn_write_atomic(AT_FDCWD, path, text, strlen(text), mode, &err), 0);
}

static char *read_text(const char *path)
{
	struct hamn_error *err = NULL;
	char *text = NULL;

	if (hamn_read_file(AT_FDCWD, path, 1 << 20, &text, NULL, &err) < 0) {
		hamn_error_free(&err);
		return NULL;
	}
	return text;
}

static void expect_einval(int r, struct hamn_error **err)
{
	assert_int_equal(r, -1);
	assert_non_null(*err);
	assert_int_equal((*err)->errnum, EINVAL);
	hamn_error_free(err);
}

/* Users of volumes for the store tests: "busy" is used by ctr1 (and "shared" by two). */
static char **users_of(const char *name, void *ud)
{
	char **v = NULL;

	(void)ud;
	if (streq(name, "busy"))
		strv_push(&v, "ctr1");
	if (str_has_prefix(name, "shared")) {
		strv_push(&v, "ctr1");
		strv_push(&v, "ctr2");
	}
	return v;
}

struct fixture {
	char *root;
	struct hamn_volume_store *st;
};

static int store_setup(void **state)
{
	struct fixture *f = xzalloc(sizeof(*f));
	struct hamn_error *err = NULL;

	f->root = make_tmpdir();
	f->st = hamn_volume_store_open(f->root, &err);
	assert_non_null(f->st);
	hamn_volume_store_set_users_fn(f->st, users_of, NULL);
	*state = f;
	return 0;
}

static int store_teardown(void **state)
{
	struct fixture *f = *state;

	hamn_volume_store_free(f->st);
	rm_tree(f->root);
	free(f->root);
	free(f);
	return 0;
}

static json_t *create(struct hamn_volume_store *st, const char *name, json_t *labels, json_t *opts)
{
	struct hamn_volume_create_opts o = {.name = name, .labels = labels, .driver_opts = opts};
	struct hamn_error *err = NULL;
	json_t *v = hamn_volume_create(st, &o, NULL, &err);

	assert_non_null(v);
	return v;
}

/* ---- names and paths ---- */

static void names(void **state)
{
	struct hamn_error *err = NULL;
	char long_name[300];

	(void)state;
	assert_true(hamn_volume_name_valid("vol"));
	assert_true(hamn_volume_name_valid("a1"));
	assert_true(hamn_volume_name_valid("my_vol.1-x"));
	assert_true(hamn_volume_name_valid("cproj_webdata"));
	assert_false(hamn_volume_name_valid("a"));
	assert_false(hamn_volume_name_valid(""));
	assert_false(hamn_volume_name_valid(NULL));
	assert_false(hamn_volume_name_valid("-x"));
	assert_false(hamn_volume_name_valid("_x"));
	assert_false(hamn_volume_name_valid(".tmp-x"));
	assert_false(hamn_volume_name_valid("a/b"));
	assert_false(hamn_volume_name_valid("a b"));
	assert_false(hamn_volume_name_valid(".."));
	assert_false(hamn_volume_name_valid("vol\xc3\xa9"));
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	assert_false(hamn_volume_name_valid(long_name));
	assert_int_equal(hamn_volume_name_check("x", &err), -1);
	assert_non_null(strstr(err->msg, "too short"));
	hamn_error_free(&err);
	assert_int_equal(hamn_volume_name_check("a/b", &err), -1);
	assert_non_null(strstr(err->msg, "includes invalid characters for a local volume name"));
	hamn_error_free(&err);
}

static void clean_dest(void **state)
{
	struct hamn_error *err = NULL;
	char *out = NULL;

	(void)state;
	assert_int_equal(hamn_mount_clean_dest("/a//b/./c/", &out, &err), 0);
	assert_string_equal(out, "/a/b/c");
	free(out);
	assert_int_equal(hamn_mount_clean_dest("/a/../b", &out, &err), 0);
	assert_string_equal(out, "/b");
	free(out);
	assert_int_equal(hamn_mount_clean_dest("/../../etc", &out, &err), 0);
	assert_string_equal(out, "/etc");
	free(out);
	expect_einval(hamn_mount_clean_dest("/", &out, &err), &err);
	expect_einval(hamn_mount_clean_dest("/a/..", &out, &err), &err);
	expect_einval(hamn_mount_clean_dest("data", &out, &err), &err);
	expect_einval(hamn_mount_clean_dest("", &out, &err), &err);
}

/* ---- -v ---- */

static void bind_named_volume_ro(void **state)
{
	struct hamn_error *err = NULL;
	struct hamn_mount m;

	(void)state;
	assert_int_equal(hamn_mount_parse_bind("vol:/data:ro", &m, &err), 0);
	assert_int_equal(m.type, HAMN_MOUNT_VOLUME);
	assert_string_equal(m.source, "vol");
	assert_string_equal(m.destination, "/data");
	assert_true(m.readonly);
	assert_false(m.anonymous);
	assert_string_equal(m.mode, "ro");
	hamn_mount_release(&m);

	assert_int_equal(hamn_mount_parse_bind("vol:/data/:nocopy", &m, &err), 0);
	assert_string_equal(m.destination, "/data");
	assert_true(m.nocopy);
	assert_false(m.readonly);
	hamn_mount_release(&m);
}

static void bind_host_path_propagation(void **state)
{
	struct hamn_error *err = NULL;
	struct hamn_mount m;

	(void)state;
	assert_int_equal(hamn_mount_parse_bind("/host:/ctr:rw,rshared", &m, &err), 0);
	assert_int_equal(m.type, HAMN_MOUNT_BIND);
	assert_string_equal(m.source, "/host");
	assert_string_equal(m.destination, "/ctr");
	assert_false(m.readonly);
	assert_string_equal(m.propagation, "rshared");
	assert_true(m.create_source);
	hamn_mount_release(&m);

	assert_int_equal(hamn_mount_parse_bind("/h:/c", &m, &err), 0);
	assert_string_equal(m.propagation, "rprivate");
	assert_string_equal(m.mode, "");
	hamn_mount_release(&m);

	assert_int_equal(hamn_mount_parse_bind("/h:/c:ro,Z", &m, &err), 0);
	assert_true(m.readonly);
	hamn_mount_release(&m);
}

static void bind_anonymous(void **state)
{
	struct hamn_error *err = NULL;
	struct hamn_mount m;

	(void)state;
	assert_int_equal(hamn_mount_parse_bind("/ctr", &m, &err), 0);
	assert_int_equal(m.type, HAMN_MOUNT_VOLUME);
	assert_null(m.source);
	assert_true(m.anonymous);
	assert_string_equal(m.destination, "/ctr");
	hamn_mount_release(&m);
}

static void bind_invalid(void **state)
{
	static const char *const bad[] = {"a:/b:ro:x",
					  ":/x",
					  "vol:",
					  "vol:rel",
					  "/h:/c:rw,ro",
					  "/h:/c:nocopy",
					  "bad name:/x",
					  "/h:/c:foo",
					  "/h:/",
					  "x:/data",
					  "",
					  "rel",
					  NULL};
	struct hamn_error *err = NULL;
	struct hamn_mount m;

	(void)state;
	for (size_t i = 0; bad[i]; i++) {
		int r = hamn_mount_parse_bind(bad[i], &m, &err);

		if (r == 0)
			fail_msg("'%s' was accepted", bad[i]);
		hamn_mount_release(&m);
		expect_einval(r, &err);
	}
}

/* ---- --mount ---- */

static int parse_api_text(const char *text, struct hamn_mount *m, struct hamn_error **err)
{
	json_t *o = json_loads(text, 0, NULL);
	int r;

	assert_non_null(o);
	r = hamn_mount_parse_api(o, m, err);
	json_decref(o);
	return r;
}

static void api_forms(void **state)
{
	struct hamn_error *err = NULL;
	struct hamn_mount m;

	(void)state;
	assert_int_equal(
		parse_api_text("{\"Type\":\"bind\",\"Source\":\"/src\",\"Target\":\"/t\","
			       "\"ReadOnly\":true,\"BindOptions\":{\"Propagation\":\"rslave\","
			       "\"NonRecursive\":true}}",
			       &m, &err),
		0);
	assert_int_equal(m.type, HAMN_MOUNT_BIND);
	assert_true(m.readonly && m.nonrecursive && !m.create_source);
	assert_string_equal(m.propagation, "rslave");
	hamn_mount_release(&m);

	assert_int_equal(
		parse_api_text("{\"Type\":\"volume\",\"Source\":\"v1\",\"Target\":\"/d\","
			       "\"VolumeOptions\":{\"NoCopy\":true,\"Labels\":{\"a\":\"b\"},"
			       "\"DriverConfig\":{\"Name\":\"local\",\"Options\":{\"type\":"
			       "\"tmpfs\",\"device\":\"tmpfs\",\"o\":\"size=1m\"}}}}",
			       &m, &err),
		0);
	assert_int_equal(m.type, HAMN_MOUNT_VOLUME);
	assert_string_equal(m.source, "v1");
	assert_true(m.nocopy);
	assert_string_equal(json_string_value(json_object_get(m.volume_labels, "a")), "b");
	assert_string_equal(json_string_value(json_object_get(m.volume_options, "o")), "size=1m");
	hamn_mount_release(&m);

	assert_int_equal(parse_api_text("{\"Type\":\"volume\",\"Target\":\"/anon\"}", &m, &err), 0);
	assert_true(m.anonymous);
	assert_null(m.source);
	hamn_mount_release(&m);

	assert_int_equal(
		parse_api_text("{\"Type\":\"tmpfs\",\"Target\":\"/tmp/x\",\"TmpfsOptions\":"
			       "{\"SizeBytes\":67108864,\"Mode\":448}}",
			       &m, &err),
		0);
	assert_int_equal(m.type, HAMN_MOUNT_TMPFS);
	assert_string_equal(m.tmpfs_options, "noexec,nosuid,nodev,size=64m,mode=700");
	assert_false(m.tmpfs_map);
	hamn_mount_release(&m);
}

static void api_invalid(void **state)
{
	static const char *const bad[] = {
		"{\"Type\":\"bind\",\"Source\":\"rel\",\"Target\":\"/t\"}",
		"{\"Type\":\"bind\",\"Target\":\"/t\"}",
		"{\"Type\":\"bind\",\"Source\":\"/s\"}",
		"{\"Type\":\"npipe\",\"Source\":\"/s\",\"Target\":\"/t\"}",
		"{\"Source\":\"/s\",\"Target\":\"/t\"}",
		"{\"Type\":\"tmpfs\",\"Source\":\"x\",\"Target\":\"/t\"}",
		"{\"Type\":\"bind\",\"Source\":\"/s\",\"Target\":\"/t\",\"VolumeOptions\":{}}",
		"{\"Type\":\"volume\",\"Target\":\"/t\",\"BindOptions\":{}}",
		"{\"Type\":\"volume\",\"Source\":\"a b\",\"Target\":\"/t\"}",
		"{\"Type\":\"volume\",\"Target\":\"/t\",\"VolumeOptions\":{\"DriverConfig\":"
		"{\"Options\":{\"bogus\":\"1\"}}}}",
		"{\"Type\":\"bind\",\"Source\":\"/s\",\"Target\":\"/t\",\"BindOptions\":"
		"{\"Propagation\":\"sideways\"}}",
		"{\"Type\":\"tmpfs\",\"Target\":\"/t\",\"TmpfsOptions\":{\"SizeBytes\":-1}}",
		"{\"Type\":\"bind\",\"Source\":\"/s\",\"Target\":\"rel\"}",
		"{\"Type\":\"bind\",\"Source\":\"/s\",\"Target\":\"/t\",\"ReadOnly\":\"yes\"}",
		NULL,
	};
	struct hamn_error *err = NULL;
	struct hamn_mount m;

	(void)state;
	for (size_t i = 0; bad[i]; i++) {
		int r = parse_api_text(bad[i], &m, &err);

		if (r == 0)
			fail_msg("'%s' was accepted", bad[i]);
		hamn_mount_release(&m);
		expect_einval(r, &err);
	}
	/* a volume plugin hamn does not have is a 404, as docker's */
	assert_int_equal(parse_api_text("{\"Type\":\"volume\",\"Target\":\"/t\",\"VolumeOptions\":"
					"{\"DriverConfig\":{\"Name\":\"nfsplug\"}}}",
					&m, &err),
			 -1);
	assert_int_equal(err->errnum, ENOENT);
	hamn_error_free(&err);
	hamn_mount_release(&m);
}

static void tmpfs_map_options(void **state)
{
	struct hamn_error *err = NULL;
	struct hamn_mount m;

	(void)state;
	assert_int_equal(hamn_mount_parse_tmpfs("/run", "size=64m,exec", &m, &err), 0);
	assert_string_equal(m.tmpfs_options, "nosuid,nodev,size=64m,exec");
	assert_true(m.tmpfs_map);
	assert_false(m.readonly);
	hamn_mount_release(&m);

	assert_int_equal(hamn_mount_parse_tmpfs("/run", "ro,size=1m,size=2m", &m, &err), 0);
	assert_true(m.readonly);
	assert_string_equal(m.tmpfs_options, "noexec,nosuid,nodev,size=2m");
	hamn_mount_release(&m);

	assert_int_equal(hamn_mount_parse_tmpfs("/x", "", &m, &err), 0);
	assert_string_equal(m.tmpfs_options, "noexec,nosuid,nodev");
	hamn_mount_release(&m);

	assert_int_equal(hamn_mount_parse_tmpfs("rel", "", &m, &err), -1);
	hamn_mount_release(&m);
	expect_einval(-1, &err);
}

static void volumes_from_spec(void **state)
{
	struct hamn_error *err = NULL;
	char *ref = NULL;
	int mode;

	(void)state;
	assert_int_equal(hamn_mount_parse_volumes_from("c1", &ref, &mode, &err), 0);
	assert_string_equal(ref, "c1");
	assert_int_equal(mode, -1);
	free(ref);
	assert_int_equal(hamn_mount_parse_volumes_from("c1:ro", &ref, &mode, &err), 0);
	assert_int_equal(mode, 1);
	free(ref);
	assert_int_equal(hamn_mount_parse_volumes_from("c1:rw,z", &ref, &mode, &err), 0);
	assert_int_equal(mode, 0);
	free(ref);
	expect_einval(hamn_mount_parse_volumes_from("", &ref, &mode, &err), &err);
	expect_einval(hamn_mount_parse_volumes_from("a:b:c", &ref, &mode, &err), &err);
	expect_einval(hamn_mount_parse_volumes_from("c1:bad", &ref, &mode, &err), &err);
}

/* ---- plan ---- */

static int lookup_other(const char *ref, void *ud, struct hamn_mount_list *out,
			struct hamn_error **err)
{
	struct hamn_mount *m;

	(void)ud;
	if (!streq(ref, "other"))
		return hamn_error_setq(err, ENOENT, "No such container: %s", ref);
	memset(out, 0, sizeof(*out));
	m = hamn_mount_list_add(out);
	m->type = HAMN_MOUNT_VOLUME;
	m->source = xstrdup("sharedvol");
	m->destination = xstrdup("/shared");
	m->mode = xstrdup("");
	m = hamn_mount_list_add(out);
	m->type = HAMN_MOUNT_BIND;
	m->source = xstrdup("/srv");
	m->destination = xstrdup("/srv");
	m->propagation = xstrdup("rprivate");
	m->mode = xstrdup("");
	m = hamn_mount_list_add(out);
	m->type = HAMN_MOUNT_TMPFS;
	m->destination = xstrdup("/scratch");
	m->tmpfs_options = xstrdup("noexec");
	m->mode = xstrdup("");
	return 0;
}

static int plan_text(const char *hc, const char *vols, const char *id, struct hamn_mount_list *out,
		     struct hamn_error **err)
{
	json_t *h = json_loads(hc, 0, NULL), *v = vols ? json_loads(vols, 0, NULL) : NULL;
	struct hamn_mount_plan_input in = {
		.host_config = h, .volumes = v, .container_id = id, .lookup = lookup_other};
	int r;

	assert_non_null(h);
	r = hamn_mounts_plan(&in, out, err);
	json_decref(h);
	if (v)
		json_decref(v);
	return r;
}

static void plan_precedence(void **state)
{
	struct hamn_mount_list l;
	struct hamn_error *err = NULL;
	struct hamn_mount *m;

	(void)state;
	assert_int_equal(plan_text("{\"VolumesFrom\":[\"other:ro\"],\"Binds\":[\"data:/srv\","
				   "\"/ctr\"],\"Mounts\":[{\"Type\":\"tmpfs\",\"Target\":\"/t\"}],"
				   "\"Tmpfs\":{\"/run\":\"size=1m\"}}",
				   "{\"/srv\":{},\"/var/lib/x\":{},\"/ctr/\":{}}", "c0ffee", &l,
				   &err),
			 0);
	assert_int_equal(l.n, 6);
	m = hamn_mount_list_find(&l, "/shared");
	assert_non_null(m);
	assert_true(m->readonly);			   /* :ro applied */
	assert_null(hamn_mount_list_find(&l, "/scratch")); /* tmpfs not shared */
	m = hamn_mount_list_find(&l, "/srv");
	assert_int_equal(m->type, HAMN_MOUNT_VOLUME); /* the bind replaced volumes-from's */
	assert_string_equal(m->source, "data");
	m = hamn_mount_list_find(&l, "/ctr");
	assert_true(m->anonymous);
	assert_int_equal(strlen(m->source), 64);
	m = hamn_mount_list_find(&l, "/var/lib/x");
	assert_true(m->anonymous);
	assert_true(hamn_volume_name_valid(m->source));
	assert_true(hamn_mount_list_uses(&l, "data"));
	assert_false(hamn_mount_list_uses(&l, "nope"));
	hamn_mount_list_release(&l);
}

static void plan_anonymous_names_are_stable(void **state)
{
	struct hamn_mount_list a, b, c;
	struct hamn_error *err = NULL;

	(void)state;
	assert_int_equal(plan_text("{}", "{\"/d\":{},\"/e\":{}}", "id1", &a, &err), 0);
	assert_int_equal(plan_text("{}", "{\"/d\":{},\"/e\":{}}", "id1", &b, &err), 0);
	assert_int_equal(plan_text("{}", "{\"/d\":{},\"/e\":{}}", "id2", &c, &err), 0);
	assert_string_equal(a.items[0].source, b.items[0].source);
	assert_string_not_equal(a.items[0].source, a.items[1].source);
	assert_string_not_equal(a.items[0].source, c.items[0].source);
	hamn_mount_list_release(&a);
	hamn_mount_list_release(&b);
	hamn_mount_list_release(&c);
}

static void plan_errors(void **state)
{
	struct hamn_mount_list l;
	struct hamn_error *err = NULL;

	(void)state;
	assert_int_equal(plan_text("{\"Binds\":[\"a1:/x\",\"/h:/x\"]}", NULL, "id", &l, &err), -1);
	assert_string_equal(err->msg, "Duplicate mount point: /x");
	hamn_error_free(&err);
	hamn_mount_list_release(&l);
	assert_int_equal(
		plan_text("{\"Binds\":[\"a1:/x\"],\"Tmpfs\":{\"/x\":\"\"}}", NULL, "id", &l, &err),
		-1);
	hamn_mount_list_release(&l);
	expect_einval(-1, &err);
	assert_int_equal(plan_text("{\"VolumesFrom\":[\"ghost\"]}", NULL, "id", &l, &err), -1);
	assert_int_equal(err->errnum, ENOENT);
	hamn_error_free(&err);
	hamn_mount_list_release(&l);
	assert_int_equal(plan_text("{\"Binds\":\"vol:/x\"}", NULL, "id", &l, &err), -1);
	hamn_mount_list_release(&l);
	expect_einval(-1, &err);
}

static void record_round_trip(void **state)
{
	struct hamn_mount_list l, back;
	struct hamn_error *err = NULL;
	json_t *j, *j2;

	(void)state;
	assert_int_equal(plan_text("{\"Binds\":[\"vol:/v:ro\",\"/h:/b:rshared\"],\"Mounts\":"
				   "[{\"Type\":\"volume\",\"Target\":\"/m\",\"VolumeOptions\":"
				   "{\"Labels\":{\"k\":\"v\"}}}],\"Tmpfs\":{\"/t\":\"size=1m\"}}",
				   NULL, "abc", &l, &err),
			 0);
	j = hamn_mounts_to_json(&l);
	assert_int_equal(hamn_mounts_from_json(j, &back, &err), 0);
	j2 = hamn_mounts_to_json(&back);
	assert_true(json_equal(j, j2));
	assert_int_equal(back.n, 4);
	json_decref(j);
	json_decref(j2);
	hamn_mount_list_release(&l);
	hamn_mount_list_release(&back);

	j = json_loads("[{\"Type\":\"volume\",\"Source\":\"../x\",\"Destination\":\"/x\"}]", 0,
		       NULL);
	expect_einval(hamn_mounts_from_json(j, &back, &err), &err);
	json_decref(j);
}

/* ---- store ---- */

static void store_create_inspect(void **state)
{
	struct fixture *f = *state;
	struct hamn_error *err = NULL;
	json_t *labels = json_pack("{s:s}", "com.example", "yes");
	json_t *v = create(f->st, "vol", labels, NULL), *again;
	_cleanup_free_ char *mp = hamn_volume_mountpoint(f->st, "vol");
	_cleanup_free_ char *voldir = xasprintf("%s/volumes/vol", f->root);
	struct hamn_volume_create_opts o = {.name = "vol"};
	bool created = true;
	struct stat sb;
	const char *at;

	assert_string_equal(json_string_value(json_object_get(v, "Name")), "vol");
	assert_string_equal(json_string_value(json_object_get(v, "Driver")), "local");
	assert_string_equal(json_string_value(json_object_get(v, "Scope")), "local");
	assert_string_equal(json_string_value(json_object_get(v, "Mountpoint")), mp);
	assert_true(json_is_null(json_object_get(v, "Options")));
	assert_true(json_equal(json_object_get(v, "Labels"), labels));
	at = json_string_value(json_object_get(v, "CreatedAt"));
	assert_int_equal(strlen(at), 20);
	assert_int_equal(at[19], 'Z');
	assert_int_equal(stat(mp, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0755);
	assert_int_equal(stat(voldir, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0700);
	/* a second create answers with the existing volume */
	again = hamn_volume_create(f->st, &o, &created, &err);
	assert_non_null(again);
	assert_false(created);
	assert_true(json_equal(json_object_get(again, "Labels"), labels));
	json_decref(again);
	json_decref(v);
	json_decref(labels);

	v = hamn_volume_inspect(f->st, "nosuchvol", false, &err);
	assert_null(v);
	assert_int_equal(err->errnum, ENOENT);
	assert_string_equal(err->msg, "get nosuchvol: no such volume");
	hamn_error_free(&err);
	v = hamn_volume_inspect(f->st, "vol", true, &err);
	assert_int_equal(
		json_integer_value(json_object_get(json_object_get(v, "UsageData"), "RefCount")),
		0);
	json_decref(v);
}

static void store_create_errors(void **state)
{
	struct fixture *f = *state;
	struct hamn_error *err = NULL;
	struct hamn_volume_create_opts o = {.name = "x"};
	json_t *opts;

	expect_einval(hamn_volume_create(f->st, &o, NULL, &err) ? 0 : -1, &err);
	o.name = "good";
	o.driver = "convoy";
	assert_null(hamn_volume_create(f->st, &o, NULL, &err));
	assert_int_equal(err->errnum, ENOENT);
	hamn_error_free(&err);
	o.driver = "local";
	opts = json_pack("{s:s}", "size", "1g");
	o.driver_opts = opts;
	assert_null(hamn_volume_create(f->st, &o, NULL, &err));
	assert_string_equal(err->msg, "create good: invalid option: \"size\"");
	hamn_error_free(&err);
	json_decref(opts);
	opts = json_pack("{s:s}", "o", "bind");
	o.driver_opts = opts;
	expect_einval(hamn_volume_create(f->st, &o, NULL, &err) ? 0 : -1, &err);
	json_decref(opts);
	assert_false(hamn_volume_exists(f->st, "good"));
}

static void store_random_and_anonymous(void **state)
{
	struct fixture *f = *state;
	struct hamn_error *err = NULL;
	struct hamn_volume_create_opts o = {.anonymous = true};
	json_t *v = hamn_volume_create(f->st, &o, NULL, &err);
	const char *name = json_string_value(json_object_get(v, "Name"));

	assert_int_equal(strlen(name), 64);
	assert_non_null(json_object_get(json_object_get(v, "Labels"), HAMN_VOLUME_ANON_LABEL));
	json_decref(v);
}

static size_t list_count(struct hamn_volume_store *st, const char *key, const char *value)
{
	char *vals[] = {(char *)value, NULL};
	struct hamn_volume_filter flt = {key, vals};
	struct hamn_error *err = NULL;
	json_t *arr = hamn_volume_list(st, &flt, key ? 1 : 0, false, &err);
	size_t n;

	assert_non_null(arr);
	n = json_array_size(arr);
	json_decref(arr);
	return n;
}

static void store_list_filters(void **state)
{
	struct fixture *f = *state;
	struct hamn_error *err = NULL;
	json_t *l1 = json_pack("{s:s}", "env", "prod"), *l2 = json_pack("{s:s}", "env", "dev");
	char *bad_vals[] = {"maybe", NULL};
	struct hamn_volume_filter bad = {"dangling", bad_vals};

	json_decref(create(f->st, "busy", l1, NULL));
	json_decref(create(f->st, "idle", l2, NULL));
	json_decref(create(f->st, "other", NULL, NULL));
	assert_int_equal(list_count(f->st, NULL, NULL), 3);
	assert_int_equal(list_count(f->st, "dangling", "true"), 2);
	assert_int_equal(list_count(f->st, "dangling", "0"), 1);
	assert_int_equal(list_count(f->st, "label", "env"), 2);
	assert_int_equal(list_count(f->st, "label", "env=prod"), 1);
	assert_int_equal(list_count(f->st, "name", "dl"), 1);
	assert_int_equal(list_count(f->st, "driver", "local"), 3);
	assert_null(hamn_volume_list(f->st, &bad, 1, false, &err));
	expect_einval(-1, &err);
	bad.key = "color";
	assert_null(hamn_volume_list(f->st, &bad, 1, false, &err));
	assert_string_equal(err->msg, "Invalid filter 'color'");
	hamn_error_free(&err);
	bad.key = "name";
	assert_int_equal(hamn_volume_filters_check(&bad, 1, true, &err), -1);
	hamn_error_free(&err);
	json_decref(l1);
	json_decref(l2);
}

static void store_remove_in_use(void **state)
{
	struct fixture *f = *state;
	struct hamn_error *err = NULL;

	json_decref(create(f->st, "busy", NULL, NULL));
	json_decref(create(f->st, "free1", NULL, NULL));
	assert_int_equal(hamn_volume_remove(f->st, "busy", false, &err), -1);
	assert_int_equal(err->errnum, EBUSY);
	assert_string_equal(err->msg, "remove busy: volume is in use - [ctr1]");
	hamn_error_free(&err);
	assert_true(hamn_volume_exists(f->st, "busy"));
	assert_int_equal(hamn_volume_remove(f->st, "free1", false, &err), 0);
	assert_false(hamn_volume_exists(f->st, "free1"));
	assert_int_equal(hamn_volume_remove(f->st, "free1", false, &err), -1);
	assert_int_equal(err->errnum, ENOENT);
	hamn_error_free(&err);
	assert_int_equal(hamn_volume_remove(f->st, "free1", true, &err), 0);
	assert_int_equal(hamn_volume_remove(f->st, "busy", true, &err), 0);
	assert_false(hamn_volume_exists(f->st, "busy"));
}

static void store_prune(void **state)
{
	struct fixture *f = *state;
	struct hamn_error *err = NULL;
	json_t *keep = json_pack("{s:s}", "keep", "1"), *res;
	_cleanup_free_ char *file = NULL;
	char *vals[] = {"keep", NULL};
	struct hamn_volume_filter flt = {"label!", vals};

	json_decref(create(f->st, "busy", NULL, NULL));
	json_decref(create(f->st, "unused1", NULL, NULL));
	json_decref(create(f->st, "kept", keep, NULL));
	file = xasprintf("%s/volumes/unused1/_data/f", f->root);
	write_file(file, "12345", 0644);
	res = hamn_volume_prune(f->st, &flt, 1, &err);
	assert_non_null(res);
	assert_int_equal(json_array_size(json_object_get(res, "VolumesDeleted")), 1);
	assert_string_equal(
		json_string_value(json_array_get(json_object_get(res, "VolumesDeleted"), 0)),
		"unused1");
	assert_int_equal(json_integer_value(json_object_get(res, "SpaceReclaimed")), 5);
	json_decref(res);
	assert_true(hamn_volume_exists(f->st, "busy"));
	assert_true(hamn_volume_exists(f->st, "kept"));
	json_decref(keep);
}

static void store_leftovers_swept(void **state)
{
	struct fixture *f = *state;
	struct hamn_error *err = NULL;
	_cleanup_free_ char *tmp = xasprintf("%s/volumes/.tmp-0123", f->root);
	_cleanup_free_ char *trash = xasprintf("%s/volumes/.trash-0123/_data", f->root);
	struct hamn_volume_store *st2;
	struct stat sb;

	assert_int_equal(mkdir(tmp, 0700), 0);
	assert_int_equal(hamn_mkdir_p(AT_FDCWD, trash, 0700, &err), 0);
	assert_int_equal(list_count(f->st, NULL, NULL), 0);
	st2 = hamn_volume_store_open(f->root, &err);
	assert_non_null(st2);
	assert_int_equal(stat(tmp, &sb), 0); /* open alone leaves them: a monitor opens it too */
	hamn_volume_store_sweep(st2);
	assert_int_equal(stat(tmp, &sb), -1);
	assert_int_equal(stat(trash, &sb), -1);
	hamn_volume_store_free(st2);
}

static void store_remove_anonymous(void **state)
{
	struct fixture *f = *state;
	struct hamn_mount_list l = HAMN_MOUNT_LIST_INIT;
	struct hamn_error *err = NULL;
	struct hamn_mount *m;
	char **created = NULL;
	static const char *const names[] = {"anon1", "shared_anon", "named1"};

	for (size_t i = 0; i < 3; i++) {
		m = hamn_mount_list_add(&l);
		m->type = HAMN_MOUNT_VOLUME;
		m->source = xstrdup(names[i]);
		m->destination = xasprintf("/d%zu", i);
		m->anonymous = i < 2;
		m->mode = xstrdup("");
	}
	assert_int_equal(hamn_volume_mounts_prepare(f->st, &l, &created, &err), 0);
	assert_int_equal(strv_len(created), 3);
	hamn_strv_free(created);
	/* shared_anon is used by ctr1 and ctr2: removing ctr1 -v must keep it */
	assert_int_equal(hamn_volume_remove_anonymous(f->st, &l, "ctr1"), 1);
	assert_false(hamn_volume_exists(f->st, "anon1"));
	assert_true(hamn_volume_exists(f->st, "shared_anon"));
	assert_true(hamn_volume_exists(f->st, "named1"));
	hamn_mount_list_release(&l);
}

/* ---- copy-up ---- */

static void populate_copies_without_following_links(void **state)
{
	struct fixture *f = *state;
	struct hamn_error *err = NULL;
	_cleanup_free_ char *src = xasprintf("%s/src", f->root);
	_cleanup_free_ char *p = NULL, *text = NULL, *data = NULL, *q = NULL;
	_cleanup_close_ int sfd = -1;
	char buf[256];
	struct stat sb, sb2;
	ssize_t n;

	json_decref(create(f->st, "filled", NULL, NULL));
	data = hamn_volume_mountpoint(f->st, "filled");
	assert_int_equal(hamn_mkdir_p(AT_FDCWD, src, 0755, &err), 0);
	assert_int_equal(chmod(src, 0750), 0);
	p = xasprintf("%s/sub/deeper", src);
	assert_int_equal(hamn_mkdir_p(AT_FDCWD, p, 0755, &err), 0);
	free(p);
	p = xasprintf("%s/sub/deeper/file", src);
	write_file(p, "hello", 0640);
	q = xasprintf("%s/hard", src);
	assert_int_equal(link(p, q), 0);
	free(p);
	p = xasprintf("%s/passwd-link", src);
	assert_int_equal(symlink("/etc/passwd", p), 0);
	free(p);
	p = xasprintf("%s/up", src);
	assert_int_equal(symlink("../../../../../..", p), 0);
	free(p);
	p = xasprintf("%s/fifo", src);
	assert_int_equal(mkfifo(p, 0600), 0);

	assert_true(hamn_volume_needs_populate(
		f->st, &(struct hamn_mount){.type = HAMN_MOUNT_VOLUME, .source = "filled"}));
	sfd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_int_equal(hamn_volume_populate(f->st, "filled", sfd, &err), 0);
	assert_true(hamn_volume_populated(f->st, "filled"));

	free(p);
	p = xasprintf("%s/sub/deeper/file", data);
	text = read_text(p);
	assert_string_equal(text, "hello");
	assert_int_equal(stat(p, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0640);
	assert_int_equal(sb.st_nlink, 2); /* the hard link was kept as one */
	free(p);
	p = xasprintf("%s/passwd-link", data);
	assert_int_equal(lstat(p, &sb), 0);
	assert_true(S_ISLNK(sb.st_mode)); /* copied as a link, never as /etc/passwd */
	n = readlink(p, buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, "/etc/passwd");
	free(p);
	p = xasprintf("%s/up", data);
	assert_int_equal(lstat(p, &sb), 0);
	assert_true(S_ISLNK(sb.st_mode));
	free(p);
	p = xasprintf("%s/fifo", data);
	assert_int_equal(lstat(p, &sb), 0);
	assert_true(S_ISFIFO(sb.st_mode));
	assert_int_equal(stat(data, &sb2), 0);
	assert_int_equal(sb2.st_mode & 07777, 0750); /* the top's mode follows the image */

	/* once populated, never again */
	free(p);
	p = xasprintf("%s/later", src);
	write_file(p, "x", 0644);
	assert_int_equal(hamn_volume_populate(f->st, "filled", sfd, &err), 0);
	free(p);
	p = xasprintf("%s/later", data);
	assert_int_equal(lstat(p, &sb), -1);
	assert_false(hamn_volume_needs_populate(
		f->st, &(struct hamn_mount){.type = HAMN_MOUNT_VOLUME, .source = "filled"}));
}

static void populate_skips_non_empty_and_empty_source(void **state)
{
	struct fixture *f = *state;
	struct hamn_error *err = NULL;
	_cleanup_free_ char *src = xasprintf("%s/src2", f->root);
	_cleanup_free_ char *empty = xasprintf("%s/empty", f->root);
	_cleanup_free_ char *p = NULL, *data = NULL;
	_cleanup_close_ int sfd = -1, efd = -1;
	struct stat sb;

	json_decref(create(f->st, "written", NULL, NULL));
	json_decref(create(f->st, "fresh", NULL, NULL));
	data = hamn_volume_mountpoint(f->st, "written");
	p = xasprintf("%s/mine", data);
	write_file(p, "kept", 0644);
	assert_int_equal(mkdir(src, 0755), 0);
	assert_int_equal(mkdir(empty, 0755), 0);
	free(p);
	p = xasprintf("%s/image-file", src);
	write_file(p, "img", 0644);
	sfd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	efd = open(empty, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_int_equal(hamn_volume_populate(f->st, "written", sfd, &err), 0);
	free(p);
	p = xasprintf("%s/image-file", data);
	assert_int_equal(lstat(p, &sb), -1);
	assert_true(hamn_volume_populated(f->st, "written"));
	/* an empty image path leaves the volume waiting for real content */
	assert_int_equal(hamn_volume_populate(f->st, "fresh", efd, &err), 0);
	assert_false(hamn_volume_populated(f->st, "fresh"));
	assert_int_equal(hamn_volume_populate(f->st, "ghost", efd, &err), -1);
	assert_int_equal(err->errnum, ENOENT);
	hamn_error_free(&err);
}

/* ---- OCI mounts and inspect ---- */

static json_t *oci_of(struct hamn_volume_store *st, struct hamn_mount *m)
{
	struct hamn_error *err = NULL;
	json_t *o = hamn_volume_oci_mount(st, m, &err);

	if (!o)
		fail_msg("%s", err->msg);
	return o;
}

static void opts_are(json_t *o, const char *want)
{
	_cleanup_free_ char *got = hamn_json_dump(json_object_get(o, "options"));

	assert_string_equal(got, want);
}

static void oci_mounts(void **state)
{
	struct fixture *f = *state;
	struct hamn_error *err = NULL;
	_cleanup_free_ char *missing = xasprintf("%s/made/by/v", f->root);
	_cleanup_free_ char *spec = xasprintf("%s:/b:ro", missing), *mp = NULL;
	json_t *tmpfs_opts = json_pack("{s:s, s:s, s:s}", "type", "tmpfs", "device", "tmpfs", "o",
				       "size=1m,uid=1000");
	json_t *bind_opts = json_pack("{s:s, s:s, s:s}", "type", "none", "o", "bind", "device",
				      "/nonexistent-hamn");
	struct hamn_mount m;
	struct stat sb;
	json_t *o;

	assert_int_equal(hamn_mount_parse_bind(spec, &m, &err), 0);
	o = oci_of(f->st, &m);
	opts_are(o, "[\"rbind\",\"ro\",\"rprivate\"]");
	assert_int_equal(stat(missing, &sb), 0); /* -v made the source */
	json_decref(o);
	hamn_mount_release(&m);

	assert_int_equal(hamn_mount_parse_bind("autovol:/data", &m, &err), 0);
	o = oci_of(f->st, &m); /* made on the fly, as docker's -v */
	mp = hamn_volume_mountpoint(f->st, "autovol");
	assert_string_equal(json_string_value(json_object_get(o, "source")), mp);
	assert_string_equal(json_string_value(json_object_get(o, "type")), "bind");
	json_decref(o);
	o = hamn_mount_inspect_json(f->st, &m);
	assert_string_equal(json_string_value(json_object_get(o, "Mode")), "z");
	assert_string_equal(json_string_value(json_object_get(o, "Name")), "autovol");
	json_decref(o);
	hamn_mount_release(&m);

	assert_int_equal(hamn_mount_parse_tmpfs("/run", "size=1m", &m, &err), 0);
	o = oci_of(f->st, &m);
	opts_are(o, "[\"noexec\",\"nosuid\",\"nodev\",\"size=1m\",\"rw\"]");
	json_decref(o);
	assert_null(hamn_mount_inspect_json(f->st, &m));
	hamn_mount_release(&m);

	json_decref(create(f->st, "tmpvol", NULL, tmpfs_opts));
	assert_int_equal(hamn_mount_parse_bind("tmpvol:/t", &m, &err), 0);
	o = oci_of(f->st, &m);
	assert_string_equal(json_string_value(json_object_get(o, "type")), "tmpfs");
	opts_are(o, "[\"size=1m\",\"uid=1000\",\"rw\"]");
	assert_false(hamn_volume_needs_populate(f->st, &m));
	json_decref(o);
	hamn_mount_release(&m);

	json_decref(create(f->st, "devvol", NULL, bind_opts));
	assert_int_equal(hamn_mount_parse_bind("devvol:/t", &m, &err), 0);
	assert_null(hamn_volume_oci_mount(f->st, &m, &err));
	expect_einval(-1, &err);
	hamn_mount_release(&m);

	assert_int_equal(parse_api_text("{\"Type\":\"bind\",\"Source\":\"/nonexistent-hamn\","
					"\"Target\":\"/x\"}",
					&m, &err),
			 0);
	{
		struct hamn_mount_list l = {&m, 1};

		expect_einval(hamn_mounts_check_sources(&l, &err), &err);
	}
	assert_null(hamn_volume_oci_mount(f->st, &m, &err));
	expect_einval(-1, &err);
	hamn_mount_release(&m);
	json_decref(tmpfs_opts);
	json_decref(bind_opts);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names),
		cmocka_unit_test(clean_dest),
		cmocka_unit_test(bind_named_volume_ro),
		cmocka_unit_test(bind_host_path_propagation),
		cmocka_unit_test(bind_anonymous),
		cmocka_unit_test(bind_invalid),
		cmocka_unit_test(api_forms),
		cmocka_unit_test(api_invalid),
		cmocka_unit_test(tmpfs_map_options),
		cmocka_unit_test(volumes_from_spec),
		cmocka_unit_test(plan_precedence),
		cmocka_unit_test(plan_anonymous_names_are_stable),
		cmocka_unit_test(plan_errors),
		cmocka_unit_test(record_round_trip),
		cmocka_unit_test_setup_teardown(store_create_inspect, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(store_create_errors, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(store_random_and_anonymous, store_setup,
						store_teardown),
		cmocka_unit_test_setup_teardown(store_list_filters, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(store_remove_in_use, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(store_prune, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(store_leftovers_swept, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(store_remove_anonymous, store_setup,
						store_teardown),
		cmocka_unit_test_setup_teardown(populate_copies_without_following_links,
						store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(populate_skips_non_empty_and_empty_source,
						store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(oci_mounts, store_setup, store_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
