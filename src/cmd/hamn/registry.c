/*
 * registry.c - pull, push, login and logout. The daemon talks to the
 * registry; the CLI keeps the credentials (docker's config.json, or a
 * docker-credential-* helper, shared with docker) and sends them along in
 * X-Registry-Auth, and draws the progress the daemon streams: one line per
 * layer redrawn in place on a terminal, plain lines otherwise.
 */
#include "cli.h"
#include "distribution/distribution.h"

#include <termios.h>

/* ---- progress display ---- */

struct progress {
	struct hamn_buf pending; /* bytes of an incomplete line */
	bool tty;
	bool quiet;
	char **ids;   /* layer ids in the order their lines were printed */
	size_t *line; /* the line each id is on */
	char **last;  /* the last status shown for each id (plain mode) */
	size_t lines; /* lines printed so far */
	char *error;
};

static void progress_release(struct progress *p)
{
	hamn_buf_release(&p->pending);
	hamn_strv_free(p->ids);
	hamn_strv_free(p->last);
	free(p->line);
	free(p->error);
}

static ssize_t find_id(const struct progress *p, const char *id)
{
	for (size_t i = 0; p->ids && p->ids[i]; i++)
		if (streq(p->ids[i], id))
			return (ssize_t)i;
	return -1;
}

static size_t add_id(struct progress *p, const char *id)
{
	size_t n = strv_len(p->ids);

	strv_push(&p->ids, id);
	strv_push(&p->last, "");
	p->line = xreallocarray(p->line, n + 1, sizeof(*p->line));
	p->line[n] = p->lines;
	return n;
}

/* Terminal: rewrite the line of an id in place (docker's cursor movements). */
static void show_tty(struct progress *p, const char *id, const char *text)
{
	ssize_t i = id ? find_id(p, id) : -1;

	if (id && i < 0) {
		add_id(p, id);
		i = -1;
	}
	if (i < 0) {
		printf("%s%s%s\n", id ? id : "", id ? ": " : "", text);
		p->lines++;
		return;
	}
	size_t up = p->lines - p->line[i];

	printf("\033[%zuA\r\033[2K%s: %s\r\033[%zuB", up, id, text, up);
}

/* Not a terminal: a line when a layer's status changes, never for byte counts. */
static void show_plain(struct progress *p, const char *id, const char *status, const char *text)
{
	ssize_t i;

	if (!id) {
		printf("%s\n", text);
		return;
	}
	i = find_id(p, id);
	if (i < 0)
		i = (ssize_t)add_id(p, id);
	if (streq(p->last[i], status))
		return;
	free(p->last[i]);
	p->last[i] = xstrdup(status);
	printf("%s: %s\n", id, status);
}

static void progress_message(void *ctx, json_t *m)
{
	struct progress *p = ctx;
	const char *status = json_string_value(json_object_get(m, "status"));
	const char *id = json_string_value(json_object_get(m, "id"));
	const char *bar = json_string_value(json_object_get(m, "progress"));
	const char *error = json_string_value(json_object_get(m, "error"));
	_cleanup_free_ char *text = NULL;

	if (error) {
		if (!p->error)
			p->error = xstrdup(error);
		return;
	}
	if (!status || p->quiet)
		return;
	if (id && !*id)
		id = NULL;
	text = bar && p->tty ? xasprintf("%s %s", status, bar) : xstrdup(status);
	if (p->tty)
		show_tty(p, id, text);
	else
		show_plain(p, id, status, text);
	fflush(stdout);
}

static int progress_data(void *ctx, const char *data, size_t len)
{
	struct progress *p = ctx;

	return cli_json_lines(&p->pending, data, len, progress_message, p);
}

/* ---- credentials ---- */

