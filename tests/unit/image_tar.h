/*
 * image_tar.h - helpers for test_image.c and test_image_layer.c: build tar
 * archives in memory with libarchive's writer (hostile names kept as they
 * are), put bytes in a memfd, make and remove temporary directories.
 */
#ifndef HAMN_TEST_IMAGE_TAR_H
#define HAMN_TEST_IMAGE_TAR_H

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/image.h"

/* One entry: type 'f' file, 'd' dir, 'l' symlink, 'h' hardlink, 'c'/'b' device, 'p' fifo. */
struct ent {
	const char *name;
	char type;
	const char *data;	/* file contents, or link target */
	unsigned int perm;	/* 0: 0644 for files, 0755 for dirs */
	unsigned int maj, min;
	int uid;		/* 0 default */
	const char *xattr;	/* "name=value" or NULL */
	size_t len;		/* file size when data is binary; 0: strlen(data) */
};

static inline la_ssize_t tar_write_cb(struct archive *a, void *ud, const void *buf, size_t n)
{
	(void)a;
	hamn_buf_append(ud, buf, n);
	return (la_ssize_t)n;
}

static inline void tar_add(struct archive *a, const struct ent *e)
{
	struct archive_entry *ae = archive_entry_new();
	size_t len = e->type == 'f' && e->data ? (e->len ? e->len : strlen(e->data)) : 0;

	archive_entry_set_pathname(ae, e->name);
	archive_entry_set_mtime(ae, 946684800, 0);
	archive_entry_set_uid(ae, e->uid);
	archive_entry_set_gid(ae, e->uid);
	switch (e->type) {
	case 'd':
		archive_entry_set_filetype(ae, AE_IFDIR);
		archive_entry_set_perm(ae, e->perm ? e->perm : 0755);
		break;
	case 'l':
		archive_entry_set_filetype(ae, AE_IFLNK);
		archive_entry_set_perm(ae, 0777);
		archive_entry_set_symlink(ae, e->data);
		break;
	case 'h':
		archive_entry_set_filetype(ae, AE_IFREG);
		archive_entry_set_perm(ae, 0644);
		archive_entry_set_hardlink(ae, e->data);
		break;
	case 'c':
	case 'b':
	case 'p':
		archive_entry_set_filetype(ae, e->type == 'c' ? AE_IFCHR :
					       e->type == 'b' ? AE_IFBLK : AE_IFIFO);
		archive_entry_set_perm(ae, e->perm ? e->perm : 0600);
		archive_entry_set_rdevmajor(ae, e->maj);
		archive_entry_set_rdevminor(ae, e->min);
		break;
	default:
		archive_entry_set_filetype(ae, AE_IFREG);
		archive_entry_set_perm(ae, e->perm ? e->perm : 0644);
		archive_entry_set_size(ae, (la_int64_t)len);
	}
	if (e->xattr) {
		const char *eq = strchr(e->xattr, '=');
		char *name = strndup(e->xattr, (size_t)(eq - e->xattr));

		archive_entry_xattr_add_entry(ae, name, eq + 1, strlen(eq + 1));
		free(name);
	}
	if (archive_write_header(a, ae) != ARCHIVE_OK)
		hamn_bug("tar header '%s': %s", e->name, archive_error_string(a));
	if (len)
		archive_write_data(a, e->data, len);
	archive_entry_free(ae);
}

/* The tar of n entries (gzip'd when gz), as bytes in *out (released by the caller). */
static inline void make_tar(const struct ent *ents, size_t n, bool gz, struct hamn_buf *out)
{
	struct archive *a = archive_write_new();

	archive_write_set_format_pax_restricted(a);
	archive_write_set_bytes_in_last_block(a, 1);	/* same tar bytes with or without gzip */
	if (gz)
		archive_write_add_filter_gzip(a);
	archive_write_open(a, out, NULL, tar_write_cb, NULL);
	for (size_t i = 0; i < n; i++)
		tar_add(a, &ents[i]);
	archive_write_close(a);
	archive_write_free(a);
}

/* A tar with named files of the given contents (name, data pairs, NULL-terminated). */
static inline void make_tar_files(const char *const *pairs, bool gz, struct hamn_buf *out)
{
	struct ent ents[32] = { { 0 } };
	size_t n = 0;

	for (; pairs[2 * n] && n < 32; n++) {
		ents[n].name = pairs[2 * n];
		ents[n].type = 'f';
		ents[n].data = pairs[2 * n + 1];
	}
	make_tar(ents, n, gz, out);
}

/* An fd (memfd) holding len bytes, at offset 0. */
static inline int mem_fd(const void *data, size_t len)
{
	int fd = memfd_create("hamn-test", MFD_CLOEXEC);

	if (fd < 0 || hamn_write_all(fd, data, len, NULL) < 0 || lseek(fd, 0, SEEK_SET) < 0)
		hamn_bug("memfd");
	return fd;
}

/* Everything in a memfd, as bytes. */
static inline void fd_bytes(int fd, struct hamn_buf *out)
{
	char buf[65536];
	ssize_t n;

	lseek(fd, 0, SEEK_SET);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		hamn_buf_append(out, buf, (size_t)n);
}

/* A new temp dir /tmp/hamn-image-test-XXXXXX (path in a static-sized buffer). */
static inline void make_tmpdir(char path[64])
{
	snprintf(path, 64, "/tmp/hamn-image-test-XXXXXX");
	if (!mkdtemp(path))
		hamn_bug("mkdtemp");
}

static inline void remove_tmpdir(const char *path)
{
	struct hamn_error *err = NULL;

	if (hamn_rm_rf(AT_FDCWD, path, &err) < 0) {
		fprintf(stderr, "# cannot remove %s: %s\n", path, err->msg);
		hamn_error_free(&err);
	}
}

/* Number of entries in a directory (-1 when it cannot be read). */
static inline int dir_count(int dirfd, const char *path)
{
	int fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	int n = 0;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

#endif
