/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Slots of noop_ssl.bpf.c's hit counter, shared with noop_ssl_attach.cc: one
 * per probe (function x entry/return), in the order of
 * rampart::capture::kSslFunctions. */
#ifndef RAMPART_BENCH_NOOP_SSL_H
#define RAMPART_BENCH_NOOP_SSL_H

enum noop_ssl_slot {
	NOOP_SSL_WRITE = 0,
	NOOP_SSL_WRITE_RET,
	NOOP_SSL_READ,
	NOOP_SSL_READ_RET,
	NOOP_SSL_WRITE_EX,
	NOOP_SSL_WRITE_EX_RET,
	NOOP_SSL_READ_EX,
	NOOP_SSL_READ_EX_RET,
	NOOP_SSL_HANDSHAKE,
	NOOP_SSL_HANDSHAKE_RET,
	NOOP_SSL_SLOTS,
};

#endif
