/*
 * driver.c - a development and test tool for the registry client without a
 * daemon: pull an image into a directory (blobs/sha256/<hex> plus
 * image.json describing it) and push such a directory back. Not installed.
 *
 *   hamn-dist-driver pull [-a] [--platform P] [--user U:P] [--insecure H] [--mirror URL]
 *                         [--downloads N] REF DIR
 *   hamn-dist-driver push [--user U:P] [--insecure H] DIR REF
 *   hamn-dist-driver login [--user U:P] SERVER
 *
 * With --store, DIR is an image store root (hamn.db, blobs/, layers/), as
 * hamnd's --root, and the real sink (sink.c) is used.
 */
#include "distribution/internal.h"

#include <getopt.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include "image/image.h"

struct dir {
	char *path;
	int fd;
};

static bool dir_has_blob(void *ctx, const char *digest)
{
	struct dir *d = ctx;
	_cleanup_free_ char *p = xasprintf("blobs/sha256/%s", digest + 7);

	return faccessat(d->fd, p, F_OK, 0) == 0;
}

static int dir_put_blob(void *ctx, int fd, const struct dist_blob *b, struct hamn_error **err)
{
	struct dir *d = ctx;
	_cleanup_free_ char *tmp = xasprintf("blobs/tmp-%s", b->digest.str + 7);
	_cleanup_free_ char *dst = xasprintf("blobs/sha256/%s", b->digest.str + 7);
	_cleanup_close_ int out =
		openat(d->fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	_cleanup_sha256_ struct hamn_sha256 *h = hamn_sha256_new();
	struct hamn_digest got;
	char buf[65536];
	ssize_t n;

	if (out < 0)
		return hamn_error_set(err, errno, "create %s", tmp);
	while ((n = hamn_read_all(fd, buf, sizeof(buf), err)) > 0) {
		hamn_sha256_update(h, buf, (size_t)n);
		if (hamn_write_all(out, buf, (size_t)n, err) < 0)
			return -1;
	}
	if (n < 0)
		return -1;
	hamn_sha256_final(h, &got);
	if (!streq(got.str, b->digest.str)) {
		unlinkat(d->fd, tmp, 0);
		return hamn_error_setq(err, EINVAL, "blob digest mismatch: expected %s, got %s",
				       b->digest.str, got.str);
	}
	if (renameat(d->fd, tmp, d->fd, dst) < 0)
		return hamn_error_set(err, errno, "rename %s", dst);
	return 0;
}

static bool dir_has_layer(void *ctx, const struct dist_layer_ref *l)
{
	return dir_has_blob(ctx, l->blob->digest.str);
}

static int dir_put_layer(void *ctx, int fd, const struct dist_layer_ref *l, struct hamn_error **err)
{
	return dir_put_blob(ctx, fd, l->blob, err);
}

static int dir_open_blob(void *ctx, const char *digest, struct hamn_error **err)
{
	struct dir *d = ctx;
	_cleanup_free_ char *p = xasprintf("blobs/sha256/%s", digest + 7);
	int fd = openat(d->fd, p, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return hamn_error_set(err, errno, "open %s", p);
	return fd;
}

static char *dir_lookup(void *ctx, const char *ref)
{
	(void)ctx;
	(void)ref;
	return NULL;
}

static json_t *blob_json(const struct dist_blob *b)
{
	json_t *o = json_object();

	json_object_set_new(o, "digest", json_string(b->digest.str));
	json_object_set_new(o, "size", json_integer(b->size));
	if (b->media_type)
		json_object_set_new(o, "mediaType", json_string(b->media_type));
	return o;
}

static int dir_commit(void *ctx, const struct dist_image_rec *img, char **id_out,
		      struct hamn_error **err)
{
	struct dir *d = ctx;
	_cleanup_json_ json_t *o = json_object();
	json_t *layers = json_array();
	_cleanup_free_ char *text = NULL;

	for (size_t i = 0; i < img->n_layers; i++)
		json_array_append_new(layers, blob_json(&img->layers[i]));
	json_object_set_new(o, "ref", json_string(img->ref));
	json_object_set_new(o, "manifest", json_string(img->manifest_digest));
	json_object_set_new(o, "config", blob_json(img->config));
	json_object_set_new(o, "layers", layers);
	text = json_dumps(o, JSON_INDENT(2));
	if (hamn_write_atomic(d->fd, "image.json", text, strlen(text), 0644, err) < 0)
		return -1;
	*id_out = xstrdup(img->config->digest.str);
	return 0;
}

static const struct dist_sink_ops dir_sink_ops = {
	.has_blob = dir_has_blob,
	.put_blob = dir_put_blob,
	.has_layer = dir_has_layer,
	.put_layer = dir_put_layer,
	.open_blob = dir_open_blob,
	.lookup = dir_lookup,
	.commit = dir_commit,
};

static void blob_from_json(json_t *o, struct dist_blob *b)
{
	struct hamn_oci_descriptor desc = {0};
	const char *mt = json_string_value(json_object_get(o, "mediaType"));

	hamn_digest_parse(json_string_value(json_object_get(o, "digest")), &desc.digest, NULL);
	desc.size = json_integer_value(json_object_get(o, "size"));
	desc.media_type = (char *)mt;
	dist_blob_set(b, &desc);
}

static int dir_images(void *ctx, const struct hamn_ref *ref, struct dist_source_image **out,
		      size_t *n_out, struct hamn_error **err)
{
	struct dir *d = ctx;
	_cleanup_json_ json_t *o = hamn_json_load_file(d->fd, "image.json", 1 << 20, err);
	struct dist_source_image *img;
	json_t *layers, *l;
	size_t i;

	if (!o)
		return -1;
	img = xzalloc(sizeof(*img));
	img->tag = xstrdup(ref->tag ? ref->tag : "latest");
	blob_from_json(json_object_get(o, "config"), &img->config);
	layers = json_object_get(o, "layers");
	img->n_layers = json_array_size(layers);
	img->layers = xcalloc(img->n_layers + 1, sizeof(*img->layers));
	json_array_foreach (layers, i, l)
		blob_from_json(l, &img->layers[i]);
	*out = img;
	*n_out = 1;
	return 0;
}

static const struct dist_source_ops dir_source_ops = {
	.images = dir_images,
	.open_blob = dir_open_blob,
};

static void print_progress(void *ud, const json_t *msg)
{
	_cleanup_free_ char *s = hamn_json_dump(msg);

	(void)ud;
	printf("%s\n", s);
	fflush(stdout);
}

static int open_dir(const char *path, struct dir *d, struct hamn_error **err)
{
	_cleanup_free_ char *blobs = xasprintf("%s/blobs/sha256", path);

	if (hamn_mkdir_p(AT_FDCWD, blobs, 0755, err) < 0)
		return -1;
	d->path = xstrdup(path);
	d->fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->fd < 0)
		return hamn_error_set(err, errno, "open %s", path);
	return 0;
}

struct args {
	bool all;
	bool store;
	const char *platform;
	struct hamn_dist_auth auth;
	struct hamn_dist_config cfg;
	char **insecure, **mirrors;
};

static int parse(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{"all-tags", no_argument, NULL, 'a'},
		{"platform", required_argument, NULL, 'p'},
		{"user", required_argument, NULL, 'u'},
		{"insecure", required_argument, NULL, 'i'},
		{"mirror", required_argument, NULL, 'm'},
		{"downloads", required_argument, NULL, 'd'},
		{"store", no_argument, NULL, 's'},
		{NULL, 0, NULL, 0},
	};
	int c;

	optind = 2;
	while ((c = getopt_long(argc, argv, "ap:u:i:m:d:s", opts, NULL)) != -1) {
		char *colon;

		switch (c) {
		case 'a':
			a->all = true;
			break;
		case 'p':
			a->platform = optarg;
			break;
		case 'u':
			colon = strchr(optarg, ':');
			a->auth.username = colon ? xstrndup(optarg, (size_t)(colon - optarg))
						 : xstrdup(optarg);
			a->auth.password = xstrdup(colon ? colon + 1 : "");
			break;
		case 'i':
			strv_push(&a->insecure, optarg);
			break;
		case 'm':
			strv_push(&a->mirrors, optarg);
			break;
		case 'd':
			a->cfg.max_downloads = (unsigned)atoi(optarg);
			break;
		case 's':
			a->store = true;
			break;
		default:
			return -1;
		}
	}
	a->cfg.insecure_registries = a->insecure;
	a->cfg.mirrors = a->mirrors;
	return optind;
}

