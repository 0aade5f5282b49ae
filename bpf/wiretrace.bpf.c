// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Kernel half of wiretrace: syscall tracepoints that turn TCP socket traffic
 * into CONN and DATA records (bpf/wiretrace.h). Only syscall tracepoints are
 * used for capture because kprobes and fentry are not available everywhere we
 * run; see bpf/README.md for what that costs.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "wiretrace.h"
#include "wiretrace_priv.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define AF_INET 2
#define AF_INET6 10
#define SOCK_STREAM 1
#define IPPROTO_TCP 6
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define MSG_PEEK 0x2
#define MSG_TRUNC 0x20
#define EINPROGRESS 115

/* Set by the loader before load; the verifier prunes the disabled filters. */
const volatile __u32 cfg_max_payload = WT_DEFAULT_MAX_PAYLOAD;
const volatile __u64 cfg_data_wakeup_bytes = 1 << 20;
const volatile __u64 cfg_conn_wakeup_bytes = 64 << 10;
const volatile bool cfg_pid_allow = false;
const volatile bool cfg_cgroup_allow = false;
const volatile bool cfg_port_allow = false;
/* TLS plaintext probes and exec notifications (the loader's --tls). */
const volatile bool cfg_tls = true;

__u64 next_conn_id = 0;

/* The user ABI structs, spelled out so no CO-RE relocation touches them. */
struct wt_iovec {
	__u64 base;
	__u64 len;
};

struct wt_msghdr {
	__u64 name;
	__u32 namelen;
	__u32 pad;
	__u64 iov;
	__u64 iovlen;
	__u64 control;
	__u64 controllen;
	__u32 flags;
};

struct conn_key {
	__u32 tgid;
	__s32 fd;
};

enum conn_kind {
	KIND_TCP = 1,
	KIND_IGNORED = 2, /* a socket, but not TCP over IP: remembered so we look once */
};

struct conn_val {
	__u64 conn_id;
	__u64 file;   /* identity of the open file: a reused fd has another one */
	__u64 pos[2]; /* bytes moved so far: [0] egress, [1] ingress */
	struct wt_socket sock;
	__u8 kind;
	__u8 role;
	__u8 filtered; /* rejected by the port filter */
	__u8 tls;      /* its plaintext comes from TLS probes: ciphertext syscalls are not reported */
	__u8 pad[4];
	__u64 tls_pos[2]; /* plaintext bytes reported so far: [0] egress, [1] ingress */
};

struct call_args {
	__u64 ts;
	__u64 buf;     /* buffer, or iovec array for the vector calls */
	__u64 conn_id;
	__u32 iovcnt;
	__s32 fd;
	__u8 sys;
	__u8 vec;
	__u8 nopayload;
	__u8 tls;      /* TLS plaintext (DATA flag WT_DATA_F_TLS) */
	__u8 tls_rx;   /* a receive tls_rxs remembers: check its bytes at exit */
	__u8 rx_only;  /* saved only for that check: the call is not reported */
	__u8 pad[2];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20); /* resized by the loader */
} data_rb SEC(".maps");

/* Separate and small so a flood of data never costs a lifecycle event. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} conn_rb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, WT_C_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64); /* pid_tgid */
	__type(value, struct call_args);
} args SEC(".maps");

/* LRU so that fds we never see closed (exit, dup2, exec) age out by themselves. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, WT_CONN_MAP_SIZE);
	__type(key, struct conn_key);
	__type(value, struct conn_val);
} conns SEC(".maps");

/* tgid -> live reported connections, so process exit scans only when needed. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u64);
} proc_conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} pid_allow SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} pid_deny SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u64);
	__type(value, __u8);
} cgroup_allow SEC(".maps");

/* Indexed by port: an array lookup is cheaper than a hash on every new socket. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
} port_filter SEC(".maps");

/*
 * TLS (OpenSSL uprobes). An SSL_* call in progress, per thread: entry saves
 * the SSL*, the buffer and what is known of its socket; a socket syscall the
 * library makes inside the call (on the same thread) tells the fd exactly.
 */
struct tls_call {
	__u64 ssl;
	__u64 buf;
	__u64 len_ptr; /* _ex variants: size_t *readbytes / *written */
	__u64 ts;
	__u64 conn_id; /* 0 until known */
	__s32 fd;      /* -1 until known */
	__u8 sys;      /* WT_SYS_SSL_* */
	__u8 trust;    /* enum ssl_trust of what fd came from */
	__u8 pad[2];
};

/*
 * LRU: a thread that dies inside an SSL call, or a return probe detached
 * while a call is in flight, leaves its entry behind; a plain hash would fill
 * up with those and switch TLS capture off for good.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64); /* pid_tgid */
	__type(value, struct tls_call);
} tls_calls SEC(".maps");

struct ssl_key {
	__u64 ssl;
	__u32 tgid;
	__u32 pad;
};

/*
 * SSL* -> socket, remembered for the calls that make no syscall: a read served
 * from OpenSSL's buffer, or libraries on memory BIOs (node) that move the
 * ciphertext themselves. conn_id detects an SSL* address reused for another
 * connection after its socket closed.
 */
enum ssl_trust {
	TRUST_GUESS = 0, /* from the read before an SSL call that produced nothing yet */
	TRUST_SEEN = 1,  /* from the read that fed an SSL_read which returned plaintext */
	TRUST_EXACT = 2, /* from a syscall inside an SSL call: never overridden by a guess */
};

struct ssl_sock {
	__u64 conn_id;
	__s32 fd;
	__u8 trust; /* enum ssl_trust */
	__u8 pad[3];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, WT_CONN_MAP_SIZE);
	__type(key, struct ssl_key);
	__type(value, struct ssl_sock);
} ssl_socks SEC(".maps");

