// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * TLS library discovery (see tls.h and bpf/README.md, "TLS").
 *
 * Uprobes belong to a file, not to a process: once SSL_write of an inode has
 * a probe, every process mapping that inode, now or later, is traced. So the
 * unit here is the file. Each executable mapping of each process is looked at
 * once per (device, inode): an ELF exporting (or, unstripped, defining)
 * SSL_read/SSL_write gets the eight probes; the main executable and libraries
 * named like other TLS stacks are checked for TLS code we cannot probe, and
 * such processes are reported as unobserved. Everything else is remembered as
 * "not TLS" and costs a hash lookup on later scans.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <bpf/libbpf.h>
#include "tls.h"

#define MAX_LIBS 128
#define MAX_UNOBSERVED 1024
#define MAX_PENDING 1024
#define CACHE_SIZE 16384 /* power of two */
#define FULL_SCAN_MS 5000
#define NPROBES 8

enum file_class {
	CLS_EMPTY = 0,   /* cache slot unused */
	CLS_NOT_TLS = 1, /* nothing we probe or report */
	CLS_LIB = 2,     /* probes attached (see libs[]) */
	CLS_FAILED = 3,  /* exports SSL_write, attach failed: not retried */
	CLS_STACK = 16,  /* + enum wt_tls_stack: TLS we cannot probe */
};

struct cache_ent {
	uint64_t dev, ino;
	int cls;
};

struct lib {
	uint64_t dev, ino;
	char path[256];
	struct bpf_link *links[NPROBES];
	int nlinks;
	bool pinned;   /* attached at start from a system path: never detached */
	uint64_t seen; /* scan generation that last found it mapped */
};

struct unobserved {
	uint32_t pid;
	uint64_t seen;
};

struct pending {
	uint32_t pid;
	int step;
	uint64_t due_ms;
};

static struct tls_programs P;
static tls_emit_fn emit_fn;
static bool dbg;
static uint32_t skip_pids[8];
static int n_skip;
static struct cache_ent cache[CACHE_SIZE];
static int cache_used;
static struct lib libs[MAX_LIBS];
static int n_libs;
static struct unobserved unobs[MAX_UNOBSERVED];
static int n_unobs;
static struct pending pend[MAX_PENDING];
static int n_pend;
static uint64_t gen = 1;
static uint64_t next_full_ms;

/* Where distributions keep the system libssl; see tls_start for why these are attached up front. */
static const char *const system_libssl[] = {
	"/usr/lib/x86_64-linux-gnu/libssl.so.3",   "/usr/lib/x86_64-linux-gnu/libssl.so.1.1",
	"/usr/lib/aarch64-linux-gnu/libssl.so.3",  "/usr/lib/aarch64-linux-gnu/libssl.so.1.1",
	"/usr/lib64/libssl.so.3",                  "/usr/lib64/libssl.so.1.1",
	"/usr/lib/libssl.so.3",                    "/usr/lib/libssl.so.1.1",
	"/lib/libssl.so.3",                        "/lib/libssl.so.1.1",
};

