// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * wiretrace-loader: loads the kernel programs and streams their events to
 * stdout in the framing of docs/FRAMING.md. Diagnostics go to stderr, one line
 * each, so the agent can show them as they are.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include <sys/epoll.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include "wiretrace.h"
#include "wiretrace_priv.h"
#include "wiretrace.skel.h"
#include "tls.h"

_Static_assert(sizeof(struct wt_record_header) == 8, "record header layout");
_Static_assert(sizeof(struct wt_hello) == 88, "HELLO layout");
_Static_assert(sizeof(struct wt_socket) == 40, "socket layout");
_Static_assert(sizeof(struct wt_conn_event) == 112, "CONN layout");
_Static_assert(sizeof(struct wt_data_event) == 128, "DATA layout");
_Static_assert(sizeof(struct wt_stat_entry) == 32, "stat entry layout");
_Static_assert(sizeof(struct wt_stats_header) == 16, "STATS layout");
_Static_assert(sizeof(struct wt_tls_event) == 288, "TLS layout");
_Static_assert(sizeof(struct wt_proc_info) == 32, "PROC_INFO layout");

#define PROG "wiretrace-loader"
#define EXIT_PREFLIGHT 2
#define MAX_LIST 64
#define POLL_MS 50
#define OUT_BUF (4u << 20)
#define CGROUP2_SUPER_MAGIC 0x63677270

/* Same order as enum wt_counter; documented in bpf/README.md. */
static const char *const counter_names[WT_C_COUNT] = {
	[WT_C_DATA_EVENTS] = "data_events",
	[WT_C_CONN_OPEN] = "conn_open_events",
	[WT_C_CONN_CLOSE] = "conn_close_events",
	[WT_C_DROP_DATA] = "drop_ringbuf_data",
	[WT_C_DROP_CONN] = "drop_ringbuf_conn",
	[WT_C_TRUNC_EVENTS] = "truncated_events",
	[WT_C_TRUNC_BYTES] = "truncated_bytes",
	[WT_C_DATA_BYTES] = "data_bytes",
	[WT_C_CAPTURED_BYTES] = "captured_bytes",
	[WT_C_FILTER_PID] = "filtered_pid",
	[WT_C_FILTER_CGROUP] = "filtered_cgroup",
	[WT_C_FILTER_PORT] = "filtered_port",
	[WT_C_CONN_MAP_FULL] = "conn_map_full",
	[WT_C_ARGS_MAP_FULL] = "args_map_full",
	[WT_C_READ_USER_FAIL] = "read_user_fail",
	[WT_C_SKIP_PEEK] = "skipped_peek",
	[WT_C_CONN_GONE] = "conn_gone_in_call",
	[WT_C_FD_REUSED] = "conn_fd_reused",
	[WT_C_CLOSED_ON_EXIT] = "conn_closed_on_exit",
	[WT_C_TLS_EVENTS] = "tls_data_events",
	[WT_C_TLS_CIPHER_SKIP] = "tls_ciphertext_skipped",
	[WT_C_TLS_NO_CONN] = "tls_unattributed",
	[WT_C_TLS_MAP_FULL] = "tls_calls_map_full",
	[WT_C_EXEC_EVENTS] = "exec_events",
};

enum loader_counter {
	L_RECORDS,
	L_BYTES,
	L_BAD_SAMPLES,
	L_TLS_FILES,
	L_PROC_INFO,
	L_PROC_GONE,
	L_COUNT
};

static const char *const loader_counter_names[L_COUNT] = {
	[L_RECORDS] = "loader_records",
	[L_BYTES] = "loader_bytes",
	[L_BAD_SAMPLES] = "loader_bad_samples",
	[L_TLS_FILES] = "tls_probed_files",
	[L_PROC_INFO] = "proc_info_records",
	[L_PROC_GONE] = "proc_gone_unread",
};

static struct {
	unsigned int max_payload;
	unsigned int data_ringbuf_mb;
	unsigned int stats_interval_ms;
	uint32_t pids[MAX_LIST], exclude_pids[MAX_LIST];
	uint16_t ports[MAX_LIST], exclude_ports[MAX_LIST];
	const char *cgroups[MAX_LIST];
	int n_pids, n_exclude_pids, n_ports, n_exclude_ports, n_cgroups;
	bool tls;
} cfg = {
	.tls = true,
	.max_payload = WT_DEFAULT_MAX_PAYLOAD,
	.data_ringbuf_mb = 8,
	.stats_interval_ms = 1000,
};

static volatile sig_atomic_t stop;
static bool debug;
static uint64_t loader_counters[L_COUNT];

static char *obuf;
static size_t olen;
static bool out_closed;

/* Close records wait until the data ring is drained, so they follow their data. */
static struct wt_conn_event pending_close[1024];
static unsigned int n_pending_close;

