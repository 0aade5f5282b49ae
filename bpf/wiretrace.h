/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The contract between the kernel programs, the loader and the agent.
 *
 * The same structs travel kernel -> ring buffer -> loader -> pipe -> agent
 * unchanged, so the loader only prefixes each sample with a record header and
 * never re-encodes it. docs/FRAMING.md describes the byte layout; the agent's
 * decoder (backend-agent/src/capture/framing.ts) mirrors it. Change either
 * only together, and bump WT_FRAMING_VERSION when the layout changes.
 *
 * All integers are little-endian (host order on the machines we support).
 * Ports are in host order. Addresses are 16 bytes: IPv6 as is, IPv4 in the
 * first 4 bytes with the rest zero (family tells which).
 */
#ifndef WIRETRACE_H
#define WIRETRACE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define WT_FRAMING_MAGIC "WTRC"
/*
 * 2 (TLS): DATA flag WT_DATA_F_TLS, syscall values 17..20 for the OpenSSL
 * probes, record type WT_REC_TLS. A v1 stream is a valid v2 stream, so v2
 * readers accept both; v1 readers refuse v2, whose TLS plaintext they would
 * mix with the same connection's ciphertext.
 */
#define WT_FRAMING_VERSION 2

/* Payload prefix limits. The default is what issue #2 asks as a minimum. */
#define WT_DEFAULT_MAX_PAYLOAD 4096
#define WT_MAX_PAYLOAD_LIMIT 16384

enum wt_record_type {
	WT_REC_HELLO = 1, /* loader -> agent, first record of a stream */
	WT_REC_CONN = 2,  /* connection opened (connect/accept) or closed */
	WT_REC_DATA = 3,  /* one data syscall on a TCP socket */
	WT_REC_STATS = 4, /* cumulative counters, periodically */
	WT_REC_TLS = 5,   /* TLS library probes attached/detached, processes whose TLS we cannot see */
	WT_REC_PROC_INFO = 6, /* who a process is, read from /proc when first seen (loader-made) */
};

/* Every record on the pipe starts with this header. len counts the header. */
struct wt_record_header {
	__u32 len;
	__u16 type;
	__u16 flags; /* reserved, 0 */
};

enum wt_direction {
	WT_DIR_UNKNOWN = 0,
	WT_DIR_EGRESS = 1,  /* this process sent the bytes (write/send...) */
	WT_DIR_INGRESS = 2, /* this process received the bytes (read/recv...) */
};

enum wt_role {
	WT_ROLE_UNKNOWN = 0, /* the handshake was not seen */
	WT_ROLE_CLIENT = 1,  /* this side called connect() */
	WT_ROLE_SERVER = 2,  /* this side accepted the connection */
};

enum wt_conn_kind {
	WT_CONN_OPEN = 1,
	WT_CONN_CLOSE = 2,
};

enum wt_syscall {
	WT_SYS_NONE = 0, /* CONN close with no syscall: process exit, or fd reused unseen */
	WT_SYS_READ = 1,
	WT_SYS_WRITE = 2,
	WT_SYS_READV = 3,
	WT_SYS_WRITEV = 4,
	WT_SYS_SENDTO = 5,
	WT_SYS_RECVFROM = 6,
	WT_SYS_SENDMSG = 7,
	WT_SYS_RECVMSG = 8,
	WT_SYS_SENDFILE = 9,
	WT_SYS_SPLICE = 10,
	WT_SYS_CONNECT = 11,
	WT_SYS_ACCEPT = 12,
	WT_SYS_ACCEPT4 = 13,
	WT_SYS_CLOSE = 14,
	WT_SYS_SENDMMSG = 15,
	WT_SYS_RECVMMSG = 16,
	/* Not syscalls: OpenSSL calls whose plaintext a uprobe captured (WT_DATA_F_TLS). */
	WT_SYS_SSL_READ = 17,
	WT_SYS_SSL_WRITE = 18,
	WT_SYS_SSL_READ_EX = 19,
	WT_SYS_SSL_WRITE_EX = 20,
};

/* Data event flags. */
#define WT_DATA_F_TRUNCATED (1u << 0) /* captured < ret: payload is a prefix */
/*
 * Plaintext from a TLS library probe, not bytes of a syscall. stream_pos then
 * counts plaintext bytes of that direction; the connection's ciphertext
 * syscalls are not reported once its TLS is seen (framing version 2).
 */
#define WT_DATA_F_TLS (1u << 1)

/* The socket, as seen from the traced process. */
struct wt_socket {
	__u16 family; /* AF_INET (2) or AF_INET6 (10) */
	__u16 lport;
	__u16 rport;
	__u16 pad;
	__u8 laddr[16];
	__u8 raddr[16];
};

/* WT_REC_HELLO payload (loader-made, not from the kernel). */
struct wt_hello {
	__s64 realtime_offset_ns; /* CLOCK_REALTIME - CLOCK_BOOTTIME at start */
	__u32 loader_pid;
	__u32 max_payload;
	__u32 ncpus;
	__u32 pad;
	char kernel_release[64];
};

/* WT_REC_CONN payload. 112 bytes. */
struct wt_conn_event {
	__u64 ts_ns; /* CLOCK_BOOTTIME (bpf_ktime_get_boot_ns) */
	__u64 conn_id; /* unique per connection for the loader's lifetime */
	__u64 cgroup_id;
	__u32 pid; /* tgid */
	__u32 tid;
	__s32 fd;
	__u8 kind; /* enum wt_conn_kind */
	__u8 role; /* enum wt_role */
	__u8 syscall; /* enum wt_syscall that produced it */
	__u8 pad;
	struct wt_socket sock;
	__u64 bytes_sent; /* on close: totals seen on this connection */
	__u64 bytes_recv;
	char comm[16];
};