/* pull REF ROOT / push ROOT REF against an image store. */
static int with_store(struct hamn_dist *d, const char *cmd, const char *a1, const char *a2,
		      struct args *a, struct hamn_error **err)
{
	const char *root = streq(cmd, "pull") ? a2 : a1;
	const char *ref = streq(cmd, "pull") ? a1 : a2;
	_cleanup_free_ char *db_path = xasprintf("%s/hamn.db", root);
	_cleanup_close_ int fd = -1;
	sqlite3 *db = NULL;
	struct hamn_image_store *st;
	int rc = -1;

	if (hamn_mkdir_p(AT_FDCWD, root, 0700, err) < 0)
		return -1;
	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return hamn_error_set(err, errno, "open %s", root);
	if (sqlite3_open(db_path, &db) != SQLITE_OK)
		return hamn_error_setq(err, EIO, "open %s", db_path);
	st = hamn_image_store_open(fd, db, err);
	if (st && streq(cmd, "pull")) {
		struct hamn_dist_pull_opts o = {.ref = ref,
						.all_tags = a->all,
						.platform = a->platform,
						.auth = &a->auth,
						.progress = print_progress,
						.cancel_fd = -1};
		_cleanup_free_ char *id = NULL;

		rc = hamn_dist_pull(d, st, &o, &id, err);
		if (rc == 0)
			printf("id %s\n", id);
	} else if (st) {
		struct hamn_dist_push_opts o = {
			.ref = ref, .auth = &a->auth, .progress = print_progress, .cancel_fd = -1};

		rc = hamn_dist_push(d, st, &o, err);
	}
	hamn_image_store_free(st);
	sqlite3_close(db);
	return rc;
}