/*
 * The last socket a TLS-using thread received from, not yet consumed by an
 * SSL_read. Libraries on memory BIOs (node's TLSWrap) read the socket, then
 * call SSL_read on the same thread at once: that read names the SSL*'s socket.
 * Only threads that called SSL_read have an entry, so other reads pay one
 * failed lookup.
 */
struct tls_rx {
	__u64 ts;      /* when the read returned bytes that look like TLS */
	__u64 conn_id;
	__s32 fd;
	__u8 fresh;
	__u8 looks_tls; /* set at the read's exit, from the bytes it just copied */
	__u8 pad[2];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64); /* pid_tgid */
	__type(value, struct tls_rx);
} tls_rxs SEC(".maps");

/* exec notifications for the loader's TLS library discovery (not forwarded). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 << 10);
} proc_rb SEC(".maps");

/* Hides a value from clang so it keeps the bound checks the verifier needs. */
#define OPAQUE(x) asm volatile("" : "+r"(x))

static __always_inline void count(__u32 idx, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &idx);

	/* Atomic: syscall tracepoints may be preempted, even on one CPU. */
	if (v)
		__sync_fetch_and_add(v, n);
}

static __always_inline __u64 wakeup_flags(void *rb, __u64 threshold)
{
	/* Wake the loader only when a backlog builds; it polls on a short timer. */
	return bpf_ringbuf_query(rb, BPF_RB_AVAIL_DATA) >= threshold ? BPF_RB_FORCE_WAKEUP
								     : BPF_RB_NO_WAKEUP;
}

/* 0 when the current process may be traced, else the counter to blame. */
static __always_inline int proc_rejected(__u32 tgid)
{
	if (bpf_map_lookup_elem(&pid_deny, &tgid))
		return WT_C_FILTER_PID;
	if (cfg_pid_allow && !bpf_map_lookup_elem(&pid_allow, &tgid))
		return WT_C_FILTER_PID;
	if (cfg_cgroup_allow) {
		__u64 cg = bpf_get_current_cgroup_id();

		if (!bpf_map_lookup_elem(&cgroup_allow, &cg))
			return WT_C_FILTER_CGROUP;
	}
	return 0;
}

static __always_inline struct file *fd_file(int fd)
{
	/* BTF pointer walks compile to plain guarded loads, far cheaper than helpers. */
	struct task_struct *task = bpf_get_current_task_btf();
	struct files_struct *files = task->files;
	struct fdtable *fdt;
	struct file **fds;
	struct file *f = NULL;

	if (!files)
		return NULL;
	fdt = files->fdt;
	if (!fdt || fd < 0 || (unsigned int)fd >= fdt->max_fds)
		return NULL;
	fds = fdt->fd;
	if (!fds || bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]))
		return NULL;
	return f;
}

/* The cheap test that keeps files and pipes (the hot case) out of every map. */
static __always_inline bool is_socket_file(struct file *f)
{
	umode_t mode = BPF_CORE_READ(f, f_inode, i_mode);

	return (mode & S_IFMT) == S_IFSOCK;
}

static __always_inline bool port_rejected(__u16 lport, __u16 rport)
{
	__u32 a = lport, b = rport;
	__u8 *fa = bpf_map_lookup_elem(&port_filter, &a);
	__u8 *fb = bpf_map_lookup_elem(&port_filter, &b);
	__u8 bits = (fa ? *fa : 0) | (fb ? *fb : 0);

	if (bits & WT_PORT_DENY)
		return true;
	return cfg_port_allow && !(bits & WT_PORT_ALLOW);
}

/*
 * Fills *out from the socket behind f. Returns KIND_TCP, KIND_IGNORED for
 * other sockets, 0 when f is not a socket after all.
 */
static __noinline int resolve_socket(struct file *f, struct wt_socket *out)
{
	struct socket *sock = BPF_CORE_READ(f, private_data);
	struct sock *sk;
	__u16 family, proto;

	if (!sock || (__u64)BPF_CORE_READ(sock, file) != (__u64)f)
		return 0;
	if (BPF_CORE_READ(sock, type) != SOCK_STREAM)
		return KIND_IGNORED;
	sk = BPF_CORE_READ(sock, sk);
	if (!sk)
		return KIND_IGNORED;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	proto = BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol);
	if (proto != IPPROTO_TCP || (family != AF_INET && family != AF_INET6))
		return KIND_IGNORED;

	__builtin_memset(out, 0, sizeof(*out));
	out->lport = BPF_CORE_READ(sk, __sk_common.skc_num);
	out->rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (family == AF_INET) {
		out->family = AF_INET;
		bpf_core_read(out->laddr, 4, &sk->__sk_common.skc_rcv_saddr);
		bpf_core_read(out->raddr, 4, &sk->__sk_common.skc_daddr);
		return KIND_TCP;
	}
	bpf_core_read(out->laddr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
	bpf_core_read(out->raddr, 16, &sk->__sk_common.skc_v6_daddr);
	out->family = AF_INET6;

	/* A dual-stack socket talking IPv4: the agent should see plain IPv4. */
	__u32 *l = (__u32 *)out->laddr, *r = (__u32 *)out->raddr;
	if (l[0] == 0 && l[1] == 0 && l[2] == bpf_htonl(0xffff) && r[0] == 0 && r[1] == 0 &&
	    r[2] == bpf_htonl(0xffff)) {
		l[0] = l[3];
		r[0] = r[3];
		l[2] = l[3] = r[2] = r[3] = 0;
		out->family = AF_INET;
	}
	return KIND_TCP;
}

