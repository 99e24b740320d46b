/* Minimal Cortex-M start-up: vector table, .data/.bss set-up, FPU on, SysTick as a 64-bit tick counter.
 * With EP_SEMIHOSTING main's status goes back to the host (QEMU exits); otherwise the core idles. */
#include <stdint.h>
#include <stdlib.h>

extern uint32_t __stack_top, __data_load, __data_start, __data_end, __bss_start__, __bss_end__;
extern int main(void);

#define EP_REG(a) (*(volatile uint32_t *)(a))
static volatile uint32_t ep_wraps;

void Reset_Handler(void) {
    uint32_t *src = &__data_load, *dst = &__data_start;
    while (dst < &__data_end) *dst++ = *src++;
    for (dst = &__bss_start__; dst < &__bss_end__;) *dst++ = 0;
    EP_REG(0xE000ED88) |= 0xFu << 20; /* CPACR: CP10/CP11 full access (FPU, MVE) */
    __asm volatile("dsb\n isb");
    EP_REG(0xE000E014) = 0x00FFFFFFu; /* SysTick LOAD */
    EP_REG(0xE000E018) = 0;           /* VAL */
    EP_REG(0xE000E010) = 7;           /* CTRL: processor clock, interrupt, enable */
    int rc = main();
#ifdef EP_SEMIHOSTING
    exit(rc);
#else
    (void)rc;
    for (;;) {}
#endif
}

void SysTick_Handler(void) { ++ep_wraps; }

uint64_t ep_ticks(void) {
    uint32_t w, v;
    do {
        w = ep_wraps;
        v = EP_REG(0xE000E018);
    } while (w != ep_wraps);
    return (uint64_t)w * 0x01000000u + (0x00FFFFFFu - v);
}

void Fault_Handler(void) {
#ifdef EP_SEMIHOSTING
    exit(3);
#else
    for (;;) {}
#endif
}

__attribute__((section(".vectors"), used)) static const void *const ep_vectors[16] = {
    &__stack_top, (void *)Reset_Handler, (void *)Fault_Handler, (void *)Fault_Handler,
    (void *)Fault_Handler, (void *)Fault_Handler, (void *)Fault_Handler, 0, 0, 0, 0,
    (void *)Fault_Handler, (void *)Fault_Handler, 0, (void *)Fault_Handler, (void *)SysTick_Handler,
};
