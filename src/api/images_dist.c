/*
 * images_dist.c - the registry endpoints on top of src/distribution: the pull
 * behind POST /images/create?fromImage= (the images file owns that route),
 * POST /images/{name}/push and POST /auth (login).
 *
 * A pull reaches the registry and fetches the manifest before it answers,
 * so "manifest unknown" or "unauthorized" are plain HTTP errors as dockerd
 * sends them; the rest is a JSON-lines progress stream, with a failure sent
 * in-band. Credentials come in X-Registry-Auth (base64url JSON). A client
 * that goes away cancels its pull or push.
 */
#include "api/api.h"
#include "api/events.h"
#include "api/images.h"
#include "distribution/distribution.h"
#include "engine/engine.h"
#include "image/image.h"

#include <pthread.h>

/*
 * The registry client of this hamnd: made by hamn_api_dist_register with the
 * daemon's settings, or with defaults on the first pull if nothing
 * registered one (a pull arrives through the images file's route).
 */
static struct hamn_dist *the_dist;
static pthread_mutex_t dist_lock = PTHREAD_MUTEX_INITIALIZER;

static struct hamn_dist *get_dist(struct hamn_error **err)
{
	struct hamn_dist *d;

	pthread_mutex_lock(&dist_lock);
	if (!the_dist)
		the_dist = hamn_dist_new(NULL, err);
	d = the_dist;
	pthread_mutex_unlock(&dist_lock);
	return d;
}

static void dist_free(void *ctx)
{
	(void)ctx;
	pthread_mutex_lock(&dist_lock);
	hamn_dist_free(the_dist);
	the_dist = NULL;
	pthread_mutex_unlock(&dist_lock);
}

static int registry_auth(struct hamn_api_req *req, struct hamn_dist_auth *auth,
			 struct hamn_error **err)
{
	const char *h = hamn_api_req_header(req, "X-Registry-Auth");

	return hamn_dist_auth_decode(h, auth, err);
}

/* The stream writer both pull and push report through. */
static void send_progress(void *ud, const json_t *msg)
{
	struct hamn_error *err = NULL;

	if (hamn_api_stream_json(ud, msg, &err) < 0)
		hamn_error_free(&err); /* the client left: the cancel fd stops the transfer */
}

/* ---- pull ---- */

struct pull_job {
	struct hamn_dist_pull *pull;
	struct hamn_engine *engine; /* for the "pull" event */
	char *ref;
};

static void pull_job_free(void *ctx)
{
	struct pull_job *j = ctx;

	hamn_dist_pull_free(j->pull);
	free(j->ref);
	free(j);
}

static int pull_stream(struct hamn_api_stream *st, void *ctx, struct hamn_error **err)
{
	struct pull_job *j = ctx;

	hamn_dist_pull_set_progress(j->pull, send_progress, st, hamn_api_stream_cancel_fd(st));
	if (hamn_dist_pull_run(j->pull, NULL, err) < 0)
		return -1;
	hamn_api_events_image_ref(j->engine, "pull", j->ref);
	return 0;
}

/* fromImage plus tag (a tag or a digest): what the user asked for; no tag at all means -a. */
static char *pull_ref(const char *image, const char *tag, bool *all_tags)
{
	*all_tags = false;
	if (tag && *tag)
		return xasprintf("%s%s%s", image, str_has_prefix(tag, "sha256:") ? "@" : ":", tag);
	if (!strchr(image, '@')) {
		const char *slash = strrchr(image, '/');
		const char *colon = strrchr(slash ? slash : image, ':');

		*all_tags = colon == NULL;
	}
	return xstrdup(image);
}

/* POST /images/create?fromImage=...: ctx is the engine (the images file's route). */
int hamn_api_images_pull(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	const char *image = hamn_api_req_query(req, "fromImage");
	_cleanup_dist_auth_ struct hamn_dist_auth auth = HAMN_DIST_AUTH_INIT;
	_cleanup_free_ char *ref = NULL;
	struct hamn_dist_pull_opts o = {.cancel_fd = -1};
	struct hamn_dist *d = get_dist(err);
	struct pull_job *j;

	if (!d)
		return -1;
	if (!image || !*image)
		return hamn_error_setq(err, EINVAL, "fromImage is required");
	if (registry_auth(req, &auth, err) < 0)
		return -1;
	ref = pull_ref(image, hamn_api_req_query(req, "tag"), &o.all_tags);
	o.ref = ref;
	o.platform = hamn_api_req_query(req, "platform");
	o.auth = &auth;
	j = xzalloc(sizeof(*j));
	j->engine = ctx;
	j->ref = xstrdup(ref);
	j->pull = hamn_dist_pull_prepare(d, hamn_engine_images(ctx), &o, err);
	if (!j->pull) {
		free(j->ref);
		free(j);
		return -1;
	}
	return hamn_api_reply_stream(req, 200, "application/json", HAMN_API_STREAM_PROGRESS,
				     pull_stream, j, pull_job_free);
}

