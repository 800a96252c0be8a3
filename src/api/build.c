/*
 * build.c - POST /build, docker's classic builder endpoint (version=1).
 *
 * The body is the context as a tar (maybe compressed). It is unpacked as
 * it arrives into the build's workspace by an upload worker (pump.c)
 * running the image store's layer extraction in flatten mode (the
 * hostile-tar rules: nothing outside the directory, no devices, no chmod
 * through a symlink). The pump throttles the client, keeps the body out of
 * memory, and makes a client that leaves mid-body fail the worker's read
 * instead of ending the tar cleanly.
 *
 * Once the body is in, the reply is a JSON-lines stream (200) and the
 * build runs in the stream's thread (src/engine/build_ops.c); its failures
 * are in-band {"errorDetail":{"code":N,...}} messages, as dockerd's are.
 * A client that goes away cancels the build at its next step.
 *
 * POST /build/prune (docker builder prune, docker system prune) empties
 * the build cache: the step key -> image entries, not the images.
 *
 * Not here: BuildKit (version=2 is refused), remote contexts (remote=),
 * pulling base images (pull= is ignored), registry credentials
 * (X-Registry-Config is not needed without pulls).
 */
#include "api/build.h"
#include "api/internal.h"
#include "engine/build_ops.h"
#include "engine/engine.h"
#include "image/image.h"

/*
 * Where a plain tar stream stands, so that a body ending right after an
 * entry's data can be completed: docker's CLI sends such tars (its
 * -f-outside-the-context rewriting leaves out the padding and the end
 * blocks) and Go's tar reader takes an end of file there as the end of the
 * archive. Compressed bodies are passed through untouched.
 */
struct tar_track {
	uint64_t pos;		/* bytes seen */
	uint64_t data_end;	/* where the current entry's data ends */
	uint64_t next;		/* where the next header starts */
	unsigned char hdr[512];
	size_t hdr_len;
	bool off;		/* compressed, or the end blocks were seen */
};

struct build_req {
	struct hamn_engine_build *b;
	struct tar_track tt;
	struct hamn_engine_build_opts o;
	char *dockerfile, *target, *network;
	char **tags, **args, **labels;
	bool quiet;
	int refs;		/* the body consumer and the reply stream */
	struct api_upload pump;	/* the context upload */

	/* the reply */
	struct hamn_api_stream *st;
	json_t *held;		/* q=1: progress held back until the end */
};

static void build_req_free(struct build_req *br)
{
	/* a body that did not end (the client went away) fails the worker's read */
	api_upload_release(&br->pump);
	hamn_engine_build_free(br->b);
	free(br->dockerfile);
	free(br->target);
	free(br->network);
	hamn_strv_free(br->tags);
	hamn_strv_free(br->args);
	hamn_strv_free(br->labels);
	if (br->held)
		json_decref(br->held);
	free(br);
}

static void build_req_unref(void *p)
{
	struct build_req *br = p;

	if (__atomic_sub_fetch(&br->refs, 1, __ATOMIC_ACQ_REL) == 0)
		build_req_free(br);
}

/* ---- query ---- */

/* A JSON map of strings (buildargs, labels) as "K=V"; a null value gives "K" (no value). */
static int query_map(struct hamn_api_req *req, const char *key, bool nulls, char ***out,
		     struct hamn_error **err)
{
	const char *text = hamn_api_req_query(req, key);
	_cleanup_json_ json_t *m = NULL;
	const char *k;
	json_t *v;

	*out = xcalloc(1, sizeof(char *));
	if (!text || !*text)
		return 0;
	m = hamn_json_parse(text, strlen(text), err);
	if (!m)
		return hamn_error_wrap(err, "invalid %s", key);
	if (json_is_null(m))
		return 0;
	if (!json_is_object(m))
		return hamn_error_setq(err, EINVAL, "invalid %s: not a JSON object", key);
	json_object_foreach(m, k, v) {
		if (json_is_string(v))
			strv_push_take(out, xasprintf("%s=%s", k, json_string_value(v)));
		else if (json_is_null(v) && nulls)
			strv_push(out, k);
		else
			return hamn_error_setq(err, EINVAL, "invalid %s: '%s' is not a string", key,
					       k);
	}
	return 0;
}

