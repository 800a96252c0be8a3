/*
 * inspect.c - the JSON docker clients read: GET /images/json,
 * GET /images/{name}/json and GET /images/{name}/history.
 *
 * Shapes follow dockerd (API 1.41); fields hamn has no notion of get
 * docker's neutral values (Containers -1, SharedSize -1). Untagged images
 * that are the parent of another (build steps) are intermediate images:
 * listed only with all, never as dangling.
 */
#include "image/internal.h"

static json_t *time_str(int64_t ns)
{
	char buf[HAMN_TIME_STR_MAX];

	return json_string(hamn_oci_time_format(ns > 0 ? ns : 0, buf));
}

/* RepoTags and RepoDigests (familiar forms) from the image's full refs. */
static void split_refs(char **refs, json_t **tags, json_t **digests)
{
	*tags = json_array();
	*digests = json_array();
	for (size_t i = 0; refs[i]; i++) {
		_cleanup_free_ char *f = hamn_ref_familiarize(refs[i]);

		json_array_append_new(strchr(refs[i], '@') ? *digests : *tags, json_string(f));
	}
}

static json_t *labels_of(const struct hamn_oci_image_config *c)
{
	return c && c->config.labels ? json_deep_copy(c->config.labels) : json_null();
}

/* ---- list ---- */

static bool labels_match(const struct hamn_oci_image_config *c, char **filters)
{
	for (size_t i = 0; filters && filters[i]; i++) {
		const char *eq = strchr(filters[i], '=');
		_cleanup_free_ char *key = eq ? xstrndup(filters[i], (size_t)(eq - filters[i]))
					      : xstrdup(filters[i]);
		json_t *v = c && c->config.labels ? json_object_get(c->config.labels, key) : NULL;

		if (!v || (eq && !streq(json_string_value(v), eq + 1)))
			return false;
	}
	return true;
}

/*
 * With reference patterns, keep in refs only the refs some pattern matches
 * (dockerd lists just those tags); false when none is left.
 */
static bool refs_match(char **refs, char **patterns)
{
	size_t kept = 0;

	if (!patterns || !patterns[0])
		return true;
	for (size_t j = 0; refs[j]; j++) {
		bool hit = false;

		for (size_t i = 0; patterns[i] && !hit; i++)
			hit = image_ref_matches(patterns[i], refs[j]);
		if (hit)
			refs[kept++] = refs[j];
		else
			free(refs[j]);
	}
	refs[kept] = NULL;
	return kept > 0;
}

static bool filter_match(const struct hamn_image_filter *f, char **refs,
			 const struct hamn_oci_image_config *c)
{
	if (!f)
		return true;
	if (f->dangling == 1 && refs[0])
		return false;
	if (f->dangling == 0 && !refs[0])
		return false;
	return refs_match(refs, f->reference) && labels_match(c, f->label);
}

static json_t *list_item(const char *id, int64_t created, int64_t size, const char *parent,
			 char **refs, const struct hamn_oci_image_config *c)
{
	json_t *tags, *digests;

	split_refs(refs, &tags, &digests);
	return json_pack("{s:i,s:I,s:s,s:o,s:s,s:o,s:o,s:i,s:I,s:I}", "Containers", -1, "Created",
			 (json_int_t)(created / 1000000000), "Id", id, "Labels", labels_of(c),
			 "ParentId", parent, "RepoDigests", digests, "RepoTags", tags, "SharedSize",
			 -1, "Size", (json_int_t)size, "VirtualSize", (json_int_t)size);
}