static __always_inline void emit_conn(struct conn_val *c, __u8 kind, __u8 sys, int fd)
{
	struct wt_conn_event *e;
	__u64 id = bpf_get_current_pid_tgid();

	e = bpf_ringbuf_reserve(&conn_rb, sizeof(*e), 0);
	if (!e) {
		count(WT_C_DROP_CONN, 1);
		return;
	}
	e->ts_ns = bpf_ktime_get_boot_ns();
	e->conn_id = c->conn_id;
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->fd = fd;
	e->kind = kind;
	e->role = c->role;
	e->syscall = sys;
	e->pad = 0;
	__builtin_memcpy(&e->sock, &c->sock, sizeof(e->sock));
	e->bytes_sent = c->pos[0];
	e->bytes_recv = c->pos[1];
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	count(kind == WT_CONN_OPEN ? WT_C_CONN_OPEN : WT_C_CONN_CLOSE, 1);
	bpf_ringbuf_submit(e, wakeup_flags(&conn_rb, cfg_conn_wakeup_bytes));
}

static __always_inline bool reported(struct conn_val *c)
{
	return c->kind == KIND_TCP && !c->filtered;
}

static __always_inline void proc_conns_add(__u32 tgid, __s64 d)
{
	__u64 *n = bpf_map_lookup_elem(&proc_conns, &tgid);

	if (n) {
		__sync_fetch_and_add(n, d);
	} else if (d > 0) {
		__u64 one = 1;

		bpf_map_update_elem(&proc_conns, &tgid, &one, BPF_NOEXIST);
	}
}

/* The fd now names something else: the old connection ended unseen. */
static __noinline void retire(struct conn_key *k, struct conn_val *old)
{
	if (reported(old)) {
		count(WT_C_FD_REUSED, 1);
		emit_conn(old, WT_CONN_CLOSE, WT_SYS_NONE, k->fd);
		proc_conns_add(k->tgid, -1);
	}
	bpf_map_delete_elem(&conns, k);
}

static __noinline struct conn_val *track(struct conn_key *k, struct file *f, __u8 role, __u8 sys)
{
	struct conn_val v = {};
	int kind = resolve_socket(f, &v.sock);

	if (!kind)
		return NULL;
	v.kind = kind;
	v.role = role;
	v.file = (__u64)f;
	if (kind == KIND_TCP) {
		v.conn_id = __sync_fetch_and_add(&next_conn_id, 1) + 1;
		v.filtered = port_rejected(v.sock.lport, v.sock.rport);
	}
	if (bpf_map_update_elem(&conns, k, &v, BPF_ANY)) {
		count(WT_C_CONN_MAP_FULL, 1);
		return NULL;
	}
	if (reported(&v)) {
		emit_conn(&v, WT_CONN_OPEN, sys, k->fd);
		proc_conns_add(k->tgid, 1);
	}
	return bpf_map_lookup_elem(&conns, k);
}

/* ---- data calls ---- */

enum buf_kind {
	BUF_PLAIN,  /* buf is the data */
	BUF_IOV,    /* buf is an iovec array of n entries */
	BUF_MSGHDR, /* buf is a user_msghdr */
	BUF_NONE,   /* no user buffer (sendfile) */
};

static __always_inline bool is_receive(__u8 sys)
{
	return sys == WT_SYS_READ || sys == WT_SYS_READV || sys == WT_SYS_RECVFROM ||
	       sys == WT_SYS_RECVMSG;
}

#define TLS_SKIP 1 /* ciphertext of a connection whose plaintext the probes report */
#define TLS_RX 2   /* a receive remembered in tls_rxs: its bytes are checked at exit */

/*
 * A data syscall on a TCP socket, seen by the TLS side: inside an SSL call it
 * names that call's socket; on a TLS-using thread a receive is remembered for
 * the next SSL_read. Returns TLS_SKIP when the call must not be reported,
 * TLS_RX when its exit must check the bytes received.
 */
static __noinline int tls_saw_socket(__u64 id, int fd, struct conn_val *c, __u8 sys)
{
	struct tls_call *tc = bpf_map_lookup_elem(&tls_calls, &id);
	int res = 0;

	if (tc) {
		struct ssl_key sk = { .ssl = tc->ssl, .tgid = id >> 32 };
		struct ssl_sock ss = { .conn_id = c->conn_id, .fd = fd, .trust = TRUST_EXACT };

		tc->fd = fd;
		tc->conn_id = c->conn_id;
		tc->trust = TRUST_EXACT;
		if (!c->filtered)
			c->tls = 1;
		bpf_map_update_elem(&ssl_socks, &sk, &ss, BPF_ANY);
	}
	if (is_receive(sys)) {
		struct tls_rx *rx = bpf_map_lookup_elem(&tls_rxs, &id);

		if (rx) {
			/* Replaces the older read at once; not a guess until the exit saw a TLS record. */
			rx->conn_id = c->conn_id;
			rx->fd = fd;
			rx->fresh = 1;
			rx->looks_tls = 0;
			res = TLS_RX;
		}
	}
	if (c->tls && !c->filtered) {
		count(WT_C_TLS_CIPHER_SKIP, 1);
		res |= TLS_SKIP;
	}
	return res;
}

/*
 * At a remembered receive's exit, while the bytes are fresh (a shared read
 * buffer such as node's slab may hold another socket's bytes by the time of
 * the SSL call): only a read that starts like a TLS record (content type
 * 20..23, major version 3) can have fed an SSL call. A read from a plain
 * socket of the same thread (a proxy's downstream side) would otherwise be
 * taken for the SSL*'s socket.
 */
