/*
 * db.c - the image store's tables in the shared SQLite database, and small
 * helpers around the sqlite3 API.
 *
 * Writes are wrapped in a SAVEPOINT (not BEGIN), so they nest inside a
 * transaction the engine may have open on the same connection. Schema
 * changes go through db_migrate(): the version lives in image_schema.
 */
#include "image/internal.h"

static const char schema_v1[] =
	"CREATE TABLE IF NOT EXISTS image_layers ("
	" chain_id TEXT PRIMARY KEY,"
	" diff_id TEXT NOT NULL,"
	" parent TEXT NOT NULL,"	/* '' for a base layer */
	" blob TEXT NOT NULL,"
	" blob_size INTEGER NOT NULL,"
	" media_type TEXT NOT NULL,"
	" tar_size INTEGER NOT NULL,"
	" size INTEGER NOT NULL,"
	" created INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS images ("
	" id TEXT PRIMARY KEY,"
	" created INTEGER NOT NULL,"	/* from the config, ns */
	" loaded INTEGER NOT NULL,"	/* when stored, ns */
	" size INTEGER NOT NULL,"
	" manifest TEXT,"
	" last_tag_time INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE IF NOT EXISTS image_stack ("
	" image_id TEXT NOT NULL,"
	" idx INTEGER NOT NULL,"
	" chain_id TEXT NOT NULL,"
	" PRIMARY KEY (image_id, idx));"
	"CREATE INDEX IF NOT EXISTS image_stack_chain ON image_stack(chain_id);"
	"CREATE TABLE IF NOT EXISTS image_tags ("
	" ref TEXT PRIMARY KEY,"
	" image_id TEXT NOT NULL);"
	"CREATE INDEX IF NOT EXISTS image_tags_image ON image_tags(image_id);";

/* Version 2: the image an image was made on top of (commit, build steps); '' when none. */
static const char schema_v2[] =
	"ALTER TABLE images ADD COLUMN parent TEXT NOT NULL DEFAULT '';"
	"CREATE INDEX IF NOT EXISTS images_parent ON images(parent);";

int db_fail(struct hamn_image_store *st, const char *what, struct hamn_error **err)
{
	return hamn_error_setq(err, EIO, "image store database: %s: %s", what,
			       sqlite3_errmsg(st->db));
}

int db_exec(struct hamn_image_store *st, const char *sql, struct hamn_error **err)
{
	if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(st, "exec", err);
	return 0;
}

sqlite3_stmt *db_prepare(struct hamn_image_store *st, const char *sql, struct hamn_error **err)
{
	sqlite3_stmt *s = NULL;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
		db_fail(st, "prepare", err);
		return NULL;
	}
	return s;
}

int db_step_done(struct hamn_image_store *st, sqlite3_stmt *s, struct hamn_error **err)
{
	if (sqlite3_step(s) != SQLITE_DONE)
		return db_fail(st, "write", err);
	return 0;
}

int db_begin(struct hamn_image_store *st, struct hamn_error **err)
{
	return db_exec(st, "SAVEPOINT hamn_image", err);
}

int db_commit(struct hamn_image_store *st, struct hamn_error **err)
{
	return db_exec(st, "RELEASE hamn_image", err);
}

void db_rollback(struct hamn_image_store *st)
{
	/* best effort: the error that made us roll back is the one to report */
	sqlite3_exec(st->db, "ROLLBACK TO hamn_image; RELEASE hamn_image", NULL, NULL, NULL);
}

int db_end(struct hamn_image_store *st, int rc, struct hamn_error **err)
{
	if (rc < 0) {
		db_rollback(st);
		return rc;
	}
	return db_commit(st, err);
}

char *db_col_str(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	return xstrdup(t ? (const char *)t : "");
}

static int schema_version(struct hamn_image_store *st, int64_t *out, struct hamn_error **err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int rc;

	*out = 0;
	s = db_prepare(st, "SELECT version FROM image_schema", err);
	if (!s)
		return -1;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(s, 0);
	else if (rc != SQLITE_DONE)
		return db_fail(st, "read schema version", err);
	return 0;
}

static int migrate(struct hamn_image_store *st, struct hamn_error **err)
{
	int64_t version;

	if (db_exec(st, "CREATE TABLE IF NOT EXISTS image_schema (version INTEGER NOT NULL)",
		    err) < 0 ||
	    schema_version(st, &version, err) < 0)
		return -1;
	if (version > IMAGE_SCHEMA_VERSION)
		return hamn_error_setq(err, ENOTSUP,
				       "image store database: schema version %lld is newer than "
				       "this hamn (%d)", (long long)version, IMAGE_SCHEMA_VERSION);
	if (version == IMAGE_SCHEMA_VERSION)
		return 0;
	/* each step takes the database one version up; version 0 is a new database */
	if (version < 1 && db_exec(st, schema_v1, err) < 0)
		return -1;
	if (version < 2 && db_exec(st, schema_v2, err) < 0)
		return -1;
	return db_exec(st, "DELETE FROM image_schema; INSERT INTO image_schema VALUES (2)", err);
}

int db_migrate(struct hamn_image_store *st, struct hamn_error **err)
{
	if (db_begin(st, err) < 0)
		return -1;
	return db_end(st, migrate(st, err), err);
}