static void logd(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logd(const char *fmt, ...)
{
	va_list ap;

	if (!dbg)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "wiretrace-loader: tls: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void emit(uint8_t kind, uint8_t stack, uint32_t pid, uint64_t dev, uint64_t ino,
		 const char *path, int probes, int error)
{
	struct wt_tls_event e = {
		.dev = dev, .ino = ino, .pid = pid, .kind = kind, .stack = stack,
		.probes = probes, .error = error,
	};

	if (path)
		snprintf(e.path, sizeof(e.path), "%s", path);
	emit_fn(&e);
}

/* ---- (dev, ino) -> class ---- */

static struct cache_ent *cache_slot(uint64_t dev, uint64_t ino)
{
	uint64_t h = (ino * 0x9e3779b97f4a7c15ull) ^ (dev * 0xc2b2ae3d27d4eb4full);

	for (unsigned int i = 0; i < CACHE_SIZE; i++) {
		struct cache_ent *c = &cache[(h + i) & (CACHE_SIZE - 1)];

		if (c->cls == CLS_EMPTY || (c->dev == dev && c->ino == ino))
			return c;
	}
	return NULL;
}

static int cache_get(uint64_t dev, uint64_t ino)
{
	struct cache_ent *c = cache_slot(dev, ino);

	return c ? c->cls : CLS_EMPTY;
}

static void cache_put(uint64_t dev, uint64_t ino, int cls)
{
	struct cache_ent *c;

	/* Full (a host with very many distinct binaries): start over; libs[] keeps the attachments. */
	if (cache_used >= CACHE_SIZE * 3 / 4) {
		memset(cache, 0, sizeof(cache));
		cache_used = 0;
		for (int i = 0; i < n_libs; i++)
			cache_put(libs[i].dev, libs[i].ino, CLS_LIB);
	}
	c = cache_slot(dev, ino);
	if (!c)
		return;
	if (c->cls == CLS_EMPTY)
		cache_used++;
	c->dev = dev;
	c->ino = ino;
	c->cls = cls;
}

/* Open addressing cannot delete in place: rebuild without the entry. */
static void cache_forget(uint64_t dev, uint64_t ino)
{
	static struct cache_ent old[CACHE_SIZE];

	memcpy(old, cache, sizeof(cache));
	memset(cache, 0, sizeof(cache));
	cache_used = 0;
	for (int i = 0; i < CACHE_SIZE; i++)
		if (old[i].cls != CLS_EMPTY && !(old[i].dev == dev && old[i].ino == ino))
			cache_put(old[i].dev, old[i].ino, old[i].cls);
}

static struct lib *find_lib(uint64_t dev, uint64_t ino)
{
	for (int i = 0; i < n_libs; i++)
		if (libs[i].dev == dev && libs[i].ino == ino)
			return &libs[i];
	return NULL;
}

/* ---- ELF ---- */

static const char *const ssl_names[4] = { "SSL_read", "SSL_write", "SSL_read_ex", "SSL_write_ex" };

/*
 * File offsets of the four functions (0 when absent), from .dynsym and, in an
 * unstripped binary, .symtab. Returns how many were found.
 */
static int ssl_offsets(Elf *e, uint64_t off[4])
{
	uint64_t vaddr[4] = {};
	Elf_Scn *scn = NULL;
	size_t nph = 0;
	int found = 0;

	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_DYNSYM && sh.sh_type != SHT_SYMTAB) ||
		    !sh.sh_entsize)
			continue;
		d = elf_getdata(scn, NULL);
		if (!d)
			continue;
		for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			const char *name;

			if (!gelf_getsym(d, i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
			    sym.st_shndx == SHN_UNDEF || !sym.st_value)
				continue;
			name = elf_strptr(e, sh.sh_link, sym.st_name);
			if (!name || strncmp(name, "SSL_", 4) != 0)
				continue;
			for (int k = 0; k < 4; k++)
				if (!vaddr[k] && strcmp(name, ssl_names[k]) == 0)
					vaddr[k] = sym.st_value;
		}
	}
	/* uprobes take file offsets: map each address through its PT_LOAD segment. */
	if (elf_getphdrnum(e, &nph) != 0)
		return 0;
	for (int k = 0; k < 4; k++) {
		off[k] = 0;
		for (size_t i = 0; i < nph && vaddr[k]; i++) {
			GElf_Phdr ph;

			if (!gelf_getphdr(e, i, &ph) || ph.p_type != PT_LOAD)
				continue;
			if (vaddr[k] >= ph.p_vaddr && vaddr[k] < ph.p_vaddr + ph.p_memsz) {
				off[k] = vaddr[k] - ph.p_vaddr + ph.p_offset;
				found++;
				break;
			}
		}
	}
	return found;
}

static Elf_Scn *section(Elf *e, const char *want, GElf_Shdr *out)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(e, &shstrndx) != 0)
		return NULL;
	while ((scn = elf_nextscn(e, scn))) {
		const char *name;

		if (!gelf_getshdr(scn, out))
			continue;
		name = elf_strptr(e, shstrndx, out->sh_name);
		if (name && strcmp(name, want) == 0)
			return scn;
	}
	return NULL;
}

/*
 * Looks for the marker s, written reversed here so that the loader's own
 * read-only data does not contain it (it would report itself as a TLS stack).
 */
static bool has(const Elf_Data *d, const char *reversed)
{
	char s[32];
	size_t n = strlen(reversed);

	if (!d || !d->d_buf || n >= sizeof(s))
		return false;
	for (size_t i = 0; i < n; i++)
		s[i] = reversed[n - 1 - i];
	return memmem(d->d_buf, d->d_size, s, n) != NULL;
}

