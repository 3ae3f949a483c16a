package runlog

// TensorBoard event files, as PyTorch's SummaryWriter (and TensorFlow's
// summary writers) write them.
//
// Framing (TFRecord): each record is
//
//	uint64 length (little endian)
//	uint32 masked CRC-32C of the 8 length bytes
//	length bytes of data (one serialized Event message)
//	uint32 masked CRC-32C of the data
//
// with CRC-32C the Castagnoli polynomial and
// mask(crc) = ((crc >> 15) | (crc << 17)) + 0xa282ead8 (mod 2^32).
//
// Messages, with the field numbers of the public protos in the
// tensorflow/tensorboard repository (tensorboard/compat/proto/event.proto,
// summary.proto, tensor.proto, tensor_shape.proto, types.proto):
//
//	Event       { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; ... }
//	Summary     { repeated Value value = 1; }
//	Value       { string tag = 1; float simple_value = 2; TensorProto tensor = 8; SummaryMetadata metadata = 9; ... }
//	TensorProto { DataType dtype = 1; TensorShapeProto tensor_shape = 2; bytes tensor_content = 4;
//	              repeated float float_val = 5 [packed]; repeated double double_val = 6 [packed]; ... }
//	TensorShapeProto { repeated Dim dim = 2; }  Dim { int64 size = 1; }
//	DataType    DT_FLOAT = 1, DT_DOUBLE = 2
//
// Old writers store a scalar in Value.simple_value; newer ones (TensorFlow
// 2's tf.summary, PyTorch's add_scalar(new_style=True)) store a rank-0
// tensor, as float_val or as little-endian tensor_content. Both are read.
// The messages are decoded field by field with protowire, the wire-format
// layer of Go's protobuf module; no generated code is involved.

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"sort"
	"strconv"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// maxEventRecord bounds the length of one event record; scalars are tens
// of bytes, and image summaries rarely reach megabytes.
const maxEventRecord = 256 << 20

