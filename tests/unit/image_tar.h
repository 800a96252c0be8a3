/*
 * image_tar.h - helpers for test_image.c and test_image_layer.c: build tar
 * archives in memory with libarchive's writer (hostile names kept as they
 * are), test images as `docker save` and OCI layout tars, memfds, and
 * temporary directories. Includers disable -Wmissing-field-initializers.
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

/* gzip a whole buffer (libarchive's raw format: one unnamed member). */
static inline void gzip_buf(const struct hamn_buf *in, struct hamn_buf *out)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();

	archive_write_set_format_raw(a);
	archive_write_add_filter_gzip(a);
	archive_write_set_bytes_in_last_block(a, 1);
	archive_write_open(a, out, NULL, tar_write_cb, NULL);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_size(e, (la_int64_t)in->len);
	archive_write_header(a, e);
	archive_write_data(a, in->data, in->len);
	archive_entry_free(e);
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

/* ---- image archives: layers, configs, docker save and OCI layout tars ---- */

struct layerdef {
	struct hamn_buf tar, gz;
	struct hamn_digest diff, gz_digest;
};

static inline void layer_make(struct layerdef *l, const char *file, const char *data)
{
	_cleanup_free_ char *path = xasprintf("etc/%s", file);
	const struct ent ents[] = { { "etc", 'd' }, { path, 'f', data } };

	memset(l, 0, sizeof(*l));
	make_tar(ents, 2, false, &l->tar);
	make_tar(ents, 2, true, &l->gz);
	hamn_sha256_buf(l->tar.data, l->tar.len, &l->diff);
	hamn_sha256_buf(l->gz.data, l->gz.len, &l->gz_digest);
}

static inline void layer_free(struct layerdef *l)
{
	hamn_buf_release(&l->tar);
	hamn_buf_release(&l->gz);
}

/* A config over the layers; `extra` is inserted as more top-level members. */
static inline char *config_make(struct layerdef *ls, size_t n, const char *extra)
{
	struct hamn_buf ids = HAMN_BUF_INIT;
	char *c;

	for (size_t i = 0; i < n; i++)
		hamn_buf_printf(&ids, "%s\"%s\"", i ? "," : "", ls[i].diff.str);
	c = xasprintf("{\"architecture\":\"amd64\",\"os\":\"linux\","
		      "\"created\":\"2020-01-01T00:00:00Z\",\"config\":{\"Env\":[\"PATH=/bin\"],"
		      "\"Cmd\":[\"sh\"],\"Labels\":{\"a\":\"1\"}}%s,\"rootfs\":{\"type\":\"layers\","
		      "\"diff_ids\":[%s]},\"history\":[{\"created_by\":\"test\"}]}",
		      extra ? extra : "", ids.data ? ids.data : "");
	hamn_buf_release(&ids);
	return c;
}

/* A `docker save` tar; manifest overrides the generated manifest.json when not NULL. */
static inline void docker_tar(struct hamn_buf *out, const char *config, struct layerdef *ls,
			      size_t n, const char *repotags, const char *manifest)
{
	struct ent ents[16] = { { 0 } };
	_cleanup_strv_ char **names = xcalloc(1, sizeof(char *));
	struct hamn_buf layers = HAMN_BUF_INIT;
	struct hamn_digest cd;
	_cleanup_free_ char *man = NULL;
	size_t k = 0;

	hamn_sha256_buf(config, strlen(config), &cd);
	for (size_t i = 0; i < n; i++) {
		strv_push_take(&names, xasprintf("%s/layer.tar", hamn_digest_hex(&ls[i].diff)));
		ents[k++] = (struct ent){ names[i], 'f', ls[i].tar.data, .len = ls[i].tar.len };
		hamn_buf_printf(&layers, "%s\"%s\"", i ? "," : "", names[i]);
	}
	strv_push_take(&names, xasprintf("%s.json", hamn_digest_hex(&cd)));
	ents[k++] = (struct ent){ names[n], 'f', config };
	man = xasprintf("[{\"Config\":\"%s\",\"RepoTags\":%s,\"Layers\":[%s]}]", names[n],
			repotags, layers.data ? layers.data : "");
	ents[k++] = (struct ent){ "manifest.json", 'f', manifest ? manifest : man };
	make_tar(ents, k, false, out);
	hamn_buf_release(&layers);
}

/* An OCI layout tar with gzip'd layers; name goes into the index annotations. */
static inline void oci_tar(struct hamn_buf *out, const char *config, struct layerdef *ls,
			   size_t n, const char *ann_key, const char *name)
{
	struct ent ents[16] = { { 0 } };
	_cleanup_strv_ char **names = xcalloc(1, sizeof(char *));
	struct hamn_buf layers = HAMN_BUF_INIT;
	struct hamn_digest cd, md;
	_cleanup_free_ char *manifest = NULL, *index = NULL;
	size_t k = 0;

	hamn_sha256_buf(config, strlen(config), &cd);
	for (size_t i = 0; i < n; i++) {
		strv_push_take(&names, xasprintf("blobs/sha256/%s", hamn_digest_hex(&ls[i].gz_digest)));
		ents[k++] = (struct ent){ names[i], 'f', ls[i].gz.data, .len = ls[i].gz.len };
		hamn_buf_printf(&layers, "%s{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu}",
				i ? "," : "", HAMN_MT_OCI_LAYER_GZIP, ls[i].gz_digest.str,
				ls[i].gz.len);
	}
	manifest = xasprintf("{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":"
			     "\"%s\",\"digest\":\"%s\",\"size\":%zu},\"layers\":[%s]}",
			     HAMN_MT_OCI_MANIFEST, HAMN_MT_OCI_CONFIG, cd.str, strlen(config),
			     layers.data ? layers.data : "");
	hamn_sha256_buf(manifest, strlen(manifest), &md);
	strv_push_take(&names, xasprintf("blobs/sha256/%s", hamn_digest_hex(&cd)));
	ents[k++] = (struct ent){ names[n], 'f', config };
	strv_push_take(&names, xasprintf("blobs/sha256/%s", hamn_digest_hex(&md)));
	ents[k++] = (struct ent){ names[n + 1], 'f', manifest };
	index = xasprintf("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"%s\",\"digest\":"
			  "\"%s\",\"size\":%zu,\"annotations\":{\"%s\":\"%s\"}}]}",
			  HAMN_MT_OCI_MANIFEST, md.str, strlen(manifest), ann_key, name);
	ents[k++] = (struct ent){ "index.json", 'f', index };
	ents[k++] = (struct ent){ "oci-layout", 'f', "{\"imageLayoutVersion\":\"1.0.0\"}" };
	make_tar(ents, k, false, out);
	hamn_buf_release(&layers);
}

#endif
