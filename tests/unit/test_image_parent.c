/*
 * test_image_parent.c - parent images (src/image/parent.c) with docker's
 * rules: untagged parents are intermediate images (listed only with all,
 * never dangling, kept by prune), rmi of one by ID is a conflict even with
 * force, deleting a child takes its untagged parents along unless noprune,
 * inspect and history name the chain; and a version 1 database is migrated.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

/* short positional entry tables read better than designated initialisers here */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include "image_store.h"

/* One empty-layer history entry per name in the space-separated list. */
static char *history_of(const char *names)
{
	_cleanup_strv_ char **v = str_split(names, ' ');
	struct hamn_buf b = HAMN_BUF_INIT;

	hamn_buf_puts(&b, "{\"created_by\":\"l0\"},{\"created_by\":\"l1\"}");
	for (size_t i = 0; v[i]; i++)
		hamn_buf_printf(&b, ",{\"created_by\":\"%s\",\"empty_layer\":true}", v[i]);
	return hamn_buf_steal(&b);
}

/*
 * A child image of parent (NULL: none) over the test image's two layers,
 * with one history entry per name in the space-separated `names` (as build
 * steps that add no layer make); its ID in *id.
 */
static void make_child(struct senv *e, const char *parent, const char *names,
		       struct hamn_digest *id)
{
	_cleanup_free_ char *hist = history_of(names);
	_cleanup_free_ char *config = xasprintf(
		"{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"2020-01-02T00:00:00Z\","
		"\"config\":{\"Cmd\":[\"sh\"]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":"
		"[\"%s\",\"%s\"]},\"history\":[%s]}", e->l[0].diff.str, e->l[1].diff.str, hist);
	_cleanup_free_ char *got = NULL;
	_cleanup_close_ int fd = mem_fd(config, strlen(config));
	const char *layers[] = { e->l[0].diff.str, e->l[1].diff.str }; /* unpacked already */
	struct hamn_error *err = NULL;

