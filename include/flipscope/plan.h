/* plan.h: device profiles, compute-unit presets and placement.
 *
 * A profile (a small text file, docs/plan.md) defines arithmetic models,
 * devices and presets. A device = an arithmetic model + the ops (dtypes,
 * limits) it supports. A preset = an ordered list of devices, as Core ML's
 * compute units CPU_ONLY / CPU_AND_GPU / CPU_AND_NE / ALL, plus an optional
 * fallback device. Placement puts every node on the first device of the
 * preset that supports it; load-time nodes (constants, constexpr_* weight
 * dequantization of constants) get no device. A profile "P" with a preset "S"
 * is the configuration "P:S" (exec.h); the built-in profile "coreml" gives
 * coreml:cpu_only, coreml:cpu_and_gpu, coreml:cpu_and_ne, coreml:all.
 *
 * Ownership: fsc_profile_parse/fsc_profile_load return a profile the caller
 * frees with fsc_profile_free. Profiles obtained from the process-wide
 * table (fsc_profile_get, fsc_profile_use) live until the process exits and
 * must not be freed. A fsc_plan is freed with fsc_plan_free; it points into
 * its graph and profile, which must outlive it. */
#ifndef FLIPSCOPE_PLAN_H
#define FLIPSCOPE_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flipscope/arith.h"
#include "flipscope/graph.h"
#include "flipscope/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FSC_PROFILE_MAX 16      /* arithmetic models, devices, presets per profile */
#define FSC_PROFILE_NAME 32     /* names, NUL included */
#define FSC_PROFILE_MAX_BYTES (1 << 20)

/* An arithmetic model defined by a profile: a built-in preset with overrides. */
typedef struct fsc_profile_arith {
    char name[FSC_PROFILE_NAME];
    fsc_arith arith; /* .name, .stands_for, .certainty point into this struct */
    char *stands_for, *certainty; /* owned */
} fsc_profile_arith;

typedef struct fsc_device {
    char name[FSC_PROFILE_NAME];
    int arith;                 /* index into the profile's ariths */
    bool all_ops;              /* ops=all */
    bool ops[FSC_OP_COUNT];
    bool any_dtype;            /* no dtypes= given */
    bool dtypes[FSC_DT_COUNT]; /* allowed dtypes of non-constant inputs and of outputs */
    int max_rank;              /* 0: no limit; applies to every input and output */
    int64_t max_kernel;        /* 0: no limit; conv / pool kernel height and width */
    bool accelerator;          /* listed as "the accelerator" by `flipscope plan` */
    char *note;                /* owned, may be NULL: why the op list is what it is */
} fsc_device;

typedef struct fsc_preset {
    char name[FSC_PROFILE_NAME];
    int n_devices;
    int devices[FSC_PROFILE_MAX]; /* device indices, highest priority first */
    int fallback;                 /* device index for ops no listed device supports, or -1 */
    char *stands_for;             /* owned */
    char *certainty;              /* owned: "<device>: <certainty of its arithmetic>; ..." */
} fsc_preset;

typedef struct fsc_profile {
    char name[FSC_PROFILE_NAME];
    char *source; /* owned: the file name used in messages ("coreml.profile", "<built-in coreml>") */
    int n_ariths, n_devices, n_presets;
    fsc_profile_arith ariths[FSC_PROFILE_MAX];
    fsc_device devices[FSC_PROFILE_MAX];
    fsc_preset presets[FSC_PROFILE_MAX];
} fsc_profile;

/* Parses profile text buf[0 .. len) (need not be NUL-terminated). name is the
 * profile's name (configurations "<name>:<preset>"), source the file name
 * used in error messages ("coreml.profile:12: unknown op 'conv3d'"). Any
 * bytes are safe input. */
fsc_status fsc_profile_parse(const char *buf, size_t len, const char *name, const char *source, fsc_profile **out,
                             fsc_error *err);
/* Reads and parses a profile file; its name is the file name without the
 * directory and the ".profile" suffix. */
fsc_status fsc_profile_load(const char *path, fsc_profile **out, fsc_error *err);
void fsc_profile_free(fsc_profile *p);

/* Index of a device / preset by name, or -1. */
int fsc_profile_device_index(const fsc_profile *p, const char *name);
int fsc_profile_preset_index(const fsc_profile *p, const char *name);

/* The process-wide profile table (the one piece of process state in
 * flipscope: profiles are immutable once added and never freed, so
 * configuration infos may point into them; access is locked).
 * fsc_profile_get: the profile named name: registered, else built-in, else
 * found as <dir>/<name>.profile in $FLIPSCOPE_PROFILES (':'-separated dirs)
 * or the source tree's profiles/ (then registered). FSC_ERR_INVALID naming
 * the places searched when there is none. */
fsc_status fsc_profile_get(const char *name, const fsc_profile **out, fsc_error *err);
/* --profile ARG: ARG is a file (contains '/' or ends in ".profile"), loaded and
 * registered under its name (replacing an earlier one of that name, the
 * built-in included, for this process), or a name resolved as fsc_profile_get. */
fsc_status fsc_profile_use(const char *arg, const fsc_profile **out, fsc_error *err);
/* The profiles of the table, built-ins first (fills at most max; returns the count). */
int fsc_profile_list(const fsc_profile **out, int max);

/* True when node runs at load time and gets no device: a CONSTANT, or a
 * constexpr_* op (Core ML weight decompression) all of whose inputs are constants. */
bool fsc_node_is_load_time(const fsc_graph *g, int node);
/* True when device d of a profile supports node by the profile's rules (op,
 * dtypes, rank, kernel size). Says nothing about load-time nodes. */
bool fsc_device_supports(const fsc_device *d, const fsc_graph *g, int node);

typedef struct fsc_plan_op {
    int device;         /* preferred (placed) device index, -1: none */
    bool load_time;     /* no device because it runs at load time */
    bool fallback;      /* no listed device supports it: placed on the preset's fallback */
    uint32_t supported; /* bit d: device d of the preset's list supports it */
} fsc_plan_op;

/* A run of consecutive computing nodes on one device (load-time nodes in
 * between do not cut a segment). */
typedef struct fsc_plan_segment {
    int device;
    int first, last; /* node indices */
    int n_ops;
} fsc_plan_segment;

typedef struct fsc_plan_type {
    const char *op_type;               /* the graph's op_type string */
    int count;
    int none;                          /* of them without a device */
    int on_device[FSC_PROFILE_MAX];    /* of them preferring device d */
} fsc_plan_type;

typedef struct fsc_plan {
    const fsc_profile *profile;
    int preset;                        /* index into profile->presets */
    int n_ops;                         /* = the graph's node count */
    fsc_plan_op *ops;                  /* one per node */
    int n_none, n_fallback;
    int preferred[FSC_PROFILE_MAX];    /* per device: ops placed there */
    int supported[FSC_PROFILE_MAX];    /* per device: ops it supports (preset devices only) */
    int n_segments;
    fsc_plan_segment *segments;
    int n_types;
    fsc_plan_type *types;              /* by count, then op type name */
} fsc_plan;

/* Places every node of g under preset (name) of profile p. An op no device of
 * the preset supports and no fallback takes is FSC_ERR_UNSUPPORTED naming the
 * node and op; an unknown preset is FSC_ERR_INVALID listing the presets. */
fsc_status fsc_plan_make(const fsc_graph *g, const fsc_profile *p, const char *preset, fsc_plan *out,
                         fsc_error *err);
void fsc_plan_free(fsc_plan *plan);

#ifdef __cplusplus
}
#endif
#endif
