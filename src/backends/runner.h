/* runner.h (internal): external engines run in their own process through the
 * flipscope runner protocol v1 (docs/runners.md). */
#ifndef FSC_RUNNER_H
#define FSC_RUNNER_H

#include "backends/registry.h"

/* Runs argv (NULL-terminated) in its own process group with stdout/stderr
 * written to dir/stdout.txt and dir/stderr.txt; kills the group after
 * timeout_s. A non-zero exit, a signal or a timeout is an error quoting the
 * tail of stderr. `who` names the runner in messages. */
fsc_status fsc_runner_exec(const char *who, char *const *argv, const char *dir, double timeout_s, fsc_error *err);

/* The "runner" provider: runner:NAME for each NAME/runner.json found in
 * $FSC_RUNNER_PATH (colon-separated) and in the source tree's runners/. */
extern const fsc_provider fsc_runner_provider;

#endif
