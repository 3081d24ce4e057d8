/* cli.h (internal): the subcommand table and helpers shared by the files of src/cli.
 * Subcommands parse arguments, call the library, render results. No logic
 * that the library lacks. Exit codes: 0 ok / no flip, 1 flip or divergence
 * found (when asked with --fail-on), 2 usage or input error. */
#ifndef FSC_CLI_H
#define FSC_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "flipscope/ctx.h"
#include "flipscope/status.h"

#define FSC_EXIT_OK 0
#define FSC_EXIT_FLIP 1
#define FSC_EXIT_USAGE 2

typedef struct fsc_cli_cmd {
    const char *name;
    const char *summary; /* one line for `flipscope --help` */
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand name */
} fsc_cli_cmd;

/* Prints "flipscope: <msg>" to stderr and returns FSC_EXIT_USAGE. */
int fsc_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "flipscope <cmd>: <err->msg>" and returns FSC_EXIT_USAGE. */
int fsc_cli_fail(const char *cmd, const fsc_error *err);

/* Subcommands (one file each). */
int fsc_cmd_backends(int argc, char **argv);
int fsc_cmd_drift(int argc, char **argv);
int fsc_cmd_demo(int argc, char **argv);
int fsc_cmd_synth(int argc, char **argv);
int fsc_cmd_tccheck(int argc, char **argv);

#endif