static char *dup_nonempty(const char *s)
{
	return s && *s ? xstrdup(s) : NULL;
}

static int parse_query(struct hamn_api_req *req, struct build_req *br, struct hamn_error **err)
{
	const char *version = hamn_api_req_query(req, "version");
	const char *remote = hamn_api_req_query(req, "remote");

	if (version && streq(version, "2"))
		return hamn_error_setq(err, ENOTSUP, "BuildKit (version=2) is not supported: use "
				       "the classic builder (DOCKER_BUILDKIT=0)");
	if (remote && *remote)
		return hamn_error_setq(err, ENOTSUP, "remote build contexts are not supported: "
				       "send the context as the request body");
	if (query_map(req, "buildargs", true, &br->args, err) < 0 ||
	    query_map(req, "labels", false, &br->labels, err) < 0)
		return -1;
	br->tags = hamn_api_req_query_list(req, "t");
	br->dockerfile = dup_nonempty(hamn_api_req_query(req, "dockerfile"));
	br->target = dup_nonempty(hamn_api_req_query(req, "target"));
	br->network = dup_nonempty(hamn_api_req_query(req, "networkmode"));
	br->quiet = hamn_api_req_query_bool(req, "q", false);
	br->o.dockerfile = br->dockerfile;
	br->o.tags = br->tags;
	br->o.build_args = br->args;
	br->o.labels = br->labels;
	br->o.target = br->target;
	br->o.network = br->network;
	br->o.no_cache = hamn_api_req_query_bool(req, "nocache", false);
	br->o.keep_containers = !hamn_api_req_query_bool(req, "rm", true) &&
				!hamn_api_req_query_bool(req, "forcerm", false);
	return 0;
}

/* ---- the context upload ---- */

/* The size field of a tar header: octal text, or base-256 when the top bit is set. */
static uint64_t tar_size(const unsigned char *h)
{
	uint64_t v = 0;

	if (h[124] & 0x80) {
		for (size_t i = 1; i < 12; i++)
			v = (v << 8) | h[124 + i];
		return v;
	}
	for (size_t i = 0; i < 12 && h[124 + i] >= '0' && h[124 + i] <= '7'; i++)
		v = v * 8 + (uint64_t)(h[124 + i] - '0');
	return v;
}

static void track_header(struct tar_track *t)
{
	static const unsigned char zero[512];
	uint64_t size = tar_size(t->hdr);

	t->hdr_len = 0;
	if (memcmp(t->hdr, zero, sizeof(zero)) == 0) {
		t->off = true;
		return;
	}
	/* Go's isHeaderOnlyType: links, devices, directories and fifos carry no data */
	if (strchr("123456", t->hdr[156]) && t->hdr[156])
		size = 0;
	t->data_end = t->pos + size;
	t->next = t->pos + (size + 511) / 512 * 512;
}

static void track(struct tar_track *t, const unsigned char *p, size_t len)
{
	static const unsigned char magics[][4] = { { 0x1f, 0x8b }, { 0xfd, '7', 'z', 'X' },
						   { 0x28, 0xb5, 0x2f, 0xfd }, { 'B', 'Z', 'h' } };

	if (t->pos == 0 && len >= 4)
		for (size_t i = 0; i < sizeof(magics) / sizeof(magics[0]); i++)
			if (memcmp(p, magics[i], magics[i][2] ? 3 : 2) == 0)
				t->off = true;
	while (len && !t->off) {
		size_t n;

		if (t->pos < t->next) {
			n = t->next - t->pos < len ? (size_t)(t->next - t->pos) : len;
		} else {
			n = sizeof(t->hdr) - t->hdr_len < len ? sizeof(t->hdr) - t->hdr_len : len;
			memcpy(t->hdr + t->hdr_len, p, n);
			t->hdr_len += n;
		}
		t->pos += n;
		p += n;
		len -= n;
		if (t->hdr_len == sizeof(t->hdr))
			track_header(t);
	}
}