static __noinline void tls_rx_check(__u64 id, struct call_args *a, __s64 ret)
{
	struct tls_rx *rx = bpf_map_lookup_elem(&tls_rxs, &id);
	__u64 p = a->buf;
	__u8 hdr[2];

	if (!rx || !rx->fresh || rx->conn_id != a->conn_id || ret < (__s64)sizeof(hdr))
		return;
	if (a->vec) {
		struct wt_iovec iov;

		if (!a->iovcnt || bpf_probe_read_user(&iov, sizeof(iov), (void *)p) ||
		    iov.len < sizeof(hdr))
			return;
		p = iov.base;
	}
	if (!p || bpf_probe_read_user(hdr, sizeof(hdr), (void *)p))
		return;
	if (hdr[0] >= 20 && hdr[0] <= 23 && hdr[1] == 3) {
		/* From the return: a blocking read may have waited long for its bytes. */
		rx->ts = bpf_ktime_get_boot_ns();
		rx->looks_tls = 1;
	}
}

static __always_inline int data_enter(int fd, __u8 sys, __u64 buf, __u64 n, int kind, __u64 flags)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct conn_key k = { .tgid = id >> 32, .fd = fd };
	struct file *f = fd_file(fd);
	struct conn_val *c;
	int rej;

	/* Socket test first: most calls are on files and pipes and stop here. */
	if (!f || !is_socket_file(f))
		return 0;
	rej = proc_rejected(k.tgid);
	if (rej) {
		count(rej, 1);
		return 0;
	}
	c = bpf_map_lookup_elem(&conns, &k);
	if (c && c->file != (__u64)f) {
		retire(&k, c);
		c = NULL;
	}
	if (!c)
		c = track(&k, f, WT_ROLE_UNKNOWN, sys);
	if (!c || c->kind != KIND_TCP)
		return 0;
	/* Before the port filter: an SSL call on a filtered socket must be known as such, not unattributed. */
	int tls = cfg_tls ? tls_saw_socket(id, fd, c, sys) : 0;
	bool rx_only = false;

	if (tls & TLS_SKIP) {
		rx_only = true;
	} else if (c->filtered) {
		count(WT_C_FILTER_PORT, 1);
		rx_only = true;
	} else if (flags & MSG_PEEK) {
		/* Peeked bytes are read again later; reporting both would double them. */
		count(WT_C_SKIP_PEEK, 1);
		rx_only = true;
	}
	/* Not reported, but a remembered receive still needs its exit to look at the bytes. */
	if (rx_only && !(tls & TLS_RX))
		return 0;

	struct call_args a = {
		.ts = bpf_ktime_get_boot_ns(),
		.buf = buf,
		.conn_id = c->conn_id,
		.fd = fd,
		.sys = sys,
		.vec = kind == BUF_IOV || kind == BUF_MSGHDR,
		/* MSG_TRUNC on TCP discards the bytes instead of copying them. */
		.nopayload = kind == BUF_NONE || (flags & MSG_TRUNC),
		.tls_rx = !!(tls & TLS_RX),
		.rx_only = rx_only,
	};
	if (kind == BUF_MSGHDR) {
		struct wt_msghdr m;

		if (bpf_probe_read_user(&m, sizeof(m), (void *)buf)) {
			count(WT_C_READ_USER_FAIL, 1);
			m.iov = 0;
			m.iovlen = 0;
		}
		a.buf = m.iov;
		n = m.iovlen;
	}
	if (a.vec)
		a.iovcnt = n > WT_MAX_IOV ? WT_MAX_IOV : n;
	if (bpf_map_update_elem(&args, &id, &a, BPF_ANY))
		count(WT_C_ARGS_MAP_FULL, 1);
	return 0;
}

/* Copies the payload prefix; N is the size class (a constant after inlining). */
static __always_inline __u32 copy_plain(void *dst, __u64 src, __u32 want, const __u32 N)
{
	OPAQUE(want);
	if (want > N)
		want = N;
	if (bpf_probe_read_user(dst, want, (void *)src)) {
		count(WT_C_READ_USER_FAIL, 1);
		return 0;
	}
	return want;
}

/*
 * Vector calls fill the iovecs in order, so the prefix is their concatenation.
 * The verifier cannot relate off and len, so the reservation has N bytes of
 * slack past the payload for it; at run time off + len <= want <= N.
 */
static __always_inline __u32 copy_vec(void *dst, __u64 iovp, __u32 iovcnt, __u32 want,
				      const __u32 N)
{
	__u32 off = 0;

	for (int i = 0; i < WT_MAX_IOV; i++) {
		struct wt_iovec iov;
		__u64 len;

		if (i >= iovcnt || off >= want)
			break;
		if (bpf_probe_read_user(&iov, sizeof(iov), (void *)(iovp + i * sizeof(iov)))) {
			count(WT_C_READ_USER_FAIL, 1);
			break;
		}
		len = iov.len;
		if (len > want - off)
			len = want - off;
		OPAQUE(off);
		OPAQUE(len);
		if (off >= N || len > N)
			break;
		if (bpf_probe_read_user(dst + off, len, (void *)iov.base)) {
			count(WT_C_READ_USER_FAIL, 1);
			break;
		}
		off += len;
	}
	return off;
}

static __always_inline void fill_data(struct wt_data_event *e, struct call_args *a,
				      struct conn_val *c, __u64 id, __s64 ret, __u64 pos, __u8 dir)
{
	e->ts_enter_ns = a->ts;
	e->ts_exit_ns = bpf_ktime_get_boot_ns();
	e->conn_id = c->conn_id;
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->stream_pos = pos;
	e->ret = ret;
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->fd = a->fd;
	e->direction = dir;
	e->role = c->role;
	e->syscall = a->sys;
	e->pad = 0;
	__builtin_memcpy(&e->sock, &c->sock, sizeof(e->sock));
	bpf_get_current_comm(e->comm, sizeof(e->comm));
}

