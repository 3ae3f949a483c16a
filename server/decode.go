package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// apiError is an error the client caused, answered with its status.
type apiError struct {
	code int
	msg  string
}

func (e *apiError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &apiError{code: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"error":"internal error: response not encodable"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(b)
	w.Write([]byte("\n"))
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

// decodeBody reads a JSON request body into v strictly: one object, no
// unknown fields, at most MaxBodyBytes. Errors say what was wrong and
// where.
func decodeBody(r *http.Request, v any) error {
	data, err := readBody(r)
	if err != nil {
		return err
	}
	return decodeJSON(data, v)
}

// readBody reads a request body of at most MaxBodyBytes.
func readBody(r *http.Request) ([]byte, error) {
	data, err := readAll(r.Body, r.ContentLength)
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return nil, &apiError{code: http.StatusRequestEntityTooLarge, msg: fmt.Sprintf("request body larger than %d bytes", mb.Limit)}
		}
		return nil, badRequest("reading request body: %v", err)
	}
	return data, nil
}

// decodeJSON decodes data into v strictly (see decodeBody).
func decodeJSON(data []byte, v any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return badRequest("empty request body: a JSON object is required")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("%s", describeJSONError(data, err))
	}
	if dec.More() {
		return badRequest("invalid JSON: more than one value in the body (at byte %d)", dec.InputOffset())
	}
	return nil
}

func describeJSONError(data []byte, err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off := min(int(se.Offset), len(data))
		rest := data[max(off-1, 0):]
		for _, w := range []string{"NaN", "Infinity", "-Infinity", "nan", "inf"} {
			if bytes.HasPrefix(rest, []byte(w)) || bytes.HasPrefix(data[max(off-2, 0):], []byte(w)) {
				return fmt.Sprintf("invalid JSON at byte %d: %s is not a number; values must be finite (JSON has no NaN or Infinity; in Python use json.dumps(..., allow_nan=False) and drop non-finite values)", se.Offset, w)
			}
		}
		return fmt.Sprintf("invalid JSON at byte %d: %v", se.Offset, err)
	case errors.As(err, &te):
		if te.Field != "" {
			return fmt.Sprintf("field %q: %s does not fit a %s (at byte %d)", te.Field, te.Value, te.Type, te.Offset)
		}
		return fmt.Sprintf("the body must be a JSON object, not %s", te.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "invalid JSON: the body ends early"
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	}
	return "invalid JSON: " + err.Error()
}

// readAll is io.ReadAll into a buffer sized by the request's
// Content-Length (when it is given and within MaxBodyBytes), so a body is
// read into one allocation instead of a doubling series from 512 bytes.
func readAll(r io.Reader, size int64) ([]byte, error) {
	n := 512
	if size > 0 && size <= MaxBodyBytes {
		n = int(size) + 1 // room to see the end without growing
	}
	b := make([]byte, 0, n)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		m, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+m]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// queryInt reads an optional integer query parameter in [lo, hi].
func queryInt(q url.Values, name string, def, lo, hi int64) (int64, bool, error) {
	v := q.Get(name)
	if v == "" {
		return def, false, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, true, badRequest("query parameter %s=%q is not an integer", name, v)
	}
	if n < lo || n > hi {
		return 0, true, badRequest("query parameter %s=%d is out of range [%d, %d]", name, n, lo, hi)
	}
	return n, true, nil
}

// checkStep checks a step number named by where against the server's
// limit.
func checkStep(where string, step, maxSteps int64) error {
	if step < 0 {
		return badRequest("%s: step %d is negative", where, step)
	}
	if step > maxSteps {
		return badRequest("%s: step %d is absurd (the limit is %d, the server's --max-steps)", where, step, maxSteps)
	}
	return nil
}

// checkFinite checks a reported value: finite, and not negative where
// nonNeg.
func checkFinite(where, name string, v float64, nonNeg bool) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return badRequest("%s.%s: value %v is not finite", where, name, v)
	}
	if nonNeg && v < 0 {
		return badRequest("%s.%s: value %v is negative", where, name, v)
	}
	return nil
}

// checkText checks a string a client sends to be stored as text (a run's
// name, a batch ID, an idempotency key): PostgreSQL refuses a NUL
// character or invalid UTF-8 in text, an error that was answered 500.
func checkText(field, v string) error {
	if !utf8.ValidString(v) {
		return badRequest("%s: not valid UTF-8", field)
	}
	if strings.IndexByte(v, 0) >= 0 {
		return badRequest("%s: holds a NUL character (U+0000), which cannot be stored", field)
	}
	return nil
}
