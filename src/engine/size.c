/*
 * size.c - how much disk a container uses, as docker reports it: SizeRw,
 * the bytes of the files in its writable layer (<root>/containers/<id>/upper),
 * and SizeRootFs, its image's size plus SizeRw. Given by inspect ?size=1,
 * the list's ?size=1 (ps -s, system df) and counted by container prune.
 *
 * Sizes are measured on request by walking the upper directory (no
 * mounting, no cache), outside the engine's lock: a container writing
 * meanwhile gets a size from somewhere in between.
 */
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/internal.h"
#include "image/image.h"

/* Deeper trees are counted as far as this; a layer is never that deep in practice. */
#define SIZE_MAX_DEPTH 64

/* Inodes with several links already counted (docker counts a hard-linked file once). */
struct seen {
	ino_t *inos;
	size_t n, cap;
};

static bool seen_before(struct seen *s, ino_t ino)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->inos[i] == ino)
			return true;
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 16;
		s->inos = xreallocarray(s->inos, s->cap, sizeof(*s->inos));
	}
	s->inos[s->n++] = ino;
	return false;
}

/* Bytes of the files and symlinks under dirfd (which is consumed). */
static int64_t tree_size(int dirfd, int depth, struct seen *seen)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int64_t total = 0;
	int fd;

	if (depth > SIZE_MAX_DEPTH || !(d = fdopendir(dirfd))) {
		close(dirfd);
		return 0;
	}
	while ((de = readdir(d))) {
		struct stat st;

		if (streq(de->d_name, ".") || streq(de->d_name, "..") ||
		    fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			fd = openat(dirfd, de->d_name,
				    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd >= 0)
				total += tree_size(fd, depth + 1, seen);
		} else if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) {
			if (st.st_nlink <= 1 || !seen_before(seen, st.st_ino))
				total += st.st_size;
		}
	}
	return total;
}

int64_t ctr_rw_size(struct hamn_engine *e, const char *id)
{
	_cleanup_free_ char *path = xasprintf("%s/upper", id);
	int fd = openat(e->ctrs_fd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct seen seen = {0};
	int64_t size = fd < 0 ? 0 : tree_size(fd, 0, &seen);

	free(seen.inos);
	return size;
}

void ctr_size_fields(struct hamn_engine *e, json_t *obj, const char *id, const char *image_id)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	int64_t rw = ctr_rw_size(e, id);
	uint64_t image = 0;

	/* an image gone meanwhile counts as nothing; the container's own bytes are still right */
	if (!image_id || hamn_image_size(e->images, image_id, &image, &err) < 0)
		image = 0;
	json_object_set_new(obj, "SizeRw", json_integer(rw));
	json_object_set_new(obj, "SizeRootFs", json_integer((json_int_t)image + rw));
}

char *ctr_list_add_sizes(struct hamn_engine *e, char *text, size_t *len,
			 struct hamn_error **err)
{
	_cleanup_free_ char *in = text;
	_cleanup_json_ json_t *list = hamn_json_parse(in, *len, err);
	struct hamn_buf b = HAMN_BUF_INIT;
	char *out;
	size_t i;
	json_t *c;

	if (!list)
		return NULL;
	json_array_foreach(list, i, c)
		ctr_size_fields(e, c, json_string_value(json_object_get(c, "Id")) ?: "",
				json_string_value(json_object_get(c, "ImageID")));
	out = hamn_json_dump(list);
	hamn_buf_puts(&b, out);
	hamn_buf_putc(&b, '\n');
	free(out);
	*len = b.len;
	return hamn_buf_steal(&b);
}
