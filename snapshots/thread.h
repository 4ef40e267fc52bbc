/*
 * thread.h - the one way this codebase starts a thread.
 *
 * The daemons take SIGTERM, SIGINT and SIGHUP from a signalfd in their
 * loop (agent/daemon.c), which works only while no thread of the process
 * can receive them: a signal delivered to a thread that does not block it
 * runs its default action (SIGTERM kills the daemon without its cleanup)
 * or is lost to the signalfd. A thread inherits its creator's signal mask,
 * so every thread is created with all signals blocked, here.
 */
#ifndef THREAD_H
#define THREAD_H

#include <pthread.h>

/* pthread_create(t, NULL, fn, arg) with every signal blocked in the new
 * thread; the caller's mask is as it was on return. 0 or pthread_create's
 * error number. */
int thread_start_nosig(pthread_t *t, void *(*fn)(void *), void *arg);

#endif