static int run(int argc, char **argv, struct args *a, struct hamn_error **err)
{
	int i = parse(argc, argv, a);
	_cleanup_dist_ struct hamn_dist *d = NULL;
	struct dir dir = {NULL, -1};
	int rc;

	if (i < 0 || (!streq(argv[1], "login") && argc - i != 2) ||
	    (streq(argv[1], "login") && argc - i != 1))
		return hamn_error_setq(err, EINVAL, "usage: see the top of driver.c");
	d = hamn_dist_new(&a->cfg, err);
	if (!d)
		return -1;
	if (streq(argv[1], "login")) {
		a->auth.server_address = xstrdup(argv[i]);
		return hamn_dist_login(d, &a->auth, NULL, err);
	}
	if (a->store)
		return with_store(d, argv[1], argv[i], argv[i + 1], a, err);
	if (open_dir(argv[streq(argv[1], "pull") ? i + 1 : i], &dir, err) < 0)
		return -1;
	if (streq(argv[1], "pull")) {
		struct dist_sink sink = {&dir_sink_ops, &dir};
		struct hamn_dist_pull_opts o = {.ref = argv[i],
						.all_tags = a->all,
						.platform = a->platform,
						.auth = &a->auth,
						.progress = print_progress,
						.cancel_fd = -1};
		_cleanup_dist_pull_ struct hamn_dist_pull *p = dist_pull_prepare(d, &sink, &o, err);

		rc = p ? hamn_dist_pull_run(p, NULL, err) : -1;
	} else {
		struct dist_source src = {&dir_source_ops, &dir};
		struct hamn_dist_push_opts o = {.ref = argv[i + 1],
						.auth = &a->auth,
						.progress = print_progress,
						.cancel_fd = -1};

		rc = dist_push(d, &src, &o, err);
	}
	close(dir.fd);
	free(dir.path);
	return rc;
}

int main(int argc, char **argv)
{
	struct args a = {0};
	struct hamn_error *err = NULL;
	int rc;

	if (argc < 2)
		return 2;
	if (getenv("HAMN_DEBUG"))
		hamn_log_set_level(HAMN_LOG_DEBUG);
	rc = run(argc, argv, &a, &err);
	if (rc < 0) {
		fprintf(stderr, "hamn-dist-driver: %s (%s)\n", err->msg,
			hamn_errno_name(err->errnum));
		hamn_error_free(&err);
	}
	hamn_dist_auth_release(&a.auth);
	hamn_strv_free(a.insecure);
	hamn_strv_free(a.mirrors);
	return rc < 0 ? 1 : 0;
}
