/*
 * test_image.c - references, image configs, and the image store: load,
 * save, import, tag, delete, prune, list, inspect, crash recovery.
 * (Hostile layer extraction is in test_image_layer.c.)
 *
 * Archives are built here with libarchive; the busybox fixtures of
 * tests/fixtures/mkimage.sh are loaded too when they can be built.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

/* short positional entry tables read better than designated initialisers here */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include "image_store.h"

/* ---- references ---- */

static void references_normalise(void **state)
{
	static const char *const cases[][3] = {
		/* input, full, familiar */
		{ "busybox", "docker.io/library/busybox:latest", "busybox:latest" },
		{ "busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36" },
		{ "library/busybox", "docker.io/library/busybox:latest", "busybox:latest" },
		{ "docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest" },
		{ "index.docker.io/x/y:v", "docker.io/x/y:v", "x/y:v" },
		{ "localhost:5000/x:tag", "localhost:5000/x:tag", "localhost:5000/x:tag" },
		{ "localhost/x", "localhost/x:latest", "localhost/x:latest" },
		{ "127.0.0.1:5000/a/b-c__d.e", "127.0.0.1:5000/a/b-c__d.e:latest",
		  "127.0.0.1:5000/a/b-c__d.e:latest" },
		{ "Registry.Example.com/x", "Registry.Example.com/x:latest",
		  "Registry.Example.com/x:latest" },
		{ "x@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		  "docker.io/library/x@sha256:0123456789abcdef0123456789abcdef0123456789abcdef"
		  "0123456789abcdef",
		  "x@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" },
		{ "[::1]:5000/x:v", "[::1]:5000/x:v", "[::1]:5000/x:v" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hamn_error *err = NULL;
		_cleanup_free_ char *full = hamn_ref_normalize(cases[i][0], &err);
		_cleanup_free_ char *fam = NULL;

		if (!full)
			fail_msg("'%s': %s", cases[i][0], err->msg);
		assert_string_equal(full, cases[i][1]);
		fam = hamn_ref_familiarize(full);
		assert_string_equal(fam, cases[i][2]);
	}
}

static void references_invalid(void **state)
{
	static const char *const bad[] = {
		"", "Busybox", "busy box", "x:", ":tag", "x:-bad", "x@sha256:123", "x@md5:00",
		"a//b", "a/b/", "-a", "a-", "a..b", "a___b", "x:tag:more", "local host/x",
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct hamn_ref r = HAMN_REF_INIT;
		struct hamn_error *err = NULL;

		if (hamn_ref_parse(bad[i], &r, &err) == 0)
			fail_msg("'%s' was accepted", bad[i]);
		assert_int_equal(err->errnum, EINVAL);
		assert_null(r.domain);
		hamn_error_free(&err);
	}
}

/* ---- image configs ---- */

#define DIFF1 "sha256:e94bd99555a933e90be4b3825b657d3cf05d981ff1f20277b9d9b31b347b4d63"

static void config_parses(void **state)
{
	static const char doc[] =
		"{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"2000-01-01T00:00:00Z\","
		"\"config\":{\"User\":\"1:2\",\"Env\":[\"A=1\"],\"Entrypoint\":\"sh\",\"Cmd\":[\"-c\","
		"\"x\"],\"WorkingDir\":\"/w\",\"Labels\":{\"k\":\"v\"},\"ExposedPorts\":{\"80/tcp\":{}},"
		"\"Volumes\":{\"/d\":{}},\"StopSignal\":\"SIGINT\",\"Healthcheck\":{\"Test\":[\"NONE\"],"
		"\"Interval\":1000}},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" DIFF1 "\"]},"
		"\"history\":[{\"created_by\":\"x\",\"empty_layer\":true},{\"comment\":\"c\"}]}";
	struct hamn_error *err = NULL;
	_cleanup_image_config_ struct hamn_oci_image_config *c =
		hamn_oci_image_config_parse_text(doc, strlen(doc), &err);
	_cleanup_json_ json_t *back = NULL;
	_cleanup_image_config_ struct hamn_oci_image_config *c2 = NULL;

	if (!c)
		fail_msg("%s", err->msg);
	assert_string_equal(c->os, "linux");
	assert_int_equal(c->created, 946684800LL * 1000000000LL);
	assert_string_equal(c->config.entrypoint[0], "sh");
	assert_string_equal(c->config.cmd[1], "x");
	assert_string_equal(c->config.exposed_ports[0], "80/tcp");
	assert_string_equal(c->config.volumes[0], "/d");
	assert_int_equal(c->config.healthcheck->interval, 1000);
	assert_int_equal(c->n_diff_ids, 1);
	assert_string_equal(c->diff_ids[0].str, DIFF1);
	assert_int_equal(c->n_history, 2);
	assert_true(c->history[0].empty_layer);
	back = hamn_oci_image_config_to_json(c);
	c2 = hamn_oci_image_config_parse(back, &err);
	assert_non_null(c2);
	assert_string_equal(c2->config.user, "1:2");
	assert_string_equal(json_string_value(json_object_get(c2->config.labels, "k")), "v");
}

/* CVE-2021-21285: hostile configs are EINVAL, never a crash. */
static void config_malformed_is_einval(void **state)
{
	static const char *const bad[] = {
		"null", "[]", "\"x\"", "{}", "{\"rootfs\":null}", "{\"rootfs\":[]}",
		"{\"rootfs\":{\"type\":\"layers\"}}",
		"{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":\"x\"}}",
		"{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[1]}}",
		"{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:zz\"]}}",
		"{\"rootfs\":{\"type\":\"other\",\"diff_ids\":[]}}",
		"{\"rootfs\":{\"type\":1,\"diff_ids\":[]}}",
		"{\"architecture\":5,\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}",
		"{\"config\":[],\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}",
		"{\"config\":{\"Env\":\"A=1\"},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}",
		"{\"config\":{\"Cmd\":1},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}",
		"{\"config\":{\"Labels\":{\"a\":1}},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}",
		"{\"config\":{\"ExposedPorts\":[\"80\"]},\"rootfs\":{\"type\":\"layers\","
		"\"diff_ids\":[]}}",
		"{\"config\":{\"Healthcheck\":{\"Interval\":-1}},\"rootfs\":{\"type\":\"layers\","
		"\"diff_ids\":[]}}",
		"{\"history\":\"x\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}",
		"{\"history\":[1],\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}",
		"{\"created\":\"yesterday\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}",
		"{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}", "\xff",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct hamn_error *err = NULL;
		struct hamn_oci_image_config *c =
			hamn_oci_image_config_parse_text(bad[i], strlen(bad[i]), &err);

		if (c)
			fail_msg("config %zu '%s' was accepted", i, bad[i]);
		assert_int_equal(err->errnum, EINVAL);
		hamn_error_free(&err);
	}
}

/* ---- load, inspect, save ---- */

static void load_list_inspect_save_roundtrip(void **state)
{
	struct senv *e = *state;
	struct hamn_error *err = NULL;
	struct hamn_digest id, chain2;
	_cleanup_json_ json_t *list = NULL, *insp = NULL, *insp2 = NULL;
	_cleanup_free_ char *lower = NULL, *want = NULL, *id2 = NULL;
	_cleanup_close_ int out = memfd_create("save", MFD_CLOEXEC);
	_cleanup_buf_ struct hamn_buf saved = HAMN_BUF_INIT;
	const char *refs[] = { "hamn-unit:v1" };
	sqlite3 *db2 = NULL;
	struct hamn_image_store *st2 = NULL;

	load_test_image(e, &id);
	assert_string_equal(e->lines[0], "Loaded image: hamn-unit:v1");
	list = hamn_image_list_json(e->st, NULL, &err);
	assert_int_equal(json_array_size(list), 1);
	assert_string_equal(jstr(list, "0.Id"), id.str);
	assert_string_equal(jstr(list, "0.RepoTags.0"), "hamn-unit:v1");
	assert_string_equal(jstr(list, "0.Labels.a"), "1");
	insp = hamn_image_inspect_json(e->st, "hamn-unit:v1", &err);
	assert_non_null(insp);
	assert_string_equal(jstr(insp, "Id"), id.str);
	assert_string_equal(jstr(insp, "Config.Cmd.0"), "sh");
	assert_string_equal(jstr(insp, "Created"), "2020-01-01T00:00:00Z");
	assert_string_equal(jstr(insp, "RootFS.Layers.1"), e->l[1].diff.str);
	assert_string_equal(jstr(insp, "GraphDriver.Name"), "overlay2");
	assert_int_equal(json_integer_value(json_object_get(insp, "Size")), 10);
	/* lowerdirs, topmost first */
	chain_of(e->l, &chain2);
	lower = hamn_image_lowerdir(e->st, id.str, &err);
	want = xasprintf("%s/root/layers/%s/diff:%s/root/layers/%s/diff", e->dir,
			 hamn_digest_hex(&chain2), e->dir, hamn_digest_hex(&e->l[0].diff));
	assert_string_equal(lower, want);
	/* save, load into another store: same image */
	must(hamn_image_save(e->st, refs, 1, out, &err), &err);
	fd_bytes(out, &saved);
	open_store_at(e, "root2", &db2, &st2);
	must(load_buf(e, st2, &saved, &err), &err);
	assert_string_equal(e->lines[0], "Loaded image: hamn-unit:v1");
	must(hamn_image_resolve(st2, "hamn-unit:v1", &id2, &err), &err);
	assert_string_equal(id2, id.str);
	insp2 = hamn_image_inspect_json(st2, id2, &err);
	assert_string_equal(jstr(insp2, "RootFS.Layers.0"), e->l[0].diff.str);
	close_store(&db2, &st2);
}

static void load_oci_layout(void **state)
{
	struct senv *e = *state;
	struct hamn_error *err = NULL;
	_cleanup_free_ char *config = config_make(e->l, 1, NULL), *id = NULL;
	_cleanup_free_ char *config2 = config_make(e->l, 1, ",\"author\":\"me\"");
	_cleanup_buf_ struct hamn_buf tar = HAMN_BUF_INIT, tar2 = HAMN_BUF_INIT;
	struct hamn_digest cd;

	oci_tar(&tar, config, e->l, 1, "io.containerd.image.name", "docker.io/library/oci:x");
	must(load_buf(e, e->st, &tar, &err), &err);
	assert_string_equal(e->lines[0], "Loaded image: oci:x");
	must(hamn_image_resolve(e->st, "oci:x", &id, &err), &err);
	hamn_sha256_buf(config, strlen(config), &cd);
	assert_string_equal(id, cd.str);
	/* a bare tag in ref.name names no repository */
	oci_tar(&tar2, config2, e->l, 1, "org.opencontainers.image.ref.name", "latest");
	must(load_buf(e, e->st, &tar2, &err), &err);
	assert_true(str_has_prefix(e->lines[0], "Loaded image ID: sha256:"));
	assert_int_equal(count_images(e->st), 2);
	/* the layer is shared: one directory */
	assert_int_equal(dir_count(e->rootfd, "layers"), 1);
}

/* docker dedups identical layers with symlinks; the whole tar may be gzip'd */
static void load_gzip_with_linked_layers(void **state)
{
	struct senv *e = *state;
	struct hamn_error *err = NULL;
	struct layerdef twice[2] = { e->l[0], e->l[0] };
	_cleanup_free_ char *config = config_make(twice, 2, NULL);
	_cleanup_free_ char *first = xasprintf("%s/layer.tar", hamn_digest_hex(&e->l[0].diff));
	_cleanup_free_ char *target = xasprintf("../%s", first);
	_cleanup_free_ char *man = NULL, *id = NULL;
	_cleanup_buf_ struct hamn_buf tar = HAMN_BUF_INIT, gz = HAMN_BUF_INIT;
	struct hamn_digest cd;
	_cleanup_free_ char *cfg_name = NULL;

	hamn_sha256_buf(config, strlen(config), &cd);
	cfg_name = xasprintf("%s.json", hamn_digest_hex(&cd));
	man = xasprintf("[{\"Config\":\"%s\",\"RepoTags\":[\"dup:1\"],\"Layers\":[\"%s\","
			"\"dup/layer.tar\"]}]", cfg_name, first);
	{
		const struct ent ents[] = {
			{ first, 'f', e->l[0].tar.data, .len = e->l[0].tar.len },
			{ "dup", 'd' }, { "dup/layer.tar", 'l', target },
			{ cfg_name, 'f', config }, { "manifest.json", 'f', man },
		};

		make_tar(ents, 5, false, &tar);
	}
	gzip_buf(&tar, &gz);
	must(load_buf(e, e->st, &gz, &err), &err);
	assert_string_equal(e->lines[0], "Loaded image: dup:1");
	must(hamn_image_resolve(e->st, "dup:1", &id, &err), &err);
	assert_string_equal(id, cd.str);
	assert_int_equal(dir_count(e->rootfd, "layers"), 2);
}

/* What a registry pull does: blobs first, then the image made from them. */
static void create_from_blobs(void **state)
{
	struct senv *e = *state;
	struct hamn_error *err = NULL;
	_cleanup_free_ char *config = config_make(e->l, 2, NULL), *id = NULL;
	_cleanup_close_ int c = mem_fd(config, strlen(config));
	_cleanup_close_ int l0 = mem_fd(e->l[0].gz.data, e->l[0].gz.len);
	_cleanup_close_ int l1 = mem_fd(e->l[1].tar.data, e->l[1].tar.len);
	_cleanup_close_ int bad = mem_fd("nope", 4);
	struct hamn_digest cd, got;
	const char *layers[] = { e->l[0].gz_digest.str, e->l[1].diff.str };
	const char *mdigest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	_cleanup_json_ json_t *insp = NULL;

	hamn_sha256_buf(config, strlen(config), &cd);
	assert_int_equal(hamn_image_blob_put(e->st, bad, cd.str, NULL, &err), -1);
	assert_int_equal(err->errnum, EINVAL);
	hamn_error_free(&err);
	assert_int_equal(dir_count(e->rootfd, "tmp"), 0);
	must(hamn_image_blob_put(e->st, c, cd.str, &got, &err), &err);
	must(hamn_image_blob_put(e->st, l0, NULL, NULL, &err), &err);
	must(hamn_image_blob_put(e->st, l1, NULL, NULL, &err), &err);
	must(hamn_image_create(e->st, cd.str, layers, NULL, 2, mdigest, "127.0.0.1:5000/p:v", &id,
			       &err), &err);
	assert_string_equal(id, cd.str);
	insp = hamn_image_inspect_json(e->st, "127.0.0.1:5000/p:v", &err);
	assert_non_null(insp);
	assert_string_equal(jstr(insp, "RepoTags.0"), "127.0.0.1:5000/p:v");
	assert_string_equal(jstr(insp, "RepoDigests.0"), "127.0.0.1:5000/p@sha256:0123456789abcdef"
			    "0123456789abcdef0123456789abcdef0123456789abcdef");
}

/* A layer unpacked from one blob (a plain tar) serves a pull that names another (its gzip). */
static void create_reuses_a_layer_from_another_blob(void **state)
{
	struct senv *e = *state;
	struct hamn_error *err = NULL;
	_cleanup_free_ char *config = config_make(e->l, 1, ",\"author\":\"pulled\""), *id = NULL;
	_cleanup_close_ int c = mem_fd(config, strlen(config));
	struct hamn_digest cd, loaded;
	const char *layers[] = { e->l[0].gz_digest.str };	/* never put */

	load_test_image(e, &loaded);
	must(hamn_image_blob_put(e->st, c, NULL, &cd, &err), &err);
	must(hamn_image_create(e->st, cd.str, layers, NULL, 1, NULL, "pulled:1", &id, &err),
	     &err);
	assert_string_equal(id, cd.str);
	assert_int_equal(dir_count(e->rootfd, "layers"), 2);
}

struct put_job {
	struct hamn_image_store *st;
	const struct hamn_buf *data;
	const char *parent, *diff, *blob, *media_type;
	int rc;
	char *msg;
};

static void *put_thread(void *arg)
{
	struct put_job *j = arg;
	struct hamn_error *err = NULL;
	int fd = mem_fd(j->data->data, j->data->len);

	j->rc = hamn_image_layer_put(j->st, fd, j->parent, j->diff, j->blob, j->media_type, NULL,
				     &err);
	if (err)
		j->msg = xstrdup(err->msg);
	hamn_error_free(&err);
	close(fd);
	return NULL;
}

/* A pull: layers put concurrently while downloading, then the image; then a push reads it. */
static void pull_layers_in_parallel_then_push_info(void **state)
{
	struct senv *e = *state;
	struct hamn_error *err = NULL;
	_cleanup_free_ char *config = config_make(e->l, 2, NULL), *id = NULL, *cfg = NULL;
	_cleanup_free_ char *man = NULL;
	_cleanup_close_ int c = mem_fd(config, strlen(config));
	struct hamn_digest cd, chain2;
	struct put_job jobs[2] = {
		{ e->st, &e->l[0].gz, NULL, e->l[0].diff.str, e->l[0].gz_digest.str,
		  HAMN_MT_OCI_LAYER_GZIP },
		{ e->st, &e->l[1].tar, e->l[0].diff.str, e->l[1].diff.str, e->l[1].diff.str, NULL },
	};
	pthread_t t[2];
	const char *layers[] = { e->l[0].gz_digest.str, e->l[1].diff.str };
	struct hamn_image_layer_info *info = NULL;
	size_t n = 0;
	_cleanup_json_ json_t *insp = NULL;
	const char *mdigest = "sha256:abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789";

	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, put_thread, &jobs[i]), 0);
	for (int i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		if (jobs[i].rc < 0)
			fail_msg("put %d: %s", i, jobs[i].msg);
	}
	chain_of(e->l, &chain2);
	assert_true(hamn_image_layer_exists(e->st, e->l[0].diff.str));
	assert_true(hamn_image_layer_exists(e->st, chain2.str));
	hamn_sha256_buf(config, strlen(config), &cd);
	must(hamn_image_blob_put(e->st, c, cd.str, NULL, &err), &err);
	must(hamn_image_create(e->st, cd.str, layers, NULL, 2, NULL, "reg.local/p:1", &id, &err),
	     &err);
	must(hamn_image_push_info(e->st, "reg.local/p:1", &cfg, &man, &info, &n, &err), &err);
	assert_string_equal(cfg, cd.str);
	assert_null(man);
	assert_int_equal(n, 2);
	assert_string_equal(info[0].blob.str, e->l[0].gz_digest.str);
	assert_string_equal(info[0].media_type, HAMN_MT_OCI_LAYER_GZIP);
	assert_int_equal(info[0].blob_size, e->l[0].gz.len);
	assert_string_equal(info[1].blob.str, e->l[1].diff.str);
	assert_string_equal(info[1].media_type, HAMN_MT_OCI_LAYER);
	assert_string_equal(info[1].chain_id.str, chain2.str);
	hamn_image_layer_info_free(info, n);
	must(hamn_image_set_manifest(e->st, "reg.local/p:1", mdigest, &err), &err);
	insp = hamn_image_inspect_json(e->st, id, &err);
	assert_string_equal(jstr(insp, "RepoDigests.0"), "reg.local/p@sha256:abcdef0123456789"
			    "abcdef0123456789abcdef0123456789abcdef0123456789");
}

