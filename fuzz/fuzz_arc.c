/*
 * fuzz_arc.c - libFuzzer target for the snapshot reader: arc_extract() and
 * arc_check_file() fed attacker bytes as the archive.
 *
 * A writer on the share controls the archive, the manifest and state.json
 * alike, so the harness plays that writer: it computes the state record
 * (size, XXH128) from the input itself, and the manifest from a pre-scan of
 * the archive (each TYPE/NAME.xml entry with the size and XXH128 of the data
 * it really holds). That gets every input past the whole-file checksum and
 * most past the per-entry checks, so that libarchive's parsing and our entry
 * checks, the extraction and the end-of-archive checks all see it. In an
 * uncompressed archive it also rewrites the checksum of every ustar header
 * block, as a writer would: otherwise nearly every mutation of a header (its
 * type, size, name, link) dies at libarchive's header checksum, and the
 * fuzzer, which sees no coverage inside libarchive, never finds out why.
 *
 * Input: byte 0 is a set of flags, the rest is the archive.
 *	0x01  drop the last scanned entry from the manifest   (must fail)
 *	0x02  add an entry the archive does not hold           (must fail)
 *	0x04  wrong XXH128 for the first entry                  (must fail)
 *	0x08  wrong size for the first entry                    (must fail)
 *	0x10  verify only (destfd -1) instead of extracting
 *	0x20  file_checked: skip arc_check_file(), rely on the in-stream hash
 *	0x40  state.json records a wrong checksum               (must fail)
 *	0x80  a want() callback that skips every other entry
 * The archive goes through a memfd, extraction into one temp directory per
 * process (TMPDIR, else /dev/shm; named after the process, and removed by
 * a later run should this one die), emptied after each input. Checked beyond memory safety: a "must
 * fail" input is refused; a clean archive with an honest manifest is
 * accepted; after extraction the directory holds only TYPE/NAME.xml files
 * that the manifest lists, each with its declared size.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "arc.h"
#include "fsutil.h"
#include "manifest.h"
#include "fuzz.h"
#include "names.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define F_DROP		0x01
#define F_EXTRA		0x02
#define F_BADHASH	0x04
#define F_BADSIZE	0x08
#define F_VERIFY	0x10
#define F_CHECKED	0x20
#define F_BADSTATE	0x40
#define F_WANT		0x80

/* Bounds the pre-scan: a zstd bomb must not make one input take seconds. */
#define SCAN_MAX_ENTRIES 64
#define SCAN_MAX_BYTES (1024 * 1024)

static int memfd = -1;
static int destfd = -1;
static char destdir[256];
static int typedir[16];

static void __attribute__((noreturn))
die(const char *what)
{
	perror(what);
	abort();
}

static void
cleanup(void)
{
	struct snap_err err = SNAP_ERR_INIT;
	char *slash;

	if (destdir[0] == '\0')
		return;
	slash = strrchr(destdir, '/');
	if (slash != NULL) {
		*slash = '\0';
		fsu_remove_tree(AT_FDCWD, destdir, &err);
	}
}

/*
 * Removes the directories of earlier runs that died without their atexit()
 * cleanup (a crash, a kill): each is named after its process, and one whose
 * process is gone is removed. Nothing else in base is looked at.
 */
static void
remove_stale(const char *base)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct dirent *de;
	char *end;
	long pid;
	DIR *d;
	int fd;

	if ((fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "artsync-fuzz-arc.", 17) != 0)
			continue;
		pid = strtol(de->d_name + 17, &end, 10);
		if (*end == '\0' && pid > 0 && kill((pid_t)pid, 0) == -1 &&
		    errno == ESRCH)
			fsu_remove_tree(dirfd(d), de->d_name, &err);
	}
	closedir(d);
}