static __always_inline void finish_data(struct wt_data_event *e, __s64 ret, __u32 got, __u8 tls)
{
	e->captured = got;
	e->flags = (got < ret ? WT_DATA_F_TRUNCATED : 0) | (tls ? WT_DATA_F_TLS : 0);
	count(WT_C_DATA_EVENTS, 1);
	if (tls)
		count(WT_C_TLS_EVENTS, 1);
	count(WT_C_DATA_BYTES, ret);
	count(WT_C_CAPTURED_BYTES, got);
	if (got < ret) {
		count(WT_C_TRUNC_EVENTS, 1);
		count(WT_C_TRUNC_BYTES, ret - got);
	}
	bpf_ringbuf_submit(e, wakeup_flags(&data_rb, cfg_data_wakeup_bytes));
}

#define EMIT_CLASS(N, VEC)                                                                  \
	do {                                                                                \
		struct wt_data_event *e =                                                   \
			bpf_ringbuf_reserve(&data_rb, sizeof(*e) + (VEC ? 2 * (N) : (N)), 0); \
		__u32 got;                                                                  \
		if (!e) {                                                                   \
			count(WT_C_DROP_DATA, 1);                                           \
			return 0;                                                           \
		}                                                                           \
		fill_data(e, a, c, id, ret, pos, dir);                                      \
		if (VEC)                                                                    \
			got = copy_vec(e + 1, a->buf, a->iovcnt, want, N);                  \
		else                                                                        \
			got = copy_plain(e + 1, a->buf, want, N);                           \
		finish_data(e, ret, got, a->tls);                                           \
		return 0;                                                                   \
	} while (0)

static __noinline int emit_data(struct call_args *a, struct conn_val *c, __s64 ret, __u64 pos,
				__u8 dir)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 max = cfg_max_payload;
	__u32 want = ret < max ? ret : max;

	if (a->nopayload)
		want = 0;
	if (a->vec) {
		if (want <= 256)
			EMIT_CLASS(256, 1);
		if (want <= 1024)
			EMIT_CLASS(1024, 1);
		if (want <= 4096)
			EMIT_CLASS(4096, 1);
		EMIT_CLASS(WT_MAX_PAYLOAD_LIMIT, 1);
	}
	if (want <= 256)
		EMIT_CLASS(256, 0);
	if (want <= 1024)
		EMIT_CLASS(1024, 0);
	if (want <= 4096)
		EMIT_CLASS(4096, 0);
	EMIT_CLASS(WT_MAX_PAYLOAD_LIMIT, 0);
}

static __always_inline int data_exit(struct trace_event_raw_sys_exit *ctx, __u8 sys, __u8 dir)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct call_args *ap = bpf_map_lookup_elem(&args, &id);
	struct call_args a;
	struct conn_val *c;
	__s64 ret;
	__u64 pos;

	if (!ap)
		return 0;
	a = *ap;
	bpf_map_delete_elem(&args, &id);
	/* A leftover from a call whose exit we missed belongs to another syscall. */
	if (a.sys != sys)
		return 0;
	ret = ctx->ret;
	if (ret <= 0)
		return 0;
	if (a.tls_rx) {
		tls_rx_check(id, &a, ret);
		if (a.rx_only)
			return 0;
	}

	struct conn_key k = { .tgid = id >> 32, .fd = a.fd };
	c = bpf_map_lookup_elem(&conns, &k);
	if (!c || c->conn_id != a.conn_id) {
		count(WT_C_CONN_GONE, 1);
		return 0;
	}
	if (dir == WT_DIR_EGRESS)
		pos = __sync_fetch_and_add(&c->pos[0], ret);
	else
		pos = __sync_fetch_and_add(&c->pos[1], ret);
	return emit_data(&a, c, ret, pos, dir);
}

#define ARG(i) (ctx->args[i])

SEC("tracepoint/syscalls/sys_enter_read")
int enter_read(struct trace_event_raw_sys_enter *ctx)
{
	return data_enter(ARG(0), WT_SYS_READ, ARG(1), 0, BUF_PLAIN, 0);
}

SEC("tracepoint/syscalls/sys_exit_read")
int exit_read(struct trace_event_raw_sys_exit *ctx)
{
	return data_exit(ctx, WT_SYS_READ, WT_DIR_INGRESS);
}

SEC("tracepoint/syscalls/sys_enter_write")
int enter_write(struct trace_event_raw_sys_enter *ctx)
{
	return data_enter(ARG(0), WT_SYS_WRITE, ARG(1), 0, BUF_PLAIN, 0);
}

SEC("tracepoint/syscalls/sys_exit_write")
int exit_write(struct trace_event_raw_sys_exit *ctx)
{
	return data_exit(ctx, WT_SYS_WRITE, WT_DIR_EGRESS);
}

SEC("tracepoint/syscalls/sys_enter_readv")
int enter_readv(struct trace_event_raw_sys_enter *ctx)
{
	return data_enter(ARG(0), WT_SYS_READV, ARG(1), ARG(2), BUF_IOV, 0);
}

SEC("tracepoint/syscalls/sys_exit_readv")
int exit_readv(struct trace_event_raw_sys_exit *ctx)
{
	return data_exit(ctx, WT_SYS_READV, WT_DIR_INGRESS);
}

SEC("tracepoint/syscalls/sys_enter_writev")
int enter_writev(struct trace_event_raw_sys_enter *ctx)
{
	return data_enter(ARG(0), WT_SYS_WRITEV, ARG(1), ARG(2), BUF_IOV, 0);
}

SEC("tracepoint/syscalls/sys_exit_writev")
int exit_writev(struct trace_event_raw_sys_exit *ctx)
{
	return data_exit(ctx, WT_SYS_WRITEV, WT_DIR_EGRESS);
}

