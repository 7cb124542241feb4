/*
 * vif-route-netvm (native) - the Xen hotplug script for the guest vifs of a netvm, as a small C
 * program: the same contract as the bash script next to it (vif-route-netvm.sh once installed; in a
 * checkout distribution/hotplug/vif-route-netvm), which stays the reference and the fallback for
 * machines without a C compiler. Only what Xen waits for changes: no interpreter start (~4-12 ms).
 *
 *   vif-route-netvm online|offline     environment: vif (vifD.N), XENBUS_PATH (backend/vif/D/N)
 *
 * 1. The agent's fast channel (org.netvm.vif HotplugChannel), directory ${NETVM_CONTROL%.sock}.hotplug
 *    (default /run/netvm/control.hotplug): `requests` (FIFO), reply FIFOs slot.0..slot.63, `agent` =
 *    "PID START SECS" (START: field 22 of /proc/PID/stat, so a reused pid is not taken for the agent;
 *    SECS: how long a call may wait). A call claims slot K by creating claim.K with O_EXCL (K from
 *    (pid + k) % 64; the agent removes the claim once the answer was read), opens slot.K read-write,
 *    writes "TOKEN K COMMAND VIF XENBUS_PATH\n" in one write (below PIPE_BUF) and reads lines
 *    "TOKEN STATUS [MESSAGE]" from slot.K until its own token (a late answer to an earlier call is
 *    skipped), the agent's liveness checked every second, at most SECS seconds. STATUS 3, or a channel
 *    that cannot be used (absent, agent not running, hostile values, no free slot): step 2.
 * 2. The control socket: `netvm-ctl vif COMMAND --vif VIF --xenbus-path PATH` (when /usr/bin/python3
 *    is there), else `netvm vif ...`, each value one argv word, no shell; found in ../bin next to this
 *    program (/proc/self/exe), else in /usr/lib/netvm/bin.
 * 3. Exit status 0: done; 1: failed and reported in xenstore by the agent. Anything else: the agent was
 *    not reached, and this program writes hotplug-status=error + hotplug-error itself with
 *    `xenstore-write` (found on PATH, executed directly, no shell), only when XENBUS_PATH is the vif's
 *    own directory (backend/vif/D/N, optionally under /local/domain/X/), and exits 1.
 * Every value from the environment and the agent file is checked strictly (charset, length, digits
 * only, no leading zero where the script has none); anything else fails closed to the next step.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define SLOTS 64
#define USE_CONTROL_SOCKET 3
#define DEFAULT_CONTROL "/run/netvm/control.sock"
#define FALLBACK_BIN "/usr/lib/netvm/bin"
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define NO_ANSWER_TEXT_MAX 128
#define MESSAGE_MAX 4096

static const char *command = "", *vif_name = "", *xenbus_path = "";

static const char *env_or(const char *name, const char *dflt) {
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : dflt;
}

static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int is_name_char(int c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) || c == '.' || c == '_' || c == '-';
}
static int is_path_char(int c) { return is_name_char(c) || c == '/'; }

/* fits: s is 1..max characters, each accepted by ok (the script's `fits VALUE SET MAX`) */
static int fits(const char *s, int (*ok)(int), size_t max) {
    size_t n = strlen(s);
    if (n == 0 || n > max) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (!ok((unsigned char) s[i])) {
            return 0;
        }
    }
    return 1;
}

static long long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long) t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* the first line of a small file into buf (without its newline); -1 when it cannot be read or does
 * not fit (fail closed: no value we accept is that long) */
static int read_first_line(const char *path, char *buf, size_t cap) {
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC); /* a FIFO put there does not block us */
    if (fd < 0) {
        return -1;
    }
    size_t n = 0;
    ssize_t r;
    while (n < cap - 1 && (r = read(fd, buf + n, cap - 1 - n)) != 0) {
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            close(fd);
            return -1;
        }
        n += (size_t) r;
        if (memchr(buf, '\n', n) != NULL) {
            break;
        }
    }
    close(fd);
    buf[n] = '\0';
    char *nl = memchr(buf, '\n', n);
    if (nl != NULL) {
        *nl = '\0';
    } else if (n == cap - 1) {
        return -1; /* longer than the buffer */
    }
    return strlen(buf) == (size_t) (nl != NULL ? nl - buf : (ptrdiff_t) n) ? 0 : -1; /* no NUL byte in it */
}

/* splits line in place into at most max words (space and tab separate, as the shell's read does);
 * returns the number of words, max + 1 when there are more */
