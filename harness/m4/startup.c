/*
 * startup.c - reset and exception handling for the bare-metal Cortex-M4
 * harness (QEMU mps2-an386, or any M4 whose image starts at address 0).
 *
 * On reset the core loads SP from vectors[0] and jumps to vectors[1]
 * (Reset_Handler), which
 *   1. turns on the FPU (CP10/CP11 full access in CPACR), because code built
 *      with -mfloat-abi=hard may use VFP registers anywhere, memcpy included;
 *   2. copies .data from its load address in flash to RAM;
 *   3. zeroes .bss;
 *   4. paints the reserved stack with a pattern, so main can report the
 *      stack high-water mark (tmlc_stack_used) afterwards;
 *   5. calls main() and passes its return value to the semihosting exit.
 *
 * Every other exception (NMI, HardFault, MemManage, BusFault, UsageFault,
 * SVCall, DebugMonitor, PendSV, SysTick) prints a short report on the
 * semihosting console and exits with code 99 (TMLC_EXIT_FAULT).  The
 * configurable faults are not enabled, so they all escalate to HardFault;
 * the CFSR bits still say what went wrong.
 *
 * Linker-script symbols used (see m4.ld / m4_big.ld): __stack_top,
 * __stack_limit, __data_load, __data_start, __data_end, __bss_start,
 * __bss_end.
 */
#include <stdint.h>

#include "semihost.h"

extern uint32_t __stack_top[], __stack_limit[];
extern uint32_t __data_load[], __data_start[], __data_end[];
extern uint32_t __bss_start[], __bss_end[];

int main(void);
void Reset_Handler(void) __attribute__((noreturn));
void tmlc_fault(const uint32_t *frame, uint32_t ipsr) __attribute__((noreturn, used));
uint32_t tmlc_stack_used(void);
uint32_t tmlc_stack_size(void);

#define STACK_PAINT 0xDEADBEEFu

/* System control block registers (ARMv7-M ARM, B3.2). */
#define SCB_CPACR (*(volatile uint32_t *)0xE000ED88u) /* coprocessor access */
#define SCB_CFSR (*(volatile uint32_t *)0xE000ED28u)  /* configurable fault status */
#define SCB_HFSR (*(volatile uint32_t *)0xE000ED2Cu)  /* HardFault status */
#define SCB_MMFAR (*(volatile uint32_t *)0xE000ED34u) /* MemManage fault address */
#define SCB_BFAR (*(volatile uint32_t *)0xE000ED38u)  /* BusFault address */

void Reset_Handler(void) {
    /* 1. FPU: CP10 and CP11 full access (bits 20..23), then make sure the
     *    new setting is in effect before any FP instruction runs. */
    SCB_CPACR |= 0xFu << 20;
    __asm__ volatile("dsb\n\tisb" ::: "memory");

    /* 2./3. .data and .bss.  Volatile stores keep GCC from turning the loops
     *       into memcpy/memset calls; not needed for correctness here, but it
     *       keeps this function self-contained. */
    const uint32_t *src = __data_load;
    for (volatile uint32_t *dst = __data_start; dst < __data_end;) *dst++ = *src++;
    for (volatile uint32_t *dst = __bss_start; dst < __bss_end;) *dst++ = 0;

    /* 4. Paint the unused part of the stack, from its limit up to 64 bytes
     *    below our own stack pointer.  The stores must be volatile: as a
     *    memset call they would overwrite memset's own frame. */
    uintptr_t sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    for (volatile uint32_t *p = __stack_limit; (uintptr_t)p < sp - 64u;) *p++ = STACK_PAINT;

    /* 5. Run, and hand main's return value to the host. */
    sh_exit(main());
}

/* Bytes of the reserved stack that were ever written (high-water mark). */
uint32_t tmlc_stack_used(void) {
    const volatile uint32_t *p = __stack_limit;
    while (p < __stack_top && *p == STACK_PAINT) p++;
    return (uint32_t)((uintptr_t)__stack_top - (uintptr_t)p);
}

uint32_t tmlc_stack_size(void) {
    return (uint32_t)((uintptr_t)__stack_top - (uintptr_t)__stack_limit);
}

/*
 * Common fault report.  `frame` is the exception stack frame (r0-r3, r12,
 * lr, pc, xPSR; the same first 8 words with or without FP state), `ipsr`
 * the active exception number.
 */
void tmlc_fault(const uint32_t *frame, uint32_t ipsr) {
    static const char *const names[16] = {
        "?", "Reset", "NMI", "HardFault", "MemManage", "BusFault", "UsageFault", "?",
        "?", "?", "?", "SVCall", "DebugMonitor", "?", "PendSV", "SysTick",
    };
    uint32_t n = ipsr & 0x1FFu;
    sh_puts("tmlc-m4: fault: ");
    sh_puts(n < 16 ? names[n] : "IRQ");
    sh_puts(" pc=");
    sh_put_hex(frame[6]);
    sh_puts(" lr=");
    sh_put_hex(frame[5]);
    sh_puts(" CFSR=");
    sh_put_hex(SCB_CFSR);
    sh_puts(" HFSR=");
    sh_put_hex(SCB_HFSR);
    sh_puts(" BFAR=");
    sh_put_hex(SCB_BFAR);
    sh_puts(" MMFAR=");
    sh_put_hex(SCB_MMFAR);
    sh_puts("\n");
    sh_exit(99); /* TMLC_EXIT_FAULT */
}

/*
 * The handler proper: pass the stack pointer (= the exception frame, since
 * the harness never leaves the main stack) and IPSR to tmlc_fault.  Naked,
 * so no prologue moves SP before we read it.
 */
__attribute__((naked)) static void Fault_Handler(void) {
    __asm__("mov r0, sp\n\t"
            "mrs r1, ipsr\n\t"
            "b tmlc_fault\n\t");
}

/* A vector table entry: the initial stack pointer or a handler address.
 * (A union keeps the table free of object-to-function pointer casts.) */
typedef union {
    uint32_t *stack_top;
    void (*handler)(void);
} vector_t;

/* Vector table: placed at address 0 by the linker script (KEEP(.vectors)). */
__attribute__((section(".vectors"), used)) static const vector_t vectors[16] = {
    {.stack_top = __stack_top}, /*  0: initial main stack pointer */
    {.handler = Reset_Handler}, /*  1: Reset */
    {.handler = Fault_Handler}, /*  2: NMI */
    {.handler = Fault_Handler}, /*  3: HardFault */
    {.handler = Fault_Handler}, /*  4: MemManage */
    {.handler = Fault_Handler}, /*  5: BusFault */
    {.handler = Fault_Handler}, /*  6: UsageFault */
    {0}, {0}, {0}, {0},         /*  7-10: reserved */
    {.handler = Fault_Handler}, /* 11: SVCall */
    {.handler = Fault_Handler}, /* 12: DebugMonitor */
    {0},                        /* 13: reserved */
    {.handler = Fault_Handler}, /* 14: PendSV */
    {.handler = Fault_Handler}, /* 15: SysTick */
};