/*
 * TLS code in a binary that has no SSL_read/SSL_write to probe: the TLS 1.2
 * PRF label "master secret" or the TLS 1.3 label "c hs traffic", which every
 * TLS stack carries in its read-only data, then what kind of stack it is.
 */
static int unprobeable_stack(Elf *e)
{
	GElf_Shdr sh;
	Elf_Scn *ro = section(e, ".rodata", &sh);
	Elf_Data *d = ro && sh.sh_type != SHT_NOBITS ? elf_getdata(ro, NULL) : NULL;

	if (!has(d, "terces retsam") && !has(d, "ciffart sh c"))
		return -1;
	if (section(e, ".go.buildinfo", &sh) || section(e, ".note.go.buildid", &sh) ||
	    section(e, ".gopclntab", &sh))
		return WT_TLS_STACK_GO;
	if (has(d, "LSSgniroB"))
		return WT_TLS_STACK_BORINGSSL;
	if (has(d, "sltsur"))
		return WT_TLS_STACK_RUSTLS;
	if (has(d, "LSSnepO") || has(d, "LSSerbiL"))
		return WT_TLS_STACK_STATIC_OPENSSL;
	return WT_TLS_STACK_UNKNOWN;
}

/* Libraries of TLS stacks other than OpenSSL's API, known by name. */
static int stack_by_name(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	if (strncmp(base, "libgnutls", 9) == 0)
		return WT_TLS_STACK_GNUTLS;
	if (strncmp(base, "libnss3.", 8) == 0 || strncmp(base, "libssl3.", 8) == 0)
		return WT_TLS_STACK_NSS;
	if (strncmp(base, "libwolfssl", 10) == 0 || strncmp(base, "libmbedtls", 10) == 0)
		return WT_TLS_STACK_OTHER_LIB;
	return -1;
}

/* ---- attach / detach ---- */

