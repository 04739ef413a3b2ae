/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * bw_test.h - a tiny assertion kit for tests that do not use cmocka
 * (the BPF program tests).
 *
 * Each ASSERT_* evaluates to true when it holds, so it doubles as a guard:
 *
 *	if (!ASSERT_OK(err, "prog_test_run"))
 *		return;
 *
 * A failed assertion prints one line naming the function, the line, what
 * was being checked and the values seen; nothing is printed for a pass.
 * bw_test_summary() prints the final "N passed, N failed" line and returns
 * the process exit status (0 only when nothing failed).
 */
#ifndef BW_TEST_H
#define BW_TEST_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static unsigned int bw_test_passed;
static unsigned int bw_test_failed;

static inline bool
bw_test_check(bool ok, const char *func, int line, const char *name,
	      const char *fmt_a, long long a, long long b)
{
	if (ok) {
		bw_test_passed++;
		return true;
	}
	bw_test_failed++;
	fprintf(stderr, "FAIL %s:%d %s: %s (got %lld, expected %lld)\n",
		func, line, name, fmt_a, a, b);
	return false;
}

#define ASSERT_EQ(actual, expected, name) ({				\
	long long ___a = (long long)(actual);				\
	long long ___e = (long long)(expected);				\
	bw_test_check(___a == ___e, __func__, __LINE__, (name),		\
		      #actual " == " #expected, ___a, ___e);		\
})

#define ASSERT_NEQ(actual, unexpected, name) ({				\
	long long ___a = (long long)(actual);				\
	long long ___e = (long long)(unexpected);			\
	bw_test_check(___a != ___e, __func__, __LINE__, (name),		\
		      #actual " != " #unexpected, ___a, ___e);		\
})

#define ASSERT_GE(actual, bound, name) ({				\
	long long ___a = (long long)(actual);				\
	long long ___e = (long long)(bound);				\
	bw_test_check(___a >= ___e, __func__, __LINE__, (name),		\
		      #actual " >= " #bound, ___a, ___e);		\
})

#define ASSERT_TRUE(cond, name) ({					\
	bool ___c = !!(cond);						\
	bw_test_check(___c, __func__, __LINE__, (name), #cond, ___c, 1); \
})

#define ASSERT_FALSE(cond, name) ({					\
	bool ___c = !!(cond);						\
	bw_test_check(!___c, __func__, __LINE__, (name), "!(" #cond ")", \
		      ___c, 0);						\
})

/* err is 0 or -errno (libbpf 1.x convention). */
#define ASSERT_OK(err, name)	ASSERT_EQ((err), 0, (name))

#define ASSERT_OK_PTR(ptr, name) ({					\
	const void *___p = (ptr);					\
	bw_test_check(___p != NULL, __func__, __LINE__, (name),		\
		      #ptr " != NULL", 0, 1);				\
})

/* Print the final line (alone on its line) and return the exit status. */
static inline int
bw_test_summary(void)
{
	printf("%u passed, %u failed\n", bw_test_passed, bw_test_failed);
	fflush(stdout);
	return bw_test_failed ? 1 : 0;
}

#endif /* BW_TEST_H */
