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

// tally is what one connection of the load generator counted.
type tally struct {
	lat          []time.Duration
	done, failed int
	last         time.Time // when its last answer came
	err          error
}

// exchange writes req on c, reads the answer and counts it, with its
// latency from since (when the request was due). It returns an error for
// a broken connection only; a non-2xx answer counts as failed and the
// first is kept in t.err (name says which target answered it).
func (t *tally) exchange(c net.Conn, br *bufio.Reader, req []byte, since time.Time, name string) error {
	if _, err := c.Write(req); err != nil {
		t.failed++
		return err
	}
	code, err := readResponse(br)
	if err != nil {
		t.failed++
		return err
	}
	t.last = time.Now()
	t.lat = append(t.lat, t.last.Sub(since))
	if code/100 == 2 {
		t.done++
	} else {
		t.failed++
		if t.err == nil {
			t.err = fmt.Errorf("%s: HTTP %d", name, code)
		}
	}
	return nil
}

// runLoad sends target's requests over conns connections for dur: at
// rate requests/s in all (each connection at rate/conns, phases spread
// evenly; latency counted from when a request was due, so a server that
// falls behind shows it), or, with rate 0, each connection sending its
// next request as soon as the last is answered (saturation).
func runLoad(ctx context.Context, target loadTarget, conns int, rate float64, dur time.Duration) (loadResult, error) {
	if err := checkLoopback(target.addr); err != nil {
		return loadResult{}, err
	}
	if conns <= 0 || conns > 2000 || dur <= 0 || dur > 2*time.Minute {
		return loadResult{}, fmt.Errorf("load generator: %d connections for %v is out of bounds", conns, dur)
	}
	var interval time.Duration
	if rate > 0 {
		interval = time.Duration(float64(conns) / rate * float64(time.Second))
	}
	cs, err := dialAll(ctx, target.addr, conns)
	if err != nil {
		return loadResult{}, err
	}
	begin := time.Now().Add(20 * time.Millisecond)
	end := begin.Add(dur)
	results := make([]tally, conns)
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
				if err := res.exchange(c, br, buf, due, target.name); err != nil {
					res.err = err
					return
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
	out.p50, out.p99 = percentiles(lat)
	return out, nil
}

// percentiles sorts lat and returns its median and 99th percentile (0
// for none).
func percentiles(lat []time.Duration) (p50, p99 time.Duration) {
	if len(lat) == 0 {
		return 0, 0
	}
	slices.Sort(lat)
	return lat[len(lat)/2], lat[int(0.99*float64(len(lat)-1))]
}

// checkLoopback refuses an address that is not on the loopback interface:
// the generator loads this machine only.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("load generator: %w", err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("load generator: %s is not a loopback address", addr)
	}
	return nil
}

// dialAll opens n connections to addr, all before any request is sent so
// that dialling is not timed; on an error it closes those it opened.
func dialAll(ctx context.Context, addr string, n int) ([]net.Conn, error) {
	var d net.Dialer
	cs := make([]net.Conn, n)
	for i := range cs {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			for _, c := range cs[:i] {
				c.Close()
			}
			return nil, fmt.Errorf("load generator: connection %d of %d to %s: %w", i+1, n, addr, err)
		}
		cs[i] = c
	}
	return cs, nil
}

// The mixed load of TestLoad, on the same hand-written HTTP/1.1: each
// trainer asks for the rate of its next step over its own keep-alive
// connection, paced as training steps are, and every 10th step queues a
// metrics batch for a poster connection that it shares with 9 other
// trainers, so that a rate request never waits behind a metrics post (as
// the Python client's background thread sends them). Bounded like
// runLoad: at most 5,000 trainers and 500 poster connections, each with
// one request in flight, for at most 2 minutes of offered load, then a
// hard stop; loopback only.

// batchEvery is how many steps a metrics batch covers.
const batchEvery = 10

// mixedTarget says where the mixed load goes and what it sends.
type mixedTarget struct {
	name string
	addr string // host:port on 127.0.0.1
	// rate appends trainer w's rate request for step; batch appends the
	// metrics batch trainer w posts once step (the last of the batch) is
	// done.
	rate, batch func(buf []byte, w int, step int64) []byte
}

// mixedLoad is the size of a mixed run.
type mixedLoad struct {
	trainers int
	// rate is the rate requests per second offered by all trainers
	// together; 0 makes each trainer ask again as soon as it is answered
	// (saturation).
	rate float64
	// dur is the span in which requests fall due; trainers that are
	// behind go on sending what fell due in it until the hard stop,
	// dur+10 s after it ended.
	dur time.Duration
}

// posters is the number of poster connections: one per 10 trainers.
func (l mixedLoad) posters() int { return (l.trainers + 9) / 10 }

// mixedResult is what one mixed run gave: the rate requests (latency
// from when each was due) and the metrics batches (latency from when the
// trainer queued each, so waiting behind earlier batches counts).
type mixedResult struct {
	lr, batches loadResult
	unsent      int     // rate requests due but not sent by the hard stop
	next        []int64 // each trainer's next step, to go on from
}