/*
 * A pull that finds its layers in the store (has_layer, or a put of a layer
 * that exists) keeps them until it creates its image, even when the image
 * that had them is removed in between (the rmi must not take them, nor
 * their blobs); once the pulled image is made and removed, nothing is left.
 */
static void layers_reused_by_a_pull_survive_a_racing_rmi(void **state)
{
	struct senv *e = *state;
	struct hamn_error *err = NULL;
	_cleanup_free_ char *config = config_make(e->l, 2, ",\"author\":\"pulled\""), *id = NULL;
	_cleanup_close_ int c = mem_fd(config, strlen(config));
	_cleanup_close_ int l1 = mem_fd(e->l[1].gz.data, e->l[1].gz.len);
	_cleanup_json_ json_t *r1 = NULL, *r2 = NULL, *insp = NULL;
	const char *layers[] = { e->l[0].gz_digest.str, e->l[1].gz_digest.str };
	struct hamn_digest loaded, chain2, cd;

	load_test_image(e, &loaded);
	chain_of(e->l, &chain2);
	/* the pull: layer 0 is there, layer 1 is put (and found there too) */
	assert_true(hamn_image_layer_exists(e->st, e->l[0].diff.str));
	must(hamn_image_layer_put(e->st, l1, e->l[0].diff.str, e->l[1].diff.str,
				  e->l[1].gz_digest.str, HAMN_MT_OCI_LAYER_GZIP, NULL, &err), &err);
	/* the rmi that races it deletes the image, not the layers the pull relies on */
	must(hamn_image_remove(e->st, "hamn-unit:v1", 0, NULL, NULL, &r1, &err), &err);
	assert_int_equal(count_images(e->st), 0);
	assert_true(hamn_image_layer_exists(e->st, e->l[0].diff.str));
	assert_true(hamn_image_layer_exists(e->st, chain2.str));
	/* the pull ends: its image is whole */
	must(hamn_image_blob_put(e->st, c, NULL, &cd, &err), &err);
	must(hamn_image_create(e->st, cd.str, layers, NULL, 2, NULL, "pulled:1", &id, &err),
	     &err);
	insp = hamn_image_inspect_json(e->st, "pulled:1", &err);
	assert_non_null(insp);
	assert_int_equal(dir_count(e->rootfd, "layers"), 2);
	/* the create took the pull's hold: removing the image removes everything */
	must(hamn_image_remove(e->st, "pulled:1", 0, NULL, NULL, &r2, &err), &err);
	assert_store_empty(e);
}

