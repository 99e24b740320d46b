/* edgeport MCU kernels: int8 operators with TFLite's integer semantics (reference kernels).
 * Every parameter a kernel needs (requantisation multipliers, padding, activation range) is
 * computed by the code generator at conversion time and stored in a const struct (flash). */
#ifndef EP_KERNELS_H
#define EP_KERNELS_H

#include <stdint.h>

typedef struct {
    int batches, in_h, in_w, in_c, out_h, out_w, out_c, k_h, k_w, filter_c;
    int stride_h, stride_w, dil_h, dil_w, pad_h, pad_w;
    int32_t in_offset, out_offset, act_min, act_max;
    const int8_t *filter;
    const int32_t *bias; /* NULL: no bias */
    const int32_t *mult;
    const int32_t *shift;
    int in_ring, out_ring; /* rows of a line buffer (a fused pair's intermediate), 0: the whole image */
} ep_conv_params;

typedef struct {
    int batches, in_h, in_w, in_c, out_h, out_w, out_c, k_h, k_w, depth_mult;
    int stride_h, stride_w, dil_h, dil_w, pad_h, pad_w;
    int32_t in_offset, out_offset, act_min, act_max;
    const int8_t *filter;
    const int32_t *bias;
    const int32_t *mult;
    const int32_t *shift;
    int in_ring, out_ring;
} ep_dwconv_params;

typedef struct {
    int batches, in_depth, out_depth, per_channel;
    int32_t in_offset, filter_offset, out_offset, act_min, act_max;
    const int8_t *filter;
    const int32_t *bias;
    const int32_t *mult;
    const int32_t *shift;
} ep_fc_params;

typedef struct {
    int out_dims[4];
    int a_strides[4], b_strides[4];
    int32_t a_offset, b_offset, out_offset;
    int32_t a_mult, b_mult, out_mult;
    int a_shift, b_shift, out_shift, left_shift;
    int32_t act_min, act_max;
} ep_binary_params;

typedef struct {
    int batches, in_h, in_w, c, out_h, out_w, k_h, k_w, stride_h, stride_w, pad_h, pad_w;
    int32_t act_min, act_max;
    int in_ring, out_ring;
} ep_pool_params;

typedef struct {
    int dims[4], reduce[4];
    int32_t in_zp, out_zp, mult;
    int shift;
} ep_mean_params;

typedef struct {
    int dims[4];
    int pre[4], post[4];
    int8_t pad_value;
} ep_pad_params;

typedef struct {
    int count;
    int32_t in_zp, out_zp, mult;
    int shift;
} ep_requant_params;

typedef struct {
    int outer, out_inner, n_inputs;
    const int *in_inner;
} ep_concat_params;

typedef struct {
    int outer, depth;
    int32_t input_mult;
    int input_left_shift, diff_min;
} ep_softmax_params;

typedef struct {
    int count;
    int32_t in_zp, out_zp;
    int16_t out_mult, reluish_mult;
    int out_exp, reluish_exp;
} ep_hard_swish_params;

typedef struct {
    int count;
    float scale; /* QUANTIZE: the output's scale; DEQUANTIZE: the input's */
    int32_t zero_point;
} ep_affine_params;

void ep_conv2d(const ep_conv_params *p, const int8_t *in, int8_t *out);
/* output rows [oy0, oy1) only: a fused pair interleaves its producer's and consumer's rows */
void ep_conv2d_rows(const ep_conv_params *p, const int8_t *in, int8_t *out, int oy0, int oy1);
void ep_depthwise_conv2d_rows(const ep_dwconv_params *p, const int8_t *in, int8_t *out, int oy0, int oy1);
void ep_max_pool_rows(const ep_pool_params *p, const int8_t *in, int8_t *out, int oy0, int oy1);
void ep_avg_pool_rows(const ep_pool_params *p, const int8_t *in, int8_t *out, int oy0, int oy1);
void ep_depthwise_conv2d(const ep_dwconv_params *p, const int8_t *in, int8_t *out);
void ep_fully_connected(const ep_fc_params *p, const int8_t *in, int8_t *out);
void ep_add(const ep_binary_params *p, const int8_t *a, const int8_t *b, int8_t *out);
void ep_mul(const ep_binary_params *p, const int8_t *a, const int8_t *b, int8_t *out);
void ep_max_pool(const ep_pool_params *p, const int8_t *in, int8_t *out);
void ep_avg_pool(const ep_pool_params *p, const int8_t *in, int8_t *out);
void ep_mean(const ep_mean_params *p, const int8_t *in, int8_t *out, int32_t *scratch);
void ep_pad(const ep_pad_params *p, const int8_t *in, int8_t *out);
void ep_requantize(const ep_requant_params *p, const int8_t *in, int8_t *out);
void ep_concat(const ep_concat_params *p, const int8_t *const *ins, int8_t *out);
void ep_softmax(const ep_softmax_params *p, const int8_t *in, int8_t *out);
void ep_lookup(const int8_t *table, int count, const int8_t *in, int8_t *out);
void ep_hard_swish(const ep_hard_swish_params *p, const int8_t *in, int8_t *out);
void ep_quantize_f32(const ep_affine_params *p, const float *in, int8_t *out);
void ep_dequantize_f32(const ep_affine_params *p, const int8_t *in, float *out);
void ep_copy(const int8_t *in, int8_t *out, int count);

#endif
