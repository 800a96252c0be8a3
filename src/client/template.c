/*
 * template.c - a small Go text/template subset over JSON (see template.h).
 * Parse into a tree of nodes, then walk it; words inside an action are kept
 * as text and evaluated when the node runs.
 */
#include "client/template.h"

#include <ctype.h>

enum node_kind { N_TEXT, N_ACTION, N_IF, N_RANGE };

struct node {
	enum node_kind kind;
	char *text;		/* N_TEXT */
	char **words;		/* N_ACTION, N_IF, N_RANGE: the pipeline's words */
	struct node *body, *else_body;
	struct node *next;
};

struct hamn_template {
	struct node *root;
};

static void free_nodes(struct node *n)
{
	while (n) {
		struct node *next = n->next;
		free(n->text);
		hamn_strv_free(n->words);
		free_nodes(n->body);
		free_nodes(n->else_body);
		free(n);
		n = next;
	}
}

void hamn_template_free(struct hamn_template *t)
{
	if (!t)
		return;
	free_nodes(t->root);
	free(t);
}

/* Split an action into words; "quoted strings" stay one word, with their quotes. */
static char **split_words(const char *s, struct hamn_error **err)
{
	char **words = xcalloc(1, sizeof(char *));

	while (*s) {
		const char *start;

		while (isspace((unsigned char)*s))
			s++;
		if (!*s)
			break;
		start = s;
		if (*s == '"') {
			for (s++; *s && *s != '"'; s++)
				if (*s == '\\' && s[1])
					s++;
			if (*s != '"') {
				hamn_strv_free(words);
				return hamn_error_setq(err, EINVAL, "template: unterminated string"),
				       NULL;
			}
			s++;
		} else {
			while (*s && !isspace((unsigned char)*s))
				s++;
		}
		strv_push_take(&words, xstrndup(start, (size_t)(s - start)));
	}
	return words;
}

/* The format with docker's \t and \n escapes applied. */
static char *unescape_format(const char *f)
{
	struct hamn_buf b = HAMN_BUF_INIT;

	for (; *f; f++) {
		if (f[0] == '\\' && (f[1] == 't' || f[1] == 'n')) {
			hamn_buf_putc(&b, f[1] == 't' ? '\t' : '\n');
			f++;
		} else {
			hamn_buf_putc(&b, *f);
		}
	}
	return hamn_buf_steal(&b);
}

struct parser {
	const char *p;
	struct hamn_error **err;
};

enum stop { STOP_EOF, STOP_END, STOP_ELSE };

static struct node *parse_list(struct parser *ps, enum stop *stop);

static struct node *new_node(enum node_kind kind)
{
	struct node *n = xzalloc(sizeof(*n));

	n->kind = kind;
	return n;
}

/* Parse the inside of {{ ... }} starting at ps->p (after "{{"); sets *action. */
static int read_action(struct parser *ps, char **action, bool *trim_right)
{
	const char *end = strstr(ps->p, "}}");
	const char *a = ps->p, *z;

	if (!end)
		return hamn_error_setq(ps->err, EINVAL, "template: unclosed action");
	z = end;
	*trim_right = z > a && z[-1] == '-' && (z - 1 == a || isspace((unsigned char)z[-2]));
	if (*trim_right)
		z--;
	if (*a == '-' && isspace((unsigned char)a[1]))
		a++;
	*action = xstrndup(a, (size_t)(z - a));
	ps->p = end + 2;
	if (*trim_right)
		while (isspace((unsigned char)*ps->p))
			ps->p++;
	return 0;
}

/* A control node (if/range) whose words follow the keyword. */
static struct node *parse_control(struct parser *ps, enum node_kind kind, char **words)
{
	struct node *n = new_node(kind);
	enum stop stop;

	n->words = strv_copy(words + 1);
	n->body = parse_list(ps, &stop);
	if (!*ps->err && stop == STOP_ELSE)
		n->else_body = parse_list(ps, &stop);
	if (!*ps->err && stop != STOP_END)
		hamn_error_setq(ps->err, EINVAL, "template: missing {{end}}");
	return n;
}