// TensorBoard data types (types.proto) that hold a scalar lrkit can read.
const (
	dtFloat  = 1
	dtDouble = 2
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// maskedCRC is TFRecord's masked CRC-32C of b.
func maskedCRC(b []byte) uint32 {
	c := crc32.Checksum(b, castagnoli)
	return ((c >> 15) | (c << 17)) + 0xa282ead8
}

// TFEventsReader streams records from a TensorBoard event file. Scalar
// values whose tag is in the tag map become fields; consecutive events of
// the same step merge into one Record, and a Record is returned once an
// event of a later step (or the end of the file) shows it is complete.
// Steps must not go backwards. A CRC mismatch is an error naming the byte
// offset of the record; a record cut short by the end of the file, as a
// live writer leaves it, ends the stream with a warning.
type TFEventsReader struct {
	r    *bufio.Reader
	name string
	tags TagMap
	off  int64
	buf  []byte

	pending     Record
	havePending bool
	pendingOff  int64
	pendingTags map[Field]string

	reported map[string]bool // tags already named in a warning
	warn     warnings
	err      error
	done     bool
}

// NewTFEventsReader returns a reader of the event file r.
func NewTFEventsReader(r io.Reader, opts ReadOptions) *TFEventsReader {
	tags := opts.Tags
	if tags == nil {
		tags = DefaultTagMap()
	}
	return &TFEventsReader{
		r:           bufio.NewReaderSize(r, 64<<10),
		name:        opts.name(),
		tags:        tags,
		pendingTags: map[Field]string{},
		reported:    map[string]bool{},
		warn:        warnings{on: opts.OnWarning},
	}
}

// Warnings returns the warnings so far.
func (t *TFEventsReader) Warnings() []Warning { return t.warn.list }

func (t *TFEventsReader) fail(off int64, field, format string, args ...any) error {
	t.err = &ParseError{File: t.name, Offset: off, Field: field, Msg: fmt.Sprintf(format, args...)}
	return t.err
}

func (t *TFEventsReader) warnAt(off int64, f Field, step int64, format string, args ...any) {
	t.warn.add(Warning{File: t.name, Offset: off, Step: step, Field: f, Msg: fmt.Sprintf(format, args...)})
}

// readRecord returns the data of the next record and its offset; io.EOF at
// the end of the file or after a truncated last record.
func (t *TFEventsReader) readRecord() ([]byte, int64, error) {
	start := t.off
	var head [12]byte
	n, err := io.ReadFull(t.r, head[:])
	t.off += int64(n)
	if n == 0 && errors.Is(err, io.EOF) {
		return nil, start, io.EOF
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		t.warnAt(start, 0, -1, "truncated last record: %d of 12 header bytes (a writer may still be writing it); ignored", n)
		return nil, start, io.EOF
	}
	if err != nil {
		return nil, start, fmt.Errorf("%s: %w", t.name, err)
	}
	length := binary.LittleEndian.Uint64(head[:8])
	if got, want := maskedCRC(head[:8]), binary.LittleEndian.Uint32(head[8:]); got != want {
		return nil, start, t.fail(start, "", "length CRC mismatch (stored %#08x, computed %#08x): not an event file, or corrupt", want, got)
	}
	if length > maxEventRecord {
		return nil, start, t.fail(start, "", "record length %d exceeds the %d-byte limit", length, maxEventRecord)
	}
	// Read in chunks so that a file cut short does not make us allocate
	// the whole claimed length first.
	t.buf = t.buf[:0]
	for remaining := int(length) + 4; remaining > 0; {
		chunk := min(remaining, 1<<20)
		if cap(t.buf)-len(t.buf) < chunk {
			grown := make([]byte, len(t.buf), len(t.buf)+max(chunk, len(t.buf)))
			copy(grown, t.buf)
			t.buf = grown
		}
		m, err := io.ReadFull(t.r, t.buf[len(t.buf):len(t.buf)+chunk])
		t.buf = t.buf[:len(t.buf)+m]
		t.off += int64(m)
		remaining -= m
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			t.warnAt(start, 0, -1, "truncated last record: %d of %d bytes (a writer may still be writing it); ignored", 12+len(t.buf), 12+length+4)
			return nil, start, io.EOF
		}
		if err != nil {
			return nil, start, fmt.Errorf("%s: %w", t.name, err)
		}
	}
	data := t.buf[:length]
	if got, want := maskedCRC(data), binary.LittleEndian.Uint32(t.buf[length:]); got != want {
		return nil, start, t.fail(start, "", "data CRC mismatch (stored %#08x, computed %#08x): corrupt record", want, got)
	}
	return data, start, nil
}

// scalar is one mapped value of an event.
type scalar struct {
	tag   string
	field Field
	value float64
}

// decodeEvent returns the step of an event and its mapped scalars.
func (t *TFEventsReader) decodeEvent(b []byte, off int64) (step int64, vals []scalar, err error) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return 0, nil, t.fail(off, "", "bad Event message: %v", protowire.ParseError(n))
		}
		b = b[n:]
		switch {
		case num == 2 && typ == protowire.VarintType:
			v, m := protowire.ConsumeVarint(b)
			n = m
			step = int64(v)
		case num == 5 && typ == protowire.BytesType:
			v, m := protowire.ConsumeBytes(b)
			n = m
			if m >= 0 {
				vals, err = t.decodeSummary(v, off, vals)
				if err != nil {
					return 0, nil, err
				}
			}
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return 0, nil, t.fail(off, "", "bad Event message field %d: %v", num, protowire.ParseError(n))
		}
		b = b[n:]
	}
	return step, vals, nil
}