static void die(int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": error: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* libbpf is chatty; the agent wants one line per problem unless asked. */
	if (!debug || level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG " [options] > stream\n"
		"Streams TCP socket traffic captured by eBPF in the wiretrace framing.\n"
		"  --max-payload N        payload prefix per event (default %d, max %d)\n"
		"  --pid P                trace only this pid (repeatable)\n"
		"  --exclude-pid P        never trace this pid (repeatable)\n"
		"  --port N               trace only connections with this local or remote port (repeatable)\n"
		"  --exclude-port N       never trace connections with this port (repeatable)\n"
		"  --cgroup PATH          trace only processes in this cgroup v2 directory (repeatable)\n"
		"  --data-ringbuf-mb N    data ring buffer size in MiB, rounded up to a power of two (default 8)\n"
		"  --stats-interval-ms N  STATS record period (default 1000)\n"
		"  --tls on|off           OpenSSL plaintext probes and TLS library discovery (default on)\n"
		"  --help                 this text\n"
		"The loader's own pid and its parent's (the agent) are always excluded.\n"
		"Env: WIRETRACE_BTF_PATH (default /sys/kernel/btf/vmlinux), WIRETRACE_LOADER_DEBUG=1.\n",
		WT_DEFAULT_MAX_PAYLOAD, WT_MAX_PAYLOAD_LIMIT);
}

static unsigned long parse_num(const char *opt, const char *s, unsigned long min, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max || *s == '-')
		die(EXIT_PREFLIGHT, "invalid %s '%s': expected an integer in %lu..%lu", opt, s, min,
		    max);
	return v;
}