static int split_words(char *line, char **words, int max) {
    int n = 0;
    char *p = line;
    for (;;) {
        while (*p == ' ' || *p == '\t') {
            p++;
        }
        if (*p == '\0') {
            return n;
        }
        if (n == max) {
            return max + 1;
        }
        words[n++] = p;
        while (*p != '\0' && *p != ' ' && *p != '\t') {
            p++;
        }
        if (*p != '\0') {
            *p++ = '\0';
        }
    }
}

/* whether process pid still runs and started at start (field 22 of /proc/PID/stat) */
static int agent_alive(const char *pid, const char *start) {
    char path[64], stat[1024];
    snprintf(path, sizeof path, "/proc/%s/stat", pid);
    if (read_first_line(path, stat, sizeof stat) != 0) {
        return 0;
    }
    char *after = stat, *p = stat; /* after the last ") ": the command name may hold anything */
    while ((p = strstr(p, ") ")) != NULL) {
        after = p + 2;
        p++;
    }
    char *fields[21];
    int n = split_words(after, fields, 20);
    return n >= 20 && strcmp(fields[19], start) == 0; /* fields[0] is field 3 (state) */
}

struct agent {
    char line[128];
    char *pid, *start, *secs;
};

/* reads and checks the agent file: pid 1..10 digits, start 1..20 digits, secs 1..6 digits */
static int read_agent(const char *dir, struct agent *a) {
    char path[PATH_MAX];
    char *w[3];
    if (snprintf(path, sizeof path, "%s/agent", dir) >= (int) sizeof path ||
            read_first_line(path, a->line, sizeof a->line) != 0 || split_words(a->line, w, 3) != 3) {
        return -1;
    }
    a->pid = w[0];
    a->start = w[1];
    a->secs = w[2];
    if (!fits(a->pid, is_digit, 10) || a->pid[0] == '0' || !fits(a->start, is_digit, 20) ||
            !fits(a->secs, is_digit, 6) || a->secs[0] == '0') {
        return -1;
    }
    return agent_alive(a->pid, a->start) ? 0 : -1;
}

/* claims a free reply slot (claim.K created with O_EXCL); its number, or -1 */
static int claim_slot(const char *dir) {
    char path[PATH_MAX];
    for (int k = 0; k < SLOTS; k++) {
        int slot = (int) (((long) getpid() + k) % SLOTS);
        snprintf(path, sizeof path, "%s/claim.%d", dir, slot);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0) {
            close(fd);
            return slot;
        }
    }
    return -1;
}

struct reply {
    char buf[MESSAGE_MAX];
    size_t len;
    int skipping; /* the rest of an overlong line is dropped */
};

/* one reply line: -1 not ours (a late answer to an earlier call), else its status (2 when the status
 * is not one digit); the message is left in *message (may be empty) */
static int take_line(char *line, const char *token, char **message) {
    char *sp = strchr(line, ' ');
    size_t tl = sp != NULL ? (size_t) (sp - line) : strlen(line);
    if (tl != strlen(token) || strncmp(line, token, tl) != 0) {
        return -1;
    }
    char *rest = sp != NULL ? sp + 1 : line; /* the script's ${line#* } */
    char *sp2 = strchr(rest, ' ');
    *message = sp2 != NULL ? sp2 + 1 : rest + strlen(rest);
    if (sp2 != NULL) {
        *sp2 = '\0';
    }
    return strlen(rest) == 1 && is_digit((unsigned char) rest[0]) ? rest[0] - '0' : 2;
}

/* reads what is there on fd into r; returns the status of our answer (message copied into out),
 * -1 when it is not there yet */
static int read_reply(int fd, struct reply *r, const char *token, char *out, size_t outcap) {
    ssize_t n = read(fd, r->buf + r->len, sizeof r->buf - 1 - r->len);
    if (n <= 0) {
        return -1;
    }
    r->len += (size_t) n;
    for (;;) {
        char *nl = memchr(r->buf, '\n', r->len);
        int whole = nl != NULL;
        if (!whole && r->len < sizeof r->buf - 1) {
            return -1; /* the rest of the line comes later */
        }
        size_t used = whole ? (size_t) (nl - r->buf) + 1 : r->len;
        r->buf[whole ? used - 1 : used] = '\0';
        int skip = r->skipping;
        r->skipping = !whole;
        char *message = NULL;
        int status = skip ? -1 : take_line(r->buf, token, &message);
        if (status >= 0) {
            snprintf(out, outcap, "%s", message);
            return status;
        }
        memmove(r->buf, r->buf + used, r->len - used);
        r->len -= used;
    }
}

/* waits for the answer on fd: its status, or -1 when the agent died or did not answer in time (the
 * message says so) */