/* A layer put by an unfinished pull outlives restarts for a while, then goes. */
static void unused_layers_have_a_grace_period(void **state)
{
	struct senv *e = *state;
	struct hamn_error *err = NULL;
	_cleanup_close_ int bad = mem_fd(e->l[1].tar.data, e->l[1].tar.len);
	_cleanup_close_ int good = mem_fd(e->l[1].tar.data, e->l[1].tar.len);
	struct hamn_digest id;
	_cleanup_json_ json_t *r = NULL;

	/* a blob that is not what the manifest said: nothing kept */
	assert_int_equal(hamn_image_layer_put(e->st, bad, NULL, e->l[1].diff.str,
					      e->l[0].diff.str, NULL, NULL, &err), -1);
	assert_int_equal(err->errnum, EINVAL);
	assert_non_null(strstr(err->msg, "blob digest mismatch"));
	hamn_error_free(&err);
	assert_store_empty(e);
	must(hamn_image_layer_put(e->st, good, NULL, e->l[1].diff.str, e->l[1].diff.str, NULL,
				  NULL, &err), &err);
	/* an image coming and going does not take the unrelated layer with it */
	load_test_image(e, &id);
	must(hamn_image_remove(e->st, id.str, HAMN_IMAGE_REMOVE_FORCE, NULL, NULL, &r, &err),
	     &err);
	close_store(&e->db, &e->st);
	open_store_at(e, "root", &e->db, &e->st);
	assert_true(hamn_image_layer_exists(e->st, e->l[1].diff.str));
	must(hamn_image_prune(e->st, true, NULL, NULL, NULL, NULL, &err), &err);
	assert_true(hamn_image_layer_exists(e->st, e->l[1].diff.str));
	/* a day later */
	assert_int_equal(sqlite3_exec(e->db, "UPDATE image_layers SET created = 0", NULL, NULL,
				      NULL), SQLITE_OK);
	close_store(&e->db, &e->st);
	open_store_at(e, "root", &e->db, &e->st);
	assert_store_empty(e);
}

