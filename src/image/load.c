/*
 * load.c - docker load: a `docker save` tar or an OCI image layout tar,
 * read once from a stream.
 *
 * The members of the (possibly compressed) outer tar are staged under
 * tmp/load-*: each regular file becomes a numbered file there, hashed while
 * it is written; member names are only keys of a table, never paths on
 * disk, so hostile names cannot point anywhere. Links between members
 * (docker dedups layers that way) are followed inside that table.
 * manifest.json / index.json and other JSON members larger than
 * HAMN_OCI_JSON_MAX are refused from their header, before a byte of them
 * is read (CVE-2023-25153).
 *
 * Then every image is planned and checked (manifest, config, digests);
 * only when all are fine are layers extracted and images recorded. None of
 * this holds the store lock, except for checking and publishing each layer
 * and recording each image (see layer.c).
 */
#include "image/load.h"

#include <fcntl.h>
#include <libgen.h>

#define LOAD_MAX_MEMBERS 100000
#define LOAD_MAX_IMAGES 1000
#define LOAD_BUF (64 * 1024)

/*
 * An archive path made canonical, lexically: "./a//b/../c" -> "a/c". NULL
 * when ".." climbs above the archive's top: no member can have that name.
 */
static char *clean_member(const char *raw)
{
	struct hamn_buf b = HAMN_BUF_INIT;

	for (const char *p = raw; *p;) {
		size_t len;

		while (*p == '/')
			p++;
		len = strcspn(p, "/");
		if (len == 2 && p[0] == '.' && p[1] == '.') {
			char *up = b.data ? strrchr(b.data, '/') : NULL;

			if (!b.len) {
				hamn_buf_release(&b);
				return NULL;
			}
			b.len = up ? (size_t)(up - b.data) : 0;
			b.data[b.len] = '\0';
		} else if (len > 0 && !(len == 1 && p[0] == '.')) {
			if (b.len)
				hamn_buf_putc(&b, '/');
			hamn_buf_append(&b, p, len);
		}
		p += len;
	}
	return hamn_buf_steal(&b);
}

static bool is_small_json(const char *name)
{
	const char *base = strrchr(name, '/');

	base = base ? base + 1 : name;
	return streq(base, "manifest.json") || streq(base, "index.json") ||
	       streq(base, "repositories") || streq(base, "oci-layout") || streq(base, "json") ||
	       str_has_suffix(base, ".json");
}

static struct member *add_member(struct staging *sg, const char *name)
{
	struct member *m;
	size_t i;

	if (strset_get(&sg->index, name, &i)) {	/* a later member of the same name wins */
		m = &sg->m[i];
		free(m->alias);
		m->alias = NULL;
		return m;
	}
	if (sg->n == sg->cap) {
		sg->cap = sg->cap ? sg->cap * 2 : 64;
		sg->m = xreallocarray(sg->m, sg->cap, sizeof(*sg->m));
	}
	m = &sg->m[sg->n];
	memset(m, 0, sizeof(*m));
	m->name = xstrdup(name);
	strset_put(&sg->index, name, sg->n++);
	return m;
}

static int stage_file(struct staging *sg, struct archive *a, struct member *m, char *buf,
		      struct hamn_error **err)
{
	_cleanup_sha256_ struct hamn_sha256 *h = hamn_sha256_new();
	_cleanup_close_ int fd = -1;
	la_ssize_t n;

	snprintf(m->file, sizeof(m->file), "%zu", sg->files++);
	fd = openat(sg->dirfd, m->file, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return hamn_error_set(err, errno, "load: stage '%s'", m->name);
	m->size = 0;
	while ((n = archive_read_data(a, buf, LOAD_BUF)) > 0) {
		if (hamn_write_all(fd, buf, (size_t)n, err) < 0)
			return hamn_error_wrap(err, "load: stage '%s'", m->name);
		hamn_sha256_update(h, buf, (size_t)n);
		m->size += (uint64_t)n;
	}
	if (n < 0)
		return hamn_error_setq(err, EINVAL, "load: read '%s': %s", m->name,
				       archive_error_string(a));
	hamn_sha256_final(h, &m->digest);
	return 0;
}

/* A link's target as a member name: relative to the link's directory unless absolute. */
static char *link_target(const char *name, const char *target, bool symlink)
{
	_cleanup_free_ char *dir = xstrdup(name), *joined = NULL;

	if (!symlink || target[0] == '/')
		return clean_member(target);
	joined = xasprintf("%s/%s", dirname(dir), target);
	return clean_member(joined);
}

static int stage_entry(struct staging *sg, struct archive *a, struct archive_entry *e, char *buf,
		       struct hamn_error **err)
{
	const char *raw = archive_entry_pathname(e), *hl = archive_entry_hardlink(e);
	mode_t type = archive_entry_filetype(e);
	_cleanup_free_ char *name = raw ? clean_member(raw) : NULL;
	struct member *m;

