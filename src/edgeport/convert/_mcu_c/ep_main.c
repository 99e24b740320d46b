/* edgeport test harness: runs model_invoke on every sample of input.bin, writes output.bin.
 * Built for the host (gcc) or for Cortex-M under QEMU, where stdio reaches the host through
 * semihosting and SysTick counts time (instructions under qemu -icount shift=0). */
#include <stdint.h>
#include <stdio.h>

#include "model.h"

#ifdef EP_CORTEX_M
extern void initialise_monitor_handles(void);
extern uint64_t ep_ticks(void);
#else
static uint64_t ep_ticks(void) { return 0; }
#endif

static model_input_t ep_in[MODEL_INPUT_SIZE];
static model_output_t ep_out[MODEL_OUTPUT_SIZE];

int main(void) {
#ifdef EP_CORTEX_M
    initialise_monitor_handles();
#endif
    FILE *fi = fopen("input.bin", "rb");
    FILE *fo = fopen("output.bin", "wb");
    if (!fi || !fo) {
        printf("edgeport: cannot open input.bin / output.bin\n");
        return 2;
    }
    unsigned long n = 0;
    uint64_t total = 0, first = 0;
    while (fread(ep_in, sizeof(model_input_t), MODEL_INPUT_SIZE, fi) == MODEL_INPUT_SIZE) {
        uint64_t t0 = ep_ticks();
        model_invoke(ep_in, ep_out);
        uint64_t dt = ep_ticks() - t0;
        if (n == 0) first = dt;
        total += dt;
        if (fwrite(ep_out, sizeof(model_output_t), MODEL_OUTPUT_SIZE, fo) != MODEL_OUTPUT_SIZE) {
            printf("edgeport: cannot write output.bin\n");
            return 2;
        }
        ++n;
    }
    fclose(fi);
    fclose(fo);
    printf("edgeport: samples %lu first_ticks %lu mean_ticks %lu\n", n, (unsigned long)first,
           (unsigned long)(n ? total / n : 0));
    return 0;
}