/* The busybox fixtures of tests/fixtures/mkimage.sh, built next to the test binary. */
static char *fixtures_dir(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	_cleanup_free_ char *build = NULL, *info = NULL, *cmd = NULL, *done = NULL;
	_cleanup_json_ json_t *mi = NULL;
	const char *src;
	char *dir;

	if (getenv("HAMN_BUILD"))
		build = xstrdup(getenv("HAMN_BUILD"));
	else if (n > 0) {
		exe[n] = '\0';
		for (int i = 0; i < 3; i++)
			*strrchr(exe, '/') = '\0';	/* BUILD/tests/unit/test_image */
		build = xstrdup(exe);
	}
	if (!build)
		return NULL;
	dir = xasprintf("%s/fixtures", build);
	done = xasprintf("%s/.done", dir);
	if (access(done, F_OK) == 0)
		return dir;
	info = xasprintf("%s/meson-info/meson-info.json", build);
	mi = hamn_json_load_file(AT_FDCWD, info, 1 << 20, NULL);
	src = jstr(mi, "directories.source");
	if (src) {
		cmd = xasprintf("'%s/tests/fixtures/mkimage.sh' '%s' >/dev/null 2>&1", src, dir);
		if (system(cmd) == 0 && access(done, F_OK) == 0)
			return dir;
	}
	free(dir);
	return NULL;
}

