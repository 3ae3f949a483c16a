package server

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/lrkit/lrkit/store"
)

// TestLoad simulates trainers over loopback with the lean generator of
// loadgen_test.go (runMixed): each asks for the rate of its next step over
// its own keep-alive connection and queues a metrics batch of 10 records
// every 10 steps for a poster connection shared by 10 trainers. The same
// traffic goes first to a bare net/http handler that answers fixed JSON on
// both paths (the physical limit of this machine for the pattern: the
// generator, the kernel's loopback and net/http, nothing of lrkit), then
// to lrkit over an SQLite file, in the same process; it logs both and
// their ratio. LRKIT_LOAD=full runs 1,000 trainers for 10 s per target
// offering 20,000 rate requests per second in total (the figures in
// docs/server.md); otherwise 20 trainers for 0.6 s offering 2,000 per
// second. LRKIT_LOAD_TRAINERS=N changes the number of trainers (at most
// 5,000), LRKIT_LOAD_RATE=R the offered rate (R=0 makes every trainer ask
// again as soon as it has its answer: a saturation test, where latency is
// just the number of trainers over the throughput) and
// LRKIT_LOAD_ROUNDS=K (at most 10) runs bare and lrkit alternately K times,
// each trainer going on from its last step.
//
// Trainers are paced (open loop, as real training steps are), and rate
// latency is measured from the moment a request was due, not from when it
// was sent, so a server that falls behind shows it in the percentiles (no
// coordinated omission); a batch's latency runs from when its trainer
// queued it. It fails only on errors (an answer other than 2xx, a broken
// connection), never on a timing.
func TestLoad(t *testing.T) {
	load := mixedLoad{trainers: 20, rate: 2000, dur: 600 * time.Millisecond}
	if os.Getenv("LRKIT_LOAD") == "full" {
		load = mixedLoad{trainers: 1000, rate: 20000, dur: 10 * time.Second}
	} else if testing.Short() {
		t.Skip("load test skipped in -short mode")
	}
	if n, err := strconv.Atoi(os.Getenv("LRKIT_LOAD_TRAINERS")); err == nil && n > 0 && n <= 5000 {
		load.trainers = n
	}
	if r, err := strconv.ParseFloat(os.Getenv("LRKIT_LOAD_RATE"), 64); err == nil && r >= 0 && r <= 1e6 {
		load.rate = r
	}
	rounds := 1
	if k, err := strconv.Atoi(os.Getenv("LRKIT_LOAD_ROUNDS")); err == nil && k > 0 && k <= 10 {
		rounds = k
	}
	rig := newMixedRig(t, load.trainers)
	offered := "as fast as answered"
	if load.rate > 0 {
		offered = fmt.Sprintf("%.0f/s offered", load.rate)
	}
	t.Logf("GOMAXPROCS %d, load average before: %s", runtime.GOMAXPROCS(0), loadavg())
	ctx := context.Background()
	next := make(map[string][]int64) // each target's trainers' next steps
	for round := range rounds {
		var got [2]mixedResult
		var cpuPerLR [2]float64
		for i, target := range []mixedTarget{rig.bare, rig.lrkit} {
			load0, cpu0, wall0 := loadavg(), cpuSeconds(), time.Now()
			groups0, batches0 := commitStats(rig.st)
			sched0 := schedLatencies()
			r, err := runMixed(ctx, target, load, next[target.name])
			if err != nil {
				t.Fatal(err)
			}
			cpu, wall := cpuSeconds()-cpu0, time.Since(wall0).Seconds()
			sched := schedP99(sched0, schedLatencies())
			next[target.name] = r.next
			got[i], cpuPerLR[i] = r, cpu/float64(max(r.lr.done, 1))
			t.Logf("round %d, %s: %d trainers, %d runs, %d poster connections, %v, %s: LR requests %d (%.0f/s) p50 %v p99 %v, %d not sent by the hard stop; metric batches %d (%.0f/s, %.0f records/s) p50 %v p99 %v; process CPU %.2f cores, %.1f µs per LR request (batches included); goroutines waited for a processor p99 %v (generator included); load %s to %s",
				round+1, target.name, load.trainers, rig.runs, load.posters(), load.dur, offered,
				r.lr.done, r.lr.achieved(), r.lr.p50.Round(time.Microsecond), r.lr.p99.Round(time.Microsecond), r.unsent,
				r.batches.done, r.batches.achieved(), batchEvery*r.batches.achieved(), r.batches.p50.Round(time.Microsecond), r.batches.p99.Round(time.Microsecond),
				cpu/wall, cpuPerLR[i]*1e6, sched, load0, loadavg())
			if target.name == rig.lrkit.name {
				logCommits(t, rig.st, fmt.Sprintf("round %d, %s", round+1, target.name), groups0, batches0)
			}
			for _, side := range []loadResult{r.lr, r.batches} {
				if side.failed > 0 {
					t.Fatalf("round %d, %s: %d requests failed, the first: %v", round+1, target.name, side.failed, side.firstErr)
				}
			}
			// Every trainer that reached its 10th step has posted a batch.
			if r.lr.done == 0 || (r.batches.done == 0 && r.lr.done >= batchEvery*load.trainers) {
				t.Fatalf("round %d, %s: %d rate requests and %d batches answered", round+1, target.name, r.lr.done, r.batches.done)
			}
		}
		bare, lrkit := got[0], got[1]
		t.Logf("round %d: lrkit / bare = %.3f (LR requests/s), %.3f (batches/s), %.3f (CPU per LR request, bare over lrkit); LR p99 %v (lrkit) and %v (bare)",
			round+1, lrkit.lr.achieved()/bare.lr.achieved(), lrkit.batches.achieved()/max(bare.batches.achieved(), 1e-9), cpuPerLR[0]/cpuPerLR[1],
			lrkit.lr.p99.Round(time.Microsecond), bare.lr.p99.Round(time.Microsecond))
	}
	t.Logf("load average after: %s; the process's peak resident memory (generator, bare handler and lrkit): %.0f MiB", loadavg(), maxRSS())
}