static void parse_args(int argc, char **argv)
{
	enum { O_MAX = 1, O_PID, O_XPID, O_PORT, O_XPORT, O_CG, O_RB, O_STATS, O_TLS, O_HELP };
	static const struct option longopts[] = {
		{ "max-payload", required_argument, NULL, O_MAX },
		{ "pid", required_argument, NULL, O_PID },
		{ "exclude-pid", required_argument, NULL, O_XPID },
		{ "port", required_argument, NULL, O_PORT },
		{ "exclude-port", required_argument, NULL, O_XPORT },
		{ "cgroup", required_argument, NULL, O_CG },
		{ "data-ringbuf-mb", required_argument, NULL, O_RB },
		{ "stats-interval-ms", required_argument, NULL, O_STATS },
		{ "tls", required_argument, NULL, O_TLS },
		{ "help", no_argument, NULL, O_HELP },
		{ 0 },
	};
	int o;

	opterr = 0;
	while ((o = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (o) {
		case O_MAX:
			cfg.max_payload = parse_num("--max-payload", optarg, 0, WT_MAX_PAYLOAD_LIMIT);
			break;
		case O_PID:
		case O_XPID: {
			uint32_t *list = o == O_PID ? cfg.pids : cfg.exclude_pids;
			int *n = o == O_PID ? &cfg.n_pids : &cfg.n_exclude_pids;

			if (*n >= MAX_LIST)
				die(EXIT_PREFLIGHT, "too many pids (max %d)", MAX_LIST);
			list[(*n)++] = parse_num(o == O_PID ? "--pid" : "--exclude-pid", optarg, 1,
						 INT_MAX);
			break;
		}
		case O_PORT:
		case O_XPORT: {
			uint16_t *list = o == O_PORT ? cfg.ports : cfg.exclude_ports;
			int *n = o == O_PORT ? &cfg.n_ports : &cfg.n_exclude_ports;

			if (*n >= MAX_LIST)
				die(EXIT_PREFLIGHT, "too many ports (max %d)", MAX_LIST);
			list[(*n)++] = parse_num(o == O_PORT ? "--port" : "--exclude-port", optarg,
						 1, 65535);
			break;
		}
		case O_CG:
			if (cfg.n_cgroups >= MAX_LIST)
				die(EXIT_PREFLIGHT, "too many cgroups (max %d)", MAX_LIST);
			cfg.cgroups[cfg.n_cgroups++] = optarg;
			break;
		case O_RB:
			cfg.data_ringbuf_mb = parse_num("--data-ringbuf-mb", optarg, 1, 1024);
			break;
		case O_STATS:
			cfg.stats_interval_ms = parse_num("--stats-interval-ms", optarg, 10, 3600000);
			break;
		case O_TLS:
			if (strcmp(optarg, "on") == 0)
				cfg.tls = true;
			else if (strcmp(optarg, "off") == 0)
				cfg.tls = false;
			else
				die(EXIT_PREFLIGHT, "invalid --tls '%s': expected on or off", optarg);
			break;
		case O_HELP:
			usage(stdout);
			exit(0);
		default:
			die(EXIT_PREFLIGHT, "unknown or incomplete option '%s' (see --help)",
			    argv[optind - 1]);
		}
	}
	if (optind < argc)
		die(EXIT_PREFLIGHT, "unexpected argument '%s' (see --help)", argv[optind]);
}

static bool has_cap(const struct __user_cap_data_struct *d, int cap)
{
	return d[cap / 32].effective & (1u << (cap % 32));
}

static void check_privileges(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = {};

	if (syscall(SYS_capget, &h, d))
		die(EXIT_PREFLIGHT, "cannot read capabilities: %s", strerror(errno));
	/* Kernels before 5.8 know neither CAP_BPF nor CAP_PERFMON: CAP_SYS_ADMIN covers them. */
	if (has_cap(d, CAP_SYS_ADMIN) || (has_cap(d, CAP_BPF) && has_cap(d, CAP_PERFMON)))
		return;
	die(EXIT_PREFLIGHT, "missing privilege: CAP_BPF and CAP_PERFMON are required (run as root)");
}

static const char *btf_path(void)
{
	const char *p = getenv("WIRETRACE_BTF_PATH");

	return p && *p ? p : "/sys/kernel/btf/vmlinux";
}

static void check_btf(void)
{
	const char *p = btf_path();

	if (access(p, R_OK) == 0)
		return;
	if (strcmp(p, "/sys/kernel/btf/vmlinux") == 0)
		die(EXIT_PREFLIGHT,
		    "missing BTF: /sys/kernel/btf/vmlinux not found (kernel needs CONFIG_DEBUG_INFO_BTF)");
	die(EXIT_PREFLIGHT, "missing BTF: %s: %s (from WIRETRACE_BTF_PATH)", p, strerror(errno));
}

/*
 * libbpf finds tracepoint ids in tracefs, preferring debugfs's copy when that
 * path exists. Make sure the one it will use works, mounting tracefs if needed.
 */
static void check_tracefs(void)
{
	const char *dir = "/sys/kernel/tracing";
	char probe[128];

	if (access("/sys/kernel/debug/tracing", F_OK) == 0) {
		dir = "/sys/kernel/debug/tracing";
	} else if (access("/sys/kernel/tracing/events", F_OK) != 0 &&
		   mount("tracefs", dir, "tracefs", 0, NULL) != 0) {
		die(EXIT_PREFLIGHT,
		    "tracefs not mounted and mounting it on %s failed: %s (needs CAP_SYS_ADMIN)", dir,
		    strerror(errno));
	}
	snprintf(probe, sizeof(probe), "%s/events", dir);
	if (access(probe, F_OK) != 0)
		die(EXIT_PREFLIGHT, "tracefs not usable: %s not found", probe);
	snprintf(probe, sizeof(probe), "%s/events/syscalls/sys_enter_read", dir);
	if (access(probe, F_OK) != 0)
		die(EXIT_PREFLIGHT,
		    "missing syscall tracepoints: %s not found (kernel needs CONFIG_FTRACE_SYSCALLS)",
		    probe);
}

static uint64_t cgroup_id(const char *path)
{
	struct {
		struct file_handle fh;
		uint64_t id;
	} h;
	struct statfs sfs;
	struct stat st;
	int mount_id;

	if (statfs(path, &sfs) != 0)
		die(EXIT_PREFLIGHT, "cgroup %s: %s", path, strerror(errno));
	if (sfs.f_type != CGROUP2_SUPER_MAGIC)
		die(EXIT_PREFLIGHT, "cgroup %s: not a cgroup v2 directory", path);
	h.fh.handle_bytes = sizeof(h.id);
	if (name_to_handle_at(AT_FDCWD, path, &h.fh, &mount_id, 0) == 0 &&
	    h.fh.handle_bytes == sizeof(uint64_t)) {
		uint64_t id;

		memcpy(&id, h.fh.f_handle, sizeof(id));
		return id;
	}
	/* Without file handles, the cgroup2 inode number is the same id. */
	if (stat(path, &st) != 0)
		die(EXIT_PREFLIGHT, "cgroup %s: %s", path, strerror(errno));
	return st.st_ino;
}

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/*
 * CLOCK_REALTIME - CLOCK_BOOTTIME, bracketing the realtime read so it is good
 * to a few hundred ns. Event times are CLOCK_BOOTTIME (bpf_ktime_get_boot_ns),
 * which keeps counting through a suspend; the offset is re-sent with every
 * STATS record so an NTP step or a suspend moves span times only briefly.
 */
static int64_t realtime_offset_ns(void)
{
	uint64_t b1 = now_ns(CLOCK_BOOTTIME);
	uint64_t rt = now_ns(CLOCK_REALTIME);
	uint64_t b2 = now_ns(CLOCK_BOOTTIME);

	return (int64_t)(rt - (b1 + (b2 - b1) / 2));
}

/* ---- output ---- */

static void flush_out(void)
{
	size_t done = 0;

	while (done < olen && !out_closed) {
		ssize_t n = write(STDOUT_FILENO, obuf + done, olen - done);

		if (n > 0) {
			done += n;
		} else if (n < 0 && errno == EINTR) {
			/* A blocked write is how a stuck agent looks; let signals end it. */
			if (stop)
				out_closed = true;
		} else {
			/* EPIPE and friends: the reader is gone, which is a normal end. */
			out_closed = true;
			stop = 1;
		}
	}
	olen = 0;
}

static void out_record(uint16_t type, const void *a, size_t alen, const void *b, size_t blen)
{
	struct wt_record_header h = { .len = sizeof(h) + alen + blen, .type = type };

	if (olen + h.len > OUT_BUF)
		flush_out();
	memcpy(obuf + olen, &h, sizeof(h));
	memcpy(obuf + olen + sizeof(h), a, alen);
	if (blen)
		memcpy(obuf + olen + sizeof(h) + alen, b, blen);
	olen += h.len;
	loader_counters[L_RECORDS]++;
	loader_counters[L_BYTES] += h.len;
}

static void write_preamble_and_hello(void)
{
	struct wt_hello hello = {};
	struct utsname u;
	char pre[8];

	memcpy(pre, WT_FRAMING_MAGIC, 4);
	uint16_t ver = WT_FRAMING_VERSION, zero = 0;
	memcpy(pre + 4, &ver, 2);
	memcpy(pre + 6, &zero, 2);
	memcpy(obuf + olen, pre, sizeof(pre));
	olen += sizeof(pre);

	hello.realtime_offset_ns = realtime_offset_ns();
	hello.loader_pid = getpid();
	hello.max_payload = cfg.max_payload;
	hello.ncpus = libbpf_num_possible_cpus();
	if (uname(&u) == 0)
		memcpy(hello.kernel_release, u.release,
		       strnlen(u.release, sizeof(hello.kernel_release) - 1));
	out_record(WT_REC_HELLO, &hello, sizeof(hello), NULL, 0);
}

/* ---- process identity (WT_REC_PROC_INFO) ---- */

/*
 * Processes already described, by tgid (0 = empty): 4096 entries in sets of
 * PROC_SEEN_WAYS. Direct-mapped, two busy processes sharing a slot (pids a
 * multiple of 4096 apart) pushed each other out on every record, and each
 * record then cost /proc reads and a PROC_INFO; with sets, that takes five
 * busy processes in one set (pids a multiple of 1024 apart). A full set
 * forgets its oldest entry, and an exec forgets one, which costs only a
 * repeated record; a reused pid that never exec'd keeps the old description
 * here, and the agent notices by the start time the record carries.
 */
#define PROC_SEEN_WAYS 4
#define PROC_SEEN_SETS 1024
static uint32_t proc_seen[PROC_SEEN_SETS][PROC_SEEN_WAYS];

static uint32_t *proc_set(uint32_t pid)
{
	return proc_seen[(pid * 2654435761u) % PROC_SEEN_SETS];
}

/* The entry holding pid in its set, or NULL. */
static uint32_t *proc_find(uint32_t *set, uint32_t pid)
{
	for (int w = 0; w < PROC_SEEN_WAYS; w++)
		if (set[w] == pid)
			return &set[w];
	return NULL;
}

/* Newest first, into the first free entry; the oldest falls off the end of a full set. */
static void proc_remember(uint32_t *set, uint32_t pid)
{
	int end = 0;

	while (end < PROC_SEEN_WAYS - 1 && set[end])
		end++;
	memmove(set + 1, set, end * sizeof(*set));
	set[0] = pid;
}

static int open_proc(uint32_t pid, const char *name)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%u/%s", pid, name);
	return open(path, O_RDONLY | O_CLOEXEC);
}