	if (!name || !*name || (!hl && type != AE_IFREG && type != AE_IFLNK))
		return 0;	/* directories, and names the loader can never ask for */
	if (sg->n >= LOAD_MAX_MEMBERS)
		return hamn_error_setq(err, EINVAL, "load: more than %d archive members",
				       LOAD_MAX_MEMBERS);
	if (!hl && type == AE_IFREG && is_small_json(name) &&
	    archive_entry_size(e) > HAMN_OCI_JSON_MAX)
		return hamn_error_setq(err, EFBIG, "load: '%s' is larger than %d bytes", name,
				       HAMN_OCI_JSON_MAX);
	m = add_member(sg, name);
	if (hl || type == AE_IFLNK) {
		const char *t = hl ? hl : archive_entry_symlink(e);

		m->alias = t ? link_target(name, t, !hl) : NULL;
		if (!m->alias)
			m->alias = xstrdup("");	/* dangling: lookups fail */
		return 0;
	}
	return stage_file(sg, a, m, buf, err);
}

static int stage_archive(struct staging *sg, int fd, struct hamn_error **err)
{
	struct archive *a = archive_read_new();
	_cleanup_free_ char *buf = xmalloc(LOAD_BUF);
	struct archive_entry *e;
	int r, rc = 0;

	archive_read_support_filter_gzip(a);
	archive_read_support_filter_xz(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_fd(a, fd, LOAD_BUF) != ARCHIVE_OK)
		rc = hamn_error_setq(err, EINVAL, "load: %s", archive_error_string(a));
	while (rc == 0) {
		r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
			rc = hamn_error_setq(err, EINVAL, "load: not a valid tar archive: %s",
					     archive_error_string(a));
		else
			rc = stage_entry(sg, a, e, buf, err);
	}
	archive_read_free(a);
	return rc;
}

const struct member *staging_find(const struct staging *sg, const char *name)
{
	_cleanup_free_ char *clean = clean_member(name);
	const char *key = clean;

	for (int hops = 0; key && hops < 16; hops++) {
		size_t i;

		if (!strset_get(&sg->index, key, &i))
			return NULL;
		if (!sg->m[i].alias)
			return &sg->m[i];
		key = sg->m[i].alias;
	}
	return NULL;
}

int staging_read(const struct staging *sg, const struct member *m, const char *what, char **out,
		 size_t *len_out, struct hamn_error **err)
{
	if (m->size > HAMN_OCI_JSON_MAX)
		return hamn_error_setq(err, EFBIG, "load: %s '%s' is larger than %d bytes", what,
				       m->name, HAMN_OCI_JSON_MAX);
	if (hamn_read_file(sg->dirfd, m->file, HAMN_OCI_JSON_MAX, out, len_out, err) < 0)
		return hamn_error_wrap(err, "load: %s '%s'", what, m->name);
	return 0;
}

json_t *staging_json(const struct staging *sg, const struct member *m, const char *what,
		     struct hamn_error **err)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	json_t *v;

	if (staging_read(sg, m, what, &text, &len, err) < 0)
		return NULL;
	v = hamn_json_parse(text, len, err);
	if (!v)
		hamn_error_wrap(err, "load: %s '%s'", what, m->name);
	return v;
}

int load_item_init(const struct staging *sg, struct load_item *it, const struct member *config,
		   char **tags, struct hamn_error **err)
{
	struct image_plan *p = &it->plan;

	p->tags = tags;
	p->config_digest = config->digest;
	if (staging_read(sg, config, "image config", &p->config_text, &p->config_len, err) < 0)
		return -1;
	p->config = hamn_oci_image_config_parse_text(p->config_text, p->config_len, err);
	if (!p->config)
		return hamn_error_wrap(err, "load: '%s'", config->name);
	it->layers = xcalloc(p->config->n_diff_ids + 1, sizeof(*it->layers));
	return 0;
}

void load_item_release(struct load_item *it)
{
	image_plan_release(&it->plan);
	free(it->layers);
	hamn_strv_free(it->media_types);
	memset(it, 0, sizeof(*it));
}

/* ---- docker save: manifest.json ---- */

static int docker_tags(json_t *entry, size_t i, char ***out, struct hamn_error **err)
{
	_cleanup_strv_ char **raw = NULL;
	_cleanup_free_ char *what = xasprintf("manifest.json[%zu].RepoTags", i);

	*out = xcalloc(1, sizeof(char *));
	if (hamn_json_get_strv_opt(entry, "RepoTags", what, &raw, err) < 0)
		return -1;
	for (size_t j = 0; raw && raw[j]; j++) {
		char *full = hamn_ref_normalize(raw[j], err);

		if (!full)
			return hamn_error_wrap(err, "load: %s", what);
		if (strchr(full, '@')) {
			free(full);
			return hamn_error_setq(err, EINVAL, "load: %s: '%s' is not a tag", what,
					       raw[j]);
		}
		strv_push_take(out, full);
	}
	return 0;
}