/* X-Registry-Auth for the registry of ref (empty credentials when not logged in). */
static char *auth_header_for(const char *ref)
{
	_cleanup_free_ char *key = hamn_dist_auth_key_for_ref(ref);
	_cleanup_free_ char *dir = NULL;
	_cleanup_dist_auth_ struct hamn_dist_auth a = HAMN_DIST_AUTH_INIT;
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_free_ char *enc = NULL;

	dir = hamn_dist_config_dir(&err);
	if (dir && hamn_dist_creds_get(dir, key, &a, &err) < 0) {
		/* docker goes on anonymously too; say why the credentials were not used */
		fprintf(stderr, "WARNING: cannot read credentials for %s: %s\n", key, err->msg);
		hamn_dist_auth_release(&a);
	}
	if (!a.server_address)
		a.server_address = xstrdup(key);
	/* not logged in: "{}" (e30=), as the docker CLI sends */
	enc = hamn_dist_auth_encode(hamn_dist_auth_present(&a) ? &a : NULL);
	return xasprintf("X-Registry-Auth: %s\r\n", enc);
}

/* ---- references, as the docker CLI splits them ---- */

/* "name[:tag]" or "name@digest" into repository and tag/digest (NULL when none). */
static void split_ref(const char *ref, char **repo, char **tag)
{
	const char *at = strchr(ref, '@');
	const char *slash = strrchr(ref, '/');
	const char *colon = strrchr(slash ? slash : ref, ':');

	if (at) {
		*repo = xstrndup(ref, (size_t)(at - ref));
		*tag = xstrdup(at + 1);
	} else if (colon) {
		*repo = xstrndup(ref, (size_t)(colon - ref));
		*tag = xstrdup(colon + 1);
	} else {
		*repo = xstrdup(ref);
		*tag = NULL;
	}
}

/* The full name docker prints last: "docker.io/library/busybox:latest". */
static char *full_name(const char *repo, const char *tag)
{
	const char *slash = strchr(repo, '/');
	_cleanup_free_ char *first = slash ? xstrndup(repo, (size_t)(slash - repo)) : NULL;
	bool has_domain =
		first && (strchr(first, '.') || strchr(first, ':') || streq(first, "localhost"));
	const char *sep = tag && str_has_prefix(tag, "sha256:") ? "@" : ":";

	if (has_domain)
		return xasprintf("%s%s%s", repo, sep, tag);
	return xasprintf("docker.io/%s%s%s%s", slash ? "" : "library/", repo, sep, tag);
}

/* The command line of pull and push. */
struct ref_args {
	const char *image;    /* the operand, as given */
	char *repo, *tag;     /* it split; tag "latest" unless -a (all) asks for every tag */
	const char *platform; /* pull --platform */
	bool all, quiet;
};

static void ref_args_release(struct ref_args *a)
{
	free(a->repo);
	free(a->tag);
}

/* Parse pull's or push's (cmd) options and operand into a; -1 after printing the error. */
static int parse_ref_args(const char *cmd, int argc, char **argv, struct ref_args *a)
{
	static const struct option pull_opts[] = {
		{"platform", required_argument, NULL, 'p'},
		{"all-tags", no_argument, NULL, 'a'},
		{"quiet", no_argument, NULL, 'q'},
		{"disable-content-trust", no_argument, NULL, 'D'},
		{NULL, 0, NULL, 0},
	};
	/* push has no --platform */
	const struct option *opts = streq(cmd, "pull") ? pull_opts : pull_opts + 1;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "aq", opts, NULL)) != -1) {
		if (opt == 'a')
			a->all = true;
		else if (opt == 'p')
			a->platform = optarg;
		else if (opt == 'q')
			a->quiet = true;
		else if (opt != 'D')
			return -1;
	}
	if (optind + 1 != argc) {
		cli_errorf("\"hamn %s\" requires exactly 1 argument.", cmd);
		return -1;
	}
	a->image = argv[optind];
	split_ref(a->image, &a->repo, &a->tag);
	if (a->all && a->tag) {
		cli_errorf("tag can't be used with --all-tags/-a");
		return -1;
	}
	if (!a->all && !a->tag) {
		if (!a->quiet)
			printf("Using default tag: latest\n");
		a->tag = xstrdup("latest");
	}
	return 0;
}