/* The bytes that complete a tar cut off after an entry's data; 0 when none apply. */
static size_t track_tail(const struct tar_track *t)
{
	if (t->off || t->hdr_len || t->pos < t->data_end || t->pos == 0)
		return 0;
	return (size_t)(t->next - t->pos) + 1024;
}

static int unpack_run(void *ctx, int fd, struct hamn_error **err)
{
	struct build_req *br = ctx;

	return hamn_layer_apply(hamn_engine_build_context_fd(br->b), fd, HAMN_LAYER_FLATTEN,
				"build context", NULL, err);
}

/* The finished worker's failure as one of ours: a bad tar is the client's fault (400). */
static int unpack_failure(struct build_req *br, struct hamn_error **err)
{
	_cleanup_error_ struct hamn_error *uerr = NULL;
	int e;

	api_upload_failure(&br->pump, &uerr);
	e = uerr->errnum;
	if (e != ENOSPC && e != EIO && e != ENOMEM)
		e = EINVAL;
	return hamn_error_setq(err, e, "read the build context: %s", uerr->msg);
}

/* Hand data to the worker; once it stopped reading, its failure (or 0: the rest is dropped). */
static int unpack_write(struct build_req *br, const void *data, size_t len,
			struct hamn_error **err)
{
	struct hamn_error *werr = NULL;

	if (api_upload_write(&br->pump, data, len, &werr) == 0)
		return 0;
	if (api_upload_wait(&br->pump, 0, -1) && br->pump.rc < 0) {
		hamn_error_free(&werr);
		return unpack_failure(br, err);
	}
	return hamn_error_propagate(err, &werr);
}

static int context_data(void *ctx, const void *data, size_t len, struct hamn_error **err)
{
	struct build_req *br = ctx;

	track(&br->tt, data, len);
	return unpack_write(br, data, len, err);
}

/* ---- the build ---- */

static void emit(void *ctx, json_t *msg)
{
	struct build_req *br = ctx;
	struct hamn_error *err = NULL;

	if (br->quiet && json_object_get(msg, "stream")) {
		json_array_append(br->held, msg);
		return;
	}
	if (br->quiet && json_object_get(msg, "errorDetail")) {
		size_t i;
		json_t *m;

		/* a quiet build that fails shows what it printed */
		json_array_foreach(br->held, i, m)
			if (hamn_api_stream_json(br->st, m, &err) < 0)
				break;
		json_array_clear(br->held);
	}
	/* a client that went away is noticed through the cancel fd */
	if (!err && hamn_api_stream_json(br->st, msg, &err) < 0)
		log_debug("build: progress not delivered: %s", err->msg);
	hamn_error_free(&err);
}

static int build_stream(struct hamn_api_stream *st, void *ctx, struct hamn_error **err)
{
	struct build_req *br = ctx;
	_cleanup_free_ char *id = NULL, *line = NULL;
	struct hamn_error *berr = NULL;
	int code = 0;

	br->st = st;
	br->held = json_array();
	br->o.emit = emit;
	br->o.emit_ctx = br;
	br->o.cancel_fd = hamn_api_stream_cancel_fd(st);
	if (hamn_engine_build_run(br->b, &br->o, &id, &code, &berr) < 0) {
		/* already in the stream as {"errorDetail":...} */
		log_kv(HAMN_LOG_DEBUG, "build failed", "code=%d error=\"%s\"", code, berr->msg);
		hamn_error_free(&berr);
		return 0;
	}
	if (!br->quiet)
		return 0;
	line = xasprintf("%s\n", id);
	json_t *m = json_pack("{s:s}", "stream", line);
	int rc = hamn_api_stream_json(st, m, err);

	json_decref(m);
	return rc;
}

