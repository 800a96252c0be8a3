/*
 * usage.c - disk usage for GET /system/df: per image its size, the part
 * it shares with other images and the part only it uses, and the size of
 * all layers. One query under the lock, so the numbers agree with each
 * other. Sizes are the unpacked bytes of a layer's regular files and
 * symlink targets, as docker counts them (the image_layers.size column),
 * as everywhere else in the store.
 */
#include "image/internal.h"

/*
 * Per image: total and shared bytes. A layer is shared when several images
 * stack it, counting as dockerd only the images docker images lists: tagged
 * or childless, not the intermediate images of a build.
 */
static const char usage_sql[] =
	"WITH listed AS (SELECT id FROM images i WHERE "
	"EXISTS (SELECT 1 FROM image_tags t WHERE t.image_id = i.id) OR "
	"NOT EXISTS (SELECT 1 FROM images c WHERE c.parent = i.id)), "
	"users AS (SELECT chain_id, COUNT(DISTINCT image_id) AS n FROM image_stack "
	"WHERE image_id IN (SELECT id FROM listed) GROUP BY chain_id) "
	"SELECT i.id, COALESCE(SUM(l.size), 0), "
	"COALESCE(SUM(CASE WHEN u.n > 1 THEN l.size ELSE 0 END), 0) "
	"FROM images i LEFT JOIN image_stack s ON s.image_id = i.id "
	"LEFT JOIN image_layers l ON l.chain_id = s.chain_id "
	"LEFT JOIN users u ON u.chain_id = s.chain_id "
	"GROUP BY i.id ORDER BY i.id";

void hamn_image_usage_free(struct hamn_image_usage *u, size_t n)
{
	for (size_t i = 0; u && i < n; i++)
		free(u[i].id);
	free(u);
}

static int layers_total(struct hamn_image_store *st, int64_t *out, struct hamn_error **err)
{
	_cleanup_stmt_ sqlite3_stmt *s =
		db_prepare(st, "SELECT COALESCE(SUM(size), 0) FROM image_layers", err);

	if (!s)
		return -1;
	if (sqlite3_step(s) != SQLITE_ROW)
		return db_fail(st, "sum layer sizes", err);
	*out = sqlite3_column_int64(s, 0);
	return 0;
}

static int usage_locked(struct hamn_image_store *st, struct hamn_image_usage **out, size_t *n_out,
			struct hamn_error **err)
{
	_cleanup_stmt_ sqlite3_stmt *s = db_prepare(st, usage_sql, err);
	struct hamn_image_usage *u = NULL;
	size_t n = 0;
	int rc;

	if (!s)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		u = xreallocarray(u, n + 1, sizeof(*u));
		u[n].id = db_col_str(s, 0);
		u[n].size = sqlite3_column_int64(s, 1);
		u[n].shared_size = sqlite3_column_int64(s, 2);
		u[n].unique_size = u[n].size - u[n].shared_size;
		n++;
	}
	if (rc != SQLITE_DONE) {
		hamn_image_usage_free(u, n);
		return db_fail(st, "image disk usage", err);
	}
	*out = u ? u : xcalloc(1, sizeof(*u));
	*n_out = n;
	return 0;
}

int hamn_image_usage(struct hamn_image_store *st, struct hamn_image_usage **usage_out,
		     size_t *n_out, int64_t *layers_size_out, struct hamn_error **err)
{
	struct hamn_image_usage *u = NULL;
	int64_t total = 0;
	size_t n = 0;
	int rc;

	store_lock(st);
	rc = usage_locked(st, &u, &n, err);
	if (rc == 0 && layers_size_out)
		rc = layers_total(st, &total, err);
	store_unlock(st);
	if (rc < 0) {
		hamn_image_usage_free(u, n);
		return -1;
	}
	*usage_out = u;
	*n_out = n;
	if (layers_size_out)
		*layers_size_out = total;
	return 0;
}