/* POST path and draw the progress the daemon streams; the exit code, after any error. */
static int stream_progress(struct cli *cli, const char *path, const char *image, bool quiet)
{
	_cleanup_(progress_release) struct progress p = {.pending = HAMN_BUF_INIT};
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_free_ char *auth = auth_header_for(image);
	struct hamn_client *c = cli_client(cli);
	int status = 0;
	struct hamn_client_stream req = {
		.method = "POST",
		.path = path,
		.body_fd = -1,
		.on_data = progress_data,
		.ctx = &p,
		.headers = auth,
	};

	if (!c)
		return CLI_EXIT_ERROR;
	p.quiet = quiet;
	p.tty = !quiet && isatty(STDOUT_FILENO);
	if (hamn_client_stream(c, &req, &status, &err) < 0) {
		cli_error(err);
		return 1;
	}
	progress_data(&p, "\n", 1);
	if (p.error) {
		fprintf(stderr, "hamn: %s\n", p.error);
		return 1;
	}
	return 0;
}

/* ---- pull ---- */

/* POST /images/create?fromImage=REPO[&tag=T][&platform=P], as the docker CLI sends it. */
static void pull_path(struct hamn_buf *path, const char *repo, const char *tag,
		      const char *platform)
{
	_cleanup_free_ char *erepo = hamn_client_urlencode(repo);

	hamn_buf_printf(path, "/images/create?fromImage=%s", erepo);
	if (tag) {
		_cleanup_free_ char *etag = hamn_client_urlencode(tag);

		hamn_buf_printf(path, "&tag=%s", etag);
	}
	if (platform) {
		_cleanup_free_ char *ep = hamn_client_urlencode(platform);

		hamn_buf_printf(path, "&platform=%s", ep);
	}
}

int cmd_pull(struct cli *cli, int argc, char **argv)
{
	_cleanup_(ref_args_release) struct ref_args a = {0};
	_cleanup_buf_ struct hamn_buf path = HAMN_BUF_INIT;
	int rc;

	if (parse_ref_args("pull", argc, argv, &a) < 0)
		return 1;
	pull_path(&path, a.repo, a.tag, a.platform);
	rc = stream_progress(cli, path.data, a.image, a.quiet);
	if (rc == 0 && !a.all) {
		_cleanup_free_ char *full = full_name(a.repo, a.tag);

		printf("%s\n", full);
	}
	return rc;
}

/* ---- push ---- */

int cmd_push(struct cli *cli, int argc, char **argv)
{
	_cleanup_(ref_args_release) struct ref_args a = {0};
	_cleanup_buf_ struct hamn_buf path = HAMN_BUF_INIT;
	int rc;

	if (parse_ref_args("push", argc, argv, &a) < 0)
		return 1;
	/* the repository goes into the path as it is: the daemon's route takes slashes */
	hamn_buf_printf(&path, "/images/%s/push", a.repo);
	if (a.tag) {
		_cleanup_free_ char *etag = hamn_client_urlencode(a.tag);

		hamn_buf_printf(&path, "?tag=%s", etag);
	}
	rc = stream_progress(cli, path.data, a.image, a.quiet);
	if (rc == 0 && a.quiet)
		printf("%s\n", a.image);
	return rc;
}

/* ---- login / logout ---- */

