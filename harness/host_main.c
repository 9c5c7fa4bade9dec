/*
 * host_main.c - run a tmlc-generated model on the host.
 *
 * Build (from the repo root; model.c/model.h from `tmlc`):
 *
 *   gcc -O2 -std=c11 -Wall -Wextra -Werror -DTMLC_MODEL=NAME \
 *       -include model.h harness/host_main.c model.c -lm -o run
 *
 * Usage:  ./run in.bin out.bin [repeat]
 *
 *   in.bin   all inputs concatenated in order (NAME_INPUT0_BYTES bytes of
 *            input 0, then input 1, ...); its size must equal the sum, or a
 *            multiple of it: then each block is one sample, run in turn.
 *   out.bin  written with all outputs concatenated in order, per sample.
 *   repeat   call NAME_invoke this many times (default 1); the output of the
 *            last call is written.  With repeat > 1 the mean wall time per
 *            call is printed on stderr.
 *
 * Exit codes (the same as harness/m4/main.c; see tmlc_model_io.h):
 *   0 ok, 1 usage or I/O error, 2 input size mismatch, 3 NAME_invoke
 *   returned non-zero, 4 an I/O buffer's guard zone was overwritten.
 *
 * Output buffers are filled with TMLC_POISON_BYTE before the first call, and
 * each buffer is followed by a guard zone, exactly as on the M4, so that host
 * and M4 output files can be compared byte for byte.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tmlc_model_io.h"

TMLC_CHECK_CONTRACT;

/* Sizes of the inputs/outputs, in order; the trailing 0 keeps the arrays
 * non-empty for a 0-input model. */
#define TMLC_IN_SIZE_(k) (size_t)TMLC_IN_BYTES(k),
#define TMLC_OUT_SIZE_(k) (size_t)TMLC_OUT_BYTES(k),
static const size_t in_bytes[TMLC_NUM_IN + 1] = {TMLC_FOR_EACH_INPUT(TMLC_IN_SIZE_) 0};
static const size_t out_bytes[TMLC_NUM_OUT + 1] = {TMLC_FOR_EACH_OUTPUT(TMLC_OUT_SIZE_) 0};

static int fail(int code, const char *what, const char *path) {
    if (path)
        fprintf(stderr, "run[%s]: error: %s '%s'%s%s\n", TMLC_MODEL_NAME, what, path,
                errno ? ": " : "", errno ? strerror(errno) : "");
    else
        fprintf(stderr, "run[%s]: error: %s\n", TMLC_MODEL_NAME, what);
    return code;
}

/* A 16-byte-aligned buffer of n bytes followed by the guard zone. */
static uint8_t *alloc_buffer(size_t n) {
    size_t total = (n + TMLC_GUARD_BYTES + 15u) & ~(size_t)15u; /* aligned_alloc wants a multiple */
    uint8_t *p = aligned_alloc(16, total);
    if (p) memset(p + n, TMLC_GUARD_BYTE, total - n);
    return p;
}

static int guard_intact(const uint8_t *p, size_t n) {
    for (size_t i = 0; i < TMLC_GUARD_BYTES; i++)
        if (p[n + i] != TMLC_GUARD_BYTE) return 0;
    return 1;
}