/* Up to cap bytes of /proc/PID/name; -1 if it cannot be opened. *cut: there was more. */
static ssize_t read_proc(uint32_t pid, const char *name, char *buf, size_t cap, bool *cut)
{
	int fd = open_proc(pid, name);
	size_t n = 0;

	if (fd < 0)
		return -1;
	while (n < cap) {
		ssize_t r = read(fd, buf + n, cap - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += r;
	}
	if (cut) {
		char c;

		*cut = n == cap && read(fd, &c, 1) > 0;
	}
	close(fd);
	return n;
}

static size_t read_proc_link(uint32_t pid, const char *name, char *buf, size_t cap)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%u/%s", pid, name);
	n = readlink(path, buf, cap);
	return n > 0 ? (size_t)n : 0;
}

/* /proc/PID/stat field 22; 0 if unreadable (then the process is gone). */
static uint64_t proc_start_time(uint32_t pid)
{
	char buf[1024], *p;
	ssize_t n = read_proc(pid, "stat", buf, sizeof(buf) - 1, NULL);

	if (n <= 0)
		return 0;
	buf[n] = 0;
	/* comm may hold spaces and ')': fields count from the last ')', which ends field 2. */
	p = strrchr(buf, ')');
	for (int field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	return p ? strtoull(p + 1, NULL, 10) : 0;
}

struct env_want {
	const char *name; /* with the '=' */
	char *out;
	uint16_t *len;
};

/* One NUL-terminated environ entry (a prefix if long): keeps it if it is wanted. */
static void env_entry(const char *entry, size_t elen, struct env_want *want, int nwant)
{
	for (int w = 0; w < nwant; w++) {
		size_t nl = strlen(want[w].name);

		if (*want[w].len || elen <= nl || memcmp(entry, want[w].name, nl))
			continue;
		*want[w].len = elen - nl > WT_PROC_MAX_ENV_VALUE ? WT_PROC_MAX_ENV_VALUE : elen - nl;
		memcpy(want[w].out, entry + nl, *want[w].len);
	}
}

/*
 * Streams /proc/PID/environ (it can be large) and keeps the values of the
 * wanted variables only: the rest of the environment may hold secrets and is
 * never copied out. The first non-empty value wins, as in the agent.
 */
static bool read_environ(uint32_t pid, struct env_want *want, int nwant)
{
	char chunk[4096], entry[32 + WT_PROC_MAX_ENV_VALUE];
	size_t elen = 0;
	int fd = open_proc(pid, "environ");

	if (fd < 0)
		return false;
	for (;;) {
		ssize_t r = read(fd, chunk, sizeof(chunk));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			/* EACCES or ESRCH on read: unreadable after all. */
			close(fd);
			return false;
		}
		if (r == 0)
			break;
		/* Entries may span chunks: elen carries over. */
		for (ssize_t i = 0; i < r; i++) {
			if (chunk[i] != 0) {
				if (elen < sizeof(entry))
					entry[elen++] = chunk[i];
				continue;
			}
			env_entry(entry, elen, want, nwant);
			elen = 0;
		}
	}
	/* A last entry without its NUL (the environment was rewritten). */
	if (elen)
		env_entry(entry, elen, want, nwant);
	close(fd);
	return true;
}

