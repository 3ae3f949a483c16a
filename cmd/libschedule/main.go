// Command libschedule is lrkit's schedule package as a C shared library,
// so that programs in other languages (the Python package in
// clients/python first) evaluate schedule specs with exactly lrkit's
// semantics and no server. Build it with
//
//	go build -buildmode=c-shared -o bin/liblrkit_schedule.so ./cmd/libschedule
//
// (make libschedule), which also writes the C header
// bin/liblrkit_schedule.h. The C API:
//
//	int       lrkit_abi_version(void);
//	uintptr_t lrkit_parse(const char *spec, size_t spec_len,
//	                      const char *parity, size_t parity_len, char **err);
//	double    lrkit_lr(uintptr_t h, int64_t step);
//	int64_t   lrkit_values(uintptr_t h, const int64_t *steps, int64_t n, double *out);
//	int64_t   lrkit_range(uintptr_t h, int64_t start, int64_t stride, int64_t n, double *out);
//	char     *lrkit_string(uintptr_t h);
//	char     *lrkit_json(uintptr_t h, char **err);
//	void      lrkit_free(uintptr_t h);
//	void      lrkit_free_string(char *s);
//
// lrkit_parse reads spec text, or the JSON form when the text starts with
// "{", exactly as lrkit's commands do, and applies a parity override when
// parity_len > 0 (as --parity does). It returns a handle, or 0 and sets
// *err to the positioned message ("spec:1:17: unknown parameter ...").
// Strings come with their length, so a NUL byte in a spec is an error of
// the spec rather than a silent cut. Every string the library returns is
// malloc'ed: free it with lrkit_free_string. A handle is valid until
// lrkit_free; the functions that take one are safe to call from any
// thread at once, since schedules hold no state.
//
// lrkit_values writes the rates of n steps to out; lrkit_range does the
// same for steps start, start+stride, ... (n of them). Both return -1 when
// every rate is finite, else the index of the first rate that is NaN or
// infinite (lrkit values refuses such a rate), and -2 for bad arguments
// (n < 0, a range that leaves int64). A negative step is step 0, as in
// package schedule.
package main

/*
#include <stdint.h>
#include <stdlib.h>
*/
import "C"

import (
	"fmt"
	"runtime/cgo"
	"unsafe"
)

// main is required by -buildmode=c-shared and never runs.
func main() {}

// cString returns s as a malloc'ed C string (the caller frees it).
func cString(s string) *C.char { return C.CString(s) }

// setErr stores a malloc'ed copy of err's message in *out, if out is set.
func setErr(out **C.char, err error) {
	if out != nil {
		*out = cString(err.Error())
	}
}

//export lrkit_abi_version
func lrkit_abi_version() C.int { return C.int(abiVersion) }

//export lrkit_parse
func lrkit_parse(spec *C.char, specLen C.size_t, parity *C.char, parityLen C.size_t, errOut **C.char) C.uintptr_t {
	if errOut != nil {
		*errOut = nil
	}
	if specLen > maxSpecLen || parityLen > maxSpecLen {
		setErr(errOut, fmt.Errorf("spec of %d bytes or parity of %d bytes: more than the %d the library reads", specLen, parityLen, maxSpecLen))
		return 0
	}
	text := C.GoStringN(spec, C.int(specLen))
	par := ""
	if parityLen > 0 {
		par = C.GoStringN(parity, C.int(parityLen))
	}
	s, err := parse(text, par)
	if err != nil {
		setErr(errOut, err)
		return 0
	}
	return C.uintptr_t(cgo.NewHandle(s))
}

//export lrkit_lr
func lrkit_lr(h C.uintptr_t, step C.int64_t) C.double {
	return C.double(rate(cgo.Handle(h), int64(step)))
}

//export lrkit_values
func lrkit_values(h C.uintptr_t, steps *C.int64_t, n C.int64_t, out *C.double) C.int64_t {
	if n < 0 || (n > 0 && (steps == nil || out == nil)) {
		return badArgs
	}
	if n == 0 {
		return allFinite
	}
	in := unsafe.Slice((*int64)(unsafe.Pointer(steps)), int(n))
	dst := unsafe.Slice((*float64)(unsafe.Pointer(out)), int(n))
	return C.int64_t(valuesAt(cgo.Handle(h), in, dst))
}

//export lrkit_range
func lrkit_range(h C.uintptr_t, start, stride, n C.int64_t, out *C.double) C.int64_t {
	if n < 0 || (n > 0 && out == nil) {
		return badArgs
	}
	if n == 0 {
		return allFinite
	}
	dst := unsafe.Slice((*float64)(unsafe.Pointer(out)), int(n))
	return C.int64_t(valuesRange(cgo.Handle(h), int64(start), int64(stride), dst))
}

//export lrkit_string
func lrkit_string(h C.uintptr_t) *C.char {
	return cString(canonical(cgo.Handle(h)))
}

//export lrkit_json
func lrkit_json(h C.uintptr_t, errOut **C.char) *C.char {
	if errOut != nil {
		*errOut = nil
	}
	js, err := toJSON(cgo.Handle(h))
	if err != nil {
		setErr(errOut, err)
		return nil
	}
	return cString(js)
}

//export lrkit_free
func lrkit_free(h C.uintptr_t) {
	if h != 0 {
		cgo.Handle(h).Delete()
	}
}

//export lrkit_free_string
func lrkit_free_string(s *C.char) {
	C.free(unsafe.Pointer(s))
}
