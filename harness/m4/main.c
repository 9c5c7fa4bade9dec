/*
 * main.c - run a tmlc-generated model as Cortex-M4 firmware under QEMU.
 *
 * Same I/O contract as harness/host_main.c, but QEMU passes no argv, so the
 * file names and the number of invocations are compile-time settings:
 *
 *   -DTMLC_MODEL=NAME -include model.h   the model (required)
 *   -DIN_FILE=\"in.bin\"                  input file  (default "in.bin")
 *   -DOUT_FILE=\"out.bin\"                output file (default "out.bin")
 *   -DINVOKES=n                          call NAME_invoke n times (default 1)
 *
 * Files are opened through semihosting, relative to QEMU's working directory.
 * The input file holds the sum of NAME_INPUTk_BYTES, or a multiple of it:
 * then each block is one sample, run in turn.  For each sample, the outputs
 * of the last call are written concatenated.
 *
 * Instruction counting: the calls go through tmlc_invoke_loop (below),
 * whose per-call overhead is a fixed 6 instructions.  Two
 * builds that differ only in INVOKES (1 and 2) therefore execute exactly
 *     count(INVOKES=2) - count(INVOKES=1) = insns(one NAME_invoke) + 6
 * instructions more; everything else in the program is identical.
 *
 * Exit codes: see tmlc_model_io.h (0 ok, 1 I/O, 2 input size, 3 invoke
 * failed, 4 guard zone overwritten, 5 stack exhausted, 99 fault).
 * Messages go to the semihosting console (QEMU's stderr).  On success one
 * line "tmlc-m4: stack_used=N of M" reports the stack high-water mark.
 */
#include <stdint.h>
#include <string.h>

#include "../tmlc_model_io.h"
#include "semihost.h"

#ifndef IN_FILE
#define IN_FILE "in.bin"
#endif
#ifndef OUT_FILE
#define OUT_FILE "out.bin"
#endif
#ifndef INVOKES
#define INVOKES 1
#endif
_Static_assert(INVOKES >= 1, "INVOKES must be at least 1");

TMLC_CHECK_CONTRACT;

/*
 * tmlc_invoke_loop(fn, in, out, n): call fn(in, out) up to n (>= 1) times;
 * stop at the first non-zero result and return it, else return 0.
 *
 * Written in assembly (a file-scope asm block, so the whole firmware still
 * builds with one compiler command) so that the compiler cannot unroll,
 * reorder or re-register the loop differently for different INVOKES.  Each
 * call costs exactly 6 instructions here, whether it is the first, a middle
 * or the last iteration (taken and not-taken branches count alike):
 *
 *     mov r0, r5 ; mov r1, r6 ; blx r4 ; cbnz r0 ; subs r7 ; bne
 *
 * so count(INVOKES=2) - count(INVOKES=1) = insns(one call of fn, from its
 * first instruction to its return, callees included) + 6.
 *
 * AAPCS: r4-r8 are callee-saved; pushing 6 registers keeps SP 8-byte aligned
 * at the call.  The function has its own section for --gc-sections.
 */
int tmlc_invoke_loop(tmlc_invoke_fn fn, const void *const *in, void *const *out, uint32_t n);
__asm__(".pushsection .text.tmlc_invoke_loop, \"ax\", %progbits\n"
        "    .syntax unified\n"
        "    .global tmlc_invoke_loop\n"
        "    .type tmlc_invoke_loop, %function\n"
        "    .align 2\n"
        "    .thumb_func\n"
        "tmlc_invoke_loop:\n"
        "    push    {r4, r5, r6, r7, r8, lr}\n"
        "    mov     r4, r0              @ fn\n"
        "    mov     r5, r1              @ inputs\n"
        "    mov     r6, r2              @ outputs\n"
        "    mov     r7, r3              @ calls left\n"
        "1:  mov     r0, r5\n"
        "    mov     r1, r6\n"
        "    blx     r4                  @ rc = fn(inputs, outputs)\n"
        "    cbnz    r0, 2f              @ failure: return rc\n"
        "    subs    r7, r7, #1\n"
        "    bne     1b\n"
        "2:  pop     {r4, r5, r6, r7, r8, pc}\n"
        "    .size tmlc_invoke_loop, . - tmlc_invoke_loop\n"
        "    .popsection\n");