static void load_fixtures(void **state)
{
	struct senv *e = *state;
	struct hamn_error *err = NULL;
	_cleanup_free_ char *dir = fixtures_dir(), *id1 = NULL, *id2 = NULL, *id3 = NULL;
	_cleanup_free_ char *p1 = NULL, *p2 = NULL;
	_cleanup_close_ int f1 = -1, f2 = -1, out = memfd_create("save", MFD_CLOEXEC);
	_cleanup_buf_ struct hamn_buf saved = HAMN_BUF_INIT;
	const char *refs[] = { "hamn-test" };
	sqlite3 *db2 = NULL;
	struct hamn_image_store *st2 = NULL;
	struct stat sb;

	if (!dir) {
		print_message("# skip: cannot build tests/fixtures (busybox-static, jq?)\n");
		skip();
	}
	p1 = xasprintf("%s/docker.tar", dir);
	p2 = xasprintf("%s/oci.tar", dir);
	f1 = open(p1, O_RDONLY | O_CLOEXEC);
	f2 = open(p2, O_RDONLY | O_CLOEXEC);
	must(hamn_image_load(e->st, f1, collect, e, &err), &err);
	must(hamn_image_resolve(e->st, "hamn-test:latest", &id1, &err), &err);
	must(hamn_image_remove(e->st, "hamn-test", 0, NULL, NULL, NULL, &err), &err);
	assert_store_empty(e);
	must(hamn_image_load(e->st, f2, collect, e, &err), &err);
	must(hamn_image_resolve(e->st, "hamn-test:latest", &id2, &err), &err);
	/* both archives carry the same config: the same image */
	assert_string_equal(id1, id2);
	assert_int_equal(fstatat(e->rootfd, "layers", &sb, 0), 0);
	must(hamn_image_save(e->st, refs, 1, out, &err), &err);
	fd_bytes(out, &saved);
	open_store_at(e, "root2", &db2, &st2);
	must(load_buf(e, st2, &saved, &err), &err);
	must(hamn_image_resolve(st2, "hamn-test", &id3, &err), &err);
	assert_string_equal(id3, id1);
	close_store(&db2, &st2);
}

/* ---- malformed archives ---- */

/* A tar header announcing a 2 GiB manifest.json, and nothing after it (CVE-2023-25153). */
static void huge_manifest_header(struct hamn_buf *out)
{
	char h[512] = { 0 };
	unsigned int sum = 0;

	snprintf(h, 100, "manifest.json");
	memcpy(h + 100, "0000644", 8);
	memcpy(h + 108, "0000000", 8);
	memcpy(h + 116, "0000000", 8);
	memcpy(h + 124, "20000000000", 12);
	memcpy(h + 136, "00000000000", 12);
	h[156] = '0';
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	memset(h + 148, ' ', 8);
	for (size_t i = 0; i < sizeof(h); i++)
		sum += (unsigned char)h[i];
	snprintf(h + 148, 8, "%06o", sum);
	hamn_buf_append(out, h, sizeof(h));
}

static void expect_load_error(struct senv *e, const struct hamn_buf *tar, int errnum,
			      const char *needle)
{
	struct hamn_error *err = NULL;

	assert_int_equal(load_buf(e, e->st, tar, &err), -1);
	assert_int_equal(err->errnum, errnum);
	if (!strstr(err->msg, needle))
		fail_msg("message '%s' lacks '%s'", err->msg, needle);
	hamn_error_free(&err);
	assert_store_empty(e);
}

static void malformed_archives_load_nothing(void **state)
{
	struct senv *e = *state;
	_cleanup_free_ char *config = config_make(e->l, 2, NULL);
	_cleanup_free_ char *one_layer = config_make(e->l, 1, NULL);
	static const char null_rootfs[] = "{\"architecture\":\"amd64\",\"os\":\"linux\","
					  "\"rootfs\":null}";
	struct hamn_buf t[8] = { HAMN_BUF_INIT };
	struct layerdef l00[2] = { e->l[0], e->l[0] };
	const char *junk[] = { "x", "y", NULL };

	docker_tar(&t[0], config, e->l, 2, "[\"x:1\"]", "[{\"Config\":\"a.json\",\"RepoTa");
	expect_load_error(e, &t[0], EINVAL, "invalid JSON");
	huge_manifest_header(&t[1]);
	expect_load_error(e, &t[1], EFBIG, "'manifest.json' is larger than 4194304 bytes");
	docker_tar(&t[2], null_rootfs, e->l, 0, "[\"x:1\"]", NULL);
	expect_load_error(e, &t[2], EINVAL, "rootfs: must be an object");
	/* the config promises one layer, the archive has another */
	docker_tar(&t[3], one_layer, &e->l[1], 1, "[\"x:1\"]", NULL);
	expect_load_error(e, &t[3], EINVAL, "diff ID mismatch");
	docker_tar(&t[4], config, e->l, 2, "[\"x:1\"]",
		   "[{\"Config\":\"nope.json\",\"RepoTags\":null,\"Layers\":[]}]");
	expect_load_error(e, &t[4], EINVAL, "config 'nope.json' is not in the archive");
	make_tar_files(junk, false, &t[5]);
	expect_load_error(e, &t[5], EINVAL, "neither manifest.json nor index.json");
	docker_tar(&t[6], config, e->l, 2, "[\"Bad:Tag\"]", NULL);
	expect_load_error(e, &t[6], EINVAL, "repository name must be lowercase");
	/* the second layer is wrong: the first, already unpacked, goes again */
	docker_tar(&t[7], config, l00, 2, "[\"x:1\"]", NULL);
	expect_load_error(e, &t[7], EINVAL, "diff ID mismatch");
	for (size_t i = 0; i < 8; i++)
		hamn_buf_release(&t[i]);
}

/* ---- crashes ---- */

static void touch_at(int dirfd, const char *path)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');

	if (slash) {
		*slash = '\0';
		must(hamn_mkdir_p(dirfd, dir, 0755, NULL), NULL);
	}
	fd = openat(dirfd, path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
}