/* Reads who pid is and writes a PROC_INFO record, once per process (see proc_seen). */
static void describe_process(uint32_t pid)
{
	static char comm[WT_PROC_MAX_COMM + 1], exe[WT_PROC_MAX_PATH], cwd[WT_PROC_MAX_PATH];
	static char cgroup[WT_PROC_MAX_CGROUP], otel[WT_PROC_MAX_ENV_VALUE], svc[WT_PROC_MAX_ENV_VALUE];
	static char cmdline[WT_PROC_MAX_CMDLINE];
	static char strings[sizeof(comm) + sizeof(exe) + sizeof(cwd) + sizeof(cgroup) + sizeof(otel) +
			    sizeof(svc) + sizeof(cmdline)];
	uint32_t *set = proc_set(pid);
	struct wt_proc_info h = { .pid = pid };
	struct env_want want[2] = {
		{ "OTEL_SERVICE_NAME=", otel, &h.otel_service_name_len },
		{ "SERVICE_NAME=", svc, &h.service_name_len },
	};
	bool cut = false;
	ssize_t n;
	size_t at = 0;

	if (pid == 0 || proc_find(set, pid))
		return;
	proc_remember(set, pid);
	h.start_time = proc_start_time(pid);
	if (h.start_time == 0) {
		/* Exited already: the agent names it by comm, as without this record. */
		loader_counters[L_PROC_GONE]++;
		return;
	}
	n = read_proc(pid, "comm", comm, sizeof(comm), NULL);
	if (n > 0 && comm[n - 1] == '\n')
		n--;
	h.comm_len = n > 0 ? n : 0;
	h.exe_len = read_proc_link(pid, "exe", exe, sizeof(exe));
	h.cwd_len = read_proc_link(pid, "cwd", cwd, sizeof(cwd));
	n = read_proc(pid, "cgroup", cgroup, sizeof(cgroup), NULL);
	h.cgroup_len = n > 0 ? n : 0;
	n = read_proc(pid, "cmdline", cmdline, sizeof(cmdline), &cut);
	h.cmdline_len = n > 0 ? n : 0;
	if (cut)
		h.flags |= WT_PROC_F_CMDLINE_CUT;
	if (read_environ(pid, want, 2))
		h.flags |= WT_PROC_F_ENVIRON;

	memcpy(strings + at, comm, h.comm_len), at += h.comm_len;
	memcpy(strings + at, exe, h.exe_len), at += h.exe_len;
	memcpy(strings + at, cwd, h.cwd_len), at += h.cwd_len;
	memcpy(strings + at, cgroup, h.cgroup_len), at += h.cgroup_len;
	memcpy(strings + at, otel, h.otel_service_name_len), at += h.otel_service_name_len;
	memcpy(strings + at, svc, h.service_name_len), at += h.service_name_len;
	memcpy(strings + at, cmdline, h.cmdline_len), at += h.cmdline_len;
	out_record(WT_REC_PROC_INFO, &h, sizeof(h), strings, at);
	loader_counters[L_PROC_INFO]++;
}