static int list_one(struct hamn_image_store *st, sqlite3_stmt *row,
		    const struct hamn_image_filter *f, json_t *out, struct hamn_error **err)
{
	_cleanup_free_ char *id = db_col_str(row, 0), *parent = db_col_str(row, 3);
	_cleanup_strv_ char **refs = image_tags_locked(st, id, err);
	_cleanup_image_config_ struct hamn_oci_image_config *c = NULL;
	struct hamn_error *cerr = NULL;

	if (!refs)
		return -1;
	/* an intermediate image: shown with all, and never as dangling (checked first: cheap) */
	if (f && !refs[0] && (!f->all || f->dangling == 1) && image_has_children(st, id))
		return 0;
	c = image_load_config(st, id, &cerr);
	if (!c) {
		/* one damaged image must not hide the others */
		log_kv(HAMN_LOG_WARN, "cannot read image config", "image=%s err=\"%s\"", id,
		       cerr->msg);
		hamn_error_free(&cerr);
	}
	if (filter_match(f, refs, c))
		json_array_append_new(out, list_item(id, sqlite3_column_int64(row, 1),
						     sqlite3_column_int64(row, 2), parent, refs,
						     c));
	return 0;
}

static json_t *list_locked(struct hamn_image_store *st, const struct hamn_image_filter *f,
			   struct hamn_error **err)
{
	_cleanup_stmt_ sqlite3_stmt *s = db_prepare(
		st, "SELECT id, created, size, parent FROM images "
		    "ORDER BY created DESC, loaded DESC", err);
	json_t *out;
	int rc;

	if (!s)
		return NULL;
	out = json_array();
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		if (list_one(st, s, f, out, err) < 0)
			break;
	if (rc != SQLITE_DONE) {
		json_decref(out);
		if (rc != SQLITE_ROW)
			db_fail(st, "list images", err);
		return NULL;
	}
	return out;
}

json_t *hamn_image_list_json(struct hamn_image_store *st, const struct hamn_image_filter *filter,
			     struct hamn_error **err)
{
	json_t *out;

	store_lock(st);
	out = list_locked(st, filter, err);
	store_unlock(st);
	return out;
}

/* ---- inspect ---- */

/* docker's container-config shape: its defaults, then whatever the image says. */
static json_t *container_config(json_t *raw)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:b,s:b,s:b,s:b,s:b,s:b,s:n,s:n,s:s,s:n,s:s,s:n,s:n,"
			      "s:n}",
			      "Hostname", "", "Domainname", "", "User", "", "AttachStdin", 0,
			      "AttachStdout", 0, "AttachStderr", 0, "Tty", 0, "OpenStdin", 0,
			      "StdinOnce", 0, "Env", "Cmd", "Image", "", "Volumes", "WorkingDir",
			      "", "Entrypoint", "OnBuild", "Labels");
	const char *k;
	json_t *v;

	if (json_is_object(raw))
		json_object_foreach(raw, k, v)
			json_object_set(o, k, v);
	return o;
}

static const char *raw_str(json_t *raw, const char *key)
{
	json_t *v = json_object_get(raw, key);

	return json_is_string(v) ? json_string_value(v) : "";
}

static json_t *graph_driver(struct hamn_image_store *st, const struct hamn_digest *chains,
			    size_t n)
{
	json_t *data = json_object();
	struct hamn_buf lower = HAMN_BUF_INIT;

	if (n > 0)
		json_object_set_new(data, "UpperDir",
				    json_sprintf("%s/layers/%s/diff", st->root_path,
						 hamn_digest_hex(&chains[n - 1])));
	for (size_t i = n - 1; n > 1 && i-- > 0;)
		hamn_buf_printf(&lower, "%s%s/layers/%s/diff", lower.len ? ":" : "", st->root_path,
				hamn_digest_hex(&chains[i]));
	if (lower.len)
		json_object_set_new(data, "LowerDir", json_string(lower.data));
	hamn_buf_release(&lower);
	return json_pack("{s:o,s:s}", "Data", data, "Name", "overlay2");
}

static json_t *rootfs_json(const struct hamn_oci_image_config *c)
{
	json_t *layers = json_array();

	for (size_t i = 0; i < c->n_diff_ids; i++)
		json_array_append_new(layers, json_string(c->diff_ids[i].str));
	return json_pack("{s:s,s:o}", "Type", "layers", "Layers", layers);
}