// runMixed sends load's mixed traffic to target, trainer w starting at
// step first[w] (0 for a nil first).
func runMixed(ctx context.Context, target mixedTarget, load mixedLoad, first []int64) (mixedResult, error) {
	if err := checkLoopback(target.addr); err != nil {
		return mixedResult{}, err
	}
	if load.trainers <= 0 || load.trainers > 5000 || load.dur <= 0 || load.dur > 2*time.Minute || load.rate < 0 || load.rate > 1e6 {
		return mixedResult{}, fmt.Errorf("load generator: %d trainers at %v/s for %v is out of bounds", load.trainers, load.rate, load.dur)
	}
	if first != nil && len(first) != load.trainers {
		return mixedResult{}, fmt.Errorf("load generator: %d first steps for %d trainers", len(first), load.trainers)
	}
	trainers, posters := load.trainers, load.posters()
	var interval time.Duration
	// Room for every batch a trainer can queue in a paced run, so that
	// queueing never blocks it; at saturation a trainer 64 batches ahead
	// of its poster waits for it.
	perTrainer := 64
	if load.rate > 0 {
		interval = time.Duration(float64(trainers) / load.rate * float64(time.Second))
		perTrainer = int(load.dur/max(interval, 1))/batchEvery + 2
	}
	cs, err := dialAll(ctx, target.addr, trainers+posters)
	if err != nil {
		return mixedResult{}, err
	}
	defer func() {
		for _, c := range cs {
			c.Close()
		}
	}()
	begin := time.Now().Add(20 * time.Millisecond)
	end := begin.Add(load.dur)
	hardStop := end.Add(load.dur + 10*time.Second)
	// A server that has not answered 30 s after the hard stop is broken:
	// the reads fail then (an error, not a timing).
	for _, c := range cs {
		c.SetDeadline(hardStop.Add(30 * time.Second))
	}
	type batchJob struct {
		w      int
		step   int64
		queued time.Time
	}
	// side is what one connection's goroutine measured.
	type side struct {
		tally
		unsent int
		next   int64
	}
	queues := make([]chan batchJob, posters)
	for p := range queues {
		queues[p] = make(chan batchJob, batchEvery*perTrainer)
	}
	trainerOut := make([]side, trainers)
	posterOut := make([]side, posters)
	var trainersWG, postersWG sync.WaitGroup
	for p := range posters {
		postersWG.Add(1)
		go func() {
			defer postersWG.Done()
			c, res := cs[trainers+p], &posterOut[p]
			br := bufio.NewReaderSize(c, 4<<10)
			buf := make([]byte, 0, 4096)
			for job := range queues[p] {
				if res.err != nil {
					continue // a broken connection: drain, so no trainer waits
				}
				buf = target.batch(buf[:0], job.w, job.step)
				if err := res.exchange(c, br, buf, job.queued, target.name); err != nil {
					res.err = fmt.Errorf("%s: poster %d: %w", target.name, p, err)
				}
			}
		}()
	}
	for w := range trainers {
		trainersWG.Add(1)
		go func() {
			defer trainersWG.Done()
			c, res := cs[w], &trainerOut[w]
			if first != nil {
				res.next = first[w]
			}
			if load.rate > 0 {
				res.lat = make([]time.Duration, 0, int(load.dur/max(interval, 1))+2)
			} else {
				res.lat = make([]time.Duration, 0, 4096)
			}
			br := bufio.NewReaderSize(c, 4<<10)
			buf := make([]byte, 0, 1024)
			queue := queues[(w/batchEvery)%posters]
			due := begin.Add(interval * time.Duration(w) / time.Duration(trainers))
			if load.rate == 0 {
				time.Sleep(time.Until(begin))
			}
			for ; ctx.Err() == nil; res.next++ {
				if load.rate > 0 {
					if !due.Before(end) {
						return
					}
					if now := time.Now(); now.After(hardStop) {
						res.unsent = int((end.Sub(due) + interval - 1) / interval)
						return
					} else if due.After(now) {
						time.Sleep(due.Sub(now))
					}
				} else if due = time.Now(); !due.Before(end) {
					return
				}
				buf = target.rate(buf[:0], w, res.next)
				if err := res.exchange(c, br, buf, due, target.name); err != nil {
					res.err = fmt.Errorf("%s: trainer %d: %w", target.name, w, err)
				}
				if res.err != nil {
					return // the step is not done: no batch for it
				}
				if res.next%batchEvery == batchEvery-1 {
					queue <- batchJob{w: w, step: res.next, queued: time.Now()}
				}
				due = due.Add(interval)
			}
		}()
	}
	trainersWG.Wait()
	for _, q := range queues {
		close(q)
	}
	postersWG.Wait()
	out := mixedResult{next: make([]int64, trainers)}
	sum := func(sides []side, offered float64) loadResult {
		r := loadResult{offered: offered}
		var lat []time.Duration
		last := begin
		for _, s := range sides {
			r.done += s.done
			r.failed += s.failed
			lat = append(lat, s.lat...)
			if s.last.After(last) {
				last = s.last
			}
			if s.err != nil && r.firstErr == nil {
				r.firstErr = s.err
			}
		}
		r.secs = max(last.Sub(begin).Seconds(), 1e-3)
		r.p50, r.p99 = percentiles(lat)
		return r
	}
	out.lr = sum(trainerOut, load.rate)
	out.batches = sum(posterOut, load.rate/batchEvery)
	for w, s := range trainerOut {
		out.unsent += s.unsent
		out.next[w] = s.next
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