SEC("tracepoint/syscalls/sys_enter_sendto")
int enter_sendto(struct trace_event_raw_sys_enter *ctx)
{
	return data_enter(ARG(0), WT_SYS_SENDTO, ARG(1), 0, BUF_PLAIN, 0);
}

SEC("tracepoint/syscalls/sys_exit_sendto")
int exit_sendto(struct trace_event_raw_sys_exit *ctx)
{
	return data_exit(ctx, WT_SYS_SENDTO, WT_DIR_EGRESS);
}

SEC("tracepoint/syscalls/sys_enter_recvfrom")
int enter_recvfrom(struct trace_event_raw_sys_enter *ctx)
{
	return data_enter(ARG(0), WT_SYS_RECVFROM, ARG(1), 0, BUF_PLAIN, ARG(3));
}

SEC("tracepoint/syscalls/sys_exit_recvfrom")
int exit_recvfrom(struct trace_event_raw_sys_exit *ctx)
{
	return data_exit(ctx, WT_SYS_RECVFROM, WT_DIR_INGRESS);
}

SEC("tracepoint/syscalls/sys_enter_sendmsg")
int enter_sendmsg(struct trace_event_raw_sys_enter *ctx)
{
	return data_enter(ARG(0), WT_SYS_SENDMSG, ARG(1), 0, BUF_MSGHDR, 0);
}

SEC("tracepoint/syscalls/sys_exit_sendmsg")
int exit_sendmsg(struct trace_event_raw_sys_exit *ctx)
{
	return data_exit(ctx, WT_SYS_SENDMSG, WT_DIR_EGRESS);
}

SEC("tracepoint/syscalls/sys_enter_recvmsg")
int enter_recvmsg(struct trace_event_raw_sys_enter *ctx)
{
	return data_enter(ARG(0), WT_SYS_RECVMSG, ARG(1), 0, BUF_MSGHDR, ARG(2));
}

SEC("tracepoint/syscalls/sys_exit_recvmsg")
int exit_recvmsg(struct trace_event_raw_sys_exit *ctx)
{
	return data_exit(ctx, WT_SYS_RECVMSG, WT_DIR_INGRESS);
}

/* The bytes come from a file in the kernel: only their count is visible here. */
SEC("tracepoint/syscalls/sys_enter_sendfile64")
int enter_sendfile(struct trace_event_raw_sys_enter *ctx)
{
	return data_enter(ARG(0), WT_SYS_SENDFILE, 0, 0, BUF_NONE, 0);
}

SEC("tracepoint/syscalls/sys_exit_sendfile64")
int exit_sendfile(struct trace_event_raw_sys_exit *ctx)
{
	return data_exit(ctx, WT_SYS_SENDFILE, WT_DIR_EGRESS);
}

/* ---- connection lifecycle ---- */

static __always_inline int save_lifecycle(int fd, __u8 sys)
{
	__u64 id = bpf_get_current_pid_tgid();
	int rej = proc_rejected(id >> 32);
	struct call_args a = { .ts = bpf_ktime_get_boot_ns(), .fd = fd, .sys = sys };

	if (rej) {
		count(rej, 1);
		return 0;
	}
	if (bpf_map_update_elem(&args, &id, &a, BPF_ANY))
		count(WT_C_ARGS_MAP_FULL, 1);
	return 0;
}

/* Returns the saved fd for sys, or -1 when the call is not ours to report. */
static __always_inline int pop_lifecycle(__u8 sys, __u64 id)
{
	struct call_args *ap = bpf_map_lookup_elem(&args, &id);
	int fd;

	if (!ap)
		return -1;
	fd = ap->sys == sys ? ap->fd : -1;
	bpf_map_delete_elem(&args, &id);
	return fd;
}