	must(hamn_image_blob_put(e->st, fd, NULL, id, &err), &err);
	must(hamn_image_create_child(e->st, id->str, layers, NULL, 2, parent, &got, &err), &err);
	assert_string_equal(got, id->str);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void sort_strv(char **v)
{
	qsort(v, strv_len(v), sizeof(char *), cmp_str);
}

/* The IDs of hamn_image_list_json(filter) joined by spaces, in list order. */
static char *listed(struct senv *e, const struct hamn_image_filter *f)
{
	struct hamn_error *err = NULL;
	_cleanup_json_ json_t *l = hamn_image_list_json(e->st, f, &err);
	_cleanup_strv_ char **ids = xcalloc(1, sizeof(char *));
	size_t i;
	json_t *img;

	if (!l)
		fail_msg("%s", err->msg);
	json_array_foreach(l, i, img)
		strv_push(&ids, json_string_value(json_object_get(img, "Id")));
	sort_strv(ids);
	return strv_join(ids, " ");
}

static char *sorted_ids(const char *a, const char *b, const char *c, const char *d)
{
	_cleanup_strv_ char **v = xcalloc(1, sizeof(char *));
	const char *all[] = { a, b, c, d };

	for (size_t i = 0; i < 4; i++)
		if (all[i])
			strv_push(&v, all[i]);
	sort_strv(v);
	return strv_join(v, " ");
}

static bool exists(struct senv *e, const char *id)
{
	struct hamn_error *err = NULL;
	_cleanup_free_ char *got = NULL;

	if (hamn_image_resolve(e->st, id, &got, &err) == 0)
		return true;
	hamn_error_free(&err);
	return false;
}

/* base (tagged) <- a <- b <- c (tagged c:1): a and b are intermediate images. */
struct chain {
	struct hamn_digest base, a, b, c;
};

static void make_chain(struct senv *e, struct chain *ch)
{
	struct hamn_error *err = NULL;

	load_test_image(e, &ch->base);
	make_child(e, ch->base.str, "a", &ch->a);
	make_child(e, ch->a.str, "a b", &ch->b);
	make_child(e, ch->b.str, "a b c", &ch->c);
	must(hamn_image_tag(e->st, ch->c.str, "c:1", &err), &err);
}

static void intermediates_are_listed_only_with_all(void **state)
{
	struct senv *e = *state;
	struct hamn_image_filter f = HAMN_IMAGE_FILTER_INIT;
	struct hamn_error *err = NULL;
	_cleanup_json_ json_t *insp = NULL, *list = NULL;
	struct chain ch;

	make_chain(e, &ch);
	_cleanup_free_ char *top = sorted_ids(ch.base.str, ch.c.str, NULL, NULL);
	_cleanup_free_ char *every = sorted_ids(ch.base.str, ch.a.str, ch.b.str, ch.c.str);
	_cleanup_free_ char *l1 = listed(e, &f);
	assert_string_equal(l1, top);
	f.all = true;
	_cleanup_free_ char *l2 = listed(e, &f);
	assert_string_equal(l2, every);
	_cleanup_free_ char *l3 = listed(e, NULL);
	assert_string_equal(l3, every);
	/* an untagged parent is not dangling, with or without all */
	f.dangling = 1;
	_cleanup_free_ char *l4 = listed(e, &f);
	assert_string_equal(l4, "");
	f.all = false;
	_cleanup_free_ char *l5 = listed(e, &f);
	assert_string_equal(l5, "");
	insp = hamn_image_inspect_json(e->st, "c:1", &err);
	assert_non_null(insp);
	assert_string_equal(jstr(insp, "Parent"), ch.b.str);
	json_decref(insp);
	insp = hamn_image_inspect_json(e->st, ch.base.str, &err);
	assert_string_equal(jstr(insp, "Parent"), "");
	list = hamn_image_list_json(e->st, NULL, &err);
	for (size_t i = 0; i < json_array_size(list); i++) {
		json_t *img = json_array_get(list, i);
		const char *id = json_string_value(json_object_get(img, "Id"));
		const char *p = json_string_value(json_object_get(img, "ParentId"));

		assert_string_equal(p, streq(id, ch.a.str) ? ch.base.str : streq(id, ch.b.str) ?
				    ch.a.str : streq(id, ch.c.str) ? ch.b.str : "");
	}
}

static void a_parent_cannot_be_removed_by_id(void **state)
{
	struct senv *e = *state;
	struct hamn_error *err = NULL;
	struct chain ch;

	make_chain(e, &ch);
	assert_int_equal(hamn_image_remove(e->st, ch.a.str, HAMN_IMAGE_REMOVE_FORCE, NULL, NULL,
					   NULL, &err), -1);
	assert_int_equal(err->errnum, EBUSY);
	assert_non_null(strstr(err->msg, "(cannot be forced) - image has dependent child images"));
	hamn_error_free(&err);
	/* a tagged parent loses its last tag by name but stays, now intermediate */
	must(hamn_image_remove(e->st, "hamn-unit:v1", 0, NULL, NULL, NULL, &err), &err);
	assert_true(exists(e, ch.base.str));
	assert_true(exists(e, ch.a.str));
}

static void removing_a_child_prunes_its_untagged_parents(void **state)
{
	struct senv *e = *state;
	struct hamn_error *err = NULL;
	_cleanup_json_ json_t *r1 = NULL, *r2 = NULL;
	struct chain ch;

	make_chain(e, &ch);
	must(hamn_image_remove(e->st, "c:1", HAMN_IMAGE_REMOVE_NOPRUNE, NULL, NULL, &r1, &err),
	     &err);
	assert_false(exists(e, ch.c.str));
	assert_true(exists(e, ch.b.str));	/* noprune: b stays, dangling now */
	must(hamn_image_remove(e->st, ch.b.str, 0, NULL, NULL, &r2, &err), &err);
	assert_false(exists(e, ch.b.str));
	assert_false(exists(e, ch.a.str));
	assert_true(exists(e, ch.base.str));	/* tagged: where the pruning stops */
	assert_string_equal(jstr(r2, "0.Deleted"), ch.b.str);
	assert_string_equal(jstr(r2, "1.Deleted"), ch.a.str);
}

static bool used_is_a(const char *id, void *ud)
{
	return streq(id, ud);
}

static void prune_keeps_parents_of_kept_images(void **state)
{
	struct senv *e = *state;
	struct hamn_error *err = NULL;
	_cleanup_json_ json_t *d1 = NULL, *d2 = NULL;
	struct hamn_digest dangling;
	struct chain ch;

	make_chain(e, &ch);
	make_child(e, ch.a.str, "a dangling", &dangling);	/* a second child of a */
	must(hamn_image_prune(e->st, false, NULL, NULL, &d1, NULL, &err), &err);
	assert_int_equal(json_array_size(d1), 1);
	assert_string_equal(jstr(d1, "0.Deleted"), dangling.str);
	assert_true(exists(e, ch.a.str) && exists(e, ch.b.str) && exists(e, ch.c.str));
	/* the tagged top gone, prune takes the chain down to what a container uses */
	must(hamn_image_remove(e->st, "c:1", HAMN_IMAGE_REMOVE_NOPRUNE, NULL, NULL, NULL, &err),
	     &err);
	must(hamn_image_prune(e->st, false, used_is_a, ch.a.str, &d2, NULL, &err), &err);
	assert_false(exists(e, ch.b.str));
	assert_true(exists(e, ch.a.str));
	assert_true(exists(e, ch.base.str));
}

static void prune_all_removes_whole_chains(void **state)
{
	struct senv *e = *state;
	struct hamn_error *err = NULL;
	struct chain ch;

	make_chain(e, &ch);
	must(hamn_image_prune(e->st, true, NULL, NULL, NULL, NULL, &err), &err);
	assert_int_equal(count_images(e->st), 0);
	assert_int_equal(dir_count(e->rootfd, "layers"), 0);
}

static void history_names_the_parent_chain(void **state)
{
	struct senv *e = *state;
	struct hamn_error *err = NULL;
	_cleanup_json_ json_t *h = NULL;
	struct chain ch;

	make_chain(e, &ch);
	h = hamn_image_history_json(e->st, "c:1", &err);
	assert_non_null(h);
	/* newest first: c, b, a (one empty entry each), then the base's two layers */
	assert_int_equal(json_array_size(h), 5);
	assert_string_equal(jstr(h, "0.Id"), ch.c.str);
	assert_string_equal(jstr(h, "0.Tags.0"), "c:1");
	assert_string_equal(jstr(h, "0.CreatedBy"), "c");
	assert_string_equal(jstr(h, "1.Id"), ch.b.str);
	assert_true(json_is_null(json_object_get(json_array_get(h, 1), "Tags")));
	assert_string_equal(jstr(h, "2.Id"), ch.a.str);
	assert_string_equal(jstr(h, "3.Id"), ch.base.str);
	assert_string_equal(jstr(h, "3.Tags.0"), "hamn-unit:v1");
	assert_string_equal(jstr(h, "4.Id"), "<missing>");
}

static void a_version_1_database_is_migrated(void **state)
{
	struct senv *e = *state;
	struct hamn_error *err = NULL;
	struct hamn_digest id;
	_cleanup_json_ json_t *insp = NULL;

	load_test_image(e, &id);
	/* turn the database back into what hamn wrote before parents existed */
	assert_int_equal(sqlite3_exec(e->db, "DROP INDEX images_parent; "
				      "ALTER TABLE images DROP COLUMN parent; "
				      "UPDATE image_schema SET version = 1", NULL, NULL, NULL),
			 SQLITE_OK);
	close_store(&e->db, &e->st);
	open_store_at(e, "root", &e->db, &e->st);
	insp = hamn_image_inspect_json(e->st, "hamn-unit:v1", &err);
	assert_non_null(insp);
	assert_string_equal(jstr(insp, "Parent"), "");
	{
		struct hamn_digest child;

		make_child(e, id.str, "after", &child);
		json_decref(insp);
		insp = hamn_image_inspect_json(e->st, child.str, &err);
		assert_string_equal(jstr(insp, "Parent"), id.str);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(intermediates_are_listed_only_with_all, setup,
						teardown),
		cmocka_unit_test_setup_teardown(a_parent_cannot_be_removed_by_id, setup, teardown),
		cmocka_unit_test_setup_teardown(removing_a_child_prunes_its_untagged_parents, setup,
						teardown),
		cmocka_unit_test_setup_teardown(prune_keeps_parents_of_kept_images, setup,
						teardown),
		cmocka_unit_test_setup_teardown(prune_all_removes_whole_chains, setup, teardown),
		cmocka_unit_test_setup_teardown(history_names_the_parent_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(a_version_1_database_is_migrated, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