func (t *TFEventsReader) decodeSummary(b []byte, off int64, vals []scalar) ([]scalar, error) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, t.fail(off, "", "bad Summary message: %v", protowire.ParseError(n))
		}
		b = b[n:]
		if num == 1 && typ == protowire.BytesType {
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return nil, t.fail(off, "", "bad Summary value: %v", protowire.ParseError(m))
			}
			s, ok, err := t.decodeValue(v, off)
			if err != nil {
				return nil, err
			}
			if ok {
				vals = append(vals, s)
			}
			n = m
		} else {
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return nil, t.fail(off, "", "bad Summary message field %d: %v", num, protowire.ParseError(n))
		}
		b = b[n:]
	}
	return vals, nil
}

// decodeValue returns the scalar of a Summary.Value if its tag is mapped.
func (t *TFEventsReader) decodeValue(b []byte, off int64) (scalar, bool, error) {
	var (
		tag       string
		simple    float32
		hasSimple bool
		tensor    []byte
		hasTensor bool
	)
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return scalar{}, false, t.fail(off, "", "bad Summary.Value message: %v", protowire.ParseError(n))
		}
		b = b[n:]
		switch {
		case num == 1 && typ == protowire.BytesType:
			tag, n = protowire.ConsumeString(b)
		case num == 2 && typ == protowire.Fixed32Type:
			var v uint32
			v, n = protowire.ConsumeFixed32(b)
			simple, hasSimple = math.Float32frombits(v), true
		case num == 8 && typ == protowire.BytesType:
			tensor, n = protowire.ConsumeBytes(b)
			hasTensor = true
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return scalar{}, false, t.fail(off, "", "bad Summary.Value field %d: %v", num, protowire.ParseError(n))
		}
		b = b[n:]
	}
	f, mapped := t.tags[tag]
	if !mapped {
		if !t.reported[tag] && (hasSimple || hasTensor) {
			t.reported[tag] = true
			t.warnAt(off, 0, -1, "tag %q maps to no field; its values are skipped", tag)
		}
		return scalar{}, false, nil
	}
	switch {
	case hasSimple:
		return scalar{tag, f, widen32(simple)}, true, nil
	case hasTensor:
		v, err := tensorScalar(tensor)
		if err != nil {
			if !t.reported[tag] {
				t.reported[tag] = true
				t.warnAt(off, f, -1, "tag %q: %v; its values are skipped", tag, err)
			}
			return scalar{}, false, nil
		}
		return scalar{tag, f, v}, true, nil
	}
	return scalar{}, false, nil
}

// widen32 converts a float32 through its shortest decimal form, so that a
// learning rate logged as float32(0.001) reads as 0.001.
func widen32(f float32) float64 {
	if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
		return float64(f)
	}
	var buf [32]byte
	v, err := strconv.ParseFloat(string(strconv.AppendFloat(buf[:0], float64(f), 'g', -1, 32)), 64)
	if err != nil {
		return float64(f)
	}
	return v
}