/* Text up to the next "{{", trimming before "{{-". */
static struct node *parse_text(struct parser *ps)
{
	const char *open = strstr(ps->p, "{{");
	size_t len = open ? (size_t)(open - ps->p) : strlen(ps->p);
	struct node *n = new_node(N_TEXT);

	if (open && open[2] == '-' && isspace((unsigned char)open[3]))
		while (len > 0 && isspace((unsigned char)ps->p[len - 1]))
			len--;
	n->text = xstrndup(ps->p, len);
	ps->p = open ? open : ps->p + strlen(ps->p);
	return n;
}

/* One node at ps->p; NULL with *stop set at end/else/EOF, or on error. */
static struct node *parse_one(struct parser *ps, enum stop *stop)
{
	_cleanup_free_ char *action = NULL;
	_cleanup_strv_ char **words = NULL;
	bool trim;

	if (!*ps->p)
		return *stop = STOP_EOF, NULL;
	if (strncmp(ps->p, "{{", 2) != 0)
		return parse_text(ps);
	ps->p += 2;
	if (read_action(ps, &action, &trim) < 0 || !(words = split_words(action, ps->err)))
		return NULL;
	if (!words[0])
		return hamn_error_setq(ps->err, EINVAL, "template: empty action"), NULL;
	if (strcmp(words[0], "end") == 0)
		return *stop = STOP_END, NULL;
	if (strcmp(words[0], "else") == 0)
		return *stop = STOP_ELSE, NULL;
	if (strcmp(words[0], "if") == 0)
		return parse_control(ps, N_IF, words);
	if (strcmp(words[0], "range") == 0)
		return parse_control(ps, N_RANGE, words);
	struct node *n = new_node(N_ACTION);
	n->words = steal_pointer(&words);
	return n;
}

static struct node *parse_list(struct parser *ps, enum stop *stop)
{
	struct node *head = NULL, **tail = &head;
	struct node *n;

	*stop = STOP_EOF;
	while ((n = parse_one(ps, stop))) {
		*tail = n;
		tail = &n->next;
	}
	if (*ps->err) {
		free_nodes(head);
		return NULL;
	}
	return head;
}

struct hamn_template *hamn_template_parse(const char *format, struct hamn_error **err)
{
	_cleanup_free_ char *f = unescape_format(format);
	struct hamn_error *local = NULL;
	struct parser ps = { f, &local };
	struct hamn_template *t;
	enum stop stop;
	struct node *root;

	if (hamn_template_is_table(f))
		for (ps.p += 5; isspace((unsigned char)*ps.p); ps.p++)
			;
	root = parse_list(&ps, &stop);
	if (!local && stop != STOP_EOF)
		hamn_error_setq(&local, EINVAL, "template: unexpected {{%s}}",
				stop == STOP_END ? "end" : "else");
	if (local) {
		free_nodes(root);
		hamn_error_propagate(err, &local);
		return NULL;
	}
	t = xzalloc(sizeof(*t));
	t->root = root;
	return t;
}

bool hamn_template_is_table(const char *format)
{
	return strncmp(format, "table", 5) == 0 && (format[5] == '\0' || isspace((unsigned char)format[5]));
}

/* ---- evaluation ---- */

struct scope {
	json_t *dot;
	json_t *root;
};

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void print_value(struct hamn_buf *b, json_t *v);

/* Go prints a map as map[k1:v1 k2:v2] with the keys sorted. */
static void print_map(struct hamn_buf *b, json_t *v)
{
	_cleanup_strv_ char **keys = xcalloc(1, sizeof(char *));
	const char *key;
	json_t *item;
	size_t n;

	json_object_foreach(v, key, item)
		strv_push(&keys, key);
	n = strv_len(keys);
	qsort(keys, n, sizeof(char *), cmp_strp);
	hamn_buf_puts(b, "map[");
	for (size_t i = 0; i < n; i++) {
		hamn_buf_printf(b, "%s%s:", i ? " " : "", keys[i]);
		print_value(b, json_object_get(v, keys[i]));
	}
	hamn_buf_putc(b, ']');
}

