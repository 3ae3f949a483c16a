package data

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// IDX is an array read from an idx file, the format of the MNIST
// distribution (http://yann.lecun.com/exdb/mnist/): a 4-byte magic number
// (two zero bytes, a type code, the number of dimensions), one big-endian
// uint32 per dimension, then the values in row-major order. Only unsigned
// bytes (type code 0x08), the type every MNIST-family file uses, are
// supported.
type IDX struct {
	Dims []int  // the dimensions, first the number of items
	Data []byte // the values, row-major
}

// maxIDXElements bounds the size an idx header may declare (2^31 bytes),
// so a corrupt header gives an error instead of a huge allocation.
const maxIDXElements = 1 << 31

// ReadIDX reads an idx array, gunzipping it first when it starts with the
// gzip magic bytes. If limit > 0, only the first limit items (along the
// first dimension) are read and Dims[0] is lowered to match.
func ReadIDX(r io.Reader, limit int) (*IDX, error) {
	br := bufio.NewReader(r)
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("idx: gzip header: %w", err)
		}
		defer zr.Close()
		br = bufio.NewReader(zr)
	}
	var head [4]byte
	if _, err := io.ReadFull(br, head[:]); err != nil {
		return nil, fmt.Errorf("idx: magic number: %w", eofAsUnexpected(err))
	}
	if head[0] != 0 || head[1] != 0 {
		return nil, fmt.Errorf("idx: magic number % x does not start with two zero bytes", head)
	}
	if head[2] != 0x08 {
		return nil, fmt.Errorf("idx: element type 0x%02x is not supported (only unsigned bytes, 0x08)", head[2])
	}
	nd := int(head[3])
	if nd == 0 {
		return nil, errors.New("idx: header declares 0 dimensions")
	}
	dims := make([]int, nd)
	total := 1
	for i := range dims {
		var d uint32
		if err := binary.Read(br, binary.BigEndian, &d); err != nil {
			return nil, fmt.Errorf("idx: dimension %d: %w", i, eofAsUnexpected(err))
		}
		dims[i] = int(d)
		if d != 0 && total > maxIDXElements/int(d) {
			return nil, fmt.Errorf("idx: dimensions %v exceed %d elements", dims[:i+1], maxIDXElements)
		}
		total *= int(d)
	}
	if limit > 0 && limit < dims[0] {
		total = total / dims[0] * limit
		dims[0] = limit
	}
	// Grow the buffer as data arrives rather than trusting the header's
	// size up front, so a corrupt header cannot force a huge allocation.
	buf := bytes.NewBuffer(make([]byte, 0, min(total, 1<<26)))
	if n, err := io.CopyN(buf, br, int64(total)); err != nil {
		return nil, fmt.Errorf("idx: header declares %d values (dims %v) but the data ends after %d: %w", total, dims, n, eofAsUnexpected(err))
	}
	return &IDX{Dims: dims, Data: buf.Bytes()}, nil
}

// ReadIDXFile reads an idx (or gzipped idx) file; see ReadIDX.
func ReadIDXFile(path string, limit int) (*IDX, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	x, err := ReadIDX(f, limit)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return x, nil
}

// EncodeIDX writes an unsigned-byte idx array (uncompressed), the inverse
// of ReadIDX; tests use it to build small files.
func EncodeIDX(dims []int, values []byte) ([]byte, error) {
	if len(dims) == 0 || len(dims) > 255 {
		return nil, fmt.Errorf("idx: %d dimensions, want 1 to 255", len(dims))
	}
	n := 1
	for _, d := range dims {
		if d < 0 || d > 1<<32-1 {
			return nil, fmt.Errorf("idx: dimension %d out of range", d)
		}
		n *= d
	}
	if n != len(values) {
		return nil, fmt.Errorf("idx: dims %v hold %d values, got %d", dims, n, len(values))
	}
	var b bytes.Buffer
	b.Write([]byte{0, 0, 0x08, byte(len(dims))})
	for _, d := range dims {
		_ = binary.Write(&b, binary.BigEndian, uint32(d))
	}
	b.Write(values)
	return b.Bytes(), nil
}

func eofAsUnexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
