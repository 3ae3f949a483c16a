package server

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"
)

// The load generator of the ceiling benchmark (TestLoadCeiling): plain
// HTTP/1.1 over keep-alive loopback connections, written by hand so that
// the generator costs as little CPU as it can and the server, not the
// client, is what is measured. Every target gets the same generator: only
// the handler behind the address differs.
//
// It is bounded: a fixed number of connections, each with at most one
// request in flight, for a fixed time, and it refuses any address that is
// not on the loopback interface.

// loadTarget says what to send: req appends the bytes of connection c's
// seq-th request to buf.
type loadTarget struct {
	name string
	addr string // host:port on 127.0.0.1
	req  func(buf []byte, c, seq int) []byte
	// unit is how many items (records for a metrics route) one request
	// carries, for the items/s column; 1 otherwise.
	unit int
}

// loadResult is what one level of offered load gave.
type loadResult struct {
	offered  float64 // requests/s offered; 0 for as fast as answered
	done     int     // requests answered 2xx
	failed   int     // non-2xx answers or broken connections
	secs     float64
	p50, p99 time.Duration
	firstErr error
}

func (r loadResult) achieved() float64 { return float64(r.done) / r.secs }

// runLoad sends target's requests over conns connections for dur: at
// rate requests/s in all (each connection at rate/conns, phases spread
// evenly; latency counted from when a request was due, so a server that
// falls behind shows it), or, with rate 0, each connection sending its
// next request as soon as the last is answered (saturation).
func runLoad(ctx context.Context, target loadTarget, conns int, rate float64, dur time.Duration) (loadResult, error) {
	host, _, err := net.SplitHostPort(target.addr)
	if err != nil {
		return loadResult{}, err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return loadResult{}, fmt.Errorf("load generator: %s is not a loopback address", target.addr)
	}
	if conns <= 0 || conns > 2000 || dur <= 0 || dur > 2*time.Minute {
		return loadResult{}, fmt.Errorf("load generator: %d connections for %v is out of bounds", conns, dur)
	}
	var interval time.Duration
	if rate > 0 {
		interval = time.Duration(float64(conns) / rate * float64(time.Second))
	}
	var d net.Dialer
	cs := make([]net.Conn, conns)
	for i := range cs {
		c, err := d.DialContext(ctx, "tcp", target.addr)
		if err != nil {
			for _, c := range cs[:i] {
				c.Close()
			}
			return loadResult{}, err
		}
		cs[i] = c
	}
	begin := time.Now().Add(20 * time.Millisecond)
	end := begin.Add(dur)
	type connResult struct {
		lat          []time.Duration
		done, failed int
		err          error
	}
	results := make([]connResult, conns)
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			res := &results[i]
			if rate > 0 {
				res.lat = make([]time.Duration, 0, int(rate*dur.Seconds()/float64(conns))+2)
			} else {
				res.lat = make([]time.Duration, 0, 4096)
			}
			br := bufio.NewReaderSize(c, 32<<10)
			buf := make([]byte, 0, 4096)
			due := begin.Add(interval * time.Duration(i) / time.Duration(conns))
			if rate == 0 {
				time.Sleep(time.Until(begin))
			}
			for seq := 0; ; seq++ {
				if rate > 0 {
					if !due.Before(end) {
						return
					}
					if w := time.Until(due); w > 0 {
						time.Sleep(w)
					}
				} else {
					due = time.Now()
					if !due.Before(end) {
						return
					}
				}
				if ctx.Err() != nil {
					return
				}
				buf = target.req(buf[:0], i, seq)
				if _, err := c.Write(buf); err != nil {
					res.failed++
					res.err = err
					return
				}
				code, err := readResponse(br)
				if err != nil {
					res.failed++
					res.err = err
					return
				}
				res.lat = append(res.lat, time.Since(due))
				if code/100 == 2 {
					res.done++
				} else {
					res.failed++
					if res.err == nil {
						res.err = fmt.Errorf("%s: HTTP %d", target.name, code)
					}
				}
				due = due.Add(interval)
			}
		}()
	}
	wg.Wait()
	secs := time.Since(begin).Seconds()
	out := loadResult{offered: rate, secs: secs}
	var lat []time.Duration
	for _, r := range results {
		out.done += r.done
		out.failed += r.failed
		lat = append(lat, r.lat...)
		if r.err != nil && out.firstErr == nil {
			out.firstErr = r.err
		}
	}
	slices.Sort(lat)
	if len(lat) > 0 {
		out.p50 = lat[len(lat)/2]
		out.p99 = lat[int(0.99*float64(len(lat)-1))]
	}
	return out, nil
}

// readResponse reads one HTTP/1.1 response from br (Content-Length or
// chunked body, which it discards) and returns its status code.
func readResponse(br *bufio.Reader) (int, error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, fmt.Errorf("bad status line %q", line)
	}
	code, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, fmt.Errorf("bad status line %q", line)
	}
	length, chunked := -1, false
	for {
		line, err = br.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		if len(line) <= 2 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return 0, fmt.Errorf("bad header %q", line)
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil {
				return 0, fmt.Errorf("bad Content-Length %q", value)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		}
	}
	switch {
	case chunked:
		for {
			line, err = br.ReadSlice('\n')
			if err != nil {
				return 0, err
			}
			n, err := strconv.ParseInt(string(bytes.TrimSpace(line)), 16, 64)
			if err != nil {
				return 0, fmt.Errorf("bad chunk size %q", line)
			}
			if _, err := br.Discard(int(n) + 2); err != nil {
				return 0, err
			}
			if n == 0 {
				return code, nil
			}
		}
	case length >= 0:
		_, err = br.Discard(length)
		return code, err
	}
	return 0, errors.New("response without Content-Length or chunked body on a keep-alive connection")
}

// appendGET appends a GET request for path with a bearer token.
func appendGET(buf []byte, path []byte, token string) []byte {
	buf = append(buf, "GET "...)
	buf = append(buf, path...)
	buf = append(buf, " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "...)
	buf = append(buf, token...)
	return append(buf, "\r\n\r\n"...)
}

// appendPOST appends a POST request of a JSON body with a bearer token.
func appendPOST(buf []byte, path string, token string, body []byte) []byte {
	buf = append(buf, "POST "...)
	buf = append(buf, path...)
	buf = append(buf, " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAuthorization: Bearer "...)
	buf = append(buf, token...)
	buf = append(buf, "\r\nContent-Length: "...)
	buf = strconv.AppendInt(buf, int64(len(body)), 10)
	buf = append(buf, "\r\n\r\n"...)
	return append(buf, body...)
}
