/* pool.c: max and average pooling over [N,C,H,W].
 * Max: the largest in-bounds element of the window (padding never wins; NaN
 * propagates). Average: the in-bounds elements summed in a->reduce with
 * a->reduce_order (row-major over the window), divided with one rounding in
 * reduce by the count: the in-bounds count, or with count_include_pad the
 * window clipped to the padded input (as PyTorch / ONNX Runtime), then
 * rounded to storage. */
#include <math.h>
#include <stdlib.h>

#include "kernels/kutil.h"
#include "kernels/ops.h"

fsc_status fsc_k_pool(fsc_op op, const fsc_attr_pool *at, const fsc_tensor *x, const fsc_arith *a,
                      const fsc_ctx *ctx, fsc_tensor *y, fsc_error *err)
{
    if (x->shape.rank != 4 || y->shape.rank != 4)
        return fsc_fail(err, FSC_ERR_UNSUPPORTED, "pooling supports only 4-D [N,C,H,W] tensors");
    int64_t NC = x->shape.dim[0] * x->shape.dim[1], H = x->shape.dim[2], W = x->shape.dim[3];
    int64_t OH = y->shape.dim[2], OW = y->shape.dim[3];
    int64_t kh = at->kernel[0], kw = at->kernel[1];
    int64_t sh = at->stride[0] ? at->stride[0] : 1, sw = at->stride[1] ? at->stride[1] : 1;
    int64_t dh = at->dilation[0] ? at->dilation[0] : 1, dw = at->dilation[1] ? at->dilation[1] : 1;
    int64_t pt = at->pad[0], pl = at->pad[1], pb = at->pad[2], pr = at->pad[3];
    if (kh < 1 || kw < 1) return fsc_fail(err, FSC_ERR_INVALID, "pooling kernel must be positive");
    bool is_max = op == FSC_OP_MAXPOOL;
    int nt = fsc_kthreads(ctx);
    fsc_status st_all = FSC_OK;
#pragma omp parallel num_threads(nt)
    {
        double *buf = malloc((size_t)(kh * kw) * sizeof *buf);
        if (!buf) {
#pragma omp atomic write
            st_all = FSC_ERR_NOMEM;
        }
#pragma omp for schedule(static)
        for (int64_t nc = 0; nc < NC; nc++) {
            if (!buf) continue;
            for (int64_t oh = 0; oh < OH; oh++)
                for (int64_t ow = 0; ow < OW; ow++) {
                    int64_t h0 = oh * sh - pt, w0 = ow * sw - pl;
                    int64_t cnt = 0;
                    double mx = -INFINITY;
                    for (int64_t i = 0; i < kh; i++) {
                        int64_t ih = h0 + i * dh;
                        if (ih < 0 || ih >= H) continue;
                        for (int64_t j = 0; j < kw; j++) {
                            int64_t iw = w0 + j * dw;
                            if (iw < 0 || iw >= W) continue;
                            double v = fsc_kget(x, (nc * H + ih) * W + iw);
                            if (v > mx || isnan(v)) mx = isnan(mx) ? mx : v;
                            buf[cnt++] = v;
                        }
                    }
                    double r;
                    if (is_max) {
                        r = cnt ? mx : NAN;
                    } else {
                        double div = (double)cnt;
                        if (at->count_include_pad) {
                            /* window clipped to the padded extent of the input */
                            int64_t nh = 0, nw = 0;
                            for (int64_t i = 0; i < kh; i++) nh += h0 + i * dh < H + pb;
                            for (int64_t j = 0; j < kw; j++) nw += w0 + j * dw < W + pr;
                            div = (double)(nh * nw);
                        }
                        double s = fsc_k_reduce_sum(buf, cnt, a->reduce, a->reduce_order, a->block);
                        r = div > 0 ? fsc_kdiv(s, div, a->reduce) : NAN;
                    }
                    fsc_kset(y, (nc * OH + oh) * OW + ow, fsc_kround(r, a->storage));
                }
        }
        free(buf);
    }
    if (st_all) return fsc_fail(err, st_all, "out of memory in pooling");
    return FSC_OK;
}
