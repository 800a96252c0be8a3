/*
 * reply.c - building replies: the headers every response carries, JSON and
 * empty replies, errors as {"message": ...} and the errno -> status table.
 *
 * A reply function only builds the MHD response and stores it in req; the
 * server queues it once the handler has returned (server.c).
 */
#include "api/internal.h"

void api_add_common_headers(struct MHD_Response *r)
{
	MHD_add_response_header(r, "Api-Version", HAMN_API_VERSION);
	MHD_add_response_header(r, "Docker-Experimental", "false");
	MHD_add_response_header(r, "Ostype", "linux");
	MHD_add_response_header(r, "Server", API_SERVER_HEADER);
}

void hamn_api_reply_header(struct hamn_api_req *req, const char *name, const char *value)
{
	req->headers = xreallocarray(req->headers, req->nheaders + 1, sizeof(*req->headers));
	req->headers[req->nheaders].name = xstrdup(name);
	req->headers[req->nheaders].value = xstrdup(value);
	req->nheaders++;
}

void api_req_set_response(struct hamn_api_req *req, int status, struct MHD_Response *resp)
{
	if (!resp)
		hamn_bug("cannot create a response");
	if (req->response)
		hamn_bug("two replies to %s %s", req->method, req->raw_path);
	api_add_common_headers(resp);
	for (size_t i = 0; i < req->nheaders; i++)
		MHD_add_response_header(resp, req->headers[i].name, req->headers[i].value);
	req->response = resp;
	req->status = status;
}

/* A response with a copy of data (MHD copies; its free is ours to not worry about). */
static struct MHD_Response *copy_response(const void *data, size_t len)
{
	return MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);
}

int hamn_api_reply_data(struct hamn_api_req *req, int status, const char *content_type,
			const void *data, size_t len)
{
	struct MHD_Response *r = copy_response(data, len);

	if (!r)
		hamn_bug("cannot create a response");
	if (content_type)
		MHD_add_response_header(r, "Content-Type", content_type);
	api_req_set_response(req, status, r);
	return 0;
}

int hamn_api_reply_empty(struct hamn_api_req *req, int status)
{
	return hamn_api_reply_data(req, status, NULL, "", 0);
}

int hamn_api_reply_json(struct hamn_api_req *req, int status, json_t *body)
{
	_cleanup_free_ char *text = NULL;
	struct MHD_Response *r;
	size_t len;

	if (!body)
		hamn_bug("reply_json without a body (json_pack failed?)");
	text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(body);
	if (!text)
		hamn_bug("json_dumps failed");
	len = strlen(text);
	text = xrealloc(text, len + 2);
	text[len++] = '\n';
	text[len] = '\0';
	r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (!r)
		hamn_bug("cannot create a response");
	text = NULL; /* MHD frees it now */
	MHD_add_response_header(r, "Content-Type", "application/json");
	api_req_set_response(req, status, r);
	return 0;
}

void api_reply_error_msg(struct hamn_api_req *req, int status, const char *msg)
{
	json_t *body = json_pack("{s:s}", "message", msg);

	if (status >= 500)
		log_kv(HAMN_LOG_ERROR, "request failed", "method=%s path=%s status=%d error=\"%s\"",
		       req->method, req->raw_path, status, msg);
	if (status == 304) {
		/* 304 carries no body by definition */
		json_decref(body);
		hamn_api_reply_empty(req, status);
		return;
	}
	hamn_api_reply_json(req, status, body);
}

int hamn_api_reply_error(struct hamn_api_req *req, const struct hamn_error *err)
{
	const char *msg = err && err->msg ? err->msg : "internal error";

	api_reply_error_msg(req, hamn_api_status_for_errno(err ? err->errnum : 0), msg);
	return 0;
}

int hamn_api_status_for_errno(int errnum)
{
	switch (errnum) {
	case ENOENT:
	case ESRCH:
		return 404;
	case EEXIST:
	case EBUSY:
	case ENOTEMPTY:
		return 409;
	case EINVAL:
	case ENAMETOOLONG:
	case EILSEQ:
	case EFBIG:
	case EDOM:
		return 400;
	case EPERM:
	case EACCES:
		return 403;
	case EKEYREJECTED:
		return 401;
	case EALREADY:
		return 304;
	case ENOTSUP:
	case ENOSYS:
		return 501;
	case EAGAIN:
		return 503;
	case ETIMEDOUT:
		return 504;
	default:
		return 500;
	}
}