static int context_done(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	struct build_req *br = ctx;
	size_t tail = track_tail(&br->tt);

	if (tail) {
		_cleanup_free_ char *zeros = xzalloc(tail);

		if (unpack_write(br, zeros, tail, err) < 0)
			return -1;
	}
	if (api_upload_end(&br->pump, err) < 0)
		return -1;
	api_upload_wait(&br->pump, -1, -1);
	if (br->pump.rc < 0)
		return unpack_failure(br, err);
	__atomic_add_fetch(&br->refs, 1, __ATOMIC_ACQ_REL);
	return hamn_api_reply_stream(req, 200, "application/json", HAMN_API_STREAM_PROGRESS,
				     build_stream, br, build_req_unref);
}

static int build(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	struct build_req *br = xzalloc(sizeof(*br));

	br->refs = 1;
	api_upload_init(&br->pump, unpack_run, br, NULL);
	br->pump.sockbuf = 4 << 20; /* a few MiB in flight: fewer wake-ups of the worker */
	br->o.cancel_fd = -1;
	if (parse_query(req, br, err) < 0 || !(br->b = hamn_engine_build_new(ctx, err)) ||
	    api_upload_start(&br->pump, err) < 0) {
		build_req_unref(br);
		return -1;
	}
	hamn_api_req_consume_body(req, context_data, context_done, br, build_req_unref);
	return 0;
}

/* ---- POST /build/prune ---- */

/* BuildKit's other filters (inuse, shared, type, ...) describe records hamn's cache has not. */
static const char *const prune_filter_keys[] = {"until", "id", NULL};

static int prune_opts(struct hamn_api_req *req, const struct hamn_api_filters *f,
		      struct hamn_engine_build_prune_opts *o, struct hamn_error **err)
{
	char *const *until = hamn_api_filters_get(f, "until");
	int64_t keep = 0, reserved = 0;

	if (hamn_api_filters_validate(f, prune_filter_keys, err) < 0 ||
	    hamn_api_req_query_int(req, "keep-storage", 0, &keep, err) < 0 ||
	    hamn_api_req_query_int(req, "reserved-space", 0, &reserved, err) < 0)
		return -1;
	if (until && until[0] && until[1])
		return hamn_error_setq(err, EINVAL, "filters expect only one value");
	if (until && until[0] &&
	    hamn_time_parse_since(until[0], hamn_now_ns(), &o->until_ns, err) < 0)
		return hamn_error_wrap(err, "invalid filter 'until=%s'", until[0]);
	o->ids = hamn_api_filters_get(f, "id");
	o->keep_bytes = keep > reserved ? keep : reserved;
	return 0;
}

/*
 * docker builder prune [-a] [--filter until=|id=] [--keep-storage]: every
 * entry of hamn's cache is a plain cache record, so all= changes nothing.
 */
static int build_prune(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	_cleanup_filters_ struct hamn_api_filters *f = NULL;
	struct hamn_engine_build_prune_opts o = { 0 };
	json_t *deleted = NULL;
	int64_t reclaimed = 0;

	if (hamn_api_req_filters(req, &f, err) < 0 || prune_opts(req, f, &o, err) < 0 ||
	    hamn_engine_build_prune(ctx, &o, &deleted, &reclaimed, err) < 0)
		return -1;
	return hamn_api_reply_json(req, 200, json_pack("{s:o,s:I}", "CachesDeleted", deleted,
						       "SpaceReclaimed", (json_int_t)reclaimed));
}

void hamn_api_register_build(struct hamn_api_server *s, struct hamn_engine *e)
{
	hamn_api_route_flags(s, "POST", "/build", HAMN_API_ROUTE_STREAM_BODY, build, e);
	hamn_api_route(s, "POST", "/build/prune", build_prune, e);
}
