/* test_check.h - the one main() of a Check test executable: run its suite as TAP. */
#ifndef TEST_CHECK_H
#define TEST_CHECK_H

#include <check.h>

/* Runs suite s (taking it) with CK_ENV verbosity (meson sets CK_VERBOSITY=silent and
 * CK_TAP_LOG_FILE_NAME=-, so only TAP reaches stdout) and returns the process exit status:
 * EXIT_SUCCESS when no test failed. Use as `return test_check_run(x_suite());`. */
int test_check_run(Suite *s);

#endif /* TEST_CHECK_H */