static void
setup(void)
{
	const char *tmp = getenv("TMPDIR");
	size_t i;

	/* tmpfs when there is one: creating and unlinking files on a disk
	 * file system costs more than everything else here together. */
	if (tmp == NULL || *tmp == '\0')
		tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	remove_stale(tmp);
	if ((memfd = memfd_create("fuzz-arc", MFD_CLOEXEC)) == -1)
		die("memfd_create");
	snprintf(destdir, sizeof(destdir), "%s/artsync-fuzz-arc.%ld", tmp,
	    (long)getpid());
	if (mkdir(destdir, 0700) == -1)
		die(destdir);
	strcat(destdir, "/d");
	if (mkdir(destdir, 0755) == -1)
		die("mkdir");
	if ((destfd = open(destdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		die(destdir);
	/* The type folders stay: arc_extract() finds them there, as it does
	 * in a recycled release. Only their files go after each input. */
	for (i = 0; i < artifact_type_count; i++) {
		if (i == TYPE_CONFIG) {		/* its files are at the top */
			if ((typedir[i] = dup(destfd)) == -1)
				die("dup");
			continue;
		}
		if (mkdirat(destfd, artifact_types[i].dir, 0755) == -1)
			die("mkdir");
		if ((typedir[i] = openat(destfd, artifact_types[i].dir,
		    O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
			die("open");
	}
	atexit(cleanup);
}

/*
 * Builds the manifest an honest writer would have published for this
 * archive. *clean is set when every entry was a plain TYPE/NAME.xml file,
 * read in full, none twice, up to a proper end of archive.
 */
static struct manifest *
prescan(const uint8_t *buf, size_t len, bool *clean)
{
	struct snap_err err = SNAP_ERR_INIT;
	char name[NAME_MAX_BYTES + 1], hex[HASH_HEX_LEN + 1];
	struct archive *a = NULL;
	struct archive_entry *ae;
	struct manifest *m;
	struct hash_state h;
	char data[16 * 1024];
	la_ssize_t n;
	uint64_t total;
	int st, type;

	*clean = false;
	if ((m = manifest_new()) == NULL || (a = archive_read_new()) == NULL)
		die("out of memory");
	m->version = 2;
	m->parent_version = 1;
	archive_read_support_filter_zstd(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_memory(a, buf, len) != ARCHIVE_OK)
		goto out;
	while ((st = archive_read_next_header(a, &ae)) == ARCHIVE_OK) {
		const char *path = archive_entry_pathname_utf8(ae);

		if (m->n == SCAN_MAX_ENTRIES || path == NULL ||
		    archive_entry_hardlink(ae) != NULL ||
		    archive_entry_symlink(ae) != NULL ||
		    archive_entry_filetype(ae) != AE_IFREG ||
		    !archive_entry_size_is_set(ae) ||
		    archive_entry_size(ae) < 0 ||
		    archive_entry_size(ae) > SCAN_MAX_BYTES ||
		    arc_parse_path(path, &type, name, &err) == -1)
			goto out;
		hash_init(&h);
		total = 0;
		/* Bounded like copy_entry(): libarchive can hand out zeros
		 * for ever past a broken entry's declared size. */
		while ((n = archive_read_data(a, data, sizeof(data))) > 0) {
			hash_update(&h, data, (size_t)n);
			total += (uint64_t)n;
			if (total > (uint64_t)archive_entry_size(ae))
				goto out;
		}
		if (n < 0 || total != (uint64_t)archive_entry_size(ae))
			goto out;
		hash_final(&h, hex);
		/* Only the first of two same-named entries gets listed. */
		for (size_t i = 0; i < m->n; i++)
			if (m->entries[i].type == type &&
			    strcmp(m->entries[i].name, name) == 0)
				goto out;
		if (manifest_add(m, type, name, NULL, total, hex, 0) == -1)
			die("out of memory");
	}
	*clean = st == ARCHIVE_EOF;
out:
	archive_read_free(a);
	if (manifest_sort(m, &err) == -1)
		abort();	/* duplicates were skipped above */
	return m;
}

/* m without its last entry. Rebuilt through the API, not by freeing the
 * entry's strings: a label list may be shared (manifest.c). */
static struct manifest *
drop_last(struct manifest *m)
{
	struct manifest *t = manifest_new();
	size_t i;

	if (t == NULL)
		die("out of memory");
	t->version = m->version;
	t->parent_version = m->parent_version;
	for (i = 0; i + 1 < m->n; i++) {
		const struct manifest_entry *e = &m->entries[i];

		if (manifest_add(t, e->type, e->name, e->labels, e->size,
		    e->xxh128, e->updated_at) == -1)
			die("out of memory");
	}
	manifest_free(m);
	return t;	/* still sorted: a prefix of a sorted list */
}

/* Recomputes the checksum field of each 512-byte block that carries the
 * ustar magic (a compressed archive has none in the clear). */
static void
fix_tar_checksums(uint8_t *buf, size_t len)
{
	size_t off, i;
	unsigned sum;

	for (off = 0; off + 512 <= len; off += 512) {
		uint8_t *h = buf + off;

		if (memcmp(h + 257, "ustar", 5) != 0)
			continue;
		memset(h + 148, ' ', 8);
		for (sum = 0, i = 0; i < 512; i++)
			sum += h[i];
		snprintf((char *)h + 148, 8, "%06o", sum & 0777777);
		h[155] = ' ';
	}
}

static bool
want_even(const struct manifest_entry *e, void *arg)
{
	const struct manifest *m = arg;

	return (e - m->entries) % 2 == 0;
}

/* The destination holds only listed TYPE/NAME.xml files; then empties it. */
static void
check_and_empty(const struct manifest *m, size_t written)
{
	struct snap_err err = SNAP_ERR_INIT;
	char name[NAME_MAX_BYTES + 1];
	const struct manifest_entry *e;
	struct dirent *de;
	struct stat st;
	size_t i, files = 0, tops = 0;
	DIR *d;
	int fd;

	if ((fd = dup(destfd)) == -1 || (d = fdopendir(fd)) == NULL)
		die("opendir");
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (name_type_of_dir(de->d_name) >= 0) {
			tops++;
			continue;
		}
		/* Anything else at the top is a config file, checked below. */
		if (fstatat(destfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
		    !S_ISREG(st.st_mode)) {
			fprintf(stderr, "extracted '%s' at the top\n", de->d_name);
			abort();
		}
	}
	closedir(d);
	if (tops != artifact_type_count - 1)
		abort();	/* a type folder was replaced or removed */
	for (i = 0; i < artifact_type_count; i++) {
		if ((fd = dup(typedir[i])) == -1 || (d = fdopendir(fd)) == NULL)
			die("fdopendir");
		rewinddir(d);
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0 ||
			    (i == TYPE_CONFIG &&
			    name_type_of_dir(de->d_name) >= 0))
				continue;
			if (name_from_file(de->d_name, name, &err) == -1 ||
			    (e = manifest_find(m, (int)i, name)) == NULL ||
			    fstatat(typedir[i], de->d_name, &st,
			    AT_SYMLINK_NOFOLLOW) == -1 || !S_ISREG(st.st_mode) ||
			    (uint64_t)st.st_size > e->size) {
				fprintf(stderr, "extracted '%s/%s', not listed "
				    "or too big\n", artifact_types[i].folder,
				    de->d_name);
				abort();
			}
			if (unlinkat(typedir[i], de->d_name, 0) == -1)
				die("unlink");
			files++;
		}
		closedir(d);
	}
	if (files < written)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data_in, size_t size)
{
	struct snap_err err = SNAP_ERR_INIT;
	const uint8_t *data;
	uint8_t *copy;
	struct arc_extract x = { .destfd = -1 };
	struct state_file expect;
	struct manifest *m;
	unsigned flags;
	bool clean, must_fail = false;
	size_t i, wanted = 0;
	int rc;

	if (size == 0)
		return 0;
	if (memfd == -1)
		setup();
	flags = data_in[0];
	/* A copy to fix up: libFuzzer's input is read-only. */
	if ((data = copy = malloc(size)) == NULL)
		die("malloc");
	memcpy(copy, data_in + 1, --size);
	fix_tar_checksums(copy, size);

	m = prescan(data, size, &clean);
	if ((flags & F_DROP) && m->n > 0) {
		/* The scan listed it, so the archive holds it. */
		m = drop_last(m);
		must_fail = true;
	}
	if ((flags & F_EXTRA) && manifest_find(m, 0, "fuzz-extra") == NULL) {
		if (manifest_add(m, 0, "fuzz-extra", NULL, 1,
		    "0123456789abcdef0123456789abcdef", 0) == -1 ||
		    manifest_sort(m, &err) == -1)
			die("manifest_add");
		must_fail = true;
	}
	if ((flags & F_BADHASH) && m->n > 0) {
		m->entries[0].xxh128[0] = m->entries[0].xxh128[0] == '0' ?
		    '1' : '0';
		must_fail = true;
	}
	if ((flags & F_BADSIZE) && m->n > 0) {
		m->entries[0].size++;
		must_fail = true;
	}

	memset(&expect, 0, sizeof(expect));
	state_archive_name(m->version, expect.name, sizeof(expect.name));
	expect.size = size;
	hash_buf(data, size, expect.xxh128);
	if (flags & F_BADSTATE) {
		expect.xxh128[31] = expect.xxh128[31] == '0' ? '1' : '0';
		must_fail = true;
	}

	if (ftruncate(memfd, 0) == -1 ||
	    (size > 0 && pwrite(memfd, data, size, 0) != (ssize_t)size) ||
	    lseek(memfd, 0, SEEK_SET) == -1)
		die("memfd");
	if (flags & F_CHECKED) {
		x.file_checked = true;
		/* What a caller does just before: must agree with the record. */
		if (arc_check_file(memfd, &expect, &err) == -1 &&
		    !(flags & F_BADSTATE)) {
			fprintf(stderr, "arc_check_file: %s\n", err.msg);
			abort();
		}
	}
	if (!(flags & F_VERIFY))
		x.destfd = destfd;
	if (flags & F_WANT) {
		x.want = want_even;
		x.arg = m;
	}
	for (i = 0; i < m->n; i++)
		if (!(flags & F_WANT) || i % 2 == 0)
			wanted++;

	rc = arc_extract(memfd, &expect, m, &x, &err);
	if (rc == -1)
		fuzz_check_msg(err.msg);
	if (rc == 0 && must_fail) {
		fprintf(stderr, "accepted an archive that must fail (flags "
		    "0x%02x)\n", flags);
		abort();
	}
	if (rc == -1 && clean && !must_fail) {
		fprintf(stderr, "refused a clean archive: %s\n", err.msg);
		abort();
	}
	if (rc == 0 && x.written != (x.destfd >= 0 ? wanted : 0)) {
		fprintf(stderr, "wrote %zu files, %zu wanted\n", x.written,
		    wanted);
		abort();
	}
	if (x.destfd >= 0)
		check_and_empty(m, x.written);
	manifest_free(m);
	free(copy);
	return 0;
}
