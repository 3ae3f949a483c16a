package runlog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// testMask is TFRecord's CRC mask, written out again here so that the
// fixture does not depend on the code under test.
func testMask(data []byte) uint32 {
	c := crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli))
	return (c>>15 | c<<17) + 0xa282ead8
}

// frame wraps an Event message in TFRecord framing.
func frame(data []byte) []byte {
	var out []byte
	out = binary.LittleEndian.AppendUint64(out, uint64(len(data)))
	out = binary.LittleEndian.AppendUint32(out, testMask(out[:8]))
	out = append(out, data...)
	return binary.LittleEndian.AppendUint32(out, testMask(data))
}

// wall is the double 1700000000.0, little endian.
var wall = []byte{0x00, 0x00, 0x00, 0x40, 0xfc, 0x54, 0xd9, 0x41}

// event assembles Event{wall_time=1 (fixed64), rest...}.
func event(rest ...byte) []byte { return append(append([]byte{0x09}, wall...), rest...) }

// handEvents are Event messages assembled byte by byte from the field
// numbers of event.proto, summary.proto and tensor.proto.
var handEvents = [][]byte{
	// file_version=3 "brain.Event:2"
	event(append([]byte{0x1a, 0x0d}, "brain.Event:2"...)...),
	// step 0 (omitted, proto3 default), summary=5 { value=1 { tag=1 "train/loss", simple_value=2 2.5f } }
	event(append(append([]byte{0x2a, 0x13, 0x0a, 0x11, 0x0a, 0x0a}, "train/loss"...), 0x15, 0x00, 0x00, 0x20, 0x40)...),
	// step 0, { tag "lr", simple_value 0.001f }
	event(append(append([]byte{0x2a, 0x0b, 0x0a, 0x09, 0x0a, 0x02}, "lr"...), 0x15, 0x6f, 0x12, 0x83, 0x3a)...),
	// step=2 1, { tag "train/loss", tensor=8 { dtype=1 DT_FLOAT, tensor_shape=2 {}, float_val=5 packed [2.25f] },
	//             metadata=9 { plugin_data=1 { plugin_name=1 "scalars" } } }
	event(append(append(append([]byte{0x10, 0x01, 0x2a, 0x27, 0x0a, 0x25, 0x0a, 0x0a}, "train/loss"...),
		0x42, 0x0a, 0x08, 0x01, 0x12, 0x00, 0x2a, 0x04, 0x00, 0x00, 0x10, 0x40,
		0x4a, 0x0b, 0x0a, 0x09, 0x0a, 0x07), "scalars"...)...),
	// step 1, { tag "lr", tensor { dtype DT_FLOAT, shape {}, tensor_content=4 0.0005f little endian } }
	event(append(append([]byte{0x10, 0x01, 0x2a, 0x12, 0x0a, 0x10, 0x0a, 0x02}, "lr"...),
		0x42, 0x0a, 0x08, 0x01, 0x12, 0x00, 0x22, 0x04, 0x6f, 0x12, 0x03, 0x3a)...),
	// step 2, two values in one summary: { tag "val/loss", tensor { dtype=1 2 DT_DOUBLE, double_val=6 packed [1.75] } },
	//                                    { tag "train/loss", simple_value NaN }
	event(append(append(append(append([]byte{0x10, 0x02, 0x2a, 0x2f, 0x0a, 0x1a, 0x0a, 0x08}, "val/loss"...),
		0x42, 0x0e, 0x08, 0x02, 0x12, 0x00, 0x32, 0x08, 0, 0, 0, 0, 0, 0, 0xfc, 0x3f,
		0x0a, 0x11, 0x0a, 0x0a), "train/loss"...), 0x15, 0x00, 0x00, 0xc0, 0x7f)...),
	// step 3, a text summary { tag "notes", tensor { dtype 7 DT_STRING, shape {}, string_val=8 "hi" } }
	event(append(append([]byte{0x10, 0x03, 0x2a, 0x13, 0x0a, 0x11, 0x0a, 0x05}, "notes"...),
		0x42, 0x08, 0x08, 0x07, 0x12, 0x00, 0x42, 0x02, 'h', 'i')...),
	// step 3, { tag "custom/metric", simple_value 1.0f }
	event(append(append([]byte{0x10, 0x03, 0x2a, 0x16, 0x0a, 0x14, 0x0a, 0x0d}, "custom/metric"...), 0x15, 0, 0, 0x80, 0x3f)...),
	// step 4, { tag "loss", tensor { DT_FLOAT, shape { dim=2 { size=1 2 } }, float_val [1, 1] } }: not a scalar
	event(append(append([]byte{0x10, 0x04, 0x2a, 0x1c, 0x0a, 0x1a, 0x0a, 0x04}, "loss"...),
		0x42, 0x12, 0x08, 0x01, 0x12, 0x04, 0x12, 0x02, 0x08, 0x02, 0x2a, 0x08, 0, 0, 0x80, 0x3f, 0, 0, 0x80, 0x3f)...),
	// step 5, { tag "loss", simple_value 1.0f }
	event(append(append([]byte{0x10, 0x05, 0x2a, 0x0d, 0x0a, 0x0b, 0x0a, 0x04}, "loss"...), 0x15, 0, 0, 0x80, 0x3f)...),
}

