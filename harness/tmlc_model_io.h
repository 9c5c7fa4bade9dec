/*
 * tmlc_model_io.h - compile-time view of a tmlc model's I/O contract.
 *
 * Shared by harness/host_main.c and harness/m4/main.c.  Both are built with
 *
 *     -DTMLC_MODEL=NAME -include model.h
 *
 * so that the generated header's macros (NAME_NUM_INPUTS, NAME_INPUT0_BYTES,
 * ...) and NAME_invoke() are visible here.  This header turns the NAME prefix
 * into fixed names via token pasting:
 *
 *     TMLC_NUM_IN          NAME_NUM_INPUTS
 *     TMLC_NUM_OUT         NAME_NUM_OUTPUTS
 *     TMLC_IN_BYTES(k)     NAME_INPUTk_BYTES        (k a literal 0..7)
 *     TMLC_OUT_BYTES(k)    NAME_OUTPUTk_BYTES
 *     TMLC_INVOKE          NAME_invoke
 *     TMLC_FOR_EACH_INPUT(X)   expands X(0) X(1) ... X(NAME_NUM_INPUTS-1)
 *     TMLC_FOR_EACH_OUTPUT(X)  likewise for outputs
 *     TMLC_MODEL_NAME      "NAME" (a string literal, for messages)
 *
 * Up to 8 inputs and 8 outputs are supported; more is a compile error.
 *
 * The harness also agrees on two buffer conventions, so that the host run and
 * the M4 run produce byte-identical output files even when a model fails to
 * write every output byte:
 *   - output buffers are filled with TMLC_POISON_BYTE before each run;
 *   - every input and output buffer is followed by TMLC_GUARD_BYTES bytes of
 *     TMLC_GUARD_BYTE, checked after the run to catch out-of-bounds writes.
 */
#ifndef TMLC_MODEL_IO_H
#define TMLC_MODEL_IO_H

#ifndef TMLC_MODEL
#error "compile with -DTMLC_MODEL=<model name> -include model.h"
#endif

/* ---- token pasting: TMLC_SYM(FOO) -> <TMLC_MODEL>_FOO ------------------ */
/* Two levels so that TMLC_MODEL is expanded before it is pasted. */
#define TMLC_PASTE_(m, s) m##_##s
#define TMLC_PASTE(m, s) TMLC_PASTE_(m, s)
#define TMLC_SYM(s) TMLC_PASTE(TMLC_MODEL, s)

#define TMLC_STR_(x) #x
#define TMLC_STR(x) TMLC_STR_(x)
#define TMLC_MODEL_NAME TMLC_STR(TMLC_MODEL)

#define TMLC_NUM_IN TMLC_SYM(NUM_INPUTS)
#define TMLC_NUM_OUT TMLC_SYM(NUM_OUTPUTS)
#define TMLC_INVOKE TMLC_SYM(invoke)
/* k must be a literal digit: INPUT##k##_BYTES is pasted before TMLC_SYM runs. */
#define TMLC_IN_BYTES(k) TMLC_SYM(INPUT##k##_BYTES)
#define TMLC_OUT_BYTES(k) TMLC_SYM(OUTPUT##k##_BYTES)

/*
 * Note: an undefined identifier in #if silently evaluates to 0, so a model
 * header lacking NAME_NUM_INPUTS would look like a 0-input model here.  The
 * enum in TMLC_CHECK_CONTRACT below references the macros in C proper, where
 * a missing one is a hard "undeclared identifier" error.
 */
#if TMLC_NUM_IN > 8
#error "the harness supports at most 8 model inputs"
#endif
#if TMLC_NUM_OUT > 8
#error "the harness supports at most 8 model outputs"
#endif

/* ---- per-index expansion: TMLC_IN_k(X) is X(k) iff input k exists ----- */
#if TMLC_NUM_IN > 0
#define TMLC_IN_0(X) X(0)
#else
#define TMLC_IN_0(X)
#endif
#if TMLC_NUM_IN > 1
#define TMLC_IN_1(X) X(1)
#else
#define TMLC_IN_1(X)
#endif
#if TMLC_NUM_IN > 2
#define TMLC_IN_2(X) X(2)
#else
#define TMLC_IN_2(X)
#endif
#if TMLC_NUM_IN > 3
#define TMLC_IN_3(X) X(3)
#else
#define TMLC_IN_3(X)
#endif
#if TMLC_NUM_IN > 4
#define TMLC_IN_4(X) X(4)
#else
#define TMLC_IN_4(X)
#endif
#if TMLC_NUM_IN > 5
#define TMLC_IN_5(X) X(5)
#else
#define TMLC_IN_5(X)
#endif
#if TMLC_NUM_IN > 6
#define TMLC_IN_6(X) X(6)
#else
#define TMLC_IN_6(X)
#endif
#if TMLC_NUM_IN > 7
#define TMLC_IN_7(X) X(7)
#else
#define TMLC_IN_7(X)
#endif

