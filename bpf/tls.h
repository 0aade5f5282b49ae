/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * TLS library discovery for the loader (tls.c): finds files that export
 * OpenSSL's SSL_read/SSL_write in the processes of this host, attaches the
 * uprobe programs to each distinct file (inode) once, detaches them when no
 * process maps the file any more, and reports processes whose TLS stack cannot
 * be probed. bpf/README.md ("TLS") describes the design.
 */
#ifndef WIRETRACE_TLS_H
#define WIRETRACE_TLS_H

#include <stdbool.h>
#include <stdint.h>
#include "wiretrace.h"

struct bpf_program;

/* Entry and return programs for the four OpenSSL calls. */
struct tls_programs {
	struct bpf_program *read_enter, *read_exit;
	struct bpf_program *write_enter, *write_exit;
	struct bpf_program *read_ex_enter, *read_ex_exit;
	struct bpf_program *write_ex_enter, *write_ex_exit;
};

typedef void (*tls_emit_fn)(const struct wt_tls_event *e);

/*
 * Attaches the system's libssl (kept for the loader's life), then scans every
 * process once. Processes in skip (the loader, the agent) are not scanned.
 */
void tls_start(const struct tls_programs *progs, tls_emit_fn emit, const uint32_t *skip, int nskip,
	       bool debug);
/* A process exec'd: scan it now and twice more shortly (ld.so maps libraries after exec). */
void tls_on_exec(uint32_t pid, uint64_t now_ms);
/* Due rescans, and every few seconds a full scan that detaches unused libraries. */
void tls_tick(uint64_t now_ms);
/* Number of files with probes attached. */
int tls_attached_files(void);
void tls_stop(void);

#endif
