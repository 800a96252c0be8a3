/*
 * format.c - --format for list and inspect commands: Go templates from
 * src/client/template.h, docker's "table" layout and its header row.
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
