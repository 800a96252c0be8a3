/*
 * libm_lazy.c - the math functions hamnd's static SQLite names, taken from
 * libm.so.6 the first time one is called.
 *
 * SQLite's SQL math functions (sin(), pow(), ...) reference libm, yet no query
 * of hamnd calls them. Linking libm.so for them cost an idle hamnd ~0.3 MB of
 * RSS: at load, libm's IFUNC resolvers run and touch pages across its text.
 * These definitions satisfy the references instead (the linker's --as-needed
 * then drops libm), and open libm.so.6 on first use. They are in hamnd only:
 * the tests and the other programs link libm as usual.
 */
#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static void *libm;
static pthread_once_t libm_once = PTHREAD_ONCE_INIT;

static void libm_open(void)
{
	libm = dlopen("libm.so.6", RTLD_NOW | RTLD_LOCAL);
}

/* The function NAME of libm; libm.so.6 is part of libc6, so missing it is fatal. */
static void *libm_sym(const char *name)
{
	void *fn;

	pthread_once(&libm_once, libm_open);
	fn = libm ? dlsym(libm, name) : NULL;
	if (!fn) {
		fprintf(stderr, "hamnd: cannot load %s from libm.so.6: %s\n", name, dlerror());
		abort();
	}
	return fn;
}

/* A definition of NAME forwarding to libm's, resolved once (a race resolves it twice, harmlessly). */
#define FORWARD1(name)                                                                             \
	double name(double x)                                                                      \
	{                                                                                          \
		static double (*fn)(double);                                                      \
		double (*f)(double) = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);                     \
                                                                                                   \
		if (!f) {                                                                          \
			f = (double (*)(double))libm_sym(#name);                                  \
			__atomic_store_n(&fn, f, __ATOMIC_RELEASE);                               \
		}                                                                                  \
		return f(x);                                                                       \
	}
#define FORWARD2(name)                                                                             \
	double name(double x, double y)                                                            \
	{                                                                                          \
		static double (*fn)(double, double);                                              \
		double (*f)(double, double) = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);             \
                                                                                                   \
		if (!f) {                                                                          \
			f = (double (*)(double, double))libm_sym(#name);                          \
			__atomic_store_n(&fn, f, __ATOMIC_RELEASE);                               \
		}                                                                                  \
		return f(x, y);                                                                    \
	}

FORWARD1(acos)
FORWARD1(acosh)
FORWARD1(asin)
FORWARD1(asinh)
FORWARD1(atan)
FORWARD1(atanh)
FORWARD1(cos)
FORWARD1(cosh)
FORWARD1(exp)
FORWARD1(log)
FORWARD1(sin)
FORWARD1(sinh)
FORWARD1(sqrt)
FORWARD1(tan)
FORWARD1(tanh)
FORWARD1(trunc)
FORWARD2(atan2)
FORWARD2(fmod)
FORWARD2(pow)