/* Read a line from stdin without its newline; echo off on a terminal. */
static char *read_line(const char *prompt, bool secret)
{
	struct termios old, quiet;
	bool tty = isatty(STDIN_FILENO);
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (tty && prompt) {
		fputs(prompt, stderr);
		fflush(stderr);
	}
	if (tty && secret && tcgetattr(STDIN_FILENO, &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	} else {
		secret = false;
	}
	n = getline(&line, &cap, stdin);
	if (secret) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (n < 0) {
		free(line);
		return NULL;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	return line;
}

struct login_args {
	char *user, *pass;
	bool pass_stdin;
	const char *server;
};

static int login_args(int argc, char **argv, struct login_args *a)
{
	static const struct option opts[] = {
		{"username", required_argument, NULL, 'u'},
		{"password", required_argument, NULL, 'p'},
		{"password-stdin", no_argument, NULL, 'S'},
		{NULL, 0, NULL, 0},
	};
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "u:p:", opts, NULL)) != -1) {
		if (opt == 'u') {
			free(a->user);
			a->user = xstrdup(optarg);
		} else if (opt == 'p') {
			free(a->pass);
			a->pass = xstrdup(optarg);
		} else if (opt == 'S') {
			a->pass_stdin = true;
		} else {
			return -1;
		}
	}
	if (optind + 1 < argc) {
		cli_errorf("\"hamn login\" requires at most 1 argument.");
		return -1;
	}
	a->server = optind < argc ? argv[optind] : HAMN_DIST_HUB_AUTH_KEY;
	if (a->pass && a->pass_stdin) {
		cli_errorf("--password and --password-stdin are mutually exclusive");
		return -1;
	}
	if (a->pass)
		fprintf(stderr, "WARNING! Using --password via the CLI is insecure. "
				"Use --password-stdin.\n");
	if (a->pass_stdin && !a->user) {
		cli_errorf("Must provide --username with --password-stdin");
		return -1;
	}
	return 0;
}

/* Fill in what the flags left out, by asking (or from stdin). */
static int login_prompt(struct login_args *a)
{
	if (!a->user)
		a->user = read_line("Username: ", false);
	if (!a->user || !*a->user) {
		cli_errorf("Error: Non-null Username Required");
		return -1;
	}
	if (!a->pass)
		a->pass = read_line(a->pass_stdin ? NULL : "Password: ", true);
	if (!a->pass || !*a->pass) {
		cli_errorf("Error: Non-null Password Required");
		return -1;
	}
	return 0;
}

static int login_call(struct cli *cli, const struct login_args *a, char **token)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_json_ json_t *body = json_object();
	_cleanup_json_ json_t *reply = NULL;
	struct hamn_client *c = cli_client(cli);
	const char *tok;

	if (!c)
		return CLI_EXIT_ERROR;
	json_object_set_new(body, "username", json_string(a->user));
	json_object_set_new(body, "password", json_string(a->pass));
	json_object_set_new(body, "serveraddress", json_string(a->server));
	if (hamn_client_json(c, "POST", "/auth", body, &reply, &err) < 0) {
		cli_daemon_error(err);
		return 1;
	}
	tok = json_string_value(json_object_get(reply, "IdentityToken"));
	*token = tok && *tok ? xstrdup(tok) : NULL;
	return 0;
}

int cmd_login(struct cli *cli, int argc, char **argv)
{
	struct login_args a = {0};
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_free_ char *dir = NULL, *token = NULL;
	struct hamn_dist_auth creds = HAMN_DIST_AUTH_INIT;
	int rc = 1;

	if (login_args(argc, argv, &a) < 0 || login_prompt(&a) < 0)
		goto out;
	rc = login_call(cli, &a, &token);
	if (rc != 0)
		goto out;
	rc = 1;
	dir = hamn_dist_config_dir(&err);
	creds.username = a.user;
	creds.password = token ? NULL : a.pass;
	creds.identity_token = token;
	creds.server_address = (char *)a.server;
	if (!dir || hamn_dist_creds_store(dir, &creds, &err) < 0) {
		cli_error(err);
		goto out;
	}
	printf("Login Succeeded\n");
	rc = 0;
out:
	free(a.user);
	free(a.pass);
	return rc;
}

int cmd_logout(struct cli *cli, int argc, char **argv)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_free_ char *dir = NULL, *key = NULL;

	(void)cli;
	if (argc > 2) {
		cli_errorf("\"hamn logout\" requires at most 1 argument.");
		return 1;
	}
	key = hamn_dist_auth_key(argc == 2 ? argv[1] : NULL);
	dir = hamn_dist_config_dir(&err);
	if (!dir) {
		cli_error(err);
		return 1;
	}
	if (hamn_dist_creds_erase(dir, key, &err) < 0) {
		if (err->errnum != ENOENT) {
			cli_error(err);
			return 1;
		}
		printf("Not logged in to %s\n", key);
		return 0;
	}
	printf("Removing login credentials for %s\n", key);
	return 0;
}