// commitStats is the store's group commit counts (0 for revisions before
// group commit: scripts/lib/load.sh runs these tests on older trees).
func commitStats(st any) (groups, batches uint64) {
	if c, ok := st.(interface{ CommitStats() (uint64, uint64) }); ok {
		return c.CommitStats()
	}
	return 0, 0
}

// logCommits logs the group commits since groups0 and batches0
// (commitStats) and the committer's rests, where the store has them.
func logCommits(t testing.TB, st any, what string, groups0, batches0 uint64) {
	groups, batches := commitStats(st)
	groups, batches = groups-groups0, batches-batches0
	rested := ""
	if r, ok := st.(interface {
		RestStats() (uint64, time.Duration)
	}); ok {
		n, d := r.RestStats()
		rested = fmt.Sprintf("; the committer rested %d times, %v in all (since the start)", n, d.Round(time.Millisecond))
	}
	t.Logf("%s: %d group commits of %d batches (%.1f per commit)%s", what, groups, batches, float64(batches)/float64(max(groups, 1)), rested)
}

// mixedRig is TestLoad's lrkit server over an SQLite file and the bare
// handler, with the same mixed traffic for both.
type mixedRig struct {
	bare, lrkit mixedTarget
	runs        int
	st          *store.Store
}

// bareBatchBody is what the bare handler answers to a metrics batch: a
// metrics answer of the usual size.
const bareBatchBody = `{"duplicate":false,"inserted":10,"skipped":0,"version":1,"schedule_version":"9c1185a5c5e9fc54","last_step":12345,"next_lr":0.00029876543210987654}` + "\n"

// newMixedRig creates one run per 10 trainers (the data-parallel ranks of
// a run; each rank reports its own step numbers) and the request writers.
func newMixedRig(t testing.TB, trainers int) mixedRig {
	t.Helper()
	ctx := context.Background()
	st, err := openRigStore(ctx, filepath.Join(t.TempDir(), "load.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	p, err := st.CreateProject(ctx, "load")
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := st.CreateToken(ctx, p.ID, "load")
	if err != nil {
		t.Fatal(err)
	}
	nruns := max(trainers/10, 1)
	ranks := int64((trainers + nruns - 1) / nruns)
	lrPrefix := make([]string, nruns)
	metricsPath := make([]string, nruns)
	for i := range nruns {
		r, err := st.CreateRun(ctx, p.ID, "run"+strconv.Itoa(i), "warmup(cosine(peak=3e-4, steps=100000), steps=1000)", 100000, []byte("{}"))
		if err != nil {
			t.Fatal(err)
		}
		lrPrefix[i] = fmt.Sprintf("/v1/runs/%d/lr?step=", r.ID)
		metricsPath[i] = fmt.Sprintf("/v1/runs/%d/metrics", r.ID)
	}
	srv := newRigServer(t, st)
	rate := func(buf []byte, w int, step int64) []byte {
		var path [96]byte // on the stack: no allocation per request
		p := append(path[:0], lrPrefix[w%nruns]...)
		p = strconv.AppendInt(p, step, 10)
		return appendGET(buf, p, tok)
	}
	batch := func(buf []byte, w int, step int64) []byte {
		var scratch [1024]byte
		rank := int64(w / nruns)
		body := append(scratch[:0], `{"batch_id":"`...)
		body = strconv.AppendInt(body, int64(w), 10)
		body = append(body, '-')
		body = strconv.AppendInt(body, step, 10)
		body = append(body, `","metrics":[`...)
		for i := range int64(batchEvery) {
			if i > 0 {
				body = append(body, ',')
			}
			body = append(body, `{"step":`...)
			body = strconv.AppendInt(body, (step-batchEvery+1+i)*ranks+rank, 10)
			body = append(body, `,"loss":`...)
			body = strconv.AppendFloat(body, 3/float64(step+1), 'g', -1, 64)
			body = append(body, '}')
		}
		body = append(body, "]}"...)
		return appendPOST(buf, metricsPath[w%nruns], tok, body)
	}
	return mixedRig{
		bare:  mixedTarget{name: "bare net/http, fixed JSON", addr: serveLoopback(t, bareHandler()), rate: rate, batch: batch},
		lrkit: mixedTarget{name: "lrkit", addr: serveLoopback(t, srv), rate: rate, batch: batch},
		runs:  nruns,
		st:    st,
	}
}