static int await_reply(int fd, const struct agent *a, const char *token, char *message, size_t cap) {
    static struct reply r;
    long long end = now_ms() + atoll(a->secs) * 1000, check = now_ms() + 1000;
    for (;;) {
        long long now = now_ms(), until = check < end ? check : end;
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int ready = poll(&p, 1, until > now ? (int) (until - now) : 0);
        if (ready > 0) {
            int status = read_reply(fd, &r, token, message, cap);
            if (status >= 0) {
                return status;
            }
        } else if (ready < 0 && errno != EINTR) {
            break;
        }
        now = now_ms();
        if (now >= check || now >= end) {
            if (!agent_alive(a->pid, a->start) || now >= end) {
                break;
            }
            check = now + 1000;
        }
    }
    snprintf(message, cap, "vif-route-netvm: no answer from the agent (pid %s) on its fast channel", a->pid);
    return -1;
}

/* the channel's directory: ${NETVM_CONTROL%.sock}.hotplug */
static int channel_dir(char *dir, size_t cap) {
    const char *control = env_or("NETVM_CONTROL", DEFAULT_CONTROL);
    size_t n = strlen(control);
    if (n >= 5 && strcmp(control + n - 5, ".sock") == 0) {
        n -= 5;
    }
    return snprintf(dir, cap, "%.*s.hotplug", (int) n, control) < (int) cap ? 0 : -1;
}

/* the request through the fast channel: 0 with *rc set, -1 when the channel cannot be used (or
 * answered status 3): the control socket is asked then */
static int fast_call(int *rc) {
    char dir[PATH_MAX - 32], path[PATH_MAX], line[512], token[32], message[MESSAGE_MAX];
    struct agent a;
    struct stat st;
    if ((strcmp(command, "online") != 0 && strcmp(command, "offline") != 0) ||
            !fits(vif_name, is_name_char, 32) || !fits(xenbus_path, is_path_char, 64) || channel_dir(dir, sizeof dir) != 0) {
        return -1;
    }
    snprintf(path, sizeof path, "%s/requests", dir);
    if (stat(path, &st) != 0 || !S_ISFIFO(st.st_mode)) {
        return -1;
    }
    snprintf(path, sizeof path, "%s/agent", dir);
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || read_agent(dir, &a) != 0) {
        return -1;
    }
    int slot = claim_slot(dir);
    if (slot < 0) {
        return -1;
    }
    snprintf(path, sizeof path, "%s/slot.%d", dir, slot);
    int reply = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (reply < 0) {
        return -1;
    }
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    snprintf(token, sizeof token, "%ld.%ld", (long) getpid(), (long) ((t.tv_nsec / 1000) ^ getpid()) % 32768);
    int n = snprintf(line, sizeof line, "%s %d %s %s %s\n", token, slot, command, vif_name, xenbus_path);
    snprintf(path, sizeof path, "%s/requests", dir);
    int req = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC); /* never blocks; a full FIFO: EAGAIN */
    if (req < 0 || n <= 0 || n >= (int) sizeof line || write(req, line, (size_t) n) != n) {
        if (req >= 0) {
            close(req);
        }
        close(reply);
        return -1;
    }
    close(req);
    int status = await_reply(reply, &a, token, message, sizeof message);
    close(reply);
    if (status == USE_CONTROL_SOCKET) {
        return -1; /* the agent sends us to the control socket */
    }
    if (status < 0) {
        status = USE_CONTROL_SOCKET; /* not answered: reported as not reached */
    }
    if (message[0] != '\0') {
        fprintf(stderr, "%s\n", message);
    }
    *rc = status;
    return 0;
}

/* runs argv[0] (an absolute path, or each PATH entry for a bare name) and waits: its exit status,
 * 128 + signal when killed, 126/127 when it could not be executed */
static int run(char *const argv[], int search) {
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        return 126;
    }
    if (pid == 0) {
        if (!search) {
            execv(argv[0], argv);
        } else {
            const char *p = env_or("PATH", DEFAULT_PATH);
            char cand[PATH_MAX];
            for (;;) {
                const char *colon = strchr(p, ':');
                size_t len = colon != NULL ? (size_t) (colon - p) : strlen(p);
                if (snprintf(cand, sizeof cand, "%.*s/%s", (int) len, len ? p : ".", argv[0]) < (int) sizeof cand) {
                    execv(cand, argv); /* execv, not execvp: never a shell for a file without #! */
                }
                if (colon == NULL) {
                    break;
                }
                p = colon + 1;
            }
            errno = ENOENT;
        }
        int e = errno;
        fprintf(stderr, "vif-route-netvm: %s: %s\n", argv[0], strerror(e));
        _exit(e == ENOENT ? 127 : 126);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR) {
            return 126;
        }
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

