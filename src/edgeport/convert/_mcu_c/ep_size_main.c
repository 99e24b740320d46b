/* What a firmware links: one call of model_invoke on static buffers. Its ELF is what edgeport measures. */
#include "model.h"

static model_input_t ep_in[MODEL_INPUT_SIZE];
static model_output_t ep_out[MODEL_OUTPUT_SIZE];

int main(void) { return model_invoke(ep_in, ep_out) + (int)ep_out[0]; }