/* What a crash at any step can leave behind is gone after reopening. */
static void leftovers_are_collected_on_open(void **state)
{
	struct senv *e = *state;
	struct hamn_error *err = NULL;
	struct hamn_digest id, fake;
	_cleanup_free_ char *fake_layer = NULL, *fake_blob = NULL, *sql = NULL;
	_cleanup_json_ json_t *insp = NULL;

	load_test_image(e, &id);
	hamn_sha256_buf("fake", 4, &fake);
	fake_layer = xasprintf("layers/%s/diff/etc/x", hamn_digest_hex(&fake));
	fake_blob = xasprintf("blobs/sha256/%s", hamn_digest_hex(&fake));
	touch_at(e->rootfd, "tmp/load-0123/0");
	touch_at(e->rootfd, "tmp/blob-0123");
	touch_at(e->rootfd, "layers/tmp-0123/diff/etc/half");
	touch_at(e->rootfd, fake_layer);
	touch_at(e->rootfd, fake_blob);
	/* a layer recorded before its image's transaction committed */
	sql = xasprintf("INSERT INTO image_layers VALUES ('%s','%s','','%s',0,'x',0,0,0)",
			fake.str, fake.str, fake.str);
	assert_int_equal(sqlite3_exec(e->db, sql, NULL, NULL, NULL), SQLITE_OK);
	close_store(&e->db, &e->st);
	open_store_at(e, "root", &e->db, &e->st);
	assert_int_equal(dir_count(e->rootfd, "tmp"), 0);
	assert_int_equal(dir_count(e->rootfd, "layers"), 2);
	assert_int_equal(faccessat(e->rootfd, fake_blob, F_OK, 0), -1);
	/* the complete image is untouched */
	assert_int_equal(dir_count(e->rootfd, "blobs/sha256"), 3);
	insp = hamn_image_inspect_json(e->st, "hamn-unit:v1", &err);
	assert_non_null(insp);
	assert_string_equal(jstr(insp, "Id"), id.str);
	/* a database from a newer hamn is refused, not rewritten */
	assert_int_equal(sqlite3_exec(e->db, "UPDATE image_schema SET version = 99", NULL, NULL,
				      NULL), SQLITE_OK);
	{
		struct hamn_image_store *st = hamn_image_store_open(e->rootfd, e->db, &err);

		assert_null(st);
		assert_int_equal(err->errnum, ENOTSUP);
		hamn_error_free(&err);
	}
}

static bool tmp_layer_has_big(int rootfd)
{
	_cleanup_closedir_ DIR *d = NULL;
	int fd = openat(rootfd, "layers", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;

	if (fd < 0 || !(d = fdopendir(fd)))
		return false;
	while ((de = readdir(d))) {
		_cleanup_free_ char *p = xasprintf("layers/%s/diff/big", de->d_name);
		struct stat sb;

		if (str_has_prefix(de->d_name, "tmp-") && fstatat(rootfd, p, &sb, 0) == 0 &&
		    sb.st_size > 0)
			return true;
	}
	return false;
}

/* An import killed in the middle of a layer: after reopening, nothing at all. */
static void killed_import_leaves_nothing(void **state)
{
	struct senv *e = *state;
	size_t big = 4 << 20;
	_cleanup_free_ char *data = xmalloc(big);
	struct ent ents[] = { { "big", 'f', data, .len = big } };
	_cleanup_buf_ struct hamn_buf tar = HAMN_BUF_INIT;
	int64_t deadline = hamn_monotonic_ns() + 10 * 1000000000LL;
	int pfd[2], status;
	size_t sent = 0;
	pid_t pid;

	memset(data, 'b', big);
	make_tar(ents, 1, false, &tar);
	close_store(&e->db, &e->st);
	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct hamn_error *err = NULL;
		struct hamn_image_import_opts o = { .ref = "killed:1" };

		close(pfd[1]);
		open_store_at(e, "root", &e->db, &e->st);
		hamn_image_import(e->st, pfd[0], &o, NULL, &err);
		_exit(0);
	}
	close(pfd[0]);
	/* half the layer, then wait until the child is writing it out */
	while (sent < tar.len / 2) {
		ssize_t n = write(pfd[1], tar.data + sent, 65536);
		assert_true(n > 0);
		sent += (size_t)n;
	}
	while (!tmp_layer_has_big(e->rootfd) && hamn_monotonic_ns() < deadline)
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);	/* poll, 1 ms */
	assert_true(tmp_layer_has_big(e->rootfd));
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	close(pfd[1]);
	assert_true(dir_count(e->rootfd, "layers") + dir_count(e->rootfd, "tmp") > 0);
	open_store_at(e, "root", &e->db, &e->st);
	assert_store_empty(e);
}

/* ---- tags, deletion, prune ---- */

static bool always_used(const char *id, void *ud)
{
	(void)id;
	return *(bool *)ud;
}

static size_t report_count(json_t *r, const char *key)
{
	size_t n = 0, i;
	json_t *v;

	json_array_foreach(r, i, v)
		n += json_object_get(v, key) != NULL;
	return n;
}

static void tag_untag_delete(void **state)
{
	struct senv *e = *state;
	struct hamn_error *err = NULL;
	struct hamn_digest id;
	_cleanup_json_ json_t *r1 = NULL, *r2 = NULL, *l = NULL;
	_cleanup_free_ char *got = NULL;

	load_test_image(e, &id);
	must(hamn_image_tag(e->st, "hamn-unit:v1", "localhost:5000/other", &err), &err);
	must(hamn_image_resolve(e->st, "localhost:5000/other:latest", &got, &err), &err);
	assert_string_equal(got, id.str);
	l = hamn_image_list_json(e->st, NULL, &err);
	assert_int_equal(json_array_size(json_object_get(json_array_get(l, 0), "RepoTags")), 2);
	assert_int_equal(hamn_image_tag(e->st, "hamn-unit:v1", "x@" DIFF1, &err), -1);
	hamn_error_free(&err);
	/* one of two tags: only untagged */
	must(hamn_image_remove(e->st, "hamn-unit:v1", 0, NULL, NULL, &r1, &err), &err);
	assert_int_equal(json_array_size(r1), 1);
	assert_string_equal(jstr(r1, "0.Untagged"), "hamn-unit:v1");
	assert_int_equal(count_images(e->st), 1);
	/* the last one: the image, its layers and blobs go */
	must(hamn_image_remove(e->st, "localhost:5000/other", 0, NULL, NULL, &r2, &err), &err);
	assert_string_equal(jstr(r2, "0.Untagged"), "localhost:5000/other:latest");
	assert_string_equal(jstr(r2, "1.Deleted"), id.str);
	assert_int_equal(report_count(r2, "Deleted"), 3);
	assert_store_empty(e);
	assert_int_equal(hamn_image_remove(e->st, "nosuch:tag", 0, NULL, NULL, NULL, &err), -1);
	assert_int_equal(err->errnum, ENOENT);
	assert_string_equal(err->msg, "No such image: nosuch:tag");
	hamn_error_free(&err);
}