static int image_row(struct hamn_image_store *st, const char *id, int64_t *size,
		     int64_t *tag_time, char **parent, struct hamn_error **err)
{
	_cleanup_stmt_ sqlite3_stmt *s =
		db_prepare(st, "SELECT size, last_tag_time, parent FROM images WHERE id = ?", err);

	if (!s)
		return -1;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(s) != SQLITE_ROW)
		return hamn_error_setq(err, ENOENT, "No such image: %s", id);
	*size = sqlite3_column_int64(s, 0);
	*tag_time = sqlite3_column_int64(s, 1);
	*parent = db_col_str(s, 2);
	return 0;
}

struct image_facts {
	int64_t size, tag_time;
	char *parent;		/* "" when none */
};

static json_t *inspect_doc(struct hamn_image_store *st, const char *id,
			   const struct hamn_oci_image_config *c, char **refs,
			   const struct image_facts *fa, const struct hamn_digest *chains, size_t n)
{
	json_t *raw = c->raw, *tags, *digests, *o;

	split_refs(refs, &tags, &digests);
	o = json_pack("{s:s,s:o,s:o,s:s,s:s,s:o,s:s,s:o,s:s,s:s,s:o,s:s}", "Id", id, "RepoTags",
		      tags, "RepoDigests", digests, "Parent", fa->parent, "Comment",
		      raw_str(raw, "comment"),
		      "Created", time_str(c->created), "Container", raw_str(raw, "container"),
		      "ContainerConfig", container_config(json_object_get(raw, "container_config")),
		      "DockerVersion", raw_str(raw, "docker_version"), "Author",
		      c->author ? c->author : "", "Config",
		      container_config(json_object_get(raw, "config")), "Architecture",
		      c->architecture ? c->architecture : "");
	if (c->variant)
		json_object_set_new(o, "Variant", json_string(c->variant));
	json_object_set_new(o, "Os", json_string(c->os ? c->os : ""));
	json_object_set_new(o, "Size", json_integer(fa->size));
	json_object_set_new(o, "VirtualSize", json_integer(fa->size));
	json_object_set_new(o, "GraphDriver", graph_driver(st, chains, n));
	json_object_set_new(o, "RootFS", rootfs_json(c));
	json_object_set_new(o, "Metadata",
			    json_pack("{s:o}", "LastTagTime", time_str(fa->tag_time)));
	return o;
}

static json_t *inspect_locked(struct hamn_image_store *st, const char *ref,
			      struct hamn_error **err)
{
	_cleanup_free_ char *id = NULL;
	_cleanup_strv_ char **refs = NULL;
	_cleanup_image_config_ struct hamn_oci_image_config *c = NULL;
	_cleanup_free_ struct hamn_digest *chains = NULL;
	struct image_facts fa = { 0 };
	json_t *o = NULL;
	size_t n = 0;

	if (image_resolve_locked(st, ref, &id, NULL, err) < 0 ||
	    image_row(st, id, &fa.size, &fa.tag_time, &fa.parent, err) < 0)
		return NULL;
	if (image_chain(st, id, &chains, &n, err) == 0 &&
	    (refs = image_tags_locked(st, id, err)) && (c = image_load_config(st, id, err)))
		o = inspect_doc(st, id, c, refs, &fa, chains, n);
	free(fa.parent);
	return o;
}

json_t *hamn_image_inspect_json(struct hamn_image_store *st, const char *ref,
				struct hamn_error **err)
{
	json_t *o;

	store_lock(st);
	o = inspect_locked(st, ref, err);
	store_unlock(st);
	return o;
}

/* ---- history ---- */