/* Go's %v of a JSON value; NULL (a missing key) prints "<no value>". */
static void print_value(struct hamn_buf *b, json_t *v)
{
	size_t i;
	json_t *item;

	if (!v) {
		hamn_buf_puts(b, "<no value>");
	} else if (json_is_string(v)) {
		hamn_buf_append(b, json_string_value(v), json_string_length(v));
	} else if (json_is_integer(v)) {
		hamn_buf_printf(b, "%lld", (long long)json_integer_value(v));
	} else if (json_is_real(v)) {
		hamn_buf_printf(b, "%g", json_real_value(v));
	} else if (json_is_boolean(v)) {
		hamn_buf_puts(b, json_is_true(v) ? "true" : "false");
	} else if (json_is_null(v)) {
		hamn_buf_puts(b, "<nil>");
	} else if (json_is_array(v)) {
		hamn_buf_putc(b, '[');
		json_array_foreach(v, i, item) {
			if (i)
				hamn_buf_putc(b, ' ');
			print_value(b, item);
		}
		hamn_buf_putc(b, ']');
	} else {
		print_map(b, v);
	}
}

static bool truthy(json_t *v)
{
	if (!v || json_is_null(v) || json_is_false(v))
		return false;
	if (json_is_string(v))
		return json_string_length(v) > 0;
	if (json_is_integer(v))
		return json_integer_value(v) != 0;
	if (json_is_real(v))
		return json_real_value(v) != 0;
	if (json_is_array(v))
		return json_array_size(v) > 0;
	if (json_is_object(v))
		return json_object_size(v) > 0;
	return true;
}

/* Walk ".A.B" from v; a missing key gives NULL. Returns a new reference. */
static json_t *walk_fields(json_t *v, const char *path)
{
	_cleanup_strv_ char **parts = str_split(path, '.');

	for (char **p = parts; *p && v; p++) {
		if (!**p)
			continue;
		v = json_is_object(v) ? json_object_get(v, *p) : NULL;
	}
	return v ? json_incref(v) : NULL;
}

static json_t *string_literal(const char *w)
{
	struct hamn_buf b = HAMN_BUF_INIT;

	for (w++; *w && *w != '"'; w++) {
		if (*w == '\\' && w[1]) {
			w++;
			hamn_buf_putc(&b, *w == 'n' ? '\n' : *w == 't' ? '\t' : *w);
		} else {
			hamn_buf_putc(&b, *w);
		}
	}
	_cleanup_free_ char *s = hamn_buf_steal(&b);
	return json_string(s);
}

/* One argument word: .Field, $.Field, "string", number. */
static int eval_word(const struct scope *sc, const char *w, json_t **out, struct hamn_error **err)
{
	if (w[0] == '.') {
		*out = walk_fields(sc->dot, w);
		return 0;
	}
	if (w[0] == '$') {
		*out = walk_fields(sc->root, w + 1);
		return 0;
	}
	if (w[0] == '"') {
		*out = string_literal(w);
		return 0;
	}
	if (isdigit((unsigned char)w[0]) || (w[0] == '-' && isdigit((unsigned char)w[1]))) {
		*out = json_integer(strtoll(w, NULL, 10));
		return 0;
	}
	return hamn_error_setq(err, EINVAL, "template: function \"%s\" not defined", w);
}

static char *value_string(json_t *v)
{
	struct hamn_buf b = HAMN_BUF_INIT;

	print_value(&b, v);
	return hamn_buf_steal(&b);
}

static json_t *fn_case(json_t *v, int (*conv)(int), bool title)
{
	_cleanup_free_ char *s = value_string(v);
	bool start = true;

	for (char *p = s; *p; p++) {
		if (title)
			*p = (char)(start ? toupper((unsigned char)*p) : *p);
		else
			*p = (char)conv((unsigned char)*p);
		start = !isalnum((unsigned char)*p);
	}
	return json_string(s);
}

static json_t *fn_len(json_t *v)
{
	if (json_is_array(v))
		return json_integer((json_int_t)json_array_size(v));
	if (json_is_object(v))
		return json_integer((json_int_t)json_object_size(v));
	if (json_is_string(v))
		return json_integer((json_int_t)json_string_length(v));
	return json_integer(0);
}