static void images_in_use_are_kept(void **state)
{
	struct senv *e = *state;
	struct hamn_error *err = NULL;
	struct hamn_digest id;
	bool used = true;
	uint64_t reclaimed = 0;
	_cleanup_json_ json_t *r = NULL, *pr = NULL, *pr2 = NULL;
	_cleanup_free_ char *got = NULL;

	load_test_image(e, &id);
	assert_int_equal(hamn_image_remove(e->st, "hamn-unit:v1", 0, always_used, &used, NULL,
					   &err), -1);
	assert_int_equal(err->errnum, EBUSY);
	hamn_error_free(&err);
	assert_int_equal(hamn_image_remove(e->st, id.str, 0, always_used, &used, NULL, &err), -1);
	assert_int_equal(err->errnum, EBUSY);
	hamn_error_free(&err);
	/* forced: untagged, but kept for its container */
	must(hamn_image_remove(e->st, "hamn-unit:v1", HAMN_IMAGE_REMOVE_FORCE, always_used, &used,
			       &r, &err), &err);
	assert_int_equal(report_count(r, "Deleted"), 0);
	must(hamn_image_resolve(e->st, id.str + 7, &got, &err), &err);
	must(hamn_image_prune(e->st, false, always_used, &used, &pr, &reclaimed, &err), &err);
	assert_int_equal(json_array_size(pr), 0);
	assert_int_equal(count_images(e->st), 1);
	used = false;
	must(hamn_image_prune(e->st, false, always_used, &used, &pr2, &reclaimed, &err), &err);
	assert_string_equal(jstr(pr2, "0.Deleted"), id.str);
	assert_true(reclaimed >= 10);
	assert_store_empty(e);
}

static void ids_in_several_repositories_need_force(void **state)
{
	struct senv *e = *state;
	struct hamn_error *err = NULL;
	struct hamn_digest id;
	_cleanup_json_ json_t *r = NULL;

	load_test_image(e, &id);
	must(hamn_image_tag(e->st, id.str, "second:v2", &err), &err);
	assert_int_equal(hamn_image_remove(e->st, id.str, 0, NULL, NULL, NULL, &err), -1);
	assert_int_equal(err->errnum, EBUSY);
	assert_non_null(strstr(err->msg, "referenced in multiple repositories"));
	hamn_error_free(&err);
	must(hamn_image_remove(e->st, id.str, HAMN_IMAGE_REMOVE_FORCE, NULL, NULL, &r, &err),
	     &err);
	assert_int_equal(report_count(r, "Untagged"), 2);
	assert_store_empty(e);
}

static void shared_layers_are_stored_once(void **state)
{
	struct senv *e = *state;
	struct hamn_error *err = NULL;
	_cleanup_free_ char *c1 = config_make(e->l, 1, NULL);
	_cleanup_buf_ struct hamn_buf t1 = HAMN_BUF_INIT;
	struct hamn_digest id2;

	load_test_image(e, &id2);
	docker_tar(&t1, c1, e->l, 1, "[\"base:1\"]", NULL);
	must(load_buf(e, e->st, &t1, &err), &err);
	assert_int_equal(count_images(e->st), 2);
	assert_int_equal(dir_count(e->rootfd, "layers"), 2);
	must(hamn_image_remove(e->st, "hamn-unit:v1", 0, NULL, NULL, NULL, &err), &err);
	assert_int_equal(dir_count(e->rootfd, "layers"), 1);
	must(hamn_image_remove(e->st, "base:1", 0, NULL, NULL, NULL, &err), &err);
	assert_store_empty(e);
}

/* ---- import ---- */

static void import_with_changes(void **state)
{
	struct senv *e = *state;
	struct hamn_error *err = NULL;
	char *changes[] = {
		"CMD [\"sh\", \"-c\", \"echo hi\"]", "ENTRYPOINT /init --flag",
		"ENV A=1 B=\"two words\"", "ENV C three words", "EXPOSE 80 53/udp",
		"LABEL k=v other=\"x y\"", "WORKDIR /srv", "WORKDIR app", "USER nobody",
		"VOLUME /data /cache", "STOPSIGNAL SIGINT", NULL,
	};
	char *bad[] = { "RUN rm -rf /", NULL };
	struct hamn_image_import_opts o = { .ref = "imported:1", .changes = changes };
	struct hamn_image_import_opts ob = { .ref = "bad:1", .changes = bad };
	_cleanup_close_ int fd = mem_fd(e->l[0].gz.data, e->l[0].gz.len);
	_cleanup_close_ int fd2 = mem_fd(e->l[0].tar.data, e->l[0].tar.len);
	_cleanup_free_ char *id = NULL;
	_cleanup_json_ json_t *insp = NULL, *c = NULL;

	assert_int_equal(hamn_image_import(e->st, fd2, &ob, NULL, &err), -1);
	assert_int_equal(err->errnum, EINVAL);
	assert_non_null(strstr(err->msg, "RUN is not supported"));
	hamn_error_free(&err);
	assert_int_equal(lseek(fd2, 0, SEEK_CUR), 0);	/* refused before reading */
	must(hamn_image_import(e->st, fd, &o, &id, &err), &err);
	insp = hamn_image_inspect_json(e->st, "imported:1", &err);
	assert_non_null(insp);
	assert_string_equal(jstr(insp, "Id"), id);
	assert_string_equal(jstr(insp, "RootFS.Layers.0"), e->l[0].diff.str);
	assert_string_equal(jstr(insp, "Os"), "linux");
	c = json_incref(json_object_get(insp, "Config"));
	assert_string_equal(jstr(c, "Cmd.2"), "echo hi");
	assert_string_equal(jstr(c, "Entrypoint.0"), "/bin/sh");
	assert_string_equal(jstr(c, "Entrypoint.2"), "/init --flag");
	assert_string_equal(jstr(c, "Env.1"), "B=two words");
	assert_string_equal(jstr(c, "Env.2"), "C=three words");
	assert_non_null(json_object_get(json_object_get(c, "ExposedPorts"), "53/udp"));
	assert_non_null(json_object_get(json_object_get(c, "ExposedPorts"), "80/tcp"));
	assert_string_equal(jstr(c, "Labels.other"), "x y");
	assert_string_equal(jstr(c, "WorkingDir"), "/srv/app");
	assert_string_equal(jstr(c, "User"), "nobody");
	assert_non_null(json_object_get(json_object_get(c, "Volumes"), "/cache"));
	assert_string_equal(jstr(c, "StopSignal"), "SIGINT");
	/* the layer blob is kept as it came (gzip) */
	assert_int_equal(dir_count(e->rootfd, "blobs/sha256"), 2);
}

