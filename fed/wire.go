package fed

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
)

// Tasks and results cross process boundaries (NATS) as one binary frame:
//
//	"LRKF" | version 1 | kind 'T' or 'R' | uint32 n | n bytes of JSON header |
//	float32 vectors, little-endian, back to back
//
// The header gives the vectors' lengths. Floats travel as their exact
// bits, so a remote client computes on the same numbers as a local one.

const (
	wireMagic   = "LRKF"
	wireVersion = 1
	// maxHeader bounds the JSON header of a frame.
	maxHeader = 1 << 20
	// maxVector bounds a vector's length (parameters).
	maxVector = 1 << 28
)

type taskHeader struct {
	Task
	GlobalLen int `json:"global_len"`
	PrevLen   int `json:"prev_len"` // −1: no previous update
}

type resultHeader struct {
	Result
	UpdateLen int `json:"update_len"`
}

func frame(kind byte, header any, vecs ...[]float32) ([]byte, error) {
	h, err := json.Marshal(header)
	if err != nil {
		return nil, err
	}
	n := 0
	for _, v := range vecs {
		n += 4 * len(v)
	}
	var b bytes.Buffer
	b.Grow(len(wireMagic) + 6 + len(h) + n)
	b.WriteString(wireMagic)
	b.WriteByte(wireVersion)
	b.WriteByte(kind)
	var u [4]byte
	binary.LittleEndian.PutUint32(u[:], uint32(len(h)))
	b.Write(u[:])
	b.Write(h)
	for _, v := range vecs {
		for _, x := range v {
			binary.LittleEndian.PutUint32(u[:], math.Float32bits(x))
			b.Write(u[:])
		}
	}
	return b.Bytes(), nil
}

// unframe checks a frame's magic, version and kind and returns its header
// bytes and the vector bytes after it.
func unframe(kind byte, b []byte) (header, rest []byte, err error) {
	what := map[byte]string{'T': "task", 'R': "result"}[kind]
	if len(b) < len(wireMagic)+6 || string(b[:len(wireMagic)]) != wireMagic {
		return nil, nil, fmt.Errorf("%s frame: not an lrkit federated frame (%d bytes)", what, len(b))
	}
	b = b[len(wireMagic):]
	if b[0] != wireVersion {
		return nil, nil, fmt.Errorf("%s frame: version %d, this build reads %d", what, b[0], wireVersion)
	}
	if b[1] != kind {
		return nil, nil, fmt.Errorf("%s frame: kind %q, want %q", what, b[1], kind)
	}
	n := binary.LittleEndian.Uint32(b[2:6])
	b = b[6:]
	if n > maxHeader || int(n) > len(b) {
		return nil, nil, fmt.Errorf("%s frame: header of %d bytes in a frame of %d", what, n, len(b))
	}
	return b[:n], b[n:], nil
}

// readVecs splits rest into vectors of the given lengths (−1: absent, nil).
func readVecs(what string, rest []byte, lens ...int) ([][]float32, error) {
	total := 0
	for _, n := range lens {
		if n < -1 || n > maxVector {
			return nil, fmt.Errorf("%s frame: vector length %d", what, n)
		}
		total += 4 * max(n, 0)
	}
	if total != len(rest) {
		return nil, fmt.Errorf("%s frame: %d bytes of vectors, the header announces %d", what, len(rest), total)
	}
	out := make([][]float32, len(lens))
	for i, n := range lens {
		if n < 0 {
			continue
		}
		v := make([]float32, n)
		for j := range v {
			v[j] = math.Float32frombits(binary.LittleEndian.Uint32(rest[4*j:]))
		}
		out[i] = v
		rest = rest[4*n:]
	}
	return out, nil
}

// EncodeTask returns t's wire frame.
func EncodeTask(t *Task) ([]byte, error) {
	h := taskHeader{Task: *t, GlobalLen: len(t.Global), PrevLen: -1}
	if t.PrevUpdate != nil {
		h.PrevLen = len(t.PrevUpdate)
	}
	return frame('T', h, t.Global, t.PrevUpdate)
}

// DecodeTask parses a frame from EncodeTask. It checks the frame's
// structure; Env.Train checks the task's values.
func DecodeTask(b []byte) (*Task, error) {
	hb, rest, err := unframe('T', b)
	if err != nil {
		return nil, err
	}
	var h taskHeader
	if err := json.Unmarshal(hb, &h); err != nil {
		return nil, fmt.Errorf("task frame: header: %w", err)
	}
	if h.GlobalLen < 0 {
		return nil, errors.New("task frame: no global model")
	}
	v, err := readVecs("task", rest, h.GlobalLen, h.PrevLen)
	if err != nil {
		return nil, err
	}
	t := h.Task
	t.Global, t.PrevUpdate = v[0], v[1]
	return &t, nil
}

// EncodeResult returns r's wire frame.
func EncodeResult(r *Result) ([]byte, error) {
	return frame('R', resultHeader{Result: *r, UpdateLen: len(r.Update)}, r.Update)
}

// DecodeResult parses a frame from EncodeResult.
func DecodeResult(b []byte) (*Result, error) {
	hb, rest, err := unframe('R', b)
	if err != nil {
		return nil, err
	}
	var h resultHeader
	if err := json.Unmarshal(hb, &h); err != nil {
		return nil, fmt.Errorf("result frame: header: %w", err)
	}
	v, err := readVecs("result", rest, h.UpdateLen)
	if err != nil {
		return nil, err
	}
	r := h.Result
	r.Update = v[0]
	if r.Update == nil && !r.Diverged {
		r.Update = []float32{}
	}
	return &r, nil
}