static void forget_process(uint32_t pid)
{
	uint32_t *slot = proc_find(proc_set(pid), pid);

	if (slot)
		*slot = 0;
}

static int on_conn(void *ctx, void *data, size_t size)
{
	const struct wt_conn_event *e = data;

	(void)ctx;
	if (size < sizeof(*e)) {
		loader_counters[L_BAD_SAMPLES]++;
		return 0;
	}
	/* Now, not when the agent gets to it: a short-lived client may be gone by then. */
	describe_process(e->pid);
	if (e->kind == WT_CONN_CLOSE) {
		if (n_pending_close == sizeof(pending_close) / sizeof(pending_close[0])) {
			for (unsigned int i = 0; i < n_pending_close; i++)
				out_record(WT_REC_CONN, &pending_close[i], sizeof(*e), NULL, 0);
			n_pending_close = 0;
		}
		pending_close[n_pending_close++] = *e;
		return 0;
	}
	out_record(WT_REC_CONN, e, sizeof(*e), NULL, 0);
	return 0;
}

static int on_data(void *ctx, void *data, size_t size)
{
	const struct wt_data_event *e = data;

	(void)ctx;
	/* The kernel reserves fixed size classes: the real length is captured. */
	if (size < sizeof(*e) || e->captured > size - sizeof(*e) ||
	    e->captured > cfg.max_payload) {
		loader_counters[L_BAD_SAMPLES]++;
		return 0;
	}
	describe_process(e->pid);
	out_record(WT_REC_DATA, e, sizeof(*e) + e->captured, NULL, 0);
	return out_closed ? -EPIPE : 0;
}

static void on_tls(const struct wt_tls_event *e)
{
	out_record(WT_REC_TLS, e, sizeof(*e), NULL, 0);
}

static int on_exec(void *ctx, void *data, size_t size)
{
	const struct wt_exec_event *e = data;

	(void)ctx;
	if (size < sizeof(*e)) {
		loader_counters[L_BAD_SAMPLES]++;
		return 0;
	}
	/* A new program: its next connection is described afresh. */
	forget_process(e->pid);
	tls_on_exec(e->pid, now_ns(CLOCK_MONOTONIC) / 1000000);
	return 0;
}

static void write_stats(struct wiretrace_bpf *skel, int ncpus)
{
	struct wt_stat_entry entries[WT_C_COUNT + L_COUNT + 1];
	struct wt_stats_header h = {};
	uint64_t *vals = calloc(ncpus, sizeof(uint64_t));
	int fd = bpf_map__fd(skel->maps.counters);
	unsigned int n = 0;

	if (!vals)
		return;
	memset(entries, 0, sizeof(entries));
	for (uint32_t i = 0; i < WT_C_COUNT; i++, n++) {
		uint64_t sum = 0;

		if (bpf_map_lookup_elem(fd, &i, vals) == 0)
			for (int c = 0; c < ncpus; c++)
				sum += vals[c];
		strncpy(entries[n].name, counter_names[i], sizeof(entries[n].name) - 1);
		entries[n].value = sum;
	}
	free(vals);
	/* Loader counters cover the records written before this one. */
	loader_counters[L_TLS_FILES] = tls_attached_files();
	for (int i = 0; i < L_COUNT; i++, n++) {
		strncpy(entries[n].name, loader_counter_names[i], sizeof(entries[n].name) - 1);
		entries[n].value = loader_counters[i];
	}
	/* Not a counter: the clock offset as of now (see realtime_offset_ns). */
	strncpy(entries[n].name, "realtime_offset_ns", sizeof(entries[n].name) - 1);
	entries[n++].value = (uint64_t)realtime_offset_ns();
	h.ts_ns = now_ns(CLOCK_BOOTTIME);
	h.count = n;
	out_record(WT_REC_STATS, &h, sizeof(h), entries, sizeof(entries));
}

static void drain(struct ring_buffer *conn_rb, struct ring_buffer *data_rb)
{
	ring_buffer__consume(conn_rb);
	ring_buffer__consume(data_rb);
	for (unsigned int i = 0; i < n_pending_close; i++)
		out_record(WT_REC_CONN, &pending_close[i], sizeof(pending_close[i]), NULL, 0);
	n_pending_close = 0;
}

/* ---- setup ---- */

