/* inspect.c: the quantization-evidence probe (SEED.md stage 4) over the IR. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "flipscope/probe_inspect.h"

const char *fsc_inspect_verdict_text(fsc_inspect_verdict v)
{
    switch (v) {
    case FSC_INSPECT_PAIRS_BEFORE_REAL_OPS: return "quantize/dequantize pairs are present before real ops";
    case FSC_INSPECT_PAIRS_NO_CONSUMERS: return "quantize/dequantize ops are present but no real-op consumers";
    case FSC_INSPECT_WEIGHTS_ONLY: return "weight compression only";
    default: return "no quantization evidence";
    }
}

static bool is_real(fsc_op op)
{
    switch (op) {
    case FSC_OP_CONV2D: case FSC_OP_GEMM: case FSC_OP_MATMUL: case FSC_OP_ADD: case FSC_OP_MUL:
    case FSC_OP_SILU: case FSC_OP_RELU: case FSC_OP_GELU: case FSC_OP_REDUCE_MEAN: case FSC_OP_RESHAPE:
        return true;
    default:
        return false;
    }
}

static const char *op_type(const fsc_node *n)
{
    return n->op_type && n->op_type[0] ? n->op_type : fsc_op_name(n->op);
}

/* A weight dequantization: constexpr_* or a dequantize of an integer constant. */
static bool weight_dequant(const fsc_graph *g, const fsc_node *n)
{
    if (n->op != FSC_OP_DEQUANTIZE) return false;
    if (!strncmp(op_type(n), "constexpr_", 10)) return true;
    if (n->n_in < 1 || n->in[0] < 0 || !fsc_graph_is_const(g, n->in[0])) return false;
    fsc_dtype dt = g->values[n->in[0]].dtype;
    return dt == FSC_DT_I8 || dt == FSC_DT_U8 || dt == FSC_DT_I32;
}

/* Case-insensitive substring. */
static bool contains(const char *hay, const char *needle)
{
    if (!hay) return false;
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] && tolower((unsigned char)hay[i]) == needle[i]) i++;
        if (i == n) return true;
    }
    return false;
}

static const char *const keywords[] = {"dequant", "quant", "constexpr", "affine", "cast", "int8", "lut"};

static const char *keyword_of(const fsc_graph *g, const fsc_node *n)
{
    for (size_t k = 0; k < sizeof keywords / sizeof keywords[0]; k++) {
        const char *kw = keywords[k];
        if (contains(op_type(n), kw) || contains(n->name, kw)) return kw;
        for (int o = 0; o < n->n_out; o++) {
            const fsc_value *v = &g->values[n->out[o]];
            if (contains(v->name, kw) || contains(fsc_dtype_name(v->dtype), kw)) return kw;
        }
    }
    return NULL;
}

/* Adds one to name's count in a list with room for cap entries. */
static void bump(fsc_inspect_count *c, int *n, const char *name)
{
    for (int i = 0; i < *n; i++)
        if (!strcmp(c[i].name, name)) {
            c[i].count++;
            return;
        }
    c[*n].name = name;
    c[*n].count = 1;
    (*n)++;
}

static int by_count(const void *a, const void *b)
{
    const fsc_inspect_count *x = a, *y = b;
    if (x->count != y->count) return y->count - x->count;
    return strcmp(x->name, y->name);
}

void fsc_inspect_result_free(fsc_inspect_result *r)
{
    free(r->op_types);
    free(r->out_dtypes);
    free(r->hits);
    free(r->quantized);
    free(r->dequantized);
    free(r->deq_consumers);
    free(r->deq_consumer_types);
    free(r->q_consumers);
    free(r->q_consumer_types);
    memset(r, 0, sizeof *r);
}

