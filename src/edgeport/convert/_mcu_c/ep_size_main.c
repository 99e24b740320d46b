/* What a firmware links: one call of model_invoke on static buffers. Its ELF is what edgeport measures. */
#include "model.h"

static int8_t ep_in[MODEL_INPUT_SIZE];
static int8_t ep_out[MODEL_OUTPUT_SIZE];

int main(void) { return model_invoke(ep_in, ep_out) + ep_out[0]; }