/* WT_REC_DATA payload: this fixed part (128 bytes), then `captured` payload bytes. */
struct wt_data_event {
	__u64 ts_enter_ns; /* CLOCK_BOOTTIME at syscall entry */
	__u64 ts_exit_ns;  /* CLOCK_BOOTTIME at syscall exit */
	__u64 conn_id;
	__u64 cgroup_id;
	__u64 stream_pos; /* bytes already moved this direction on this conn */
	__s64 ret;        /* bytes the syscall moved (> 0) */
	__u32 pid;
	__u32 tid;
	__s32 fd;
	__u8 direction; /* enum wt_direction */
	__u8 role;      /* enum wt_role */
	__u8 syscall;   /* enum wt_syscall */
	__u8 pad;
	__u32 captured; /* payload bytes that follow (<= max payload) */
	__u32 flags;    /* WT_DATA_F_* */
	struct wt_socket sock;
	char comm[16];
	/* __u8 payload[captured]; */
};

/* WT_REC_STATS payload: a count, then `count` named cumulative counters. */
struct wt_stat_entry {
	char name[24]; /* NUL-padded, e.g. "drop_ringbuf_data" */
	__u64 value;
};

struct wt_stats_header {
	__u64 ts_ns;
	__u32 count;
	__u32 pad;
	/* struct wt_stat_entry entries[count]; */
};

enum wt_tls_kind {
	WT_TLS_LIB_ATTACHED = 1,    /* probes attached to a library/binary (dev, ino, path, probes) */
	WT_TLS_LIB_DETACHED = 2,    /* no process maps it any more: probes removed */
	WT_TLS_LIB_FAILED = 3,      /* it exports SSL_write but attaching failed (error = errno) */
	WT_TLS_PROC_UNOBSERVED = 4, /* pid runs a TLS stack we cannot probe (stack, path) */
	WT_TLS_PROC_GONE = 5,       /* a pid reported unobserved has exited */
};

enum wt_tls_stack {
	WT_TLS_STACK_UNKNOWN = 0,
	WT_TLS_STACK_OPENSSL = 1,        /* SSL_read/SSL_write found: probed */
	WT_TLS_STACK_GO = 2,             /* Go crypto/tls */
	WT_TLS_STACK_STATIC_OPENSSL = 3, /* OpenSSL/LibreSSL linked in, no symbols */
	WT_TLS_STACK_BORINGSSL = 4,      /* BoringSSL linked in, no symbols */
	WT_TLS_STACK_RUSTLS = 5,
	WT_TLS_STACK_GNUTLS = 6,
	WT_TLS_STACK_NSS = 7,
	WT_TLS_STACK_OTHER_LIB = 8, /* wolfSSL, mbed TLS */
};

/* WT_REC_TLS payload (loader-made). 288 bytes. */
struct wt_tls_event {
	__u64 dev; /* device and inode of the file (libraries: the probe target) */
	__u64 ino;
	__u32 pid;   /* process it was found in (0 for libraries attached at start) */
	__u8 kind;   /* enum wt_tls_kind */
	__u8 stack;  /* enum wt_tls_stack */
	__u16 probes; /* uprobes attached (LIB_ATTACHED) */
	__s32 error; /* errno (LIB_FAILED) */
	__u32 pad;
	char path[256]; /* as the process maps it, NUL-padded */
};

/*
 * WT_REC_PROC_INFO payload (loader-made): this fixed part (32 bytes), then the
 * strings, in the order of their lengths below, neither NUL-terminated nor
 * padded. Sent before the first CONN or DATA record of a process the loader
 * has not described yet, so a process that exits before the agent reads its
 * events is still named by what it was, not by its comm. Only the variables
 * the agent names services from are read out of the environment.
 */
#define WT_PROC_MAX_COMM 16
#define WT_PROC_MAX_PATH 512    /* exe, cwd */
#define WT_PROC_MAX_CGROUP 512
#define WT_PROC_MAX_ENV_VALUE 256
#define WT_PROC_MAX_CMDLINE 1024

#define WT_PROC_F_ENVIRON (1u << 0)     /* environ was readable: a missing variable is unset */
#define WT_PROC_F_CMDLINE_CUT (1u << 1) /* cmdline is a prefix of a longer one */

struct wt_proc_info {
	__u64 start_time; /* /proc/PID/stat field 22 (clock ticks after boot); 0 unknown */
	__u32 pid;        /* tgid */
	__u16 flags;      /* WT_PROC_F_* */
	__u16 pad;
	__u16 comm_len;   /* /proc/PID/comm, newline dropped */
	__u16 exe_len;    /* readlink /proc/PID/exe */
	__u16 cwd_len;    /* readlink /proc/PID/cwd */
	__u16 cgroup_len; /* /proc/PID/cgroup (a prefix) */
	__u16 otel_service_name_len; /* OTEL_SERVICE_NAME's value */
	__u16 service_name_len;      /* SERVICE_NAME's value */
	__u16 cmdline_len; /* /proc/PID/cmdline, NUL-separated (a prefix) */
	__u16 pad2;
	/* char strings[]; */
};

#endif /* WIRETRACE_H */