// tensorScalar returns the value of a one-element DT_FLOAT or DT_DOUBLE
// TensorProto.
func tensorScalar(b []byte) (float64, error) {
	var (
		dtype   uint64
		count   int64 = 1
		content []byte
		floats  []float32
		doubles []float64
	)
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return 0, fmt.Errorf("bad TensorProto: %v", protowire.ParseError(n))
		}
		b = b[n:]
		switch {
		case num == 1 && typ == protowire.VarintType:
			dtype, n = protowire.ConsumeVarint(b)
		case num == 2 && typ == protowire.BytesType:
			var shape []byte
			shape, n = protowire.ConsumeBytes(b)
			if n >= 0 {
				c, err := shapeCount(shape)
				if err != nil {
					return 0, err
				}
				count = c
			}
		case num == 4 && typ == protowire.BytesType:
			content, n = protowire.ConsumeBytes(b)
		case num == 5 && typ == protowire.BytesType: // packed float_val
			var p []byte
			p, n = protowire.ConsumeBytes(b)
			for len(p) >= 4 {
				floats = append(floats, math.Float32frombits(binary.LittleEndian.Uint32(p)))
				p = p[4:]
			}
			if len(p) != 0 {
				return 0, errors.New("bad TensorProto: packed float_val length not a multiple of 4")
			}
		case num == 5 && typ == protowire.Fixed32Type:
			var v uint32
			v, n = protowire.ConsumeFixed32(b)
			floats = append(floats, math.Float32frombits(v))
		case num == 6 && typ == protowire.BytesType: // packed double_val
			var p []byte
			p, n = protowire.ConsumeBytes(b)
			for len(p) >= 8 {
				doubles = append(doubles, math.Float64frombits(binary.LittleEndian.Uint64(p)))
				p = p[8:]
			}
			if len(p) != 0 {
				return 0, errors.New("bad TensorProto: packed double_val length not a multiple of 8")
			}
		case num == 6 && typ == protowire.Fixed64Type:
			var v uint64
			v, n = protowire.ConsumeFixed64(b)
			doubles = append(doubles, math.Float64frombits(v))
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return 0, fmt.Errorf("bad TensorProto field %d: %v", num, protowire.ParseError(n))
		}
		b = b[n:]
	}
	if count != 1 {
		return 0, fmt.Errorf("tensor has %d elements, not a scalar", count)
	}
	switch dtype {
	case dtFloat:
		if len(floats) > 0 {
			return widen32(floats[0]), nil
		}
		if len(content) == 4 {
			return widen32(math.Float32frombits(binary.LittleEndian.Uint32(content))), nil
		}
	case dtDouble:
		if len(doubles) > 0 {
			return doubles[0], nil
		}
		if len(content) == 8 {
			return math.Float64frombits(binary.LittleEndian.Uint64(content)), nil
		}
	default:
		return 0, fmt.Errorf("tensor dtype %d is not DT_FLOAT (1) or DT_DOUBLE (2)", dtype)
	}
	return 0, fmt.Errorf("tensor of dtype %d holds no value", dtype)
}

// shapeCount returns the number of elements of a TensorShapeProto.
func shapeCount(b []byte) (int64, error) {
	count := int64(1)
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return 0, fmt.Errorf("bad TensorShapeProto: %v", protowire.ParseError(n))
		}
		b = b[n:]
		if num == 2 && typ == protowire.BytesType {
			var dim []byte
			dim, n = protowire.ConsumeBytes(b)
			size := int64(1) // a Dim without size has size 0 in proto3; see below
			hasSize := false
			for len(dim) > 0 {
				dn, dt, m := protowire.ConsumeTag(dim)
				if m < 0 {
					return 0, fmt.Errorf("bad TensorShapeProto.Dim: %v", protowire.ParseError(m))
				}
				dim = dim[m:]
				if dn == 1 && dt == protowire.VarintType {
					var v uint64
					v, m = protowire.ConsumeVarint(dim)
					size, hasSize = int64(v), true
				} else {
					m = protowire.ConsumeFieldValue(dn, dt, dim)
				}
				if m < 0 {
					return 0, fmt.Errorf("bad TensorShapeProto.Dim: %v", protowire.ParseError(m))
				}
				dim = dim[m:]
			}
			if !hasSize {
				size = 0
			}
			if size < 0 {
				return 0, errors.New("tensor has a dimension of unknown size")
			}
			if size != 0 && count > math.MaxInt64/size {
				return 0, errors.New("tensor shape overflows")
			}
			count *= size
		} else {
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return 0, fmt.Errorf("bad TensorShapeProto: %v", protowire.ParseError(n))
		}
		b = b[n:]
	}
	return count, nil
}