fsc_status fsc_inspect_graph(const fsc_graph *g, int max_hits, fsc_inspect_result *r, fsc_error *err)
{
    memset(r, 0, sizeof *r);
    size_t nn = (size_t)g->n_nodes + 1, nouts = 1;
    for (int i = 0; i < g->n_nodes; i++) nouts += (size_t)g->nodes[i].n_out;
    if (max_hits < 0) max_hits = 0;
    /* What produced each value: 0 nothing of interest, 1 quantize, 2 activation dequantize, 3 weight dequantize. */
    unsigned char *kind = calloc((size_t)g->n_values + 1, 1);
    r->op_types = calloc(nn, sizeof *r->op_types);
    r->out_dtypes = calloc(FSC_DT_COUNT + 1, sizeof *r->out_dtypes);
    r->hits = calloc((size_t)max_hits + 1, sizeof *r->hits);
    r->quantized = calloc(nouts, sizeof *r->quantized);
    r->dequantized = calloc(nouts, sizeof *r->dequantized);
    r->deq_consumers = calloc(nn, sizeof *r->deq_consumers);
    r->deq_consumer_types = calloc(nn, sizeof *r->deq_consumer_types);
    r->q_consumers = calloc(nn, sizeof *r->q_consumers);
    r->q_consumer_types = calloc(nn, sizeof *r->q_consumer_types);
    if (!kind || !r->op_types || !r->out_dtypes || !r->hits || !r->quantized || !r->dequantized ||
        !r->deq_consumers || !r->deq_consumer_types || !r->q_consumers || !r->q_consumer_types) {
        free(kind);
        fsc_inspect_result_free(r);
        return fsc_fail(err, FSC_ERR_NOMEM, "inspect: out of memory");
    }
    r->n_ops = g->n_nodes;
    for (int i = 0; i < g->n_nodes; i++) {
        const fsc_node *n = &g->nodes[i];
        bump(r->op_types, &r->n_op_types, op_type(n));
        for (int o = 0; o < n->n_out; o++)
            bump(r->out_dtypes, &r->n_out_dtypes, fsc_dtype_name(g->values[n->out[o]].dtype));
        const char *kw = keyword_of(g, n);
        if (kw) {
            if (r->n_hits < max_hits)
                r->hits[r->n_hits++] = (fsc_inspect_ref){i, op_type(n), n->name,
                                                         n->n_out ? g->values[n->out[0]].name : "", kw};
            r->total_hits++;
        }
        unsigned char k = 0;
        if (n->op == FSC_OP_QUANTIZE) {
            k = 1;
            r->quantize_ops++;
        } else if (n->op == FSC_OP_DEQUANTIZE) {
            k = weight_dequant(g, n) ? 3 : 2;
            if (k == 3) r->weight_dequant_ops++;
            else r->dequantize_ops++;
        }
        for (int o = 0; k && o < n->n_out; o++) {
            const fsc_value *v = &g->values[n->out[o]];
            fsc_inspect_ref ref = {i, op_type(n), n->name, v->name, fsc_dtype_name(v->dtype)};
            kind[n->out[o]] = k;
            if (k == 1) r->quantized[r->n_quantized++] = ref;
            else r->dequantized[r->n_dequantized++] = ref;
        }
        if (!is_real(n->op)) continue;
        int deq = -1, q = -1;
        bool act = false;
        for (int k2 = 0; k2 < n->n_in; k2++) {
            int v = n->in[k2];
            if (v < 0) continue;
            if (kind[v] == 1 && q < 0) q = v;
            if ((kind[v] == 2 || kind[v] == 3) && (deq < 0 || (kind[v] == 2 && !act))) {
                deq = v;
                act = kind[v] == 2;
            }
        }
        if (deq >= 0) {
            const fsc_node *p = &g->nodes[g->values[deq].producer];
            r->deq_consumers[r->n_deq_consumers++] = (fsc_inspect_ref){i, op_type(n), n->name, g->values[deq].name, op_type(p)};
            bump(r->deq_consumer_types, &r->n_deq_consumer_types, op_type(n));
            if (act) r->real_ops_after_act_dequant++;
        }
        if (q >= 0) {
            const fsc_node *p = &g->nodes[g->values[q].producer];
            r->q_consumers[r->n_q_consumers++] = (fsc_inspect_ref){i, op_type(n), n->name, g->values[q].name, op_type(p)};
            bump(r->q_consumer_types, &r->n_q_consumer_types, op_type(n));
        }
    }
    free(kind);
    qsort(r->op_types, (size_t)r->n_op_types, sizeof *r->op_types, by_count);
    qsort(r->out_dtypes, (size_t)r->n_out_dtypes, sizeof *r->out_dtypes, by_count);
    qsort(r->deq_consumer_types, (size_t)r->n_deq_consumer_types, sizeof *r->deq_consumer_types, by_count);
    qsort(r->q_consumer_types, (size_t)r->n_q_consumer_types, sizeof *r->q_consumer_types, by_count);
    r->weight_evidence = r->weight_dequant_ops > 0;
    r->activation_evidence = r->quantize_ops > 0 || r->dequantize_ops > 0;
    if (r->activation_evidence)
        r->verdict = r->real_ops_after_act_dequant > 0 || r->n_q_consumers > 0 ? FSC_INSPECT_PAIRS_BEFORE_REAL_OPS
                                                                               : FSC_INSPECT_PAIRS_NO_CONSUMERS;
    else
        r->verdict = r->weight_evidence ? FSC_INSPECT_WEIGHTS_ONLY : FSC_INSPECT_NONE;
    r->interpretation = fsc_inspect_verdict_text(r->verdict);
    return FSC_OK;
}
