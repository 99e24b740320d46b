/* edgeport MCU kernels: int8 operators matching TFLite's reference integer kernels bit for bit.
 * Requantisation is TFLite's MultiplyByQuantizedMultiplier (double rounding: a saturating rounding
 * doubling high multiply, then a rounding right shift; FULLY_CONNECTED rounds once); pooling and mean divide with TFLite's
 * round-half-away integer division. */
#include "ep_kernels.h"

#include <string.h>

static inline int32_t ep_min(int32_t a, int32_t b) { return a < b ? a : b; }
static inline int32_t ep_max(int32_t a, int32_t b) { return a > b ? a : b; }

static inline int32_t ep_srdhm(int32_t a, int32_t b) {
    if (a == b && a == INT32_MIN) return INT32_MAX;
    int64_t ab = (int64_t)a * (int64_t)b;
    int32_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}

static inline int32_t ep_rdbpot(int32_t x, int exponent) {
    int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
    int32_t remainder = x & mask;
    int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

static inline int32_t ep_mbqm(int32_t x, int32_t mult, int shift) {
    int left = shift > 0 ? shift : 0;
    int right = shift > 0 ? 0 : -shift;
    return ep_rdbpot(ep_srdhm((int32_t)((uint32_t)x << left), mult), right);
}

/* The single-rounding form (one rounding shift of the 64-bit product), which the LiteRT interpreter's
 * reference FULLY_CONNECTED applies (measured: the double-rounding form differs from it at ties). */
static inline int32_t ep_mbqm_single(int32_t x, int32_t mult, int shift) {
    const int total = 31 - shift;
    return (int32_t)(((int64_t)x * (int64_t)mult + ((int64_t)1 << (total - 1))) >> total);
}

static inline int8_t ep_clamp(int32_t v, int32_t lo, int32_t hi) { return (int8_t)ep_min(ep_max(v, lo), hi); }

/* The storage row of image row y: a ring of `ring` rows (a fused producer/consumer pair's line buffer,
 * batch 1) or the whole image (ring 0). */
static inline int32_t ep_row(int y, int ring) { return ring ? y % ring : y; }

void ep_conv2d_rows(const ep_conv_params *p, const int8_t *in, int8_t *out, int oy0, int oy1) {
    const int groups = p->in_c / p->filter_c;
    const int oc_per_group = p->out_c / groups;
    const int in_rows = p->in_ring ? p->in_ring : p->in_h, out_rows = p->out_ring ? p->out_ring : p->out_h;
    for (int b = 0; b < p->batches; ++b)
        for (int oy = oy0; oy < oy1; ++oy)
            for (int ox = 0; ox < p->out_w; ++ox) {
                const int y0 = oy * p->stride_h - p->pad_h, x0 = ox * p->stride_w - p->pad_w;
                for (int oc = 0; oc < p->out_c; ++oc) {
                    const int g = oc / oc_per_group;
                    const int8_t *w = p->filter + (int32_t)oc * p->k_h * p->k_w * p->filter_c;
                    int32_t acc = 0;
                    for (int fy = 0; fy < p->k_h; ++fy) {
                        const int iy = y0 + p->dil_h * fy;
                        if (iy < 0 || iy >= p->in_h) continue;
                        for (int fx = 0; fx < p->k_w; ++fx) {
                            const int ix = x0 + p->dil_w * fx;
                            if (ix < 0 || ix >= p->in_w) continue;
                            const int8_t *src = in + (((int32_t)b * in_rows + ep_row(iy, p->in_ring)) * p->in_w + ix) * p->in_c
                                                + g * p->filter_c;
                            const int8_t *wk = w + (fy * p->k_w + fx) * p->filter_c;
                            for (int ic = 0; ic < p->filter_c; ++ic)
                                acc += (int32_t)wk[ic] * ((int32_t)src[ic] + p->in_offset);
                        }
                    }
                    if (p->bias) acc += p->bias[oc];
                    acc = ep_mbqm(acc, p->mult[oc], p->shift[oc]) + p->out_offset;
                    out[(((int32_t)b * out_rows + ep_row(oy, p->out_ring)) * p->out_w + ox) * p->out_c + oc] =
                        ep_clamp(acc, p->act_min, p->act_max);
                }
            }
}

void ep_conv2d(const ep_conv_params *p, const int8_t *in, int8_t *out) { ep_conv2d_rows(p, in, out, 0, p->out_h); }

void ep_depthwise_conv2d_rows(const ep_dwconv_params *p, const int8_t *in, int8_t *out, int oy0, int oy1) {
    const int in_rows = p->in_ring ? p->in_ring : p->in_h, out_rows = p->out_ring ? p->out_ring : p->out_h;
    for (int b = 0; b < p->batches; ++b)
        for (int oy = oy0; oy < oy1; ++oy)
            for (int ox = 0; ox < p->out_w; ++ox) {
                const int y0 = oy * p->stride_h - p->pad_h, x0 = ox * p->stride_w - p->pad_w;
                for (int ic = 0; ic < p->in_c; ++ic)
                    for (int m = 0; m < p->depth_mult; ++m) {
                        const int oc = m + ic * p->depth_mult;
                        int32_t acc = 0;
                        for (int fy = 0; fy < p->k_h; ++fy) {
                            const int iy = y0 + p->dil_h * fy;
                            if (iy < 0 || iy >= p->in_h) continue;
                            for (int fx = 0; fx < p->k_w; ++fx) {
                                const int ix = x0 + p->dil_w * fx;
                                if (ix < 0 || ix >= p->in_w) continue;
                                int32_t v = in[(((int32_t)b * in_rows + ep_row(iy, p->in_ring)) * p->in_w + ix) * p->in_c
                                               + ic];
                                int32_t w = p->filter[(fy * p->k_w + fx) * p->out_c + oc];
                                acc += w * (v + p->in_offset);
                            }
                        }
                        if (p->bias) acc += p->bias[oc];
                        acc = ep_mbqm(acc, p->mult[oc], p->shift[oc]) + p->out_offset;
                        out[(((int32_t)b * out_rows + ep_row(oy, p->out_ring)) * p->out_w + ox) * p->out_c + oc] =
                            ep_clamp(acc, p->act_min, p->act_max);
                    }
            }
}

void ep_depthwise_conv2d(const ep_dwconv_params *p, const int8_t *in, int8_t *out) {
    ep_depthwise_conv2d_rows(p, in, out, 0, p->out_h);
}

void ep_fully_connected(const ep_fc_params *p, const int8_t *in, int8_t *out) {
    for (int b = 0; b < p->batches; ++b)
        for (int o = 0; o < p->out_depth; ++o) {
            const int8_t *w = p->filter + (int32_t)o * p->in_depth;
            const int8_t *x = in + (int32_t)b * p->in_depth;
            int32_t acc = 0;
            for (int d = 0; d < p->in_depth; ++d)
                acc += ((int32_t)w[d] + p->filter_offset) * ((int32_t)x[d] + p->in_offset);
            if (p->bias) acc += p->bias[o];
            const int q = p->per_channel ? o : 0;
            acc = ep_mbqm_single(acc, p->mult[q], p->shift[q]) + p->out_offset;
            out[(int32_t)b * p->out_depth + o] = ep_clamp(acc, p->act_min, p->act_max);
        }
}

#define EP_BROADCAST_LOOP(...)                                                                   \
    int32_t o = 0;                                                                               \
    for (int i0 = 0; i0 < p->out_dims[0]; ++i0)                                                  \
        for (int i1 = 0; i1 < p->out_dims[1]; ++i1)                                              \
            for (int i2 = 0; i2 < p->out_dims[2]; ++i2)                                          \
                for (int i3 = 0; i3 < p->out_dims[3]; ++i3, ++o) {                               \
                    const int32_t ia = i0 * p->a_strides[0] + i1 * p->a_strides[1] +            \
                                       i2 * p->a_strides[2] + i3 * p->a_strides[3];             \
                    const int32_t ib = i0 * p->b_strides[0] + i1 * p->b_strides[1] +            \
                                       i2 * p->b_strides[2] + i3 * p->b_strides[3];             \
                    __VA_ARGS__                                                                  \
                }

void ep_add(const ep_binary_params *p, const int8_t *a, const int8_t *b, int8_t *out) {
    EP_BROADCAST_LOOP({
        const int32_t x = (int32_t)((uint32_t)(a[ia] + p->a_offset) << p->left_shift);
        const int32_t y = (int32_t)((uint32_t)(b[ib] + p->b_offset) << p->left_shift);
        const int32_t sx = ep_mbqm(x, p->a_mult, p->a_shift);
        const int32_t sy = ep_mbqm(y, p->b_mult, p->b_shift);
        const int32_t r = ep_mbqm(sx + sy, p->out_mult, p->out_shift) + p->out_offset;
        out[o] = ep_clamp(r, p->act_min, p->act_max);
    })
}

void ep_mul(const ep_binary_params *p, const int8_t *a, const int8_t *b, int8_t *out) {
    EP_BROADCAST_LOOP({
        const int32_t x = a[ia] + p->a_offset, y = b[ib] + p->b_offset;
        const int32_t r = p->out_offset + ep_mbqm(x * y, p->out_mult, p->out_shift);
        out[o] = ep_clamp(r, p->act_min, p->act_max);
    })
}

static void ep_pool(const ep_pool_params *p, const int8_t *in, int8_t *out, int average, int oy0, int oy1) {
    const int in_rows = p->in_ring ? p->in_ring : p->in_h, out_rows = p->out_ring ? p->out_ring : p->out_h;
    for (int b = 0; b < p->batches; ++b)
        for (int oy = oy0; oy < oy1; ++oy)
            for (int ox = 0; ox < p->out_w; ++ox)
                for (int c = 0; c < p->c; ++c) {
                    const int y0 = oy * p->stride_h - p->pad_h, x0 = ox * p->stride_w - p->pad_w;
                    const int fy0 = ep_max(0, -y0), fy1 = ep_min(p->k_h, p->in_h - y0);
                    const int fx0 = ep_max(0, -x0), fx1 = ep_min(p->k_w, p->in_w - x0);
                    int32_t acc = average ? 0 : -128;
                    int32_t count = 0;
                    for (int fy = fy0; fy < fy1; ++fy)
                        for (int fx = fx0; fx < fx1; ++fx) {
                            const int32_t v =
                                in[(((int32_t)b * in_rows + ep_row(y0 + fy, p->in_ring)) * p->in_w + x0 + fx) * p->c + c];
                            if (average) acc += v;
                            else acc = ep_max(acc, v);
                            ++count;
                        }
                    if (average && count > 0)
                        acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
                    out[(((int32_t)b * out_rows + ep_row(oy, p->out_ring)) * p->out_w + ox) * p->c + c] =
                        ep_clamp(acc, p->act_min, p->act_max);
                }
}

void ep_max_pool_rows(const ep_pool_params *p, const int8_t *in, int8_t *out, int oy0, int oy1) {
    ep_pool(p, in, out, 0, oy0, oy1);
}
void ep_avg_pool_rows(const ep_pool_params *p, const int8_t *in, int8_t *out, int oy0, int oy1) {
    ep_pool(p, in, out, 1, oy0, oy1);
}
void ep_max_pool(const ep_pool_params *p, const int8_t *in, int8_t *out) { ep_pool(p, in, out, 0, 0, p->out_h); }
void ep_avg_pool(const ep_pool_params *p, const int8_t *in, int8_t *out) { ep_pool(p, in, out, 1, 0, p->out_h); }

void ep_mean(const ep_mean_params *p, const int8_t *in, int8_t *out, int32_t *sum) {
    int out_dims[4], n = 1, outs = 1;
    for (int i = 0; i < 4; ++i) {
        out_dims[i] = p->reduce[i] ? 1 : p->dims[i];
        if (p->reduce[i]) n *= p->dims[i];
        outs *= out_dims[i];
    }
    for (int i = 0; i < outs; ++i) sum[i] = 0;
    int32_t k = 0;
    for (int i0 = 0; i0 < p->dims[0]; ++i0)
        for (int i1 = 0; i1 < p->dims[1]; ++i1)
            for (int i2 = 0; i2 < p->dims[2]; ++i2)
                for (int i3 = 0; i3 < p->dims[3]; ++i3, ++k) {
                    const int j0 = p->reduce[0] ? 0 : i0, j1 = p->reduce[1] ? 0 : i1;
                    const int j2 = p->reduce[2] ? 0 : i2, j3 = p->reduce[3] ? 0 : i3;
                    sum[((j0 * out_dims[1] + j1) * out_dims[2] + j2) * out_dims[3] + j3] += in[k];
                }
    /* the multiplier already holds 1/n (TFLite's QuantizedMeanOrSum) */
    for (int i = 0; i < outs; ++i)
        out[i] = ep_clamp(ep_mbqm(sum[i] - p->in_zp * n, p->mult, p->shift) + p->out_zp, -128, 127);
}

void ep_pad(const ep_pad_params *p, const int8_t *in, int8_t *out) {
    int od[4];
    for (int i = 0; i < 4; ++i) od[i] = p->pre[i] + p->dims[i] + p->post[i];
    int32_t o = 0;
    for (int i0 = 0; i0 < od[0]; ++i0)
        for (int i1 = 0; i1 < od[1]; ++i1)
            for (int i2 = 0; i2 < od[2]; ++i2)
                for (int i3 = 0; i3 < od[3]; ++i3, ++o) {
                    const int j0 = i0 - p->pre[0], j1 = i1 - p->pre[1], j2 = i2 - p->pre[2], j3 = i3 - p->pre[3];
                    if (j0 < 0 || j0 >= p->dims[0] || j1 < 0 || j1 >= p->dims[1] || j2 < 0 || j2 >= p->dims[2] ||
                        j3 < 0 || j3 >= p->dims[3])
                        out[o] = p->pad_value;
                    else
                        out[o] = in[((j0 * p->dims[1] + j1) * p->dims[2] + j2) * p->dims[3] + j3];
                }
}

void ep_requantize(const ep_requant_params *p, const int8_t *in, int8_t *out) {
    for (int i = 0; i < p->count; ++i)
        out[i] = ep_clamp(ep_mbqm(in[i] - p->in_zp, p->mult, p->shift) + p->out_zp, -128, 127);
}

void ep_concat(const ep_concat_params *p, const int8_t *const *ins, int8_t *out) {
    for (int o = 0; o < p->outer; ++o) {
        int8_t *dst = out + (int32_t)o * p->out_inner;
        for (int i = 0; i < p->n_inputs; ++i) {
            memcpy(dst, ins[i] + (int32_t)o * p->in_inner[i], (size_t)p->in_inner[i]);
            dst += p->in_inner[i];
        }
    }
}

void ep_copy(const int8_t *in, int8_t *out, int count) {
    if (in != out) memmove(out, in, (size_t)count);
}

/* ---- SOFTMAX: TFLite's reference int8 softmax, gemmlowp fixed point (exp on Q5.26 differences, sums in
 * Q12.19, the reciprocal by Newton-Raphson), the differences rescaled by beta * input scale. */
static inline int32_t ep_shl_sat(int32_t x, int exponent) {
    const int32_t threshold = (int32_t)(((int64_t)1 << (31 - exponent)) - 1);
    if (x > threshold) return INT32_MAX;
    if (x < -threshold) return INT32_MIN;
    return (int32_t)((uint32_t)x << exponent);
}

/* exp(a) for a in [-1/4, 0), Q0.31: Taylor series around -1/8 */
static int32_t ep_exp_quarter(int32_t a) {
    const int32_t exp_minus_one_eighth = 1895147668, one_third = 715827883;
    const int32_t x = a + (1 << 28);
    const int32_t x2 = ep_srdhm(x, x), x3 = ep_srdhm(x2, x), x4 = ep_srdhm(x2, x2);
    const int32_t x4_over_4 = ep_rdbpot(x4, 2);
    const int32_t poly = ep_rdbpot(ep_srdhm(x4_over_4 + x3, one_third) + x2, 1);
    return exp_minus_one_eighth + ep_srdhm(exp_minus_one_eighth, x + poly);
}

/* exp(a) for a <= 0 in Q5.26, result in Q0.31: the remainder below -1/4 by a barrel of exp(-2^k) factors */
static int32_t ep_exp_negative(int32_t a) {
    static const int32_t factors[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
    const int32_t quarter = 1 << 24;
    const int32_t mod_quarter = (a & (quarter - 1)) - quarter;
    int32_t result = ep_exp_quarter(ep_shl_sat(mod_quarter, 5));
    const int32_t remainder = mod_quarter - a;
    for (int k = 0; k < 7; ++k)
        if (remainder & (1 << (24 + k))) result = ep_srdhm(result, factors[k]);
    return a == 0 ? INT32_MAX : result;
}

/* 1 / (1 + x) for x in [0, 1), Q0.31 in and out */
static int32_t ep_one_over_one_plus_x(int32_t a) {
    const int32_t half_denominator = (int32_t)(((int64_t)a + INT32_MAX + 1) / 2);
    int32_t x = 1515870810 + ep_srdhm(half_denominator, -1010580540); /* 48/17 - 32/17 d, Q2.29 */
    for (int i = 0; i < 3; ++i) {
        const int32_t one_minus = (1 << 29) - ep_srdhm(half_denominator, x);
        x = x + ep_shl_sat(ep_srdhm(x, one_minus), 2);
    }
    return ep_shl_sat(x, 1);
}

void ep_softmax(const ep_softmax_params *p, const int8_t *in, int8_t *out) {
    for (int i = 0; i < p->outer; ++i) {
        const int8_t *x = in + (int32_t)i * p->depth;
        int8_t *y = out + (int32_t)i * p->depth;
        int32_t max_in_row = -128;
        for (int c = 0; c < p->depth; ++c) max_in_row = ep_max(max_in_row, x[c]);
        int32_t sum = 0; /* Q12.19 */
        for (int c = 0; c < p->depth; ++c) {
            const int32_t diff = x[c] - max_in_row;
            if (diff >= p->diff_min)
                sum += ep_rdbpot(ep_exp_negative(ep_srdhm(diff * (1 << p->input_left_shift), p->input_mult)), 12);
        }
        const int headroom_plus_one = __builtin_clz((uint32_t)sum);
        const int bits_over_unit = 12 - headroom_plus_one;
        const int32_t scale = ep_one_over_one_plus_x(
            (int32_t)(((uint32_t)sum << headroom_plus_one) - ((uint32_t)1 << 31)));
        for (int c = 0; c < p->depth; ++c) {
            const int32_t diff = x[c] - max_in_row;
            if (diff >= p->diff_min) {
                const int32_t e = ep_exp_negative(ep_srdhm(diff * (1 << p->input_left_shift), p->input_mult));
                const int32_t v = ep_rdbpot(ep_srdhm(scale, e), bits_over_unit + 31 - 8) - 128;
                y[c] = ep_clamp(v, -128, 127);
            } else {
                y[c] = -128;
            }
        }
    }
}

/* LOGISTIC (and any 8-bit table op): TFLite's reference int8 path is a 256-entry table computed in Prepare */
void ep_lookup(const int8_t *table, int count, const int8_t *in, int8_t *out) {
    for (int i = 0; i < count; ++i) out[i] = table[(uint8_t)in[i]];
}

/* ---- HARD_SWISH: TFLite's reference int8 kernel, 16-bit fixed point (x on a 2^7-finer scale, the
 * "relu-ish" factor (x + 3) / 6 in [0, 1] as Q0.15, multiplied with rounding toward zero). */
static inline int16_t ep_srdhm16(int16_t a, int16_t b) {
    if (a == b && a == INT16_MIN) return INT16_MAX;
    const int32_t ab = (int32_t)a * (int32_t)b;
    const int32_t nudge = ab >= 0 ? (1 << 14) : (1 - (1 << 14));
    return (int16_t)((ab + nudge) / (1 << 15));
}

static inline int16_t ep_sdhm16(int16_t a, int16_t b) {
    if (a == b && a == INT16_MIN) return INT16_MAX;
    return (int16_t)(((int32_t)a * (int32_t)b) / (1 << 15));
}

static inline int16_t ep_shl_sat16(int16_t v, int amount) {
    const int64_t r = (int64_t)v * ((int64_t)1 << amount);
    return (int16_t)(r > INT16_MAX ? INT16_MAX : r < INT16_MIN ? INT16_MIN : r);
}

void ep_hard_swish(const ep_hard_swish_params *p, const int8_t *in, int8_t *out) {
    for (int i = 0; i < p->count; ++i) {
        const int16_t hires = (int16_t)((in[i] - p->in_zp) * (1 << 7));
        const int16_t preshift = ep_srdhm16(hires, p->out_mult);
        int16_t reluish = hires;
        if (p->reluish_exp > 0) reluish = ep_shl_sat16(reluish, p->reluish_exp - 1);
        reluish = ep_srdhm16(reluish, p->reluish_mult);
        if (p->reluish_exp > 0) reluish = ep_shl_sat16(reluish, 1);
        if (p->reluish_exp < 0) reluish = (int16_t)ep_rdbpot(reluish, -p->reluish_exp);
        reluish = (int16_t)((reluish + (1 << 15)) >> 1);
        const int16_t value = (int16_t)ep_rdbpot(ep_sdhm16(reluish, preshift), -p->out_exp);
        out[i] = ep_clamp(value + p->out_zp, -128, 127);
    }
}

/* ---- QUANTIZE from float (TFLite's AffineQuantize: round(x / scale) half away from zero, in float) and
 * DEQUANTIZE to float (scale * (q - zero_point): the exact product rounded once, as TFLite's double form). */
void ep_quantize_f32(const ep_affine_params *p, const float *in, int8_t *out) {
    for (int i = 0; i < p->count; ++i) {
        float q = in[i] / p->scale;
        if (q > 1024.0f) q = 1024.0f;
        if (q < -1024.0f) q = -1024.0f;
        int32_t r = (int32_t)q; /* toward zero; q - r is exact */
        const float frac = q - (float)r;
        if (frac >= 0.5f) ++r;
        else if (frac <= -0.5f) --r;
        out[i] = ep_clamp(r + p->zero_point, -128, 127);
    }
}

void ep_dequantize_f32(const ep_affine_params *p, const int8_t *in, float *out) {
    for (int i = 0; i < p->count; ++i) out[i] = p->scale * (float)(in[i] - p->zero_point);
}