static double now_seconds(void) {
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: %s in.bin out.bin [repeat]   (model %s: %d inputs, %d outputs)\n",
                argv[0], TMLC_MODEL_NAME, TMLC_NUM_IN, TMLC_NUM_OUT);
        return TMLC_EXIT_IO;
    }
    const char *in_path = argv[1], *out_path = argv[2];
    unsigned long repeat = 1;
    if (argc == 4) {
        char *end;
        errno = 0;
        repeat = strtoul(argv[3], &end, 10);
        if (errno || *end || end == argv[3] || repeat == 0 || argv[3][0] == '-')
            return fail(TMLC_EXIT_IO, "repeat must be a positive integer", NULL);
    }

    /* ---- buffers ---- */
    const void *inputs[TMLC_NUM_IN + 1] = {0};
    void *outputs[TMLC_NUM_OUT + 1] = {0};
    uint8_t *in_buf[TMLC_NUM_IN + 1] = {0}, *out_buf[TMLC_NUM_OUT + 1] = {0};
    size_t in_total = 0;
    for (int i = 0; i < TMLC_NUM_IN; i++) {
        if (!(in_buf[i] = alloc_buffer(in_bytes[i])))
            return fail(TMLC_EXIT_IO, "out of memory", NULL);
        inputs[i] = in_buf[i];
        in_total += in_bytes[i];
    }
    for (int i = 0; i < TMLC_NUM_OUT; i++) {
        if (!(out_buf[i] = alloc_buffer(out_bytes[i])))
            return fail(TMLC_EXIT_IO, "out of memory", NULL);
        memset(out_buf[i], TMLC_POISON_BYTE, out_bytes[i]);
        outputs[i] = out_buf[i];
    }

    /* ---- read inputs: the file holds one or more samples of in_total bytes ---- */
    errno = 0;
    FILE *f = fopen(in_path, "rb");
    if (!f) return fail(TMLC_EXIT_IO, "cannot open input", in_path);
    if (fseek(f, 0, SEEK_END) != 0) return fail(TMLC_EXIT_IO, "cannot seek input", in_path);
    long in_size = ftell(f);
    if (in_size < 0 || fseek(f, 0, SEEK_SET) != 0)
        return fail(TMLC_EXIT_IO, "cannot size input", in_path);
    int size_ok = in_total == 0 ? in_size == 0
                                : in_size > 0 && (unsigned long)in_size % in_total == 0;
    if (!size_ok) {
        fprintf(stderr, "run[%s]: error: input '%s' has %ld bytes, the model takes %lu (",
                TMLC_MODEL_NAME, in_path, in_size, (unsigned long)in_total);
        for (int i = 0; i < TMLC_NUM_IN; i++)
            fprintf(stderr, "%s%lu", i ? " + " : "", (unsigned long)in_bytes[i]);
        fprintf(stderr, ") per sample\n");
        fclose(f);
        return TMLC_EXIT_INPUT_SIZE;
    }
    unsigned long samples = in_total == 0 ? 1 : (unsigned long)in_size / in_total;

    errno = 0;
    FILE *o = fopen(out_path, "wb");
    if (!o) return fail(TMLC_EXIT_IO, "cannot create output", out_path);
    double elapsed = 0;
    for (unsigned long s = 0; s < samples; s++) {
        for (int i = 0; i < TMLC_NUM_IN; i++)
            if (fread(in_buf[i], 1, in_bytes[i], f) != in_bytes[i]) {
                fclose(f);
                return fail(TMLC_EXIT_IO, "short read from input", in_path);
            }
        for (int i = 0; i < TMLC_NUM_OUT; i++) memset(out_buf[i], TMLC_POISON_BYTE, out_bytes[i]);

        /* ---- invoke ---- */
        double t0 = now_seconds();
        for (unsigned long r = 0; r < repeat; r++) {
            int rc = tmlc_invoke_checked(inputs, outputs);
            if (rc != 0) {
                fprintf(stderr, "run[%s]: error: %s_invoke returned %d (call %lu of %lu)\n",
                        TMLC_MODEL_NAME, TMLC_MODEL_NAME, rc, r + 1, repeat);
                return TMLC_EXIT_INVOKE;
            }
        }
        elapsed += now_seconds() - t0;

        /* ---- guard zones: catch out-of-bounds writes by the model ---- */
        for (int i = 0; i < TMLC_NUM_IN; i++)
            if (!guard_intact(in_buf[i], in_bytes[i])) {
                fprintf(stderr, "run[%s]: error: write past the end of input %d\n", TMLC_MODEL_NAME, i);
                return TMLC_EXIT_GUARD;
            }
        for (int i = 0; i < TMLC_NUM_OUT; i++)
            if (!guard_intact(out_buf[i], out_bytes[i])) {
                fprintf(stderr, "run[%s]: error: write past the end of output %d\n", TMLC_MODEL_NAME, i);
                return TMLC_EXIT_GUARD;
            }

        /* ---- write outputs ---- */
        for (int i = 0; i < TMLC_NUM_OUT; i++)
            if (fwrite(out_buf[i], 1, out_bytes[i], o) != out_bytes[i]) {
                fclose(o);
                return fail(TMLC_EXIT_IO, "cannot write output", out_path);
            }
    }
    fclose(f);
    if (fclose(o) != 0) return fail(TMLC_EXIT_IO, "cannot write output", out_path);
    if (repeat > 1)
        fprintf(stderr, "run[%s]: %lu invokes, %.3f us per invoke\n", TMLC_MODEL_NAME,
                repeat * samples, elapsed * 1e6 / (double)(repeat * samples));

    for (int i = 0; i < TMLC_NUM_IN; i++) free(in_buf[i]);
    for (int i = 0; i < TMLC_NUM_OUT; i++) free(out_buf[i]);
    return TMLC_EXIT_OK;
}
