/* What a firmware links: the input written straight into the model's arena, one run, the output read from
 * it; no I/O buffers beside the arena. Its ELF is what edgeport measures. */
#include "model.h"

int main(void) {
    model_input()[0] = 0;
    return model_run() + (int)model_output()[0];
}