/* ---- push ---- */

struct push_job {
	struct hamn_engine *engine; /* for the "push" event */
	struct hamn_dist *dist;
	struct hamn_image_store *images;
	char *ref;
	struct hamn_dist_auth auth;
};

static void push_job_free(void *ctx)
{
	struct push_job *j = ctx;

	free(j->ref);
	hamn_dist_auth_release(&j->auth);
	free(j);
}

static int push_stream(struct hamn_api_stream *st, void *ctx, struct hamn_error **err)
{
	struct push_job *j = ctx;
	struct hamn_dist_push_opts o = {
		.ref = j->ref,
		.auth = &j->auth,
		.progress = send_progress,
		.progress_ud = st,
		.cancel_fd = hamn_api_stream_cancel_fd(st),
	};

	if (hamn_dist_push(j->dist, j->images, &o, err) < 0)
		return -1;
	hamn_api_events_image_ref(j->engine, "push", j->ref);
	return 0;
}

/* A tagged reference must exist before the stream starts: a missing one is a plain 404. */
static int check_local(struct hamn_image_store *st, const char *ref, const char *tag,
		       struct hamn_error **err)
{
	_cleanup_free_ char *id = NULL;
	_cleanup_free_ char *familiar = NULL;
	struct hamn_error *e = NULL;

	if (!tag || !*tag)
		return 0;
	if (hamn_image_resolve(st, ref, &id, &e) == 0)
		return 0;
	if (e->errnum != ENOENT)
		return hamn_error_propagate(err, &e);
	hamn_error_free(&e);
	familiar = hamn_ref_familiarize(ref);
	return hamn_error_setq(err, ENOENT, "An image does not exist locally with the tag: %s",
			       familiar);
}

static int image_push(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	const char *name = hamn_api_req_param(req, "name");
	const char *tag = hamn_api_req_query(req, "tag");
	struct push_job *j = xzalloc(sizeof(*j));

	j->engine = ctx;
	j->dist = get_dist(err);
	j->images = hamn_engine_images(ctx);
	j->ref = tag && *tag ? xasprintf("%s:%s", name, tag) : xstrdup(name);
	if (!j->dist || registry_auth(req, &j->auth, err) < 0 ||
	    check_local(j->images, j->ref, tag, err) < 0) {
		push_job_free(j);
		return -1;
	}
	return hamn_api_reply_stream(req, 200, "application/json", HAMN_API_STREAM_PROGRESS,
				     push_stream, j, push_job_free);
}

/* ---- login ---- */

static int auth_login(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	_cleanup_json_ json_t *body = NULL;
	_cleanup_dist_auth_ struct hamn_dist_auth auth = HAMN_DIST_AUTH_INIT;
	_cleanup_free_ char *token = NULL;
	struct hamn_dist *d = get_dist(err);
	json_t *reply;

	(void)ctx;
	if (!d || hamn_api_req_json(req, 0, &body, err) < 0 ||
	    hamn_dist_auth_from_json(body, &auth, err) < 0)
		return -1;
	if (hamn_dist_login(d, &auth, &token, err) < 0)
		return -1;
	reply = json_object();
	json_object_set_new(reply, "IdentityToken", json_string(token ? token : ""));
	json_object_set_new(reply, "Status", json_string("Login Succeeded"));
	return hamn_api_reply_json(req, 200, reply);
}

int hamn_api_dist_register(struct hamn_api_server *s, const struct hamn_api_dist_config *cfg,
			   struct hamn_error **err)
{
	struct hamn_dist *d = hamn_dist_new(cfg->registry, err);

	if (!d)
		return hamn_error_wrap(err, "registry client");
	pthread_mutex_lock(&dist_lock);
	hamn_dist_free(the_dist);
	the_dist = d;
	pthread_mutex_unlock(&dist_lock);
	hamn_api_server_on_free(s, dist_free, NULL);
	hamn_api_route(s, "POST", "/images/{name*}/push", image_push, cfg->engine);
	hamn_api_route(s, "POST", "/auth", auth_login, cfg->engine);
	return 0;
}