/* startup.c: stack high-water mark and reserved size, in bytes. */
uint32_t tmlc_stack_used(void);
uint32_t tmlc_stack_size(void);

/*
 * Static, 16-byte-aligned I/O buffers, each followed by a guard zone:
 *   tmlc_in0[NAME_INPUT0_BYTES + 16], ..., tmlc_out0[...], ...
 * The guard bytes are set at run time (they live in .bss, not in flash).
 */
#define TMLC_DEF_IN_(k) \
    static uint8_t tmlc_in##k[TMLC_IN_BYTES(k) + TMLC_GUARD_BYTES] __attribute__((aligned(16)));
#define TMLC_DEF_OUT_(k) \
    static uint8_t tmlc_out##k[TMLC_OUT_BYTES(k) + TMLC_GUARD_BYTES] __attribute__((aligned(16)));
TMLC_FOR_EACH_INPUT(TMLC_DEF_IN_)
TMLC_FOR_EACH_OUTPUT(TMLC_DEF_OUT_)

/* Tables indexed by input/output number; the trailing entry keeps them
 * non-empty for a 0-input model. */
#define TMLC_IN_PTR_(k) tmlc_in##k,
#define TMLC_OUT_PTR_(k) tmlc_out##k,
#define TMLC_IN_SIZE_(k) (uint32_t)TMLC_IN_BYTES(k),
#define TMLC_OUT_SIZE_(k) (uint32_t)TMLC_OUT_BYTES(k),
static const void *const inputs[TMLC_NUM_IN + 1] = {TMLC_FOR_EACH_INPUT(TMLC_IN_PTR_) 0};
static void *const outputs[TMLC_NUM_OUT + 1] = {TMLC_FOR_EACH_OUTPUT(TMLC_OUT_PTR_) 0};
static uint8_t *const in_buf[TMLC_NUM_IN + 1] = {TMLC_FOR_EACH_INPUT(TMLC_IN_PTR_) 0};
static uint8_t *const out_buf[TMLC_NUM_OUT + 1] = {TMLC_FOR_EACH_OUTPUT(TMLC_OUT_PTR_) 0};
static const uint32_t in_bytes[TMLC_NUM_IN + 1] = {TMLC_FOR_EACH_INPUT(TMLC_IN_SIZE_) 0};
static const uint32_t out_bytes[TMLC_NUM_OUT + 1] = {TMLC_FOR_EACH_OUTPUT(TMLC_OUT_SIZE_) 0};

static int error(int code, const char *msg, const char *arg) {
    sh_puts("tmlc-m4[" TMLC_MODEL_NAME "]: error: ");
    sh_puts(msg);
    if (arg) sh_puts(arg);
    sh_puts("\n");
    return code;
}

static int guard_intact(const uint8_t *p, uint32_t n) {
    for (uint32_t i = 0; i < TMLC_GUARD_BYTES; i++)
        if (p[n + i] != TMLC_GUARD_BYTE) return 0;
    return 1;
}

static int guard_error(const char *kind, int i) {
    sh_puts("tmlc-m4[" TMLC_MODEL_NAME "]: error: write past the end of ");
    sh_puts(kind);
    sh_puts(" ");
    sh_put_dec((unsigned long)i);
    sh_puts("\n");
    return TMLC_EXIT_GUARD;
}

