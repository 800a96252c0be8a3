/*
 * format.c - --format for list and inspect commands: Go templates from
 * src/client/template.h, docker's "table" layout and its header row; and
 * sizes as docker prints them.
 */
#include "cli.h"
#include "client/template.h"

int cli_print_rows(json_t *rows, const char *format, json_t *headers, struct hamn_error **err)
{
	_cleanup_template_ struct hamn_template *t = hamn_template_parse(format, err);
	_cleanup_buf_ struct hamn_buf out = HAMN_BUF_INIT;
	bool table = hamn_template_is_table(format);
	size_t i;
	json_t *row;

	if (!t)
		return -1;
	/* the header row is the same template run over the column titles */
	if (table && headers) {
		if (hamn_template_exec(t, headers, &out, err) < 0)
			return -1;
		hamn_buf_putc(&out, '\n');
	}
	json_array_foreach(rows, i, row) {
		if (hamn_template_exec(t, row, &out, err) < 0)
			return -1;
		hamn_buf_putc(&out, '\n');
	}
	if (table) {
		_cleanup_free_ char *aligned = hamn_tabwrite(out.data ? out.data : "");
		fputs(aligned, stdout);
	} else if (out.len) {
		fputs(out.data, stdout);
	}
	return 0;
}

int cli_show_rows(json_t *rows, const char *format, json_t *headers)
{
	_cleanup_error_ struct hamn_error *err = NULL;

	if (cli_print_rows(rows, format, headers, &err) < 0) {
		cli_error(err);
		return 1;
	}
	return 0;
}

/* ---- sizes as go-units prints them ---- */

/* size in the largest of names (NULL-terminated, each base times the one before) it reaches */
static char *units(double size, double base, const char *const *names, int prec)
{
	size_t i = 0;

	while (size >= base && names[i + 1]) {
		size /= base;
		i++;
	}
	return xasprintf("%.*g%s", prec, size, names[i]);
}

char *cli_human_size(double size, int prec)
{
	static const char *const n[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB", NULL};

	return units(size, 1000.0, n, prec);
}

char *cli_bytes_size(double size)
{
	static const char *const n[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB",
					NULL};

	return units(size, 1024.0, n, 4);
}