static json_t *fn_index(json_t *v, json_t *key)
{
	json_t *r = NULL;

	if (json_is_object(v) && json_is_string(key))
		r = json_object_get(v, json_string_value(key));
	else if (json_is_array(v) && json_is_integer(key))
		r = json_array_get(v, (size_t)json_integer_value(key));
	return r ? json_incref(r) : NULL;
}

static json_t *fn_join(json_t *v, json_t *sep)
{
	struct hamn_buf b = HAMN_BUF_INIT;
	size_t i;
	json_t *item;

	json_array_foreach(v, i, item) {
		if (i)
			hamn_buf_puts(&b, json_string_value(sep) ?: "");
		print_value(&b, item);
	}
	_cleanup_free_ char *s = hamn_buf_steal(&b);
	return json_string(s);
}

static json_t *fn_split(json_t *v, json_t *sep)
{
	_cleanup_free_ char *s = value_string(v);
	const char *d = json_string_value(sep);
	json_t *arr = json_array();
	char *p = s, *hit;

	if (!d || !*d)
		return json_array_append_new(arr, json_string(s)), arr;
	while ((hit = strstr(p, d))) {
		*hit = '\0';
		json_array_append_new(arr, json_string(p));
		p = hit + strlen(d);
	}
	json_array_append_new(arr, json_string(p));
	return arr;
}

/* printf with %s %d %v %q and %%; other verbs print as %v. */
static json_t *fn_printf(json_t **args, size_t n)
{
	_cleanup_buf_ struct hamn_buf b = HAMN_BUF_INIT;
	const char *f = json_string_value(args[0]) ?: "";
	size_t k = 1;

	for (; *f; f++) {
		if (*f != '%' || !f[1]) {
			hamn_buf_putc(&b, *f);
			continue;
		}
		f++;
		if (*f == '%') {
			hamn_buf_putc(&b, '%');
			continue;
		}
		if (*f == 'q')
			hamn_buf_putc(&b, '"');
		print_value(&b, k < n ? args[k] : NULL);
		if (*f == 'q')
			hamn_buf_putc(&b, '"');
		k++;
	}
	return json_string(b.data ? b.data : "");
}

static json_t *call(const char *fn, json_t **a, size_t n, struct hamn_error **err)
{
	if (strcmp(fn, "json") == 0 && n == 1) {
		_cleanup_free_ char *s = a[0] ? hamn_json_dump(a[0]) : xstrdup("null");
		return json_string(s);
	}
	if (strcmp(fn, "upper") == 0 && n == 1)
		return fn_case(a[0], toupper, false);
	if (strcmp(fn, "lower") == 0 && n == 1)
		return fn_case(a[0], tolower, false);
	if (strcmp(fn, "title") == 0 && n == 1)
		return fn_case(a[0], NULL, true);
	if (strcmp(fn, "len") == 0 && n == 1)
		return fn_len(a[0]);
	if (strcmp(fn, "index") == 0 && n == 2)
		return fn_index(a[0], a[1]);
	if (strcmp(fn, "join") == 0 && n == 2)
		return fn_join(a[0], a[1]);
	if (strcmp(fn, "split") == 0 && n == 2)
		return fn_split(a[0], a[1]);
	if (strcmp(fn, "printf") == 0 && n >= 1)
		return fn_printf(a, n);
	if (strcmp(fn, "println") == 0) {
		_cleanup_buf_ struct hamn_buf b = HAMN_BUF_INIT;
		for (size_t i = 0; i < n; i++) {
			if (i)
				hamn_buf_putc(&b, ' ');
			print_value(&b, a[i]);
		}
		hamn_buf_putc(&b, '\n');
		return json_string(b.data);
	}
	hamn_error_setq(err, EINVAL, "template: wrong use of function \"%s\"", fn);
	return NULL;
}

/* Evaluate a pipeline's words: a function call, or a single value. New ref or NULL (missing). */
static int eval_pipeline(const struct scope *sc, char **words, json_t **out,
			 struct hamn_error **err)
{
	size_t n = strv_len(words);
	bool is_call = n > 0 && isalpha((unsigned char)words[0][0]);
	json_t **args;
	int rc = 0;