/* the control socket's client: netvm-ctl (with python3) or netvm, in ../bin next to this program or
 * in /usr/lib/netvm/bin */
static int control_call(const char *argv0) {
    char self[PATH_MAX - 32], here[PATH_MAX - 32], bin[PATH_MAX - 16], netvm[PATH_MAX], ctl[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = '\0';
    } else {
        snprintf(self, sizeof self, "%s", argv0);
    }
    char *slash = strrchr(self, '/');
    snprintf(here, sizeof here, "%.*s", slash != NULL ? (int) (slash - self) : 1, slash != NULL ? self : ".");
    snprintf(bin, sizeof bin, "%s/../bin", here);
    snprintf(netvm, sizeof netvm, "%s/netvm", bin);
    if (access(netvm, X_OK) != 0) {
        snprintf(bin, sizeof bin, "%s", FALLBACK_BIN);
        snprintf(netvm, sizeof netvm, "%s/netvm", bin);
    }
    snprintf(ctl, sizeof ctl, "%s/netvm-ctl", bin);
    if (access(ctl, X_OK) == 0 && access("/usr/bin/python3", X_OK) == 0) {
        snprintf(netvm, sizeof netvm, "%s", ctl);
    }
    if (access(netvm, X_OK) != 0) {
        fprintf(stderr, "vif-route-netvm: netvm not found (looked in %s/../bin and %s)\n", here, FALLBACK_BIN);
        return 127;
    }
    char *argv[] = { netvm, "vif", (char *) command, "--vif", (char *) vif_name, "--xenbus-path", (char *) xenbus_path, NULL };
    return run(argv, 0);
}

/* "vif" 1..5 digits "." 1..5 digits; the two numbers' extents into *d and *n */
static int parse_vif(const char *s, const char **d, size_t *dl, const char **n, size_t *nl) {
    if (strncmp(s, "vif", 3) != 0) {
        return -1;
    }
    *d = s + 3;
    *dl = strspn(*d, "0123456789");
    if (*dl < 1 || *dl > 5 || (*d)[*dl] != '.') {
        return -1;
    }
    *n = *d + *dl + 1;
    *nl = strspn(*n, "0123456789");
    return *nl >= 1 && *nl <= 5 && (*n)[*nl] == '\0' ? 0 : -1;
}

/* whether path is vif's own directory: ^(/local/domain/[0-9]{1,5}/)?backend/vif/D/N$ */
static int own_directory(const char *path) {
    const char *d, *n;
    size_t dl, nl;
    if (parse_vif(vif_name, &d, &dl, &n, &nl) != 0) {
        return -1;
    }
    char own[64];
    snprintf(own, sizeof own, "backend/vif/%.*s/%.*s", (int) dl, d, (int) nl, n);
    const char *p = path;
    if (strncmp(p, "/local/domain/", 14) == 0) {
        size_t xl = strspn(p + 14, "0123456789");
        if (xl < 1 || xl > 5 || p[14 + xl] != '/') {
            return 1;
        }
        p += 14 + xl + 1;
    }
    return strcmp(p, own) == 0 ? 0 : 1;
}

/* the agent was not reached: hotplug-status=error + hotplug-error into the vif's own directory */
static int report_failure(int rc) {
    fprintf(stderr, "vif-route-netvm: %s of %s failed (netvm exit status %d): agent not reached\n", command, vif_name, rc);
    int own = own_directory(xenbus_path);
    if (own < 0) {
        return 1;
    }
    if (own > 0) {
        fprintf(stderr, "vif-route-netvm: XENBUS_PATH '%s' is not the directory of %s: nothing written\n", xenbus_path, vif_name);
        return 1;
    }
    char err_key[128], status_key[128], text[NO_ANSWER_TEXT_MAX];
    snprintf(err_key, sizeof err_key, "%s/hotplug-error", xenbus_path);
    snprintf(status_key, sizeof status_key, "%s/hotplug-status", xenbus_path);
    snprintf(text, sizeof text, "netvm agent not reached (exit status %d)", rc);
    char *argv[] = { "xenstore-write", err_key, text, status_key, "error", NULL };
    run(argv, 1);
    return 1;
}

int main(int argc, char **argv) {
    command = argc > 1 ? argv[1] : "";
    vif_name = env_or("vif", "");
    xenbus_path = env_or("XENBUS_PATH", "");
    int rc = 0;
    if (fast_call(&rc) != 0) {
        rc = control_call(argv[0]);
    }
    if (rc == 0 || rc == 1) {
        return rc;
    }
    return report_failure(rc);
}