func handFile() (data []byte, offsets []int64) {
	for _, ev := range handEvents {
		offsets = append(offsets, int64(len(data)))
		data = append(data, frame(ev)...)
	}
	return data, offsets
}

const handFixture = "testdata/events.out.tfevents.1700000000.handmade"

var handWant = []Record{
	{Step: 0, LR: 0.001, Loss: 2.5, Present: FieldLR | FieldLoss},
	{Step: 1, LR: 0.0005, Loss: 2.25, Present: FieldLR | FieldLoss},
	{Step: 2, Loss: math.NaN(), ValLoss: 1.75, Present: FieldLoss | FieldValLoss},
	{Step: 5, Loss: 1, Present: FieldLoss},
}

func TestMaskedCRC(t *testing.T) {
	// CRC-32C check value of "123456789" (RFC 3720, appendix B.4).
	if got := crc32.Checksum([]byte("123456789"), castagnoli); got != 0xe3069283 {
		t.Fatalf("crc32c = %#x, want 0xe3069283", got)
	}
	c := uint32(0xe3069283)
	if got, want := maskedCRC([]byte("123456789")), (c>>15|c<<17)+0xa282ead8; got != want {
		t.Fatalf("masked = %#x, want %#x", got, want)
	}
}

func TestTFEventsHandFixture(t *testing.T) {
	data, offsets := handFile()
	committed, err := os.ReadFile(handFixture)
	if os.Getenv("RUNLOG_UPDATE_FIXTURES") != "" {
		if err := os.WriteFile(handFixture, data, 0o644); err != nil {
			t.Fatal(err)
		}
	} else if err != nil || !bytes.Equal(committed, data) {
		t.Fatalf("%s differs from the assembled bytes (%v); regenerate with RUNLOG_UPDATE_FIXTURES=1", handFixture, err)
	}
	r, err := Open(handFixture, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(handWant) {
		t.Fatalf("got %d records %+v, want %+v", len(got), got, handWant)
	}
	for i := range got {
		if !sameRecord(got[i], handWant[i]) {
			t.Errorf("record %d = %+v, want %+v", i, got[i], handWant[i])
		}
	}
	wantWarn := []string{
		`byte ` + itoa(offsets[6]) + `: tag "notes" maps to no field; its values are skipped`,
		`byte ` + itoa(offsets[7]) + `: tag "custom/metric" maps to no field; its values are skipped`,
		`byte ` + itoa(offsets[8]) + `: tag "loss": tensor has 2 elements, not a scalar; its values are skipped`,
		`byte ` + itoa(offsets[5]) + `: loss is NaN at step 2`,
	}
	warns := r.Warnings()
	if len(warns) != len(wantWarn) {
		t.Fatalf("warnings %v, want %v", warns, wantWarn)
	}
	for i, w := range warns {
		if want := handFixture + ": " + wantWarn[i]; w.String() != want {
			t.Errorf("warning %d = %q, want %q", i, w.String(), want)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestTFEventsTagMap(t *testing.T) {
	data, _ := handFile()
	tags, err := ParseTagMap("val_loss=train/loss, lr=lr")
	if err != nil {
		t.Fatal(err)
	}
	got, err := ReadAll(NewTFEventsReader(bytes.NewReader(data), ReadOptions{Tags: tags}))
	if err != nil {
		t.Fatal(err)
	}
	want := []Record{
		{Step: 0, LR: 0.001, ValLoss: 2.5, Present: FieldLR | FieldValLoss},
		{Step: 1, LR: 0.0005, ValLoss: 2.25, Present: FieldLR | FieldValLoss},
		{Step: 2, ValLoss: math.NaN(), Present: FieldValLoss},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range got {
		if !sameRecord(got[i], want[i]) {
			t.Errorf("record %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestTFEventsTruncatedLastRecord(t *testing.T) {
	data, offsets := handFile()
	full, err := ReadAll(NewTFEventsReader(bytes.NewReader(data), ReadOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	for cut := 1; cut < len(data); cut++ {
		r := NewTFEventsReader(bytes.NewReader(data[:cut]), ReadOptions{Name: "ev"})
		got, err := ReadAll(r)
		if err != nil {
			t.Fatalf("cut at %d: %v", cut, err)
		}
		boundary := false
		for _, o := range offsets {
			boundary = boundary || int64(cut) == o
		}
		truncated := false
		for _, w := range r.Warnings() {
			truncated = truncated || strings.Contains(w.Msg, "truncated last record")
		}
		if truncated == boundary {
			t.Errorf("cut at %d (record boundary %v): truncation warning %v", cut, boundary, truncated)
		}
		// What was read is a prefix of the full file's records; the last
		// one may lack values from the events that were cut off.
		if len(got) > len(full) {
			t.Fatalf("cut at %d: %d records, more than the whole file's %d", cut, len(got), len(full))
		}
		for i := range got {
			if got[i].Step != full[i].Step || got[i].Present&^full[i].Present != 0 {
				t.Errorf("cut at %d: record %d = %+v, not part of %+v", cut, i, got[i], full[i])
			}
			if i < len(got)-1 && !sameRecord(got[i], full[i]) {
				t.Errorf("cut at %d: record %d = %+v, want %+v", cut, i, got[i], full[i])
			}
		}
	}
}

// hugeRecord is a header claiming more than the limit, with a valid CRC.
func hugeRecord() []byte {
	huge := binary.LittleEndian.AppendUint64(nil, maxEventRecord+1)
	return binary.LittleEndian.AppendUint32(huge, testMask(huge))
}

func TestTFEventsErrors(t *testing.T) {
	data, offsets := handFile()
	corrupt := func(at int64) []byte {
		b := bytes.Clone(data)
		b[at] ^= 0x40
		return b
	}
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"data CRC", corrupt(offsets[3] + 12 + 5), "ev: byte " + itoa(offsets[3]) + ": data CRC mismatch"},
		{"length CRC", corrupt(offsets[2] + 1), "ev: byte " + itoa(offsets[2]) + ": length CRC mismatch"},
		{"stored data CRC", corrupt(offsets[1] + int64(len(frame(handEvents[1]))) - 1), "ev: byte " + itoa(offsets[1]) + ": data CRC mismatch"},
		{"not an event file", []byte("step,lr,loss\n0,0.1,2.5\n"), "ev: byte 0: length CRC mismatch"},
		{"bad protobuf", frame([]byte{0x2a, 0x05, 0x0a}), "ev: byte 0: bad Event message field 5: unexpected EOF"},
		{"huge length", hugeRecord(), "ev: byte 0: record length 268435457 exceeds the 268435456-byte limit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadAll(NewTFEventsReader(bytes.NewReader(tc.in), ReadOptions{Name: "ev"}))
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("error %v, want prefix %q", err, tc.want)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not a *ParseError", err)
			}
		})
	}
}

func TestTFEventsStepsBackwards(t *testing.T) {
	var buf bytes.Buffer
	w := NewTFEventWriter(&buf, TFEventOptions{WallTime: func() float64 { return 1 }})
	for _, s := range []int64{5, 5, 3} {
		if err := w.WriteScalar(s, "loss", 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r := NewTFEventsReader(&buf, ReadOptions{Name: "ev"})
	_, err := ReadAll(r)
	want := `step 3 (tag "loss") comes after step 5: steps must not go backwards`
	if err == nil || !strings.HasSuffix(err.Error(), want) {
		t.Fatalf("error %v, want %q", err, want)
	}
}

func TestTFEventWriterRoundTrip(t *testing.T) {
	recs := []Record{
		{Step: 0, LR: 1e-3, Loss: 10.5, Present: FieldLR | FieldLoss},
		{Step: 1, LR: 3e-4, Present: FieldLR},
		{Step: 7, Loss: math.NaN(), ValLoss: math.Inf(1), GradNorm: 0.1, Present: FieldLoss | FieldValLoss | FieldGradNorm},
		{Step: 1 << 40, ExamplesSeen: 4096, WallSeconds: 12.25, Present: FieldExamplesSeen | FieldWallSeconds},
	}
	for _, tensor := range []bool{false, true} {
		for _, custom := range []bool{false, true} {
			var buf bytes.Buffer
			opts := TFEventOptions{Tensor: tensor, WallTime: func() float64 { return 1.7e9 }}
			var ropts ReadOptions
			if custom {
				opts.Tags = map[Field]string{FieldLoss: "train/loss", FieldLR: "opt/lr"}
				ropts.Tags = DefaultTagMap()
				ropts.Tags["opt/lr"] = FieldLR
			}
			w := NewTFEventWriter(&buf, opts)
			for _, r := range recs {
				if err := w.Write(r); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			got, err := ReadAll(NewTFEventsReader(&buf, ropts))
			if err != nil {
				t.Fatalf("tensor=%v: %v", tensor, err)
			}
			if len(got) != len(recs) {
				t.Fatalf("tensor=%v: %d records, want %d", tensor, len(got), len(recs))
			}
			for i, want := range recs {
				// Event files hold float32; the reader widens through the
				// shortest decimal, so these values come back exactly.
				if !sameRecord(got[i], want) {
					t.Errorf("tensor=%v custom=%v: record %d = %+v, want %+v", tensor, custom, i, got[i], want)
				}
			}
		}
	}
}

func TestTFEventWriterEmptyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "events.out.tfevents.1.host")
	w, err := Create(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFile(path, ReadOptions{})
	if err != nil || len(got) != 0 {
		t.Fatalf("empty event file: %v, %v", got, err)
	}
	st, _ := os.Stat(path)
	if st.Size() == 0 {
		t.Errorf("no file_version event written")
	}
}

func TestParseTagMap(t *testing.T) {
	m, err := ParseTagMap("loss=train/loss,lr=lr,val_loss=Loss/val,loss=loss2")
	if err != nil {
		t.Fatal(err)
	}
	if m["train/loss"] != FieldLoss || m["lr"] != FieldLR || m["Loss/val"] != FieldValLoss || m["loss2"] != FieldLoss {
		t.Fatalf("map %v", m)
	}
	if got, want := m.String(), "lr=lr,loss=loss2,loss=train/loss,val_loss=Loss/val"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	bad := []struct{ in, want string }{
		{"", `tag map "": empty, want field=tag pairs such as loss=train/loss`},
		{"loss", `tag map pair 1 "loss": want field=tag`},
		{"loss=a,los=b", `tag map pair 2 "los=b": unknown field "los" (did you mean "loss"?)`},
		{"step=global", `tag map pair 1 "step=global": step is the event's step, not a tag`},
		{"lr=", `tag map pair 1 "lr=": empty tag`},
		{"lr=x,loss=x", `tag map pair 2 "loss=x": tag "x" already maps to lr`},
	}
	for _, tc := range bad {
		if _, err := ParseTagMap(tc.in); err == nil || err.Error() != tc.want {
			t.Errorf("ParseTagMap(%q) error %v, want %q", tc.in, err, tc.want)
		}
	}
}

func TestDefaultTagMap(t *testing.T) {
	m := DefaultTagMap()
	for tag, f := range map[string]Field{
		"loss": FieldLoss, "train/loss": FieldLoss, "lr": FieldLR, "learning_rate": FieldLR,
		"train/learning_rate": FieldLR, "lr-AdamW": FieldLR, "eval/loss": FieldValLoss, "val/loss": FieldValLoss,
		"grad_norm": FieldGradNorm, "train/grad_norm": FieldGradNorm, "val_metric": FieldValMetric,
	} {
		if m[tag] != f {
			t.Errorf("default map: %q -> %v, want %v", tag, m[tag], f)
		}
	}
}

func TestFormatOf(t *testing.T) {
	for path, want := range map[string]Format{
		"a/run.csv": FormatCSV, "RUN.CSV": FormatCSV, "x.jsonl": FormatJSONL, "x.ndjson": FormatJSONL,
		"logs/events.out.tfevents.1700000000.host.123.0": FormatTFEvents,
	} {
		if got, err := FormatOf(path); err != nil || got != want {
			t.Errorf("FormatOf(%q) = %v, %v, want %v", path, got, err, want)
		}
	}
	if _, err := FormatOf("run.txt"); err == nil || !strings.Contains(err.Error(), "run.txt: unknown run-log format") {
		t.Errorf("FormatOf(run.txt) error %v", err)
	}
}

func TestCreateAndReadFileEveryFormat(t *testing.T) {
	dir := t.TempDir()
	recs := []Record{
		{Step: 0, LR: 0.5, Loss: 3, Present: FieldLR | FieldLoss},
		{Step: 10, LR: 0.25, Present: FieldLR},
		{Step: 20, LR: 0.125, Loss: math.NaN(), Present: FieldLR | FieldLoss},
	}
	for _, name := range []string{"run.csv", "run.jsonl", "events.out.tfevents.1.host"} {
		path := filepath.Join(dir, name)
		w, err := Create(path, FieldLR|FieldLoss)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if err := w.Write(r); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		var warns []Warning
		got, err := ReadFile(path, ReadOptions{OnWarning: func(w Warning) { warns = append(warns, w) }})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(got) != len(recs) {
			t.Fatalf("%s: %d records", name, len(got))
		}
		for i := range recs {
			if !sameRecord(got[i], recs[i]) {
				t.Errorf("%s: record %d = %+v, want %+v", name, i, got[i], recs[i])
			}
		}
		if len(warns) != 1 || warns[0].Step != 20 || warns[0].Field != FieldLoss || !strings.HasPrefix(warns[0].String(), path) {
			t.Errorf("%s: warnings %v", name, warns)
		}
	}
}

// Bytes written by real TensorBoard writers, as published in their own
// tests (they are data, quoted with their source):
//
//   - tensorboardLoggerFile: the whole event file that the tensorboard_logger
//     package (TeamHG-Memex/tensorboard_logger, tests/test_tensorboard_logger.py,
//     test_serialization) writes for log_value("v/1", 1.5, 1) and
//     log_value("v/22", 16.0, 2) with wall time 256.5, which that test
//     asserts byte for byte.
//   - tensorflowRecords: the two file_version records ("brain.Event:1" and
//     "brain.Event:2") of TensorFlow's event file loader tests
//     (tensorflow/python/summary/impl/*_file_loader_test.py).
var (
	tensorboardLoggerFile = []byte("\x18\x00\x00\x00\x00\x00\x00\x00\xa3\x7fK\"\t\x00\x00\x00\x00\x00\x08p@\x1a\rbrain.Event:2\xbc\x98!+" +
		"\x19\x00\x00\x00\x00\x00\x00\x00\x8b\xf1\x08(\t\x00\x00\x00\x00\x00\x08p@\x10\x01*\x0c\n\n\n\x03v/1\x15\x00\x00\xc0?,\xec\xc0\x87" +
		"\x1a\x00\x00\x00\x00\x00\x00\x00\x12\x9b\xd8-\t\x00\x00\x00\x00\x00\x08p@\x10\x02*\r\n\x0b\n\x04v/22\x15\x00\x00\x80A\x8f\xa3\xb6\x88")
	tensorflowRecords = []byte("\x18\x00\x00\x00\x00\x00\x00\x00\xa3\x7fK\"\t\x00\x00\xc0%\xddu\xd5A\x1a\rbrain.Event:1\xec\xf32\x8d" +
		"\x18\x00\x00\x00\x00\x00\x00\x00\xa3\x7fK\"\t\x00\x00\x00'\xe6\xb3\xd5A\x1a\rbrain.Event:2jM\x0b\x15")
)

func TestTFEventsRealWriterBytes(t *testing.T) {
	tags, err := ParseTagMap("loss=v/1,lr=v/22")
	if err != nil {
		t.Fatal(err)
	}
	r := NewTFEventsReader(bytes.NewReader(tensorboardLoggerFile), ReadOptions{Name: "tbl", Tags: tags})
	got, err := ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	want := []Record{{Step: 1, Loss: 1.5, Present: FieldLoss}, {Step: 2, LR: 16, Present: FieldLR}}
	if len(got) != 2 || !sameRecord(got[0], want[0]) || !sameRecord(got[1], want[1]) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if len(r.Warnings()) != 0 {
		t.Errorf("warnings %v", r.Warnings())
	}

	// Our writer produces the same bytes for the same calls.
	var buf bytes.Buffer
	w := NewTFEventWriter(&buf, TFEventOptions{WallTime: func() float64 { return 256.5 }})
	if err := w.WriteScalar(1, "v/1", 1.5); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteScalar(2, "v/22", 16); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), tensorboardLoggerFile) {
		t.Errorf("writer bytes\n%q\nwant\n%q", buf.Bytes(), tensorboardLoggerFile)
	}

	// TensorFlow's records: valid framing, no scalars.
	r = NewTFEventsReader(bytes.NewReader(tensorflowRecords), ReadOptions{Name: "tf"})
	if got, err := ReadAll(r); err != nil || len(got) != 0 || len(r.Warnings()) != 0 {
		t.Fatalf("TensorFlow records: %v, %v, warnings %v", got, err, r.Warnings())
	}
}

func TestReadEventDir(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, steps ...int64) {
		t.Helper()
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		w := NewTFEventWriter(f, TFEventOptions{WallTime: func() float64 { return 1 }})
		for _, s := range steps {
			if err := w.Write(Record{Step: s, Loss: float64(s) + 0.5, Present: FieldLoss}); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	// Names sort by their Unix time, not as text: 999 comes before 1000.
	write("events.out.tfevents.1000.host.2.0", 3, 4, 5)
	write("events.out.tfevents.999.host.1.0", 0, 1, 2, 3, 4)
	write("events.out.tfevents.1001.host.3.0") // a writer that logged nothing
	var warns []string
	got, err := ReadFile(dir, ReadOptions{OnWarning: func(w Warning) { warns = append(warns, w.String()) }})
	if err != nil {
		t.Fatal(err)
	}
	var steps []int64
	for _, r := range got {
		steps = append(steps, r.Step)
		if r.Loss != float64(r.Step)+0.5 {
			t.Errorf("record %+v", r)
		}
	}
	if fmt.Sprint(steps) != "[0 1 2 3 4 5]" {
		t.Errorf("steps %v, want [0 1 2 3 4 5]", steps)
	}
	want := filepath.Join(dir, "events.out.tfevents.1000.host.2.0") + ": restarts at step 3: 2 records of earlier files from that step on are replaced"
	if len(warns) != 1 || warns[0] != want {
		t.Errorf("warnings %q, want %q", warns, want)
	}
	if _, err := ReadFile(t.TempDir(), ReadOptions{}); err == nil || !strings.Contains(err.Error(), "no TensorBoard event files") {
		t.Errorf("empty directory: %v", err)
	}
}

func TestTFEventsBadExamplesSeen(t *testing.T) {
	var buf bytes.Buffer
	w := NewTFEventWriter(&buf, TFEventOptions{WallTime: func() float64 { return 0 }})
	w.WriteScalar(1, "examples_seen", float32(math.NaN()))
	w.WriteScalar(2, "examples_seen", 2.5)
	w.WriteScalar(3, "examples_seen", 96)
	w.Close()
	r := NewTFEventsReader(&buf, ReadOptions{Name: "ev"})
	got, err := ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Step != 3 || got[0].ExamplesSeen != 96 || got[0].Present != FieldExamplesSeen {
		t.Fatalf("records %+v, want only step 3", got)
	}
	if len(r.Warnings()) != 2 || !strings.Contains(r.Warnings()[1].Msg, `tag "examples_seen": examples_seen 2.5 is not a non-negative integer; skipped`) {
		t.Errorf("warnings %v", r.Warnings())
	}
}
