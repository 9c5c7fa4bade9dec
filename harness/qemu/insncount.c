/*
 * insncount.c - QEMU TCG plugin that counts executed guest instructions.
 *
 * Debian's QEMU 7.2 exports the plugin API (version 1) but ships neither the
 * example plugins nor <qemu-plugin.h>, so the few API functions used here
 * are declared by hand below, matching QEMU 7.2's include/qemu/qemu-plugin.h.
 *
 * Build:  gcc -O2 -shared -fPIC -fvisibility=hidden -o insncount.so insncount.c
 * Use:    qemu-system-arm ... -plugin ./insncount.so,outfile=count.txt
 *
 * Arguments (comma-separated after the .so path):
 *   outfile=PATH  write "insns: N\n" to PATH at exit (default: the plugin log,
 *                 which QEMU only prints with `-d plugin`)
 *   lo=ADDR, hi=ADDR
 *                 count only instructions whose address is in [lo, hi)
 *                 (e.g. one function: lo = symbol & ~1, hi = lo + size)
 *   mode=tb       count whole translation blocks at entry instead of single
 *                 instructions: a little faster, but over-counts when a block
 *                 is left early by an exception; ignores lo/hi
 *
 * How it counts: when QEMU translates a block of guest code, tb_trans()
 * attaches an inline "add 1 to counter" operation to every instruction in
 * it, so the counter goes up each time an instruction executes (conditional
 * instructions whose condition fails still count: they were issued).  The
 * count is exact and deterministic for a given program and input; it counts
 * instructions, not cycles.  A single vCPU is assumed (as on Cortex-M), so
 * one plain counter suffices.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- hand-written subset of the QEMU plugin API, version 1 ------------- */
typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
typedef struct qemu_info_t qemu_info_t; /* only passed through */

enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 = 0 };

typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_vcpu_insn_exec_inline(struct qemu_plugin_insn *insn, enum qemu_plugin_op op,
                                                void *ptr, uint64_t imm);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb, enum qemu_plugin_op op,
                                              void *ptr, uint64_t imm);
void qemu_plugin_outs(const char *string);

/* QEMU refuses plugins that do not export the API version they expect. */
__attribute__((visibility("default"))) int qemu_plugin_version = 1;

/* ---- state ----------------------------------------------------------- */
static uint64_t insn_count;                 /* the counter the inline ops add to */
static uint64_t range_lo = 0, range_hi = UINT64_MAX;
static int count_per_tb;
static char *out_path;

/* Called once per translated block (not per execution). */
static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    if (count_per_tb) {
        qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &insn_count, n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        uint64_t pc = qemu_plugin_insn_vaddr(insn);
        if (pc >= range_lo && pc < range_hi)
            qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &insn_count, 1);
    }
}

/* Runs when the guest exits (also on a semihosting exit; the exit status is
 * preserved). */
static void at_exit(qemu_plugin_id_t id, void *userdata) {
    (void)id;
    (void)userdata;
    char line[64];
    snprintf(line, sizeof line, "insns: %" PRIu64 "\n", insn_count);
    if (out_path) {
        FILE *f = fopen(out_path, "w");
        if (f && fputs(line, f) >= 0 && fclose(f) == 0) return;
        fprintf(stderr, "insncount: cannot write %s\n", out_path);
    }
    qemu_plugin_outs(line);
}

static int parse_u64(const char *s, uint64_t *v) {
    char *end;
    *v = strtoull(s, &end, 0);
    return *s != '\0' && *end == '\0';
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
                                                               int argc, char **argv) {
    (void)info;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strncmp(a, "outfile=", 8) && a[8]) {
            out_path = strdup(a + 8);
        } else if (!strncmp(a, "lo=", 3) && parse_u64(a + 3, &range_lo)) {
        } else if (!strncmp(a, "hi=", 3) && parse_u64(a + 3, &range_hi)) {
        } else if (!strcmp(a, "mode=tb")) {
            count_per_tb = 1;
        } else if (!strcmp(a, "mode=insn")) {
            count_per_tb = 0;
        } else {
            fprintf(stderr, "insncount: unknown argument '%s' (want outfile=, lo=, hi=, mode=tb|insn)\n", a);
            return -1;
        }
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
    qemu_plugin_register_atexit_cb(id, at_exit, NULL);
    return 0;
}