// Next returns the next record, or io.EOF after the last.
func (t *TFEventsReader) Next() (Record, error) {
	if t.err != nil {
		return Record{}, t.err
	}
	for !t.done {
		data, off, err := t.readRecord()
		if errors.Is(err, io.EOF) {
			t.done = true
			break
		}
		if err != nil {
			t.err = err
			return Record{}, err
		}
		step, vals, err := t.decodeEvent(data, off)
		if err != nil {
			return Record{}, err
		}
		kept := vals[:0]
		for _, s := range vals {
			if s.field == FieldExamplesSeen && !(s.value >= 0 && s.value < 1<<63 && s.value == math.Trunc(s.value)) {
				t.warnAt(off, s.field, step, "tag %q: examples_seen %v is not a non-negative integer; skipped", s.tag, s.value)
				continue
			}
			kept = append(kept, s)
		}
		if vals = kept; len(vals) == 0 {
			continue
		}
		if step < 0 {
			return Record{}, t.fail(off, NameStep, "step %d is negative", step)
		}
		var out Record
		emit := false
		if t.havePending && step != t.pending.Step {
			if step < t.pending.Step {
				return Record{}, t.fail(off, NameStep, "step %d (tag %q) comes after step %d: steps must not go backwards", step, vals[0].tag, t.pending.Step)
			}
			out, emit = t.pending, true
			t.warn.flagNonFinite(out, t.name, 0, t.pendingOff)
			t.havePending = false
		}
		if !t.havePending {
			t.pending = Record{Step: step}
			t.havePending, t.pendingOff = true, off
			clear(t.pendingTags)
		}
		for _, s := range vals {
			if old, ok := t.pendingTags[s.field]; ok && old != s.tag {
				key := old + "\x00" + s.tag
				if !t.reported[key] {
					t.reported[key] = true
					t.warnAt(off, s.field, step, "tags %q and %q both map to %v at step %d; keeping %q", old, s.tag, s.field, step, s.tag)
				}
			}
			t.pendingTags[s.field] = s.tag
			t.pending.Set(s.field, s.value)
		}
		if emit {
			return out, nil
		}
	}
	if t.havePending {
		t.havePending = false
		t.warn.flagNonFinite(t.pending, t.name, 0, t.pendingOff)
		return t.pending, nil
	}
	t.err = io.EOF
	return Record{}, io.EOF
}

// TFEventOptions configures a TFEventWriter.
type TFEventOptions struct {
	// Tags names the tag of each field; a field not in it is written under
	// its column name ("loss", "lr").
	Tags map[Field]string
	// Tensor writes scalars in the newer form, a rank-0 DT_FLOAT tensor
	// in float_val with the "scalars" plugin metadata, instead of
	// simple_value.
	Tensor bool
	// WallTime returns the event time in seconds since the Unix epoch;
	// nil means the current time.
	WallTime func() float64
}

// TFEventWriter writes a TensorBoard event file that TensorBoard and this
// package's reader can read: a file_version event "brain.Event:2", then one
// event per scalar, as PyTorch's SummaryWriter.add_scalar writes them.
// Values are stored as float32, TensorBoard's scalar type.
type TFEventWriter struct {
	w       *bufio.Writer
	opts    TFEventOptions
	started bool
	order   stepOrder
	ev, val []byte
	closed  bool
	closeFn func() error
}

// NewTFEventWriter returns a writer of an event file.
func NewTFEventWriter(w io.Writer, opts TFEventOptions) *TFEventWriter {
	if opts.WallTime == nil {
		opts.WallTime = func() float64 { return float64(time.Now().UnixNano()) / 1e9 }
	}
	return &TFEventWriter{w: bufio.NewWriterSize(w, 64<<10), opts: opts}
}

// writeRecord frames data as one TFRecord.
func (t *TFEventWriter) writeRecord(data []byte) error {
	var head [12]byte
	binary.LittleEndian.PutUint64(head[:8], uint64(len(data)))
	binary.LittleEndian.PutUint32(head[8:], maskedCRC(head[:8]))
	var foot [4]byte
	binary.LittleEndian.PutUint32(foot[:], maskedCRC(data))
	if _, err := t.w.Write(head[:]); err != nil {
		return err
	}
	if _, err := t.w.Write(data); err != nil {
		return err
	}
	_, err := t.w.Write(foot[:])
	return err
}