static void set_rodata(struct wiretrace_bpf *skel, uint64_t data_rb_bytes)
{
	skel->rodata->cfg_max_payload = cfg.max_payload;
	/* Wake the loader early enough that a burst cannot fill the ring between polls. */
	skel->rodata->cfg_data_wakeup_bytes = data_rb_bytes / 4;
	skel->rodata->cfg_conn_wakeup_bytes = 64 << 10;
	skel->rodata->cfg_pid_allow = cfg.n_pids > 0;
	skel->rodata->cfg_port_allow = cfg.n_ports > 0;
	skel->rodata->cfg_cgroup_allow = cfg.n_cgroups > 0;
	skel->rodata->cfg_tls = cfg.tls;
}

static void fill_filters(struct wiretrace_bpf *skel)
{
	uint8_t one = 1;
	uint32_t self[2] = { getpid(), getppid() };
	int deny = bpf_map__fd(skel->maps.pid_deny);
	int allow = bpf_map__fd(skel->maps.pid_allow);
	int ports = bpf_map__fd(skel->maps.port_filter);
	int cgs = bpf_map__fd(skel->maps.cgroup_allow);

	/* Tracing our own pipe writes or the agent's exports would feed back on itself. */
	for (int i = 0; i < 2; i++)
		if (self[i] > 1 && bpf_map_update_elem(deny, &self[i], &one, BPF_ANY))
			die(1, "cannot fill pid filter: %s", strerror(errno));
	for (int i = 0; i < cfg.n_exclude_pids; i++)
		if (bpf_map_update_elem(deny, &cfg.exclude_pids[i], &one, BPF_ANY))
			die(1, "cannot fill pid filter: %s", strerror(errno));
	for (int i = 0; i < cfg.n_pids; i++)
		if (bpf_map_update_elem(allow, &cfg.pids[i], &one, BPF_ANY))
			die(1, "cannot fill pid filter: %s", strerror(errno));

	for (int pass = 0; pass < 2; pass++) {
		uint16_t *list = pass ? cfg.exclude_ports : cfg.ports;
		int n = pass ? cfg.n_exclude_ports : cfg.n_ports;

		for (int i = 0; i < n; i++) {
			uint32_t k = list[i];
			uint8_t v = 0;

			bpf_map_lookup_elem(ports, &k, &v);
			v |= pass ? WT_PORT_DENY : WT_PORT_ALLOW;
			if (bpf_map_update_elem(ports, &k, &v, BPF_ANY))
				die(1, "cannot fill port filter: %s", strerror(errno));
		}
	}
	for (int i = 0; i < cfg.n_cgroups; i++) {
		uint64_t id = cgroup_id(cfg.cgroups[i]);

		if (bpf_map_update_elem(cgs, &id, &one, BPF_ANY))
			die(1, "cannot fill cgroup filter: %s", strerror(errno));
	}
}

