/*
 * semihost.h - minimal Arm semihosting client for bare-metal Cortex-M.
 *
 * Semihosting lets target code ask the debugger -- here QEMU, started with
 * `-semihosting-config enable=on,target=native` -- to do host I/O.  Each call
 * is a `bkpt 0xAB` with the operation number in r0 and a pointer to an
 * argument block in r1; the result comes back in r0.  File names are
 * resolved relative to QEMU's working directory.
 *
 * Operation numbers and argument layouts follow Arm's "Semihosting for
 * AArch32 and AArch64" specification.  Without semihosting enabled the
 * bkpt escalates to a HardFault (and then locks up), so always run QEMU
 * under `timeout`.
 */
#ifndef TMLC_SEMIHOST_H
#define TMLC_SEMIHOST_H

#include <stddef.h>

/* Open modes (index into the spec's fopen-mode table). */
#define SH_MODE_RB 1 /* "rb" */
#define SH_MODE_WB 5 /* "wb" */

/* Returns a host file handle (> 0 in practice), or -1 on error. */
int sh_open(const char *path, int mode);
/* Returns 0 on success, -1 on error. */
int sh_close(int fd);
/* Length of an open file in bytes, or -1 on error. */
long sh_flen(int fd);
/* Reads up to n bytes; returns the number of bytes actually read. */
size_t sh_read(int fd, void *buf, size_t n);
/* Writes n bytes; returns the number of bytes actually written. */
size_t sh_write(int fd, const void *buf, size_t n);
/* Prints a NUL-terminated string on the semihosting console (QEMU: stderr). */
void sh_puts(const char *s);
/* Prints an unsigned number in decimal / as 0x%08x on the console. */
void sh_put_dec(unsigned long v);
void sh_put_hex(unsigned long v);
/* Ends the simulation; QEMU exits with `code` (0..255 arrive exactly). */
void sh_exit(int code) __attribute__((noreturn));

#endif /* TMLC_SEMIHOST_H */
