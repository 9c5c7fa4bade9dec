/*
 * semihost.c - the semihosting calls declared in semihost.h.
 *
 * Argument blocks are arrays of 32-bit words; pointers and sizes are stored
 * as uint32_t (this file is only for 32-bit Arm).
 */
#include "semihost.h"

#include <stdint.h>
#include <string.h>

/* Operation numbers from the semihosting specification. */
enum {
    SYS_OPEN = 0x01,
    SYS_CLOSE = 0x02,
    SYS_WRITE0 = 0x04,
    SYS_WRITE = 0x05,
    SYS_READ = 0x06,
    SYS_FLEN = 0x0C,
    SYS_EXIT = 0x18,
    SYS_EXIT_EXTENDED = 0x20,
};
/* Reason codes for SYS_EXIT / SYS_EXIT_EXTENDED. */
#define ADP_Stopped_ApplicationExit 0x20026u
#define ADP_Stopped_RunTimeErrorUnknown 0x20023u

/*
 * The trap itself.  r0/r1 are pinned with register variables; "memory"
 * tells the compiler the host may read or write any buffer we passed.
 */
static inline int32_t sh_call(uint32_t op, const void *arg) {
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return (int32_t)r0;
}

static uint32_t word(const volatile void *p) { return (uint32_t)(uintptr_t)p; }

int sh_open(const char *path, int mode) {
    uint32_t block[3] = {word(path), (uint32_t)mode, (uint32_t)strlen(path)};
    return sh_call(SYS_OPEN, block);
}

int sh_close(int fd) {
    uint32_t block[1] = {(uint32_t)fd};
    return sh_call(SYS_CLOSE, block);
}

long sh_flen(int fd) {
    uint32_t block[1] = {(uint32_t)fd};
    return sh_call(SYS_FLEN, block);
}

/* SYS_READ and SYS_WRITE return the number of bytes NOT transferred. */
size_t sh_read(int fd, void *buf, size_t n) {
    uint32_t block[3] = {(uint32_t)fd, word(buf), (uint32_t)n};
    uint32_t left = (uint32_t)sh_call(SYS_READ, block);
    return left > n ? 0 : n - left;
}

size_t sh_write(int fd, const void *buf, size_t n) {
    uint32_t block[3] = {(uint32_t)fd, word(buf), (uint32_t)n};
    uint32_t left = (uint32_t)sh_call(SYS_WRITE, block);
    return left > n ? 0 : n - left;
}

void sh_puts(const char *s) { sh_call(SYS_WRITE0, s); }

void sh_put_dec(unsigned long v) {
    char buf[12];
    char *p = buf + sizeof buf;
    *--p = '\0';
    do {
        *--p = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    sh_puts(p);
}

void sh_put_hex(unsigned long v) {
    char buf[11] = "0x";
    for (int i = 0; i < 8; i++) buf[2 + i] = "0123456789abcdef"[(v >> (28 - 4 * i)) & 0xFu];
    buf[10] = '\0';
    sh_puts(buf);
}

void sh_exit(int code) {
    /* SYS_EXIT_EXTENDED carries the exit code to QEMU's exit status. */
    uint32_t block[2] = {ADP_Stopped_ApplicationExit, (uint32_t)code};
    sh_call(SYS_EXIT_EXTENDED, block);
    /* Fallback for hosts without the extension: plain SYS_EXIT, where on
     * 32-bit targets r1 holds the reason code itself.  It cannot carry the
     * code; QEMU then exits 0 for ApplicationExit and 1 for any other reason. */
    sh_call(SYS_EXIT, (const void *)(uintptr_t)(code == 0 ? ADP_Stopped_ApplicationExit
                                                          : ADP_Stopped_RunTimeErrorUnknown));
    for (;;) {
    }
}