static int add_epoll(int ep, int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

static bool is_pipe_or_socket(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
}

int main(int argc, char **argv)
{
	LIBBPF_OPTS(bpf_object_open_opts, open_opts);
	struct bpf_link *links[64];
	struct wiretrace_bpf *skel;
	struct ring_buffer *conn_rb, *data_rb, *proc_rb;
	struct bpf_program *prog;
	struct sigaction sa = { .sa_handler = on_signal };
	uint64_t rb_bytes, next_stats;
	int nlinks = 0, ncpus, ep, err;

	parse_args(argc, argv);
	debug = getenv("WIRETRACE_LOADER_DEBUG") && strcmp(getenv("WIRETRACE_LOADER_DEBUG"), "0");
	libbpf_set_print(libbpf_print);

	check_privileges();
	check_btf();
	check_tracefs();
	for (int i = 0; i < cfg.n_cgroups; i++)
		cgroup_id(cfg.cgroups[i]);

	/* Not SA_RESTART: a signal must interrupt a blocked poll or write. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	obuf = malloc(OUT_BUF);
	ncpus = libbpf_num_possible_cpus();
	if (!obuf || ncpus <= 0)
		die(1, "out of memory");

	if (getenv("WIRETRACE_BTF_PATH") && *getenv("WIRETRACE_BTF_PATH"))
		open_opts.btf_custom_path = getenv("WIRETRACE_BTF_PATH");
	skel = wiretrace_bpf__open_opts(&open_opts);
	if (!skel)
		die(1, "cannot open BPF object: %s", strerror(errno));

	rb_bytes = 1u << 20;
	while (rb_bytes < (uint64_t)cfg.data_ringbuf_mb << 20)
		rb_bytes <<= 1;
	if (bpf_map__set_max_entries(skel->maps.data_rb, rb_bytes))
		die(1, "cannot size the data ring buffer");
	set_rodata(skel, rb_bytes);

	err = wiretrace_bpf__load(skel);
	if (err)
		die(1,
		    "cannot load BPF programs: %s (set WIRETRACE_LOADER_DEBUG=1 for the verifier log)",
		    strerror(-err));
	fill_filters(skel);

	bpf_object__for_each_program(prog, skel->obj) {
		struct bpf_link *l;

		/* Uprobes go per TLS library (tls.c); exec events only feed TLS discovery. */
		if (bpf_program__type(prog) == BPF_PROG_TYPE_KPROBE)
			continue;
		if (!cfg.tls && prog == skel->progs.process_exec)
			continue;
		l = bpf_program__attach(prog);

		if (!l)
			die(1, "cannot attach %s (%s): %s", bpf_program__name(prog),
			    bpf_program__section_name(prog), strerror(errno));
		if (nlinks == (int)(sizeof(links) / sizeof(links[0])))
			die(1, "more programs than link slots");
		links[nlinks++] = l;
	}

	conn_rb = ring_buffer__new(bpf_map__fd(skel->maps.conn_rb), on_conn, NULL, NULL);
	data_rb = ring_buffer__new(bpf_map__fd(skel->maps.data_rb), on_data, NULL, NULL);
	proc_rb = ring_buffer__new(bpf_map__fd(skel->maps.proc_rb), on_exec, NULL, NULL);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (!conn_rb || !data_rb || !proc_rb || ep < 0)
		die(1, "cannot set up ring buffer polling: %s", strerror(errno));
	add_epoll(ep, ring_buffer__epoll_fd(conn_rb), EPOLLIN);
	add_epoll(ep, ring_buffer__epoll_fd(data_rb), EPOLLIN);
	/* exec notifications wake us at once: a new process's libraries should get probes quickly. */
	add_epoll(ep, ring_buffer__epoll_fd(proc_rb), EPOLLIN);
	/* The agent holds our stdin open; EOF there means it died without killing us. */
	if (is_pipe_or_socket(STDIN_FILENO))
		add_epoll(ep, STDIN_FILENO, EPOLLIN);
	/* Hangup on stdout is noticed even when no event is being written. */
	if (is_pipe_or_socket(STDOUT_FILENO))
		add_epoll(ep, STDOUT_FILENO, 0);

	write_preamble_and_hello();
	if (cfg.tls) {
		struct tls_programs tp = {
			.read_enter = skel->progs.ssl_read_enter,
			.read_exit = skel->progs.ssl_read_exit,
			.write_enter = skel->progs.ssl_write_enter,
			.write_exit = skel->progs.ssl_write_exit,
			.read_ex_enter = skel->progs.ssl_read_ex_enter,
			.read_ex_exit = skel->progs.ssl_read_ex_exit,
			.write_ex_enter = skel->progs.ssl_write_ex_enter,
			.write_ex_exit = skel->progs.ssl_write_ex_exit,
		};
		uint32_t self[2] = { getpid(), getppid() };

		/* Before "ready": processes already running have their TLS libraries probed by then. */
		tls_start(&tp, on_tls, self, 2, debug);
	}
	flush_out();
	fprintf(stderr, PROG ": ready: attached %d programs, max payload %u bytes, TLS probes %s (%d files)\n",
		nlinks, cfg.max_payload, cfg.tls ? "on" : "off", tls_attached_files());

	next_stats = now_ns(CLOCK_MONOTONIC) + cfg.stats_interval_ms * 1000000ull;
	while (!stop) {
		struct epoll_event evs[8];
		uint64_t now = now_ns(CLOCK_MONOTONIC);
		int timeout = POLL_MS, n;

		if (next_stats > now && (next_stats - now) / 1000000 < POLL_MS)
			timeout = (next_stats - now) / 1000000;
		else if (next_stats <= now)
			timeout = 0;
		n = epoll_wait(ep, evs, 8, timeout);
		for (int i = 0; i < n; i++) {
			if (evs[i].data.fd == STDIN_FILENO) {
				char buf[4096];
				ssize_t r = read(STDIN_FILENO, buf, sizeof(buf));

				if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN))
					stop = 1;
			} else if (evs[i].data.fd == STDOUT_FILENO) {
				out_closed = true;
				stop = 1;
			}
		}
		/* Producers skip wakeups, so consume on every tick, not only when woken. */
		drain(conn_rb, data_rb);
		now = now_ns(CLOCK_MONOTONIC);
		if (cfg.tls) {
			ring_buffer__consume(proc_rb);
			tls_tick(now / 1000000);
		}
		if (now >= next_stats) {
			write_stats(skel, ncpus);
			while (next_stats <= now)
				next_stats += cfg.stats_interval_ms * 1000000ull;
		}
		flush_out();
	}

	/* Detach first so the final drain and STATS see everything that got in. */
	for (int i = 0; i < nlinks; i++)
		bpf_link__destroy(links[i]);
	tls_stop();
	if (!out_closed) {
		drain(conn_rb, data_rb);
		write_stats(skel, ncpus);
		flush_out();
	}
	ring_buffer__free(conn_rb);
	ring_buffer__free(data_rb);
	ring_buffer__free(proc_rb);
	wiretrace_bpf__destroy(skel);
	free(obuf);
	return 0;
}
