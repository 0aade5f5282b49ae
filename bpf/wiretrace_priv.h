/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Shared between wiretrace.bpf.c and loader.c only; nothing here goes on the
 * pipe (that is wiretrace.h). Counter names live in loader.c and bpf/README.md.
 */
#ifndef WIRETRACE_PRIV_H
#define WIRETRACE_PRIV_H

/* Index into the per-CPU `counters` array. Append only: names follow the order. */
enum wt_counter {
	WT_C_DATA_EVENTS,
	WT_C_CONN_OPEN,
	WT_C_CONN_CLOSE,
	WT_C_DROP_DATA,
	WT_C_DROP_CONN,
	WT_C_TRUNC_EVENTS,
	WT_C_TRUNC_BYTES,
	WT_C_DATA_BYTES,
	WT_C_CAPTURED_BYTES,
	WT_C_FILTER_PID,
	WT_C_FILTER_CGROUP,
	WT_C_FILTER_PORT,
	WT_C_CONN_MAP_FULL,
	WT_C_ARGS_MAP_FULL,
	WT_C_READ_USER_FAIL,
	WT_C_SKIP_PEEK,
	WT_C_CONN_GONE,
	WT_C_FD_REUSED,
	WT_C_CLOSED_ON_EXIT,
	WT_C_TLS_EVENTS,      /* DATA records of TLS plaintext */
	WT_C_TLS_CIPHER_SKIP, /* syscalls on TLS connections not reported (ciphertext) */
	WT_C_TLS_NO_CONN,     /* TLS plaintext dropped: its socket could not be told */
	WT_C_TLS_MAP_FULL,    /* TLS calls not followed: per-thread map insert failed */
	WT_C_EXEC_EVENTS,     /* exec notifications sent to the loader (TLS discovery) */
	WT_C_COUNT
};

/* Bits of a port_filter entry. */
#define WT_PORT_ALLOW 1
#define WT_PORT_DENY 2

#define WT_CONN_MAP_SIZE 65536
#define WT_MAX_IOV 16

/* Loader-internal ring record: a process exec'd (TLS discovery scans it). */
struct wt_exec_event {
	__u32 pid;
	__u32 pad;
};

#endif
