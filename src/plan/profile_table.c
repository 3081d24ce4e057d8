/* profile_table.c: the process-wide table of device profiles: the built-in
 * ones (profiles/NAME.profile compiled in, cmake/profiles.cmake), files given
 * with --profile, and profiles found by name on disk.
 *
 * This is flipscope's one piece of process state, kept because
 * configuration names ("coreml:all", "myprofile:fast") are looked up
 * without a context (exec.h) and configuration infos point at a profile's
 * strings: entries are immutable once added and never freed, and the table
 * is locked, so lookups are thread-safe. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "flipscope/plan.h"

typedef struct fsc_builtin_profile {
    const char *name;
    const char *text;
    size_t len;
} fsc_builtin_profile;
extern const fsc_builtin_profile fsc_builtin_profiles[]; /* generated; ends with a NULL name */

typedef struct entry {
    fsc_profile *p;
    bool builtin;
    struct entry *next;
} entry;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static entry *head;          /* newest first */
static bool builtins_loaded; /* under lock */

/* Appends p (newest first); false when out of memory (p is then freed). */
static bool push(fsc_profile *p, bool builtin, fsc_error *err)
{
    entry *e = fsc_calloc(1, sizeof *e, "profile table entry", err);
    if (!e) {
        fsc_profile_free(p);
        return false;
    }
    e->p = p;
    e->builtin = builtin;
    e->next = head;
    head = e;
    return true;
}

/* Parses the built-in profiles once (under lock). A built-in that does not
 * parse is a build defect: tests parse every shipped profile. */
static fsc_status load_builtins(fsc_error *err)
{
    if (builtins_loaded) return FSC_OK;
    for (const fsc_builtin_profile *b = fsc_builtin_profiles; b->name; b++) {
        char src[FSC_PROFILE_NAME + 24];
        snprintf(src, sizeof src, "<built-in %s.profile>", b->name);
        fsc_profile *p;
        fsc_status st = fsc_profile_parse(b->text, b->len, b->name, src, &p, err);
        if (st) return st;
        if (!push(p, true, err)) return FSC_ERR_NOMEM;
    }
    builtins_loaded = true;
    return FSC_OK;
}

static const fsc_profile *find_locked(const char *name)
{
    for (entry *e = head; e; e = e->next)
        if (!strcmp(e->p->name, name)) return e->p;
    return NULL;
}

static bool is_file(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* <dir>/<name>.profile in $FLIPSCOPE_PROFILES (':'-separated), then the
 * source tree's profiles/; writes the searched places into where. */
static bool search_file(const char *name, char *path, size_t len, char *where, size_t wlen, bool *from_env)
{
    where[0] = '\0';
    *from_env = true;
    const char *env = getenv("FLIPSCOPE_PROFILES");
    char dirs[2048];
    snprintf(dirs, sizeof dirs, "%s", env ? env : "");
    for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        snprintf(path, len, "%s/%s.profile", d, name);
        strncat(where, path, wlen - strlen(where) - 1);
        strncat(where, ", ", wlen - strlen(where) - 1);
        if (is_file(path)) return true;
    }
    *from_env = false;
#ifdef FSC_SOURCE_DIR
    snprintf(path, len, "%s/profiles/%s.profile", FSC_SOURCE_DIR, name);
    strncat(where, path, wlen - strlen(where) - 1);
    if (is_file(path)) return true;
#endif
    return false;
}

static bool valid_ref(const char *name)
{
    size_t n = strlen(name);
    if (!n || n >= FSC_PROFILE_NAME) return false;
    for (const char *s = name; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_' ||
              *s == '-'))
            return false;
    return true;
}

/* Resolves name with the lock held. env_first: $FLIPSCOPE_PROFILES before the built-ins (--profile NAME). */
static fsc_status get_locked(const char *name, bool env_first, const fsc_profile **out, fsc_error *err)
{
    *out = NULL;
    fsc_status st = load_builtins(err);
    if (st) return st;
    if (!valid_ref(name))
        return fsc_fail(err, FSC_ERR_INVALID, "bad profile name '%.40s' (letters, digits, '_', '-'; or a FILE.profile)",
                        name);
    const fsc_profile *known = find_locked(name);
    char path[4096], where[4096];
    bool in_env;
    bool found = search_file(name, path, sizeof path, where, sizeof where, &in_env);
    in_env = found && in_env;
    if (known && !(env_first && in_env)) {
        *out = known;
        return FSC_OK;
    }
    if (!found)
        return fsc_fail(err, FSC_ERR_INVALID, "no profile named '%s' (not built in; looked for %s)", name, where);
    fsc_profile *p;
    if ((st = fsc_profile_load(path, &p, err))) return st;
    if (!push(p, false, err)) return FSC_ERR_NOMEM;
    *out = p;
    return FSC_OK;
}

fsc_status fsc_profile_get(const char *name, const fsc_profile **out, fsc_error *err)
{
    pthread_mutex_lock(&lock);
    fsc_status st = get_locked(name ? name : "", false, out, err);
    pthread_mutex_unlock(&lock);
    return st;
}

fsc_status fsc_profile_use(const char *arg, const fsc_profile **out, fsc_error *err)
{
    *out = NULL;
    if (!arg) return fsc_fail(err, FSC_ERR_INVALID, "no profile given");
    size_t n = strlen(arg);
    bool file = strchr(arg, '/') || (n > 8 && !strcmp(arg + n - 8, ".profile"));
    pthread_mutex_lock(&lock);
    fsc_status st;
    if (!file) {
        st = get_locked(arg, true, out, err);
    } else {
        fsc_profile *p;
        st = load_builtins(err);
        if (!st) st = fsc_profile_load(arg, &p, err);
        if (!st && !valid_ref(p->name)) {
            st = fsc_fail(err, FSC_ERR_INVALID,
                          "%s: the file name gives the profile name '%s', which is not letters, digits, '_' and '-'",
                          arg, p->name);
            fsc_profile_free(p);
        } else if (!st && !strcmp(p->name, "emu")) {
            st = fsc_fail(err, FSC_ERR_INVALID, "%s: 'emu' names the emulator's configurations; rename the file", arg);
            fsc_profile_free(p);
        } else if (!st) {
            if (push(p, false, err)) *out = p;
            else st = FSC_ERR_NOMEM;
        }
    }
    pthread_mutex_unlock(&lock);
    return st;
}

int fsc_profile_list(const fsc_profile **out, int max)
{
    pthread_mutex_lock(&lock);
    fsc_error err;
    if (load_builtins(&err)) {
        pthread_mutex_unlock(&lock);
        return 0;
    }
    /* Newest of each name, built-ins first, each group oldest first. */
    int n = 0;
    for (int pass = 0; pass < 2; pass++) {
        entry *order[256];
        int m = 0;
        for (entry *e = head; e && m < 256; e = e->next)
            if (e->builtin == (pass == 0) && find_locked(e->p->name) == e->p) order[m++] = e;
        for (int i = m - 1; i >= 0; i--) {
            if (out && n < max) out[n] = order[i]->p;
            n++;
        }
    }
    pthread_mutex_unlock(&lock);
    return n;
}