static int attach(int fd, const uint64_t off[4], struct bpf_link **links)
{
	struct bpf_program *const progs[4][2] = {
		{ P.read_enter, P.read_exit },
		{ P.write_enter, P.write_exit },
		{ P.read_ex_enter, P.read_ex_exit },
		{ P.write_ex_enter, P.write_ex_exit },
	};
	char path[64];
	int n = 0;

	/* Our open fd names exactly the file we parsed, whatever its path now means. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	for (int k = 0; k < 4; k++) {
		if (!off[k])
			continue;
		for (int r = 0; r < 2; r++) {
			LIBBPF_OPTS(bpf_uprobe_opts, o, .retprobe = r == 1);
			struct bpf_link *l = bpf_program__attach_uprobe_opts(progs[k][r], -1, path, off[k], &o);

			if (!l) {
				int err = errno;

				for (int i = 0; i < n; i++)
					bpf_link__destroy(links[i]);
				errno = err;
				return -1;
			}
			links[n++] = l;
		}
	}
	return n;
}

static void detach(struct lib *l)
{
	for (int i = 0; i < l->nlinks; i++)
		bpf_link__destroy(l->links[i]);
	l->nlinks = 0;
}

/*
 * Classifies the file open as fd (mapped as path by pid), attaching probes if
 * it is an OpenSSL to probe. Returns its class for the cache.
 */
static int classify(int fd, uint32_t pid, const char *path, uint64_t dev, uint64_t ino, bool is_exe)
{
	uint64_t off[4] = {};
	Elf *e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	int cls = CLS_NOT_TLS, stack;

	if (!e)
		return CLS_NOT_TLS;
	if (elf_kind(e) != ELF_K_ELF)
		goto out;
	if (ssl_offsets(e, off) > 0 && (off[0] || off[2]) && (off[1] || off[3])) {
		struct lib *l;
		int n;

		if (n_libs == MAX_LIBS) {
			emit(WT_TLS_LIB_FAILED, WT_TLS_STACK_OPENSSL, pid, dev, ino, path, 0, ENOSPC);
			cls = CLS_FAILED;
			goto out;
		}
		l = &libs[n_libs];
		n = attach(fd, off, l->links);
		if (n < 0) {
			int err = errno;

			logd("attaching to %s failed: %s", path, strerror(err));
			emit(WT_TLS_LIB_FAILED, WT_TLS_STACK_OPENSSL, pid, dev, ino, path, 0, err);
			cls = CLS_FAILED;
			goto out;
		}
		n_libs++;
		l->dev = dev;
		l->ino = ino;
		l->nlinks = n;
		l->pinned = pid == 0;
		l->seen = gen;
		snprintf(l->path, sizeof(l->path), "%s", path);
		logd("attached %d probes to %s (pid %u)", n, path, pid);
		emit(WT_TLS_LIB_ATTACHED, WT_TLS_STACK_OPENSSL, pid, dev, ino, path, n, 0);
		cls = CLS_LIB;
		goto out;
	}
	stack = stack_by_name(path);
	if (stack < 0 && is_exe)
		stack = unprobeable_stack(e);
	if (stack >= 0)
		cls = CLS_STACK + stack;
out:
	elf_end(e);
	return cls;
}

/* ---- unobserved processes ---- */

static int unobs_index(uint32_t pid)
{
	for (int i = 0; i < n_unobs; i++)
		if (unobs[i].pid == pid)
			return i;
	return -1;
}

static void unobs_drop(int i)
{
	emit(WT_TLS_PROC_GONE, 0, unobs[i].pid, 0, 0, NULL, 0, 0);
	unobs[i] = unobs[--n_unobs];
}

/* ---- scanning ---- */

static bool skipped(uint32_t pid)
{
	for (int i = 0; i < n_skip; i++)
		if (skip_pids[i] == pid)
			return true;
	return false;
}

static void scan_pid(uint32_t pid)
{
	char mpath[64], line[4352];
	uint64_t exe_dev = 0, exe_ino = 0;
	bool observed = false, any = false;
	int stack = -1, ui;
	char stack_path[256] = "";
	uint64_t stack_dev = 0, stack_ino = 0;
	FILE *f;

	if (skipped(pid))
		return;
	snprintf(mpath, sizeof(mpath), "/proc/%u/maps", pid);
	f = fopen(mpath, "re");
	if (!f)
		return; /* gone already, or a kernel thread race */
	while (fgets(line, sizeof(line), f)) {
		unsigned long start, end, off, ino;
		unsigned int maj, min;
		char perms[8];
		int n = 0, cls;
		char *path;
		uint64_t dev;

		if (sscanf(line, "%lx-%lx %7s %lx %x:%x %lu %n", &start, &end, perms, &off, &maj, &min,
			   &ino, &n) < 7 ||
		    n == 0 || ino == 0)
			continue;
		path = line + n;
		path[strcspn(path, "\n")] = 0;
		if (path[0] != '/')
			continue;
		dev = makedev(maj, min);
		/* Mappings are sorted by address: the first file is the executable. */
		if (!any) {
			any = true;
			exe_dev = dev;
			exe_ino = ino;
		}
		if (perms[2] != 'x')
			continue;
		any = true;
		cls = cache_get(dev, ino);
		if (cls == CLS_EMPTY) {
			char fpath[64];
			struct stat st;
			int fd;

			/*
			 * map_files names the mapped file itself, even deleted or in another
			 * mount namespace, but needs CAP_SYS_ADMIN (or CAP_CHECKPOINT_RESTORE);
			 * without it, the path as the process sees it, checked by inode below.
			 */
			snprintf(fpath, sizeof(fpath), "/proc/%u/map_files/%lx-%lx", pid, start, end);
			fd = open(fpath, O_RDONLY | O_CLOEXEC);
			if (fd < 0) {
				char rpath[sizeof(line) + 32];

				snprintf(rpath, sizeof(rpath), "/proc/%u/root%s", pid, path);
				fd = open(rpath, O_RDONLY | O_CLOEXEC);
			}
			if (fd < 0)
				continue;
			if (fstat(fd, &st) != 0 || st.st_ino != ino) {
				close(fd);
				continue;
			}
			cls = classify(fd, pid, path, dev, ino, dev == exe_dev && ino == exe_ino);
			close(fd);
			cache_put(dev, ino, cls);
		}
		if (cls == CLS_LIB) {
			struct lib *l = find_lib(dev, ino);

			if (l)
				l->seen = gen;
			observed = true;
		} else if (cls >= CLS_STACK && stack < 0) {
			stack = cls - CLS_STACK;
			snprintf(stack_path, sizeof(stack_path), "%s", path);
			stack_dev = dev;
			stack_ino = ino;
		}
	}
	fclose(f);

	ui = unobs_index(pid);
	if (stack >= 0 && !observed) {
		if (ui >= 0) {
			unobs[ui].seen = gen;
		} else if (n_unobs < MAX_UNOBSERVED) {
			unobs[n_unobs++] = (struct unobserved){ .pid = pid, .seen = gen };
			emit(WT_TLS_PROC_UNOBSERVED, stack, pid, stack_dev, stack_ino, stack_path, 0, 0);
		}
	} else if (ui >= 0 && any) {
		/* It exec'd something we can see (or that has no TLS). */
		unobs_drop(ui);
	}
}

static void full_scan(void)
{
	DIR *d = opendir("/proc");
	struct dirent *de;

	gen++;
	if (!d)
		return;
	while ((de = readdir(d))) {
		char *end;
		unsigned long pid;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = strtoul(de->d_name, &end, 10);
		if (*end == 0)
			scan_pid(pid);
	}
	closedir(d);
	/* Files no process maps any more lose their probes; exited processes leave the list. */
	for (int i = 0; i < n_libs;) {
		if (libs[i].pinned || libs[i].seen == gen) {
			i++;
			continue;
		}
		logd("detaching from %s: no process maps it", libs[i].path);
		detach(&libs[i]);
		emit(WT_TLS_LIB_DETACHED, WT_TLS_STACK_OPENSSL, 0, libs[i].dev, libs[i].ino, libs[i].path, 0,
		     0);
		cache_forget(libs[i].dev, libs[i].ino);
		libs[i] = libs[--n_libs];
	}
	for (int i = 0; i < n_unobs;) {
		char p[32];

		snprintf(p, sizeof(p), "/proc/%u", unobs[i].pid);
		if (unobs[i].seen != gen && access(p, F_OK) != 0)
			unobs_drop(i);
		else
			i++;
	}
}

void tls_start(const struct tls_programs *progs, tls_emit_fn emit_cb, const uint32_t *skip, int nskip,
	       bool debug)
{
	P = *progs;
	emit_fn = emit_cb;
	dbg = debug;
	for (int i = 0; i < nskip && n_skip < (int)(sizeof(skip_pids) / sizeof(skip_pids[0])); i++)
		skip_pids[n_skip++] = skip[i];
	elf_version(EV_CURRENT);
	/*
	 * A short-lived client (curl) can finish its handshake before any scan
	 * sees it map libssl, so the system's libssl gets its probes up front and
	 * keeps them: a probe on a file nobody calls costs nothing.
	 */
	for (unsigned int i = 0; i < sizeof(system_libssl) / sizeof(system_libssl[0]); i++) {
		struct stat st;
		int fd = open(system_libssl[i], O_RDONLY | O_CLOEXEC);

		if (fd < 0)
			continue;
		if (fstat(fd, &st) == 0 && cache_get(st.st_dev, st.st_ino) == CLS_EMPTY)
			cache_put(st.st_dev, st.st_ino,
				  classify(fd, 0, system_libssl[i], st.st_dev, st.st_ino, false));
		close(fd);
	}
	full_scan();
	next_full_ms = 0;
}

void tls_on_exec(uint32_t pid, uint64_t now_ms)
{
	scan_pid(pid);
	/* ld.so maps the libraries after exec returns to user space: look again shortly. */
	if (n_pend < MAX_PENDING)
		pend[n_pend++] = (struct pending){ .pid = pid, .step = 1, .due_ms = now_ms + 30 };
}

void tls_tick(uint64_t now_ms)
{
	for (int i = 0; i < n_pend;) {
		if (pend[i].due_ms > now_ms) {
			i++;
			continue;
		}
		scan_pid(pend[i].pid);
		if (pend[i].step == 1) {
			pend[i].step = 2;
			pend[i].due_ms = now_ms + 300;
			i++;
		} else {
			pend[i] = pend[--n_pend];
		}
	}
	if (next_full_ms == 0)
		next_full_ms = now_ms + FULL_SCAN_MS;
	if (now_ms >= next_full_ms) {
		full_scan();
		next_full_ms = now_ms + FULL_SCAN_MS;
	}
}

int tls_attached_files(void)
{
	return n_libs;
}

void tls_stop(void)
{
	/* n_libs stays: the final STATS still says how many files had probes. */
	for (int i = 0; i < n_libs; i++)
		detach(&libs[i]);
}
