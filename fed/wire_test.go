package fed

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

func TestWireRoundTrip(t *testing.T) {
	for _, task := range []*Task{
		{Env: EnvSpec{Dataset: "mnist", Clients: 4, Dirichlet: 0.5, MinShard: 8, Model: "mlp:16", Batch: 8, Optimizer: "sgd", Seed: 3},
			Client: 2, Steps: 5, LR: 0.1, DataState: []byte(`{"epoch":1,"pos":3}`), Global: []float32{1, -2.5, 3e-7}},
		{Env: EnvSpec{Dataset: "fashion-mnist", Model: "logistic"}, Client: 0, Steps: 1, LR: 1, CL: true, Participants: 4,
			Global: []float32{0}, PrevUpdate: []float32{-0}},
	} {
		b, err := EncodeTask(task)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeTask(b)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, task) {
			t.Fatalf("task round trip:\n got %+v\nwant %+v", got, task)
		}
	}
	for _, r := range []*Result{
		{Client: 3, Update: []float32{0.25, -1}, DataState: []byte(`{}`), Loss: 0.5, LastLR: 0.01},
		{Client: 1, Diverged: true, DataState: []byte(`{}`)},
	} {
		b, err := EncodeResult(r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeResult(b)
		if err != nil {
			t.Fatal(err)
		}
		if r.Update == nil {
			r.Update = []float32{}
		}
		if !reflect.DeepEqual(got, r) {
			t.Fatalf("result round trip:\n got %+v\nwant %+v", got, r)
		}
	}
}

func TestWireErrors(t *testing.T) {
	good, _ := EncodeTask(&Task{Client: 1, Steps: 1, LR: 1, Global: []float32{1, 2}})
	res, _ := EncodeResult(&Result{Client: 1, Update: []float32{1}})
	for _, c := range []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "task frame: not an lrkit federated frame (0 bytes)"},
		{"version", append([]byte("LRKF\x02T"), good[6:]...), "task frame: version 2, this build reads 1"},
		{"kind", res, `task frame: kind 'R', want 'T'`},
		{"truncated", good[:len(good)-3], "task frame: 5 bytes of vectors, the header announces 8"},
		{"header", []byte("LRKF\x01T\xff\xff\xff\x00"), "task frame: header of 16777215 bytes in a frame of 0"},
		{"json", append([]byte("LRKF\x01T\x02\x00\x00\x00"), "{x"...), "task frame: header: invalid character"},
	} {
		_, err := DecodeTask(c.b)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

// FuzzDecodeTask checks that no frame makes the decoder panic, and that a
// frame it accepts encodes back to an equivalent task.
func FuzzDecodeTask(f *testing.F) {
	b, _ := EncodeTask(&Task{Env: EnvSpec{Dataset: "mnist"}, Client: 1, Steps: 2, LR: 0.1, Global: []float32{1, 2}, PrevUpdate: []float32{3, 4}})
	f.Add(b)
	r, _ := EncodeResult(&Result{Client: 1, Update: []float32{1}})
	f.Add(r)
	f.Add([]byte("LRKF\x01T\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		task, err := DecodeTask(b)
		if err == nil {
			again, err := EncodeTask(task)
			if err != nil {
				t.Fatal(err)
			}
			t2, err := DecodeTask(again)
			if err != nil || !reflect.DeepEqual(task, t2) {
				t.Fatalf("re-encoded task differs: %v", err)
			}
		}
		if res, err := DecodeResult(b); err == nil {
			again, _ := EncodeResult(res)
			if r2, err := DecodeResult(again); err != nil || !bytes.Equal(mustEncode(t, r2), again) {
				t.Fatalf("re-encoded result differs: %v", err)
			}
		}
	})
}

func mustEncode(t *testing.T, r *Result) []byte {
	b, err := EncodeResult(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