	*out = NULL;
	if (n == 0)
		return hamn_error_setq(err, EINVAL, "template: missing value");
	if (!is_call) {
		if (n > 1)
			return hamn_error_setq(err, EINVAL, "template: can't give argument to non-function %s", words[0]);
		return eval_word(sc, words[0], out, err);
	}
	args = xcalloc(n, sizeof(json_t *));
	for (size_t i = 1; i < n && rc == 0; i++)
		rc = eval_word(sc, words[i], &args[i - 1], err);
	if (rc == 0) {
		*out = call(words[0], args, n - 1, err);
		rc = *out || !*err ? 0 : -1;
	}
	for (size_t i = 0; i + 1 < n; i++)
		if (args[i])
			json_decref(args[i]);
	free(args);
	return rc;
}

static int exec_nodes(const struct node *n, const struct scope *sc, struct hamn_buf *out,
		      struct hamn_error **err);

static int exec_range(const struct node *n, const struct scope *sc, json_t *v,
		      struct hamn_buf *out, struct hamn_error **err)
{
	size_t i;
	const char *key;
	json_t *item;

	if (!truthy(v))
		return exec_nodes(n->else_body, sc, out, err);
	if (json_is_array(v)) {
		json_array_foreach(v, i, item) {
			struct scope inner = { item, sc->root };
			if (exec_nodes(n->body, &inner, out, err) < 0)
				return -1;
		}
	} else if (json_is_object(v)) {
		json_object_foreach(v, key, item) {
			struct scope inner = { item, sc->root };
			if (exec_nodes(n->body, &inner, out, err) < 0)
				return -1;
		}
	} else {
		return hamn_error_setq(err, EINVAL, "template: range can't iterate over a scalar");
	}
	return 0;
}

static int exec_nodes(const struct node *n, const struct scope *sc, struct hamn_buf *out,
		      struct hamn_error **err)
{
	for (; n; n = n->next) {
		_cleanup_json_ json_t *v = NULL;
		int rc = 0;

		if (n->kind == N_TEXT) {
			hamn_buf_puts(out, n->text);
			continue;
		}
		if (eval_pipeline(sc, n->words, &v, err) < 0)
			return -1;
		if (n->kind == N_ACTION)
			print_value(out, v);
		else if (n->kind == N_IF)
			rc = exec_nodes(truthy(v) ? n->body : n->else_body, sc, out, err);
		else
			rc = exec_range(n, sc, v, out, err);
		if (rc < 0)
			return -1;
	}
	return 0;
}

int hamn_template_exec(const struct hamn_template *t, json_t *v, struct hamn_buf *out,
		       struct hamn_error **err)
{
	struct scope sc = { v, v };

	return exec_nodes(t->root, &sc, out, err);
}

/* ---- tables ---- */

/* docker's tabwriter: cells padded by 3, columns at least 10 wide */
static size_t column_width(size_t widest)
{
	return widest + 3 < 10 ? 10 : widest + 3;
}

char *hamn_tabwrite(const char *text)
{
	_cleanup_strv_ char **lines = str_split(text, '\n');
	size_t widths[64] = { 0 };
	struct hamn_buf b = HAMN_BUF_INIT;

	for (char **l = lines; *l; l++) {
		_cleanup_strv_ char **cells = str_split(*l, '\t');
		for (size_t i = 0; cells[i] && i < 64; i++)
			if (cells[i + 1] && strlen(cells[i]) > widths[i])
				widths[i] = strlen(cells[i]);
	}
	for (char **l = lines; *l; l++) {
		_cleanup_strv_ char **cells = str_split(*l, '\t');
		if (!l[1] && !**l)
			break;	/* the empty string after a final newline */
		for (size_t i = 0; cells[i]; i++) {
			if (cells[i + 1] && i < 64)
				hamn_buf_printf(&b, "%-*s", (int)column_width(widths[i]), cells[i]);
			else
				hamn_buf_puts(&b, cells[i]);
		}
		hamn_buf_putc(&b, '\n');
	}
	return hamn_buf_steal(&b);
}