static __always_inline int lifecycle_exit(int fd, __u8 role, __u8 sys)
{
	struct conn_key k = { .tgid = bpf_get_current_pid_tgid() >> 32, .fd = fd };
	struct file *f = fd_file(fd);
	struct conn_val *c;

	if (!f || !is_socket_file(f))
		return 0;
	c = bpf_map_lookup_elem(&conns, &k);
	if (c) {
		/* connect() again on a socket we already saw connecting (EINPROGRESS) */
		if (c->file == (__u64)f && c->kind == KIND_TCP && c->role == role)
			return 0;
		retire(&k, c);
	}
	c = track(&k, f, role, sys);
	if (c && c->kind == KIND_TCP && c->filtered)
		count(WT_C_FILTER_PORT, 1);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_connect")
int enter_connect(struct trace_event_raw_sys_enter *ctx)
{
	return save_lifecycle(ARG(0), WT_SYS_CONNECT);
}

SEC("tracepoint/syscalls/sys_exit_connect")
int exit_connect(struct trace_event_raw_sys_exit *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	int fd = pop_lifecycle(WT_SYS_CONNECT, id);
	long ret = ctx->ret;

	/* A non-blocking connect still makes the client side of a connection. */
	if (fd < 0 || (ret != 0 && ret != -EINPROGRESS))
		return 0;
	return lifecycle_exit(fd, WT_ROLE_CLIENT, WT_SYS_CONNECT);
}

SEC("tracepoint/syscalls/sys_enter_accept")
int enter_accept(struct trace_event_raw_sys_enter *ctx)
{
	return save_lifecycle(ARG(0), WT_SYS_ACCEPT);
}

SEC("tracepoint/syscalls/sys_exit_accept")
int exit_accept(struct trace_event_raw_sys_exit *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	long ret = ctx->ret;

	if (pop_lifecycle(WT_SYS_ACCEPT, id) < 0 || ret < 0)
		return 0;
	return lifecycle_exit(ret, WT_ROLE_SERVER, WT_SYS_ACCEPT);
}

SEC("tracepoint/syscalls/sys_enter_accept4")
int enter_accept4(struct trace_event_raw_sys_enter *ctx)
{
	return save_lifecycle(ARG(0), WT_SYS_ACCEPT4);
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int exit_accept4(struct trace_event_raw_sys_exit *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	long ret = ctx->ret;

	if (pop_lifecycle(WT_SYS_ACCEPT4, id) < 0 || ret < 0)
		return 0;
	return lifecycle_exit(ret, WT_ROLE_SERVER, WT_SYS_ACCEPT4);
}

/* At entry: close(2) releases the fd even when it reports an error. */
SEC("tracepoint/syscalls/sys_enter_close")
int enter_close(struct trace_event_raw_sys_enter *ctx)
{
	struct conn_key k = { .tgid = bpf_get_current_pid_tgid() >> 32, .fd = ARG(0) };
	struct conn_val *c = bpf_map_lookup_elem(&conns, &k);

	if (!c)
		return 0;
	if (reported(c)) {
		emit_conn(c, WT_CONN_CLOSE, WT_SYS_CLOSE, k.fd);
		proc_conns_add(k.tgid, -1);
	}
	bpf_map_delete_elem(&conns, &k);
	return 0;
}

struct exit_scan {
	__u32 tgid;
	__u64 left;
};

static long exit_scan_fd(__u32 fd, void *data)
{
	struct exit_scan *s = data;
	struct conn_key k = { .tgid = s->tgid, .fd = fd };
	struct conn_val *c = bpf_map_lookup_elem(&conns, &k);

	if (!c)
		return 0;
	if (reported(c)) {
		emit_conn(c, WT_CONN_CLOSE, WT_SYS_NONE, fd);
		count(WT_C_CLOSED_ON_EXIT, 1);
		s->left--;
	}
	bpf_map_delete_elem(&conns, &k);
	return s->left == 0;
}

/*
 * Processes often exit without closing their sockets; without this the agent
 * would never learn those connections ended. Only the last thread scans, and
 * only processes with reported connections pay for it.
 */
SEC("tracepoint/sched/sched_process_exit")
int process_exit(struct trace_event_raw_sched_process_exit *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct exit_scan s = { .tgid = id >> 32 };
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 *n;
	__u32 max;

	if (bpf_core_field_exists(ctx->group_dead)) {
		if (!ctx->group_dead)
			return 0;
	} else if (BPF_CORE_READ(task, signal, live.counter) != 0) {
		return 0;
	}
	n = bpf_map_lookup_elem(&proc_conns, &s.tgid);
	if (!n)
		return 0;
	s.left = *n;
	bpf_map_delete_elem(&proc_conns, &s.tgid);
	if (s.left == 0)
		return 0;
	max = BPF_CORE_READ(task, files, fdt, max_fds);
	if (max > WT_CONN_MAP_SIZE)
		max = WT_CONN_MAP_SIZE;
	bpf_loop(max, exit_scan_fd, &s, 0);
	return 0;
}


/* ---- TLS: OpenSSL uprobes (attached per library by the loader, see bpf/README.md) ---- */

/*
 * A receive this recent on the thread, not yet used, names an SSL_read's
 * socket. Any newer receive on the thread replaces it, so the window only
 * matters when the thread was descheduled between the read and the SSL
 * call: 2 ms lost plaintext on a loaded 2-core machine, 20 ms did not.
 */
#define TLS_RX_FRESH_NS 20000000ull

/* The mapping's connection closed (or its fd names another): the SSL* address was reused. */
static __always_inline bool ssl_sock_gone(__u32 tgid, struct ssl_sock *ss)
{
	struct conn_key k = { .tgid = tgid };
	struct conn_val *c;

	if (!ss)
		return true;
	k.fd = ss->fd;
	c = bpf_map_lookup_elem(&conns, &k);
	return !c || c->conn_id != ss->conn_id;
}

static __always_inline int ssl_enter(__u64 ssl, __u64 buf, __u64 len_ptr, __u8 sys)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	struct ssl_key sk = { .ssl = ssl, .tgid = tgid };
	struct tls_call tc = {
		.ssl = ssl, .buf = buf, .len_ptr = len_ptr, .sys = sys, .fd = -1,
	};
	struct ssl_sock *known;
	int rej = proc_rejected(tgid);

	if (rej) {
		count(rej, 1);
		return 0;
	}
	tc.ts = bpf_ktime_get_boot_ns();
	known = bpf_map_lookup_elem(&ssl_socks, &sk);
	if (known) {
		tc.fd = known->fd;
		tc.conn_id = known->conn_id;
		tc.trust = known->trust;
	}
	{
		bool is_read = sys == WT_SYS_SSL_READ || sys == WT_SYS_SSL_READ_EX;
		int trust = known ? known->trust : -1;
		struct tls_rx *rx = bpf_map_lookup_elem(&tls_rxs, &id);

		if (!rx) {
			struct tls_rx none = {};

			bpf_map_update_elem(&tls_rxs, &id, &none, BPF_NOEXIST);
		} else if (rx->fresh && rx->looks_tls && tc.ts - rx->ts < TLS_RX_FRESH_NS &&
			   trust < TRUST_EXACT &&
			   (is_read || trust < TRUST_SEEN || ssl_sock_gone(tgid, known))) {
			/*
			 * Memory-BIO libraries (node): the socket this thread just read
			 * from. An SSL_read follows the read that fed it. An SSL_write
			 * is not triggered by reads, so it takes the read only over a
			 * guess or a dead mapping: node's client sends its queued
			 * request right after reading the server's handshake, before
			 * any SSL_read could map its SSL*, whose address may still map
			 * an earlier, closed connection's socket.
			 */
			struct ssl_sock ss = { .conn_id = rx->conn_id, .fd = rx->fd, .trust = TRUST_GUESS };

			rx->fresh = 0;
			tc.fd = rx->fd;
			tc.conn_id = rx->conn_id;
			tc.trust = TRUST_GUESS;
			bpf_map_update_elem(&ssl_socks, &sk, &ss, BPF_ANY);
		}
	}
	if (bpf_map_update_elem(&tls_calls, &id, &tc, BPF_ANY))
		count(WT_C_TLS_MAP_FULL, 1);
	return 0;
}

static __always_inline int ssl_exit(long rc, __u8 dir)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct tls_call *tp = bpf_map_lookup_elem(&tls_calls, &id);
	struct tls_call tc;
	struct conn_val *c;
	__s64 ret = rc;
	__u64 pos;

	if (!tp)
		return 0;
	tc = *tp;
	bpf_map_delete_elem(&tls_calls, &id);
	if (tc.sys == WT_SYS_SSL_READ_EX || tc.sys == WT_SYS_SSL_WRITE_EX) {
		__u64 n = 0;

		/* The _ex calls return 1 on success and the byte count through a pointer. */
		if (rc != 1 || !tc.len_ptr || bpf_probe_read_user(&n, sizeof(n), (void *)tc.len_ptr))
			return 0;
		ret = n;
	}
	if (ret <= 0)
		return 0;
	if (tc.fd < 0) {
		count(WT_C_TLS_NO_CONN, 1);
		return 0;
	}
	struct conn_key k = { .tgid = id >> 32, .fd = tc.fd };
	c = bpf_map_lookup_elem(&conns, &k);
	if (!c || c->kind != KIND_TCP || (tc.conn_id && c->conn_id != tc.conn_id)) {
		count(WT_C_TLS_NO_CONN, 1);
		return 0;
	}
	if (c->filtered) {
		count(WT_C_FILTER_PORT, 1);
		return 0;
	}
	/* From now on this connection's syscalls carry ciphertext only: not reported. */
	c->tls = 1;
	if (tc.trust == TRUST_GUESS && dir == WT_DIR_INGRESS) {
		/* The read before this SSL_read fed it plaintext: a guess no later write may override. */
		struct ssl_key sk = { .ssl = tc.ssl, .tgid = id >> 32 };
		struct ssl_sock *ss = bpf_map_lookup_elem(&ssl_socks, &sk);

		if (ss && ss->conn_id == c->conn_id && ss->trust == TRUST_GUESS)
			ss->trust = TRUST_SEEN;
	}
	if (dir == WT_DIR_EGRESS)
		pos = __sync_fetch_and_add(&c->tls_pos[0], ret);
	else
		pos = __sync_fetch_and_add(&c->tls_pos[1], ret);

	struct call_args a = {
		.ts = tc.ts,
		.buf = tc.buf,
		.conn_id = c->conn_id,
		.fd = tc.fd,
		.sys = tc.sys,
		.tls = 1,
	};
	return emit_data(&a, c, ret, pos, dir);
}

