/* runner_proc.c: starting a runner process with a deadline. The child gets
 * its own process group so that a timeout kills everything it started (node
 * and its workers); its stdout and stderr go to files in the request dir. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backends/runner.h"

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Redirects fd to path (created), in the child; returns false on failure. */
static bool redirect(int fd, const char *path, int flags)
{
    int f = open(path, flags, 0644);
    if (f < 0) return false;
    bool ok = dup2(f, fd) >= 0;
    close(f);
    return ok;
}

/* The last `max` bytes of file path, printable, into buf. */
static void tail_of(const char *path, char *buf, size_t max)
{
    buf[0] = '\0';
    FILE *f = fopen(path, "rb");
    if (!f) return;
    if (fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        long from = size > (long)max - 1 ? size - (long)max + 1 : 0;
        if (fseek(f, from, SEEK_SET) == 0) {
            size_t n = fread(buf, 1, max - 1, f);
            buf[n] = '\0';
            for (size_t i = 0; i < n; i++)
                if ((unsigned char)buf[i] < 32 && buf[i] != '\n') buf[i] = ' ';
            while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ')) buf[--n] = '\0';
        }
    }
    fclose(f);
}

fsc_status fsc_runner_exec(const char *who, char *const *argv, const char *dir, double timeout_s, fsc_error *err)
{
    char out_path[4200], err_path[4200];
    snprintf(out_path, sizeof out_path, "%s/stdout.txt", dir);
    snprintf(err_path, sizeof err_path, "%s/stderr.txt", dir);
    /* Only async-signal-safe calls between fork and exec: the message is made here. */
    char fail_msg[300];
    int fail_len = snprintf(fail_msg, sizeof fail_msg, "cannot run %s (not found or not executable)\n", argv[0]);
    if (fail_len < 0 || fail_len >= (int)sizeof fail_msg) fail_len = (int)strlen(fail_msg);
    pid_t pid = fork();
    if (pid < 0) return fsc_fail(err, FSC_ERR_IO, "%s: cannot start a process: %s", who, strerror(errno));
    if (pid == 0) {
        setpgid(0, 0);
        if (!redirect(0, "/dev/null", O_RDONLY) || !redirect(1, out_path, O_WRONLY | O_CREAT | O_TRUNC) ||
            !redirect(2, err_path, O_WRONLY | O_CREAT | O_TRUNC))
            _exit(126);
        execvp(argv[0], argv);
        ssize_t w = write(2, fail_msg, (size_t)fail_len);
        (void)w;
        _exit(127);
    }
    setpgid(pid, pid); /* both sides set it: no race with an early kill */
    double deadline = mono_s() + timeout_s;
    int wst = 0;
    bool timed_out = false;
    for (;;) {
        pid_t r = waitpid(pid, &wst, WNOHANG);
        if (r == pid) break;
        if (r < 0 && errno != EINTR) return fsc_fail(err, FSC_ERR_IO, "%s: waitpid: %s", who, strerror(errno));
        if (mono_s() > deadline) {
            kill(-pid, SIGKILL);
            while (waitpid(pid, &wst, 0) < 0 && errno == EINTR) {}
            timed_out = true;
            break;
        }
        struct timespec nap = {0, 5000000};
        nanosleep(&nap, NULL);
    }
    kill(-pid, SIGKILL); /* anything the runner left behind in its group */
    char tail[600];
    tail_of(err_path, tail, sizeof tail);
    if (timed_out)
        return fsc_fail(err, FSC_ERR_IO, "%s: timed out after %g s (killed); stderr: %s", who, timeout_s,
                        tail[0] ? tail : "(empty)");
    if (WIFSIGNALED(wst))
        return fsc_fail(err, FSC_ERR_IO, "%s: killed by signal %d; stderr: %s", who, WTERMSIG(wst),
                        tail[0] ? tail : "(empty)");
    if (WEXITSTATUS(wst) != 0)
        return fsc_fail(err, FSC_ERR_IO, "%s: exited with status %d; stderr: %s", who, WEXITSTATUS(wst),
                        tail[0] ? tail : "(empty)");
    return FSC_OK;
}