#if TMLC_NUM_OUT > 0
#define TMLC_OUT_0(X) X(0)
#else
#define TMLC_OUT_0(X)
#endif
#if TMLC_NUM_OUT > 1
#define TMLC_OUT_1(X) X(1)
#else
#define TMLC_OUT_1(X)
#endif
#if TMLC_NUM_OUT > 2
#define TMLC_OUT_2(X) X(2)
#else
#define TMLC_OUT_2(X)
#endif
#if TMLC_NUM_OUT > 3
#define TMLC_OUT_3(X) X(3)
#else
#define TMLC_OUT_3(X)
#endif
#if TMLC_NUM_OUT > 4
#define TMLC_OUT_4(X) X(4)
#else
#define TMLC_OUT_4(X)
#endif
#if TMLC_NUM_OUT > 5
#define TMLC_OUT_5(X) X(5)
#else
#define TMLC_OUT_5(X)
#endif
#if TMLC_NUM_OUT > 6
#define TMLC_OUT_6(X) X(6)
#else
#define TMLC_OUT_6(X)
#endif
#if TMLC_NUM_OUT > 7
#define TMLC_OUT_7(X) X(7)
#else
#define TMLC_OUT_7(X)
#endif

#define TMLC_FOR_EACH_INPUT(X) \
    TMLC_IN_0(X) TMLC_IN_1(X) TMLC_IN_2(X) TMLC_IN_3(X) \
    TMLC_IN_4(X) TMLC_IN_5(X) TMLC_IN_6(X) TMLC_IN_7(X)
#define TMLC_FOR_EACH_OUTPUT(X) \
    TMLC_OUT_0(X) TMLC_OUT_1(X) TMLC_OUT_2(X) TMLC_OUT_3(X) \
    TMLC_OUT_4(X) TMLC_OUT_5(X) TMLC_OUT_6(X) TMLC_OUT_7(X)

/* ---- contract checks (C level, so missing macros are hard errors) ------ */
/*
 * Place TMLC_CHECK_CONTRACT once at file scope.  It
 *   - fails to compile if NAME_NUM_INPUTS / NAME_NUM_OUTPUTS / any
 *     NAME_INPUTk_BYTES / NAME_OUTPUTk_BYTES is missing,
 *   - fails (with -Werror) if NAME_invoke does not have the contract's type.
 */
#define TMLC_ENUM_IN_(k) tmlc_check_in##k = (TMLC_IN_BYTES(k)),
#define TMLC_ENUM_OUT_(k) tmlc_check_out##k = (TMLC_OUT_BYTES(k)),
#define TMLC_CHECK_CONTRACT                                                   \
    enum {                                                                    \
        tmlc_check_num_in = TMLC_NUM_IN,                                      \
        tmlc_check_num_out = TMLC_NUM_OUT,                                    \
        TMLC_FOR_EACH_INPUT(TMLC_ENUM_IN_) TMLC_FOR_EACH_OUTPUT(TMLC_ENUM_OUT_) \
        tmlc_check_end                                                        \
    };                                                                        \
    _Static_assert(TMLC_NUM_IN >= 0 && TMLC_NUM_IN <= 8, "0..8 inputs");      \
    _Static_assert(TMLC_NUM_OUT >= 1 && TMLC_NUM_OUT <= 8, "1..8 outputs");   \
    typedef int (*tmlc_invoke_fn)(const void *const inputs[],                 \
                                  void *const outputs[]);                     \
    static const tmlc_invoke_fn tmlc_invoke_checked = TMLC_INVOKE

/* ---- buffer conventions ---------------------------------------------- */
#define TMLC_GUARD_BYTES 16   /* guard zone after each I/O buffer */
#define TMLC_GUARD_BYTE 0xC5  /* guard fill; must still be intact after invoke */
#define TMLC_POISON_BYTE 0xA5 /* output fill before invoke */

/* ---- exit codes (host and M4 alike) ----------------------------------- */
#define TMLC_EXIT_OK 0
#define TMLC_EXIT_IO 1        /* cannot open/read/write a file, bad usage */
#define TMLC_EXIT_INPUT_SIZE 2 /* input file size != sum of input sizes   */
#define TMLC_EXIT_INVOKE 3    /* NAME_invoke returned non-zero            */
#define TMLC_EXIT_GUARD 4     /* a guard zone after an I/O buffer changed */
#define TMLC_EXIT_STACK 5     /* M4 only: reserved stack fully used       */
#define TMLC_EXIT_FAULT 99    /* M4 only: HardFault/MemManage/BusFault/...*/

#endif /* TMLC_MODEL_IO_H */