static int64_t layer_size(struct hamn_image_store *st, const struct hamn_digest *chain)
{
	_cleanup_stmt_ sqlite3_stmt *s =
		db_prepare(st, "SELECT size FROM image_layers WHERE chain_id = ?", NULL);

	if (!s)
		return 0;
	sqlite3_bind_text(s, 1, chain->str, -1, SQLITE_TRANSIENT);
	return sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
}

static json_t *history_item(const struct hamn_oci_history *h, int64_t size)
{
	return json_pack("{s:s,s:I,s:s,s:n,s:I,s:s}", "Id", "<missing>", "Created",
			 (json_int_t)(h->created / 1000000000), "CreatedBy",
			 h->created_by ? h->created_by : "", "Tags", "Size", (json_int_t)size, "Comment",
			 h->comment ? h->comment : "");
}

/* Entries oldest first; each non-empty one takes the next layer's size. */
static json_t *history_items(struct hamn_image_store *st, const struct hamn_oci_image_config *c,
			     const struct hamn_digest *chains, size_t n)
{
	json_t *items = json_array();
	struct hamn_oci_history synth = { 0 };
	size_t layer = 0;

	for (size_t i = 0; i < c->n_history; i++) {
		int64_t size = 0;

		if (!c->history[i].empty_layer && layer < n)
			size = layer_size(st, &chains[layer++]);
		json_array_append_new(items, history_item(&c->history[i], size));
	}
	/* configs without history (or with too little) still show their layers */
	for (; layer < n; layer++) {
		synth.created = c->created;
		json_array_append_new(items, history_item(&synth, layer_size(st, &chains[layer])));
	}
	return items;
}

/* The entry of image id: its Id and Tags (null when none). */
static int history_name(struct hamn_image_store *st, json_t *item, const char *id,
			struct hamn_error **err)
{
	_cleanup_strv_ char **refs = image_tags_locked(st, id, err);
	json_t *tags, *digests;

	if (!refs)
		return -1;
	split_refs(refs, &tags, &digests);
	json_decref(digests);
	json_object_set_new(item, "Id", json_string(id));
	json_object_set_new(item, "Tags", json_array_size(tags) ? tags : json_null());
	if (!json_array_size(tags))
		json_decref(tags);
	return 0;
}

/*
 * Name the entries newest first as docker does: the image itself, then
 * one parent per older entry while the chain goes on ("<missing>" after).
 */
static int history_names(struct hamn_image_store *st, json_t *out, const char *id,
			 struct hamn_error **err)
{
	_cleanup_free_ char *cur = xstrdup(id);

	for (size_t i = 0; cur && i < json_array_size(out); i++) {
		char *next;

		if (history_name(st, json_array_get(out, i), cur, err) < 0)
			return -1;
		next = image_parent_locked(st, cur);
		free(cur);
		cur = next;
	}
	return 0;
}

static json_t *history_locked(struct hamn_image_store *st, const char *ref,
			      struct hamn_error **err)
{
	_cleanup_free_ char *id = NULL;
	_cleanup_image_config_ struct hamn_oci_image_config *c = NULL;
	_cleanup_free_ struct hamn_digest *chains = NULL;
	json_t *items, *out;
	size_t n = 0, count;

	if (image_resolve_locked(st, ref, &id, NULL, err) < 0 ||
	    image_chain(st, id, &chains, &n, err) < 0 || !(c = image_load_config(st, id, err)))
		return NULL;
	items = history_items(st, c, chains, n);
	out = json_array();
	count = json_array_size(items);
	for (size_t i = count; i-- > 0;)
		json_array_append(out, json_array_get(items, i));
	json_decref(items);
	if (history_names(st, out, id, err) < 0) {
		json_decref(out);
		return NULL;
	}
	return out;
}

json_t *hamn_image_history_json(struct hamn_image_store *st, const char *ref,
				struct hamn_error **err)
{
	json_t *o;

	store_lock(st);
	o = history_locked(st, ref, err);
	store_unlock(st);
	return o;
}