static int docker_layers(const struct staging *sg, json_t *entry, size_t i,
			 struct load_item *it, struct hamn_error **err)
{
	json_t *layers = json_object_get(entry, "Layers"), *v;
	size_t j;

	if (!json_is_array(layers))
		return hamn_error_setq(err, EINVAL, "load: manifest.json[%zu].Layers: must be an "
				       "array", i);
	if (json_array_size(layers) != it->plan.config->n_diff_ids)
		return hamn_error_setq(err, EINVAL, "load: manifest.json[%zu]: %zu layers for %zu "
				       "diff IDs in the config", i, json_array_size(layers),
				       it->plan.config->n_diff_ids);
	json_array_foreach(layers, j, v) {
		if (!json_is_string(v))
			return hamn_error_setq(err, EINVAL, "load: manifest.json[%zu].Layers[%zu]: "
					       "must be a string", i, j);
		it->layers[j] = staging_find(sg, json_string_value(v));
		if (!it->layers[j])
			return hamn_error_setq(err, EINVAL, "load: layer '%s' is not in the archive",
					       json_string_value(v));
	}
	return 0;
}

static int docker_entry(const struct staging *sg, json_t *entry, size_t i, struct load_item *it,
			struct hamn_error **err)
{
	const char *config_name = NULL;
	const struct member *config;
	char **tags = NULL;
	_cleanup_free_ char *what = xasprintf("manifest.json[%zu].Config", i);

	if (!json_is_object(entry))
		return hamn_error_setq(err, EINVAL, "load: manifest.json[%zu]: must be an object", i);
	if (hamn_json_get_string(entry, "Config", what, &config_name, err) < 0)
		return hamn_error_wrap(err, "load");
	config = staging_find(sg, config_name);
	if (!config)
		return hamn_error_setq(err, EINVAL, "load: config '%s' is not in the archive",
				       config_name);
	if (docker_tags(entry, i, &tags, err) < 0) {
		hamn_strv_free(tags);
		return -1;
	}
	if (load_item_init(sg, it, config, tags, err) < 0)
		return -1;
	return docker_layers(sg, entry, i, it, err);
}

static int docker_plan(const struct staging *sg, const struct member *manifest,
		       struct load_item **items, size_t *n, struct hamn_error **err)
{
	_cleanup_json_ json_t *doc = staging_json(sg, manifest, "manifest", err);
	json_t *entry;
	size_t i;

	if (!doc)
		return -1;
	if (!json_is_array(doc))
		return hamn_error_setq(err, EINVAL, "load: manifest.json: must be an array");
	if (json_array_size(doc) > LOAD_MAX_IMAGES)
		return hamn_error_setq(err, EINVAL, "load: manifest.json: too many images");
	*items = xcalloc(json_array_size(doc) + 1, sizeof(**items));
	json_array_foreach(doc, i, entry) {
		(*n)++;
		if (docker_entry(sg, entry, i, &(*items)[i], err) < 0)
			return -1;
	}
	return 0;
}

/* ---- storing what was planned ---- */

