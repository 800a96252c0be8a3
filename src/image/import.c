/*
 * import.c - docker import: a rootfs tar becomes a one-layer image.
 *
 * The stream is read once: it is extracted, hashed (diff ID) and kept as
 * the layer blob as it goes by. The config is made here: platform, time,
 * the changes, one history entry. Like docker, no PATH is added to Env:
 * the engine supplies a default PATH when it runs such an image.
 */
#include "image/internal.h"

/* The new image's config, without its layer yet. */
static struct hamn_oci_image_config *new_config(const struct hamn_image_import_opts *opts,
						struct hamn_error **err)
{
	_cleanup_image_config_ struct hamn_oci_image_config *c = xzalloc(sizeof(*c));

	if (hamn_image_apply_changes(opts->changes, &c->config, err) < 0)
		return NULL;
	c->architecture = xstrdup(opts->architecture ? opts->architecture : hamn_oci_host_arch());
	c->os = xstrdup(opts->os ? opts->os : hamn_oci_host_os());
	c->created = hamn_now_ns();
	c->history = xcalloc(1, sizeof(*c->history));
	c->n_history = 1;
	c->history[0].created = c->created;
	c->history[0].comment = xstrdup(opts->message ? opts->message : "Imported from -");
	return steal_pointer(&c);
}

static int plan_import(struct hamn_oci_image_config *c, const struct hamn_digest *diff_id,
		       const char *full_ref, struct image_plan *p, struct hamn_error **err)
{
	_cleanup_json_ json_t *doc = NULL;

	c->diff_ids = xcalloc(2, sizeof(*c->diff_ids));
	c->diff_ids[0] = *diff_id;
	c->n_diff_ids = 1;
	doc = hamn_oci_image_config_to_json(c);
	json_object_set_new(doc, "comment", json_string(c->history[0].comment));
	p->config_text = hamn_json_dump(doc);
	p->config_len = strlen(p->config_text);
	hamn_sha256_buf(p->config_text, p->config_len, &p->config_digest);
	/* parse what we wrote, so the record is exactly what a reader will see */
	p->config = hamn_oci_image_config_parse_text(p->config_text, p->config_len, err);
	if (!p->config)
		return -1;
	p->tags = xcalloc(2, sizeof(char *));
	if (full_ref)
		p->tags[0] = xstrdup(full_ref);
	return 0;
}

/*
 * Without the lock while the stream is read (the client may be slow or
 * stalled): the layer is extracted unlocked and pinned, then the image is
 * recorded in one short locked step.
 */
static int import_stream(struct hamn_image_store *st, int fd, struct hamn_oci_image_config *c,
			 const char *full_ref, char **id_out, struct hamn_error **err)
{
	struct layer_source src = { .fd = fd, .staged_dirfd = -1 };
	struct image_plan p = { 0 };
	struct hamn_digest chain;
	int rc;

	if (layer_ensure(st, NULL, NULL, &src, &chain, err) < 0)
		return -1;
	/* a base layer's chain ID is its diff ID */
	rc = plan_import(c, &chain, full_ref, &p, err);
	/* a failed import leaves nothing: its layer goes again unless another image uses it */
	if (image_commit_unpin(st, rc == 0 ? &p : NULL, &chain, 1, true, err) < 0)
		rc = -1;
	if (rc == 0 && id_out)
		*id_out = xstrdup(p.config_digest.str);
	image_plan_release(&p);
	return rc;
}

int hamn_image_import(struct hamn_image_store *st, int fd,
		      const struct hamn_image_import_opts *opts, char **id_out,
		      struct hamn_error **err)
{
	static const struct hamn_image_import_opts none = { 0 };
	_cleanup_image_config_ struct hamn_oci_image_config *c = NULL;
	_cleanup_ref_ struct hamn_ref r = HAMN_REF_INIT;
	_cleanup_free_ char *full = NULL;
	int rc;

	opts = opts ? opts : &none;
	/* everything that can be refused is refused before the stream is read */
	c = new_config(opts, err);
	if (!c)
		return hamn_error_wrap(err, "import");
	if (opts->ref) {
		if (hamn_ref_parse(opts->ref, &r, err) < 0)
			return hamn_error_wrap(err, "import");
		if (r.digest)
			return hamn_error_setq(err, EINVAL, "import: '%s' is not a tag", opts->ref);
		hamn_ref_default_tag(&r);
		full = hamn_ref_string(&r);
	}
	rc = import_stream(st, fd, c, full, id_out, err);
	return rc < 0 ? hamn_error_wrap(err, "import") : 0;
}
