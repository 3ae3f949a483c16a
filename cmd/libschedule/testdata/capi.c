// capi.c calls every function of lrkit's schedule library through its C
// header, as a C program would; TestCAPI compiles it against a freshly
// built library and checks what it prints against package schedule.
//
// Usage: capi SPEC [PARITY]. Prints, one per line:
//   abi N
//   toolong MESSAGE                     (a spec length past the limit)
//   error MESSAGE                       (and stops), or
//   canonical TEXT
//   json TEXT (or json-error MESSAGE)
//   lr STEP VALUE                       for a few steps
//   values RC V...                      lrkit_values over the same steps
//   range RC V...                       lrkit_range(0, 7, 20)
//   badargs RC RC                       n < 0, a range past int64
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "liblrkit_schedule.h"

static const int64_t steps[] = {0, 1, 5, 10, 99, 100, 101, 1000, 123456789, INT64_MAX, -3};
#define NSTEPS (sizeof steps / sizeof steps[0])

int main(int argc, char **argv) {
	if (argc < 2) {
		fprintf(stderr, "usage: capi SPEC [PARITY]\n");
		return 2;
	}
	printf("abi %d\n", lrkit_abi_version());
	const char *parity = argc > 2 ? argv[2] : "";
	char *err = NULL;
	// A length past the library's limit is refused before anything is read.
	if (lrkit_parse("x", (size_t)1 << 31, "", 0, &err) == 0) {
		printf("toolong %s\n", err);
		lrkit_free_string(err);
	}
	uintptr_t h = lrkit_parse(argv[1], strlen(argv[1]), (char *)parity, strlen(parity), &err);
	if (h == 0) {
		printf("error %s\n", err ? err : "(null)");
		lrkit_free_string(err);
		return 0;
	}
	char *s = lrkit_string(h);
	printf("canonical %s\n", s);
	lrkit_free_string(s);
	char *js = lrkit_json(h, &err);
	if (js) {
		printf("json %s\n", js);
		lrkit_free_string(js);
	} else {
		printf("json-error %s\n", err);
		lrkit_free_string(err);
	}
	double out[NSTEPS];
	for (size_t i = 0; i < NSTEPS; i++) {
		printf("lr %" PRId64 " %.17g\n", steps[i], lrkit_lr(h, steps[i]));
	}
	int64_t rc = lrkit_values(h, (int64_t *)steps, NSTEPS, out);
	printf("values %" PRId64, rc);
	for (size_t i = 0; i < NSTEPS; i++) {
		printf(" %.17g", out[i]);
	}
	printf("\n");
	double r[20];
	rc = lrkit_range(h, 0, 7, 20, r);
	printf("range %" PRId64, rc);
	for (int i = 0; i < 20; i++) {
		printf(" %.17g", r[i]);
	}
	printf("\n");
	printf("badargs %" PRId64 " %" PRId64 "\n", lrkit_values(h, (int64_t *)steps, -1, out),
	       lrkit_range(h, INT64_MAX - 5, 3, 3, r));
	lrkit_free(h);
	return 0;
}
