package server

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// ceilingRig is a server over an SQLite file, a bare net/http handler
// that answers fixed JSON, and the load targets against them.
type ceilingRig struct {
	bare, rate, metrics loadTarget
}

// bareBody is what the bare handler answers to a GET: an LR answer of the
// usual size.
const bareBody = `{"step":12345,"lr":0.00029876543210987654,"version":1,"schedule_version":"9c1185a5c5e9fc54","status":"running","budget":100000}` + "\n"

// bareHandler is the physical limit beside lrkit: net/http answering fixed
// JSON, bareBody to a GET and bareBatchBody to anything else (a metrics
// batch, whose body it reads as a server must), with nothing else done.
func bareHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodGet {
			io.WriteString(w, bareBody)
		} else {
			io.WriteString(w, bareBatchBody)
		}
	})
}

func newCeilingRig(t testing.TB, batch int) ceilingRig {
	t.Helper()
	ctx := context.Background()
	st, err := openRigStore(ctx, filepath.Join(t.TempDir(), "ceiling.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	p, _ := st.CreateProject(ctx, "load")
	tok, _, _ := st.CreateToken(ctx, p.ID, "load")
	const nruns = 8
	runs := make([]int64, nruns)
	for i := range runs {
		r, err := st.CreateRun(ctx, p.ID, "run"+strconv.Itoa(i), "warmup(cosine(peak=3e-4, steps=100000), steps=1000)", 100000, []byte("{}"))
		if err != nil {
			t.Fatal(err)
		}
		runs[i] = r.ID
	}
	srv := newRigServer(t, st)
	lrkit := serveLoopback(t, srv)
	bare := serveLoopback(t, bareHandler())
	lrPath := func(buf []byte, c, seq int) []byte {
		path := make([]byte, 0, 64)
		path = append(path, "/v1/runs/"...)
		path = strconv.AppendInt(path, runs[c%nruns], 10)
		path = append(path, "/lr?step="...)
		path = strconv.AppendInt(path, int64(seq%100000), 10)
		return appendGET(buf, path, tok)
	}
	metricsPaths := make([]string, nruns)
	for i, id := range runs {
		metricsPaths[i] = fmt.Sprintf("/v1/runs/%d/metrics", id)
	}
	var next atomic.Int64
	post := func(buf []byte, c, _ int) []byte {
		// Every batch has its own ID and steps, across levels and rounds.
		n := next.Add(1)
		body := make([]byte, 0, 64+48*batch)
		body = append(body, `{"batch_id":"`...)
		body = strconv.AppendInt(body, n, 10)
		body = append(body, `","metrics":[`...)
		base := n * int64(batch)
		for i := range int64(batch) {
			if i > 0 {
				body = append(body, ',')
			}
			body = append(body, `{"step":`...)
			body = strconv.AppendInt(body, base+i, 10)
			body = append(body, `,"loss":`...)
			body = strconv.AppendFloat(body, 3/float64(base+i+1), 'g', -1, 64)
			body = append(body, '}')
		}
		body = append(body, "]}"...)
		return appendPOST(buf, metricsPaths[c%nruns], tok, body)
	}
	return ceilingRig{
		bare:    loadTarget{name: "bare net/http, fixed JSON", addr: bare, req: lrPath, unit: 1},
		rate:    loadTarget{name: "lrkit GET /v1/runs/{run}/lr", addr: lrkit, req: lrPath, unit: 1},
		metrics: loadTarget{name: fmt.Sprintf("lrkit POST metrics, %d records", batch), addr: lrkit, req: post, unit: batch},
	}
}

// serveLoopback serves h on 127.0.0.1 and returns host:port.
func serveLoopback(t testing.TB, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &http.Server{Handler: h}
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	return ln.Addr().String()
}

// TestLoadGenerator drives the ceiling benchmark's generator for a moment
// against each target: every request answered 2xx, with latencies.
func TestLoadGenerator(t *testing.T) {
	rig := newCeilingRig(t, 10)
	for _, target := range []loadTarget{rig.bare, rig.rate, rig.metrics} {
		for _, rate := range []float64{500, 0} {
			r, err := runLoad(context.Background(), target, 4, rate, 300*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			if r.failed != 0 || r.done < 20 || r.p99 <= 0 || r.p50 > r.p99 {
				t.Errorf("%s at %v/s: %d done, %d failed (%v), p50 %v p99 %v", target.name, rate, r.done, r.failed, r.firstErr, r.p50, r.p99)
			}
			if rate > 0 && r.done > int(rate*0.3*1.1)+4 {
				t.Errorf("%s: %d requests answered at %v/s for 0.3 s: the pacing does not hold", target.name, r.done, rate)
			}
		}
	}
	if _, err := runLoad(context.Background(), loadTarget{addr: "10.1.2.3:80"}, 1, 1, time.Second); err == nil || !strings.Contains(err.Error(), "not a loopback address") {
		t.Errorf("a non-loopback target: %v", err)
	}
}

// cpuSeconds is the CPU time (user+system) this process has used.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// schedLatencies reads the runtime's histogram of the time goroutines
// spent runnable before they ran (/sched/latencies:seconds).
func schedLatencies() *metrics.Float64Histogram {
	m := []metrics.Sample{{Name: "/sched/latencies:seconds"}}
	metrics.Read(m)
	if m[0].Value.Kind() != metrics.KindFloat64Histogram {
		return nil
	}
	return m[0].Value.Float64Histogram()
}

// schedP99 is the 99th percentile of the scheduling latencies counted
// between two readings of schedLatencies (the upper edge of its bucket),
// or 0 if there are none.
func schedP99(before, after *metrics.Float64Histogram) time.Duration {
	if before == nil || after == nil || len(before.Counts) != len(after.Counts) {
		return 0
	}
	var total uint64
	for i := range after.Counts {
		total += after.Counts[i] - before.Counts[i]
	}
	if total == 0 {
		return 0
	}
	var seen uint64
	for i := range after.Counts {
		seen += after.Counts[i] - before.Counts[i]
		if seen*100 >= total*99 {
			return time.Duration(after.Buckets[i+1] * float64(time.Second))
		}
	}
	return 0
}

// maxRSS is the process's peak resident memory so far, in MiB.
func maxRSS() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Maxrss) / 1024 // KiB on Linux
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// TestLoadCeiling puts the server beside the physical limit of this
// machine: the same load generator (loadgen_test.go) against a bare
// net/http handler that answers fixed JSON, against lrkit's rate route and
// against its metrics route, in one process over loopback. First as fast
// as answered (saturation, 64 connections): the targets take turns in
// short slices, so that a change in the load of the machine (shared with
// other work) hits them alike, and each round sums a target's requests,
// time and CPU over its slices; ratios are taken within a round. Then
// paced at offered rates from 2,000/s up, doubling until a target stops
// keeping up.
//
//	LRKIT_LOAD=ceiling go test ./server -run TestLoadCeiling -v
//
// LRKIT_CEILING_ROUNDS (default 3), LRKIT_CEILING_SLICES per round
// (default 5), LRKIT_CEILING_SECS per slice and per paced level (default
// 1 and 3) and LRKIT_CEILING_BATCH (records per metrics batch, default
// 10) change the run. It fails only on errors.
func TestLoadCeiling(t *testing.T) {
	if os.Getenv("LRKIT_LOAD") != "ceiling" {
		t.Skip("LRKIT_LOAD=ceiling runs the ceiling benchmark")
	}
	envInt := func(name string, def int) int {
		if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
			return n
		}
		return def
	}
	rounds := envInt("LRKIT_CEILING_ROUNDS", 3)
	slices_ := envInt("LRKIT_CEILING_SLICES", 5)
	sliceDur := time.Duration(envInt("LRKIT_CEILING_SLICE_SECS", 1)) * time.Second
	dur := time.Duration(envInt("LRKIT_CEILING_SECS", 3)) * time.Second
	batch := envInt("LRKIT_CEILING_BATCH", 10)
	rig := newCeilingRig(t, batch)
	ctx := context.Background()
	targets := []loadTarget{rig.bare, rig.rate, rig.metrics}
	t.Logf("GOMAXPROCS=%s, load average before: %s", os.Getenv("GOMAXPROCS"), loadavg())
	run := func(target loadTarget, rate float64, d time.Duration) (loadResult, float64) {
		cpu0 := cpuSeconds()
		r, err := runLoad(ctx, target, 64, rate, d)
		if err != nil {
			t.Fatal(err)
		}
		if r.failed > 0 {
			t.Fatalf("%s: %d failed: %v", target.name, r.failed, r.firstErr)
		}
		return r, cpuSeconds() - cpu0
	}
	type sum struct {
		done      int
		secs, cpu float64
		p99s      []time.Duration
	}
	var ratios, cpuRatios []float64
	sat := map[string][]float64{}
	for round := range rounds {
		got := map[string]*sum{}
		for _, target := range targets {
			got[target.name] = &sum{}
		}
		for range slices_ {
			for _, target := range targets {
				r, cpu := run(target, 0, sliceDur)
				g := got[target.name]
				g.done, g.secs, g.cpu = g.done+r.done, g.secs+r.secs, g.cpu+cpu
				g.p99s = append(g.p99s, r.p99)
			}
		}
		t.Logf("round %d: saturation, 64 connections, %d slices of %v per target, load %s", round+1, slices_, sliceDur, loadavg())
		for _, target := range targets {
			g := got[target.name]
			slices.Sort(g.p99s)
			thr := float64(g.done) / g.secs
			sat[target.name] = append(sat[target.name], thr)
			t.Logf("  %-34s %8.0f/s (%9.0f items/s), median slice p99 %9v, process CPU %.2f cores, %5.1f µs/request",
				target.name, thr, thr*float64(target.unit), g.p99s[len(g.p99s)/2].Round(time.Microsecond), g.cpu/g.secs, g.cpu/float64(max(g.done, 1))*1e6)
		}
		bare, rate := got[rig.bare.name], got[rig.rate.name]
		ratio := (float64(rate.done) / rate.secs) / (float64(bare.done) / bare.secs)
		cpuRatio := (bare.cpu / float64(bare.done)) / (rate.cpu / float64(rate.done))
		ratios, cpuRatios = append(ratios, ratio), append(cpuRatios, cpuRatio)
		t.Logf("round %d: rate route / bare handler = %.3f (throughput), %.3f (CPU per request, bare over rate)", round+1, ratio, cpuRatio)
	}
	t.Logf("offered rates, 64 connections, %v per level", dur)
	for _, target := range targets {
		for rate := 2000.0; ; rate *= 2 {
			r, cpu := run(target, rate, dur)
			t.Logf("  %-34s %6.0f/s offered: achieved %8.0f/s (%9.0f items/s) p50 %9v p99 %9v, process CPU %.2f cores, load %s",
				target.name, rate, r.achieved(), r.achieved()*float64(target.unit), r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond), cpu/r.secs, loadavg())
			if r.achieved() < 0.98*rate || r.p99 > time.Second || rate > 2*slices.Max(sat[target.name]) {
				break
			}
		}
	}
	for _, target := range targets {
		s := slices.Clone(sat[target.name])
		slices.Sort(s)
		t.Logf("saturation %-34s median %8.0f/s (%9.0f items/s), rounds %v", target.name, s[len(s)/2], s[len(s)/2]*float64(target.unit), roundAll(sat[target.name]))
	}
	t.Logf("rate route / bare handler per round: %v (throughput), %v (CPU per request, bare over rate)", roundRatios(ratios), roundRatios(cpuRatios))
	t.Logf("load average after: %s", loadavg())
}

func roundAll(v []float64) []int {
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x + 0.5)
	}
	return out
}

func roundRatios(v []float64) []string {
	out := make([]string, len(v))
	for i, x := range v {
		out[i] = strconv.FormatFloat(x, 'f', 3, 64)
	}
	return out
}
