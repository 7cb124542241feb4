/*
 * xsbench - libxenstore request rate, for tests/bench/xenstore/bench.sh.
 *
 * usage: XENSTORED_PATH=SOCKET xsbench read|write N THREADS
 * Each thread opens its own connection (xs_open with XS_OPEN_SOCKETONLY; libxenstore serialises
 * requests on one handle) and does N/THREADS xs_read or xs_write calls on /bench/c/<thread>.
 * Prints: "<ops> <seconds> <ops per second> <process CPU microseconds per op>".
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xenstore.h>

static const char *mode;
static long per_thread;

static void *run(void *arg)
{
    long id = (long)arg;
    char path[64];
    unsigned int len;
    struct xs_handle *h = xs_open(XS_OPEN_SOCKETONLY);
    if (!h) {
        perror("xs_open");
        exit(1);
    }
    snprintf(path, sizeof(path), "/bench/c/%ld", id);
    if (!xs_write(h, XBT_NULL, path, "value-0123456789", 16)) {
        perror("xs_write");
        exit(1);
    }
    for (long i = 0; i < per_thread; i++) {
        if (mode[0] == 'r') {
            void *v = xs_read(h, XBT_NULL, path, &len);
            if (!v) {
                perror("xs_read");
                exit(1);
            }
            free(v);
        } else if (!xs_write(h, XBT_NULL, path, "value-0123456789", 16)) {
            perror("xs_write");
            exit(1);
        }
    }
    xs_close(h);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 4 || (strcmp(argv[1], "read") && strcmp(argv[1], "write"))) {
        fprintf(stderr, "usage: XENSTORED_PATH=SOCKET %s read|write N THREADS\n", argv[0]);
        return 2;
    }
    mode = argv[1];
    long n = atol(argv[2]);
    long threads = atol(argv[3]);
    if (n <= 0 || threads <= 0 || threads > 256) {
        fprintf(stderr, "bad N or THREADS\n");
        return 2;
    }
    per_thread = n / threads;
    pthread_t t[256];
    struct timespec a, b, ca, cb;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ca);
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < threads; i++) {
        pthread_create(&t[i], NULL, run, (void *)i);
    }
    for (long i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cb);
    double s = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
    double cpu = (cb.tv_sec - ca.tv_sec) + (cb.tv_nsec - ca.tv_nsec) / 1e9;
    long ops = per_thread * threads;
    printf("%ld %.3f %.0f %.1f\n", ops, s, ops / s, cpu * 1e6 / ops);
    return 0;
}