func (t *TFEventWriter) start() error {
	if t.started {
		return nil
	}
	t.started = true
	b := protowire.AppendTag(t.ev[:0], 1, protowire.Fixed64Type)
	b = protowire.AppendFixed64(b, math.Float64bits(t.opts.WallTime()))
	b = protowire.AppendTag(b, 3, protowire.BytesType)
	b = protowire.AppendString(b, "brain.Event:2")
	t.ev = b
	return t.writeRecord(b)
}

// WriteScalar writes one scalar event. Unlike Write it does not check the
// step order, so it can write any sequence a real writer might.
func (t *TFEventWriter) WriteScalar(step int64, tag string, v float32) error {
	if t.closed {
		return ErrClosed
	}
	if err := t.start(); err != nil {
		return err
	}
	val := protowire.AppendTag(t.val[:0], 1, protowire.BytesType)
	val = protowire.AppendString(val, tag)
	if t.opts.Tensor {
		var tensor []byte
		tensor = protowire.AppendTag(tensor, 1, protowire.VarintType)
		tensor = protowire.AppendVarint(tensor, dtFloat)
		tensor = protowire.AppendTag(tensor, 2, protowire.BytesType)
		tensor = protowire.AppendBytes(tensor, nil) // rank 0
		tensor = protowire.AppendTag(tensor, 5, protowire.BytesType)
		tensor = protowire.AppendBytes(tensor, binary.LittleEndian.AppendUint32(nil, math.Float32bits(v)))
		val = protowire.AppendTag(val, 8, protowire.BytesType)
		val = protowire.AppendBytes(val, tensor)
		// metadata { plugin_data { plugin_name: "scalars" } }
		plugin := protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), "scalars")
		meta := protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), plugin)
		val = protowire.AppendTag(val, 9, protowire.BytesType)
		val = protowire.AppendBytes(val, meta)
	} else {
		val = protowire.AppendTag(val, 2, protowire.Fixed32Type)
		val = protowire.AppendFixed32(val, math.Float32bits(v))
	}
	t.val = val
	var summary []byte
	summary = protowire.AppendTag(summary, 1, protowire.BytesType)
	summary = protowire.AppendBytes(summary, val)
	b := protowire.AppendTag(t.ev[:0], 1, protowire.Fixed64Type)
	b = protowire.AppendFixed64(b, math.Float64bits(t.opts.WallTime()))
	b = protowire.AppendTag(b, 2, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(step))
	b = protowire.AppendTag(b, 5, protowire.BytesType)
	b = protowire.AppendBytes(b, summary)
	t.ev = b
	return t.writeRecord(b)
}

// Write writes one event per present field of rec, in column order.
func (t *TFEventWriter) Write(rec Record) error {
	if t.closed {
		return ErrClosed
	}
	if rec.Step < 0 {
		return fmt.Errorf("runlog: record step %d is negative", rec.Step)
	}
	if err := t.order.check(rec.Step, 0); err != nil {
		return fmt.Errorf("runlog: %w", err)
	}
	fields := rec.Present.Fields()
	sort.Slice(fields, func(i, j int) bool { return fields[i] < fields[j] })
	for _, f := range fields {
		tag, ok := t.opts.Tags[f]
		if !ok {
			tag = f.String()
		}
		v, _ := rec.Value(f)
		if err := t.WriteScalar(rec.Step, tag, float32(v)); err != nil {
			return err
		}
	}
	return nil
}

// Flush writes buffered events (and the file_version event).
func (t *TFEventWriter) Flush() error {
	if t.closed {
		return ErrClosed
	}
	if err := t.start(); err != nil {
		return err
	}
	return t.w.Flush()
}

// Close flushes the writer.
func (t *TFEventWriter) Close() error {
	if t.closed {
		return ErrClosed
	}
	err := t.Flush()
	t.closed = true
	if t.closeFn != nil {
		if cerr := t.closeFn(); err == nil {
			err = cerr
		}
	}
	return err
}