/* ---- lookups, lists, history ---- */

static void resolve_variants(void **state)
{
	struct senv *e = *state;
	struct hamn_error *err = NULL;
	struct hamn_digest id;
	char prefix[20];
	const char *ok[] = { "hamn-unit:v1", "docker.io/library/hamn-unit:v1", NULL, NULL, NULL };

	load_test_image(e, &id);
	snprintf(prefix, sizeof(prefix), "%.12s", id.str + 7);
	ok[2] = id.str;
	ok[3] = id.str + 7;
	ok[4] = prefix;
	for (size_t i = 0; i < 5; i++) {
		_cleanup_free_ char *got = NULL;

		must(hamn_image_resolve(e->st, ok[i], &got, &err), &err);
		assert_string_equal(got, id.str);
	}
	{
		_cleanup_free_ char *got = NULL, *sp = xasprintf("sha256:%s", prefix);

		must(hamn_image_resolve(e->st, sp, &got, &err), &err);
		assert_string_equal(got, id.str);
	}
	assert_int_equal(hamn_image_resolve(e->st, "hamn-unit", NULL, &err), -1);
	assert_int_equal(err->errnum, ENOENT);
	assert_string_equal(err->msg, "No such image: hamn-unit:latest");
	hamn_error_free(&err);
	assert_int_equal(hamn_image_resolve(e->st, "Hamn", NULL, &err), -1);
	assert_int_equal(err->errnum, EINVAL);
	hamn_error_free(&err);
}

static void list_filters_and_history(void **state)
{
	struct senv *e = *state;
	struct hamn_error *err = NULL;
	struct hamn_digest id;
	_cleanup_free_ char *c1 = config_make(e->l, 1, ",\"author\":\"x\"");
	_cleanup_buf_ struct hamn_buf t1 = HAMN_BUF_INIT;
	char *dangling_ref[] = { "hamn-*", NULL }, *lab1[] = { "a=1", NULL };
	char *lab2[] = { "a=2", NULL }, *lab3[] = { "a", NULL }, *nomatch[] = { "x*", NULL };
	struct hamn_image_filter f = HAMN_IMAGE_FILTER_INIT;
	_cleanup_json_ json_t *h = NULL;

	load_test_image(e, &id);
	docker_tar(&t1, c1, e->l, 1, "null", NULL);
	must(load_buf(e, e->st, &t1, &err), &err);
	f.dangling = 1;
	{
		_cleanup_json_ json_t *l = hamn_image_list_json(e->st, &f, &err);
		assert_int_equal(json_array_size(l), 1);
		assert_int_equal(json_array_size(json_object_get(json_array_get(l, 0), "RepoTags")),
				 0);
	}
	f.dangling = -1;
	f.reference = dangling_ref;
	{
		_cleanup_json_ json_t *l = hamn_image_list_json(e->st, &f, &err);
		assert_int_equal(json_array_size(l), 1);
		assert_string_equal(jstr(l, "0.Id"), id.str);
	}
	f.reference = nomatch;
	{
		_cleanup_json_ json_t *l = hamn_image_list_json(e->st, &f, &err);
		assert_int_equal(json_array_size(l), 0);
	}
	f.reference = NULL;
	f.label = lab1;
	{
		_cleanup_json_ json_t *l = hamn_image_list_json(e->st, &f, &err);
		assert_int_equal(json_array_size(l), 2);
	}
	f.label = lab2;
	{
		_cleanup_json_ json_t *l = hamn_image_list_json(e->st, &f, &err);
		assert_int_equal(json_array_size(l), 0);
	}
	f.label = lab3;
	{
		_cleanup_json_ json_t *l = hamn_image_list_json(e->st, &f, &err);
		assert_int_equal(json_array_size(l), 2);
	}
	h = hamn_image_history_json(e->st, "hamn-unit:v1", &err);
	assert_non_null(h);
	/* one history entry in the config, two layers: the second is synthesised */
	assert_int_equal(json_array_size(h), 2);
	assert_string_equal(jstr(h, "0.Id"), id.str);
	assert_string_equal(jstr(h, "0.Tags.0"), "hamn-unit:v1");
	assert_string_equal(jstr(h, "1.Id"), "<missing>");
	assert_string_equal(jstr(h, "1.CreatedBy"), "test");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(h, 1), "Size")), 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(references_normalise),
		cmocka_unit_test(references_invalid),
		cmocka_unit_test(config_parses),
		cmocka_unit_test(config_malformed_is_einval),
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(load_list_inspect_save_roundtrip),
		T(load_oci_layout),
		T(load_gzip_with_linked_layers),
		T(create_from_blobs),
		T(create_reuses_a_layer_from_another_blob),
		T(pull_layers_in_parallel_then_push_info),
		T(layers_reused_by_a_pull_survive_a_racing_rmi),
		T(unused_layers_have_a_grace_period),
		T(load_fixtures),
		T(malformed_archives_load_nothing),
		T(leftovers_are_collected_on_open),
		T(killed_import_leaves_nothing),
		T(tag_untag_delete),
		T(images_in_use_are_kept),
		T(ids_in_several_repositories_need_force),
		T(shared_layers_are_stored_once),
		T(import_with_changes),
		T(resolve_variants),
		T(list_filters_and_history),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
