/*
 * images.h - hamnd's image endpoints (src/api/images.c, images_io.c): list,
 * inspect, history, tag, rmi, prune, load, save, import, and GET /system/df.
 *
 * Every handler works on the engine's image store (hamn_engine_images) and
 * asks the engine whether a container uses an image (rmi, prune, df).
 */
#ifndef HAMN_API_IMAGES_H
#define HAMN_API_IMAGES_H

#include "api/api.h"

struct hamn_engine;

/*
 * Register the image routes and GET /system/df on s, with e as their
 * context (borrowed: it must outlive the server). POST /images/create is
 * registered here as a stream-body route for import (fromSrc=-); a pull
 * (fromImage=...) on it is handed to hamn_api_images_pull. Call before
 * hamn_api_server_start.
 */
void hamn_api_register_images(struct hamn_api_server *s, struct hamn_engine *e);

/*
 * The pull handler of POST /images/create?fromImage=..., written in
 * src/api/images_dist.c (the registry code). The import handler calls it
 * when fromImage is set, as soon as the request headers are in (the route
 * streams its body): it must reply at once and not read a body. ctx is the
 * engine.
 */
int hamn_api_images_pull(struct hamn_api_req *req, void *ctx, struct hamn_error **err);

/* ---- shared by the image handler files only ---- */

/* Register load, save and import/pull (images_io.c); called by hamn_api_register_images. */
void hamn_api_images_register_io(struct hamn_api_server *s, struct hamn_engine *e);

/*
 * docker's ?repo=R&tag=T pair as one reference (a new string): T, when not
 * empty, replaces a tag R carries. EINVAL with docker's wording for an
 * empty R, a bad tag, or a tag on a digest reference.
 */
char *hamn_api_images_ref(const char *repo, const char *tag, struct hamn_error **err);

#endif