int main(void) {
    /* ---- buffer conventions shared with the host harness ---- */
    for (int i = 0; i < TMLC_NUM_IN; i++) memset(in_buf[i] + in_bytes[i], TMLC_GUARD_BYTE, TMLC_GUARD_BYTES);
    for (int i = 0; i < TMLC_NUM_OUT; i++) {
        memset(out_buf[i], TMLC_POISON_BYTE, out_bytes[i]);
        memset(out_buf[i] + out_bytes[i], TMLC_GUARD_BYTE, TMLC_GUARD_BYTES);
    }

    /* ---- read inputs: the file holds one or more samples ---- */
    uint32_t in_total = 0;
    for (int i = 0; i < TMLC_NUM_IN; i++) in_total += in_bytes[i];
    int fd = sh_open(IN_FILE, SH_MODE_RB);
    if (fd < 0) return error(TMLC_EXIT_IO, "cannot open input ", IN_FILE);
    long len = sh_flen(fd);
    if (len < 0) return error(TMLC_EXIT_IO, "cannot size input ", IN_FILE);
    int size_ok = in_total == 0 ? len == 0 : len > 0 && (unsigned long)len % in_total == 0;
    if (!size_ok) {
        sh_puts("tmlc-m4[" TMLC_MODEL_NAME "]: error: input " IN_FILE " has ");
        sh_put_dec((unsigned long)len);
        sh_puts(" bytes, the model takes ");
        sh_put_dec(in_total);
        sh_puts(" per sample\n");
        sh_close(fd);
        return TMLC_EXIT_INPUT_SIZE;
    }
    unsigned long samples = in_total == 0 ? 1 : (unsigned long)len / in_total;
    int out_fd = sh_open(OUT_FILE, SH_MODE_WB);
    if (out_fd < 0) return error(TMLC_EXIT_IO, "cannot create output ", OUT_FILE);
    uint32_t stack_used = 0;
    for (unsigned long s = 0; s < samples; s++) {
        for (int i = 0; i < TMLC_NUM_IN; i++)
            if (sh_read(fd, in_buf[i], in_bytes[i]) != in_bytes[i]) {
                sh_close(fd);
                return error(TMLC_EXIT_IO, "short read from ", IN_FILE);
            }
        for (int i = 0; i < TMLC_NUM_OUT; i++) memset(out_buf[i], TMLC_POISON_BYTE, out_bytes[i]);

        /* ---- invoke INVOKES times (see the header comment on counting) ---- */
        int rc = tmlc_invoke_loop(tmlc_invoke_checked, inputs, outputs, INVOKES);
        if (rc != 0) {
            sh_puts("tmlc-m4[" TMLC_MODEL_NAME "]: error: " TMLC_MODEL_NAME "_invoke returned ");
            if (rc < 0) sh_puts("-");
            sh_put_dec(rc < 0 ? 0u - (unsigned long)rc : (unsigned long)rc);
            sh_puts("\n");
            return TMLC_EXIT_INVOKE;
        }

        /* ---- guard zones and stack ---- */
        for (int i = 0; i < TMLC_NUM_IN; i++)
            if (!guard_intact(in_buf[i], in_bytes[i])) return guard_error("input", i);
        for (int i = 0; i < TMLC_NUM_OUT; i++)
            if (!guard_intact(out_buf[i], out_bytes[i])) return guard_error("output", i);
        stack_used = tmlc_stack_used();
        if (stack_used >= tmlc_stack_size())
            return error(TMLC_EXIT_STACK, "stack exhausted (raise __stack_size)", 0);

        /* ---- write outputs ---- */
        for (int i = 0; i < TMLC_NUM_OUT; i++)
            if (sh_write(out_fd, out_buf[i], out_bytes[i]) != out_bytes[i]) {
                sh_close(out_fd);
                return error(TMLC_EXIT_IO, "cannot write output ", OUT_FILE);
            }
    }
    sh_close(fd);
    if (sh_close(out_fd) != 0) return error(TMLC_EXIT_IO, "cannot close output ", OUT_FILE);

    sh_puts("tmlc-m4: stack_used=");
    sh_put_dec(stack_used);
    sh_puts(" of ");
    sh_put_dec(tmlc_stack_size());
    sh_puts("\n");
    return TMLC_EXIT_OK;
}