static int open_layer(const struct staging *sg, const struct member *m, struct layer_source *src,
		      struct hamn_error **err)
{
	src->fd = openat(sg->dirfd, m->file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	src->staged_dirfd = sg->dirfd;
	src->staged_name = m->file;
	src->blob = m->digest.str;
	src->blob_in_store = false;
	if (src->fd >= 0 || errno != ENOENT)
		return src->fd >= 0 ? 0 : hamn_error_set(err, errno, "load: open '%s'", m->name);
	/* adopted as a blob by an earlier layer with the same bytes */
	src->fd = hamn_image_blob_open(sg->st, m->digest.str, err);
	src->blob_in_store = true;
	return src->fd < 0 ? -1 : 0;
}

static int store_layers(struct staging *sg, const struct load_item *it,
			struct hamn_digest *chains, size_t *done, struct hamn_error **err)
{
	for (size_t i = 0; i < it->plan.config->n_diff_ids; i++) {
		struct layer_source src = { .media_type = it->media_types ? it->media_types[i]
									 : NULL };
		int rc;

		if (open_layer(sg, it->layers[i], &src, err) < 0)
			return -1;
		rc = layer_ensure(sg->st, i ? &chains[i - 1] : NULL, &it->plan.config->diff_ids[i],
				  &src, &chains[i], err);
		close(src.fd);
		if (rc < 0)
			return -1;
		*done = i + 1;
	}
	return 0;
}

/* Layers unpacked without the lock and pinned, then the image recorded in one locked step. */
static int store_item(struct staging *sg, const struct load_item *it, struct hamn_error **err)
{
	size_t n = it->plan.config->n_diff_ids, done = 0;
	_cleanup_free_ struct hamn_digest *chains = xcalloc(n + 1, sizeof(*chains));
	int rc = store_layers(sg, it, chains, &done, err);

	/* a failed load leaves nothing: the layers it stored for this image go again */
	if (image_commit_unpin(sg->st, rc == 0 ? &it->plan : NULL, chains, done, true, err) < 0)
		rc = -1;
	return rc;
}

/*
 * Report a stored item as dockerd: per tag, the image it took the tag from
 * (moved[i], "" when none), then the tag.
 */
static void report_item(const struct load_item *it, char **moved, hamn_image_report_fn report,
			void *ud)
{
	bool any = false;

	for (size_t i = 0; it->plan.tags && it->plan.tags[i]; i++) {
		_cleanup_free_ char *f = hamn_ref_familiarize(it->plan.tags[i]);
		_cleanup_free_ char *line = NULL, *renamed = NULL;

		if (strchr(it->plan.tags[i], '@'))
			continue;
		if (moved && moved[i] && *moved[i]) {
			renamed = xasprintf("The image %s already exists, renaming the old one "
					    "with ID %s to empty string", f, moved[i]);
			report(renamed, ud);
		}
		line = xasprintf("Loaded image: %s", f);
		report(line, ud);
		any = true;
	}
	if (!any) {
		_cleanup_free_ char *line = xasprintf("Loaded image ID: %s",
						      it->plan.config_digest.str);
		report(line, ud);
	}
}

/* Per tag of it, the other image that has it before the load, or "" (for report_item). */
static char **tags_moving(struct hamn_image_store *st, const struct load_item *it)
{
	char **old_ids = xcalloc(1, sizeof(char *));

	for (size_t i = 0; it->plan.tags && it->plan.tags[i]; i++) {
		char *old = NULL;

		if (hamn_image_resolve(st, it->plan.tags[i], &old, NULL) < 0 ||
		    streq(old, it->plan.config_digest.str)) {
			free(old);
			old = xstrdup("");
		}
		strv_push_take(&old_ids, old);
	}
	return old_ids;
}

static int load_staged(struct staging *sg, hamn_image_report_fn report, void *ud,
		       struct hamn_error **err)
{
	const struct member *manifest = staging_find(sg, "manifest.json");
	struct load_item *items = NULL;
	size_t n = 0;
	int rc;

	if (manifest)
		rc = docker_plan(sg, manifest, &items, &n, err);
	else if (staging_find(sg, "index.json"))
		rc = load_oci_plan(sg, &items, &n, err);
	else
		rc = hamn_error_setq(err, EINVAL, "load: the archive has neither manifest.json nor "
				     "index.json: not a docker save or OCI layout tar");
	for (size_t i = 0; rc == 0 && i < n; i++) {
		_cleanup_strv_ char **moved = report ? tags_moving(sg->st, &items[i]) : NULL;

		rc = store_item(sg, &items[i], err);
		if (rc == 0 && report)
			report_item(&items[i], moved, report, ud);
	}
	for (size_t i = 0; i < n; i++)
		load_item_release(&items[i]);
	free(items);
	return rc;
}

static void staging_release(struct staging *sg)
{
	struct hamn_error *e = NULL;

	cleanup_closep(&sg->dirfd);
	if (sg->dirname && hamn_rm_rf(sg->st->tmp_fd, sg->dirname, &e) < 0) {
		log_kv(HAMN_LOG_WARN, "cannot remove staging directory", "dir=%s err=\"%s\"",
		       sg->dirname, e->msg);
		hamn_error_free(&e);
	}
	free(sg->dirname);
	for (size_t i = 0; i < sg->n; i++) {
		free(sg->m[i].name);
		free(sg->m[i].alias);
	}
	free(sg->m);
	strset_release(&sg->index);
}

int hamn_image_load(struct hamn_image_store *st, int fd, hamn_image_report_fn report, void *ud,
		    struct hamn_error **err)
{
	struct staging sg = { .st = st, .dirfd = -1 };
	int rc = 0;

	sg.dirname = store_tmp_name("load");
	if (mkdirat(st->tmp_fd, sg.dirname, 0700) < 0 ||
	    (sg.dirfd = openat(st->tmp_fd, sg.dirname, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		rc = hamn_error_set(err, errno, "load: create staging directory");
	/* staging needs no lock: the directory is ours alone */
	if (rc == 0)
		rc = stage_archive(&sg, fd, err);
	/* nor does the rest: layers are extracted unlocked, images recorded in short steps */
	if (rc == 0)
		rc = load_staged(&sg, report, ud, err);
	staging_release(&sg);
	return rc;
}