/* int SSL_read(SSL *ssl, void *buf, int num) */
SEC("uprobe")
int BPF_KPROBE(ssl_read_enter, void *ssl, void *buf)
{
	return ssl_enter((__u64)ssl, (__u64)buf, 0, WT_SYS_SSL_READ);
}

SEC("uretprobe")
int BPF_KRETPROBE(ssl_read_exit, int rc)
{
	return ssl_exit(rc, WT_DIR_INGRESS);
}

/* int SSL_write(SSL *ssl, const void *buf, int num) */
SEC("uprobe")
int BPF_KPROBE(ssl_write_enter, void *ssl, void *buf)
{
	return ssl_enter((__u64)ssl, (__u64)buf, 0, WT_SYS_SSL_WRITE);
}

SEC("uretprobe")
int BPF_KRETPROBE(ssl_write_exit, int rc)
{
	return ssl_exit(rc, WT_DIR_EGRESS);
}

/* int SSL_read_ex(SSL *ssl, void *buf, size_t num, size_t *readbytes) */
SEC("uprobe")
int BPF_KPROBE(ssl_read_ex_enter, void *ssl, void *buf, __u64 num, void *readbytes)
{
	return ssl_enter((__u64)ssl, (__u64)buf, (__u64)readbytes, WT_SYS_SSL_READ_EX);
}

SEC("uretprobe")
int BPF_KRETPROBE(ssl_read_ex_exit, int rc)
{
	return ssl_exit(rc, WT_DIR_INGRESS);
}

/* int SSL_write_ex(SSL *ssl, const void *buf, size_t num, size_t *written) */
SEC("uprobe")
int BPF_KPROBE(ssl_write_ex_enter, void *ssl, void *buf, __u64 num, void *written)
{
	return ssl_enter((__u64)ssl, (__u64)buf, (__u64)written, WT_SYS_SSL_WRITE_EX);
}

SEC("uretprobe")
int BPF_KRETPROBE(ssl_write_ex_exit, int rc)
{
	return ssl_exit(rc, WT_DIR_EGRESS);
}

/* A new program image: the loader looks for TLS libraries in it (and again shortly after, once ld.so mapped them). */
SEC("tracepoint/sched/sched_process_exec")
int process_exec(void *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct wt_exec_event *e;

	if (!cfg_tls || proc_rejected(tgid))
		return 0;
	e = bpf_ringbuf_reserve(&proc_rb, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = tgid;
	e->pad = 0;
	count(WT_C_EXEC_EVENTS, 1);
	bpf_ringbuf_submit(e, 0);
	return 0;
}
