/*
 * template.h - the subset of Go's text/template that docker's --format uses,
 * evaluated over JSON values.
 *
 * Supported: text; {{.A.B}} field chains ({{.}} is the value itself, $ the
 * root); "string" and number literals; functions json, upper, lower, title,
 * len, index, join, split, println, printf (%s %d %v %q); {{if X}}…{{else}}…{{end}},
 * {{range X}}…{{end}} (arrays and objects, with . rebound); {{- and -}} trim
 * white space. Values print as Go's %v does (maps as map[k:v], arrays as [a b],
 * missing keys as <no value>). The literal two-character escapes \t and \n in
 * the format are turned into a tab and a newline, as docker does.
 * Pure logic: no I/O.
 */
#ifndef HAMN_CLIENT_TEMPLATE_H
#define HAMN_CLIENT_TEMPLATE_H

#include <jansson.h>

#include "base/base.h"

struct hamn_template;

/* Parse a format; EINVAL with the position on a syntax error. */
struct hamn_template *hamn_template_parse(const char *format, struct hamn_error **err);
/* Evaluate over v, appending to out; EINVAL for an unknown function or bad arguments. */
int hamn_template_exec(const struct hamn_template *t, json_t *v, struct hamn_buf *out,
		       struct hamn_error **err);
void hamn_template_free(struct hamn_template *t);
HAMN_DEFINE_CLEANUP(hamn_template, hamn_template_free)
#define _cleanup_template_ _cleanup_(cleanup_hamn_templatep)

/*
 * docker's "table" formats: "table {{.ID}}\t{{.Names}}" prints a header row
 * (field names upper-cased, or the given headers map: field -> title) and
 * aligns tab-separated columns. Returns true when format starts with "table".
 */
bool hamn_template_is_table(const char *format);

/* Align tab-separated lines into columns (docker's tabwriter: padding 3, minimum width 10). */
char *hamn_tabwrite(const char *text);

#endif
