/* report_write.c: DIR/report.{md,json,html}. All three are rendered in
 * memory first, so a rendering failure touches no file; each is then written
 * through fsc_write_file_atomic (hidden temporary + rename), so an
 * interrupted run never leaves a partial report.* file. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "flipscope/model_io.h"
#include "report/report_internal.h"

/* mkdir -p dir. */
static fsc_status make_dir(const char *dir, fsc_error *err)
{
    char path[4096];
    if (!*dir) return fsc_fail(err, FSC_ERR_INVALID, "the output directory name is empty");
    if (strlen(dir) >= sizeof path) return fsc_fail(err, FSC_ERR_LIMIT, "%.64s...: path too long", dir);
    snprintf(path, sizeof path, "%s", dir);
    for (char *p = path + 1;; p++) {
        char c = *p;
        if (c != '/' && c != '\0') continue;
        *p = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST)
            return fsc_fail(err, FSC_ERR_IO, "%s: cannot create directory: %s", path, strerror(errno));
        *p = c;
        if (!c) break;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) return fsc_fail(err, FSC_ERR_IO, "%s: not a directory", dir);
    return FSC_OK;
}

fsc_status fsc_report_write(const fsc_report *r, const char *dir, fsc_error *err)
{
    static const char *const names[3] = {"report.md", "report.json", "report.html"};
    char *text[3] = {NULL, NULL, NULL};
    size_t len[3] = {0, 0, 0};
    fsc_status st = fsc_report_markdown(r, &text[0], &len[0], err);
    if (!st) st = fsc_report_json_text(r, &text[1], &len[1], err);
    if (!st) st = fsc_report_html(r, &text[2], &len[2], err);
    if (!st) st = make_dir(dir, err);
    for (int i = 0; !st && i < 3; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        st = fsc_write_file_atomic(path, text[i], len[i], err);
    }
    for (int i = 0; i < 3; i++) free(text[i]);
    return st;
}
