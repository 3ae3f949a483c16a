package bench

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// failTrials turns the results of the trials that fail(entry, seed) picks
// into failures, as a study whose runs failed has them.
func failTrials(out *Outcome, fail func(entry string, seed int64) bool) {
	for _, tr := range out.Trials {
		if fail(tr.Entry, tr.Seed) {
			delete(out.Results, tr.Key)
			out.Failed[tr.Key] = "trial " + tr.Key + ": boom"
		}
	}
}

// TestSummarizeWithoutResults: no verdict, claim or recommendation is drawn
// from no data, and a schedule without a successful run makes Summarize
// return an error wrapping ErrNoResults with the full summary, so that a
// report can still be written. A study whose trials all failed says so
// (it used to say "keep cosine" and print cosine's spec), a baseline
// without a successful run recommends nothing, and a schedule without one
// is named as not compared, not counted among the schedules that are not
// faster. Some failed trials of a schedule that has other results are
// reported as before, without an error.
func TestSummarizeWithoutResults(t *testing.T) {
	tests := []struct {
		name        string
		fail        func(string, int64) bool
		err         string // "" for none
		headline    string // a prefix of the headline
		recommended string
		noResults   []string
		rows        []string // lines report.md must hold
		claim       string   // the answer to "linear matches or beats cosine"; "" for a tested one
	}{
		{
			name:      "every trial failed",
			fail:      func(string, int64) bool { return true },
			err:       `bench: study "synthetic": no successful trials: 36 of 36 trials failed; the first failure: trial w00/cosine/s0: boom`,
			headline:  "No successful trials: 36 of 36 trials failed, so the study gives no verdict and recommends no schedule.",
			noResults: []string{"cosine", "linear", "rex"},
			rows:      []string{"| linear | — |  | no successful runs |  | — | 0.0× | 0 | — |", "| w00@1 | no results | no results | no results |"},
			claim:     "not tested: linear has no successful evaluation run",
		},
		{
			name:      "the baseline failed",
			fail:      func(e string, _ int64) bool { return e == "cosine" },
			err:       `bench: study "synthetic": no successful trials for cosine: 12 of 12 trials failed, so no verdict is drawn about it (nor is any schedule compared with the baseline cosine); the first failure: trial w00/cosine/s0: boom`,
			headline:  "The baseline cosine has no successful evaluation run (see Failed trials), so no schedule is compared with it and none is recommended.",
			noResults: []string{"cosine"},
			rows:      []string{"| cosine | — |  | no successful runs |"},
			claim:     "not tested: cosine has no successful evaluation run",
		},
		{
			name:        "one schedule failed",
			fail:        func(e string, _ int64) bool { return e == "linear" },
			err:         `bench: study "synthetic": no successful trials for linear: 12 of 12 trials failed, so no verdict is drawn about it (the other schedules are scored); the first failure: trial w00/linear/s0: boom`,
			headline:    "rex is faster than cosine",
			recommended: "rex",
			noResults:   []string{"linear"},
			rows:        []string{"1 of 3 schedules have no successful evaluation run and are in no verdict, claim or recommendation: linear (see Failed trials).", " | no results | "},
			claim:       "not tested: linear has no successful evaluation run",
		},
		{
			name:        "some trials failed",
			fail:        func(e string, seed int64) bool { return e == "linear" && seed == 0 },
			headline:    "rex is faster than cosine",
			recommended: "rex",
			rows:        []string{"## Failed trials"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, out := synthetic{problems: 6, seeds: 2, effects: map[string]float64{"linear": 1, "rex": 0.7}, shared: 0.01, own: 0.01, seed: 3}.outcome()
			failTrials(out, tc.fail)
			sum, err := Summarize(s, out)
			if tc.err == "" && err != nil {
				t.Fatal(err)
			}
			if tc.err != "" && (err == nil || err.Error() != tc.err || !errors.Is(err, ErrNoResults)) {
				t.Fatalf("error %v,\nwant %s (wrapping ErrNoResults)", err, tc.err)
			}
			if !strings.HasPrefix(sum.Headline, tc.headline) || sum.Recommended != tc.recommended {
				t.Errorf("headline %q, recommended %q;\nwant %q..., %q", sum.Headline, sum.Recommended, tc.headline, tc.recommended)
			}
			if strings.Join(sum.NoResults, ",") != strings.Join(tc.noResults, ",") {
				t.Errorf("no results %v, want %v", sum.NoResults, tc.noResults)
			}
			if specs := sum.RecommendedSpecs(); (tc.recommended == "") != (len(specs) == 0) {
				t.Errorf("recommended specs %v with recommendation %q", specs, tc.recommended)
			}
			for _, c := range sum.Claims {
				if !strings.HasPrefix(c.Text, "Linear decay matches or beats cosine") {
					continue
				}
				if tc.claim == "" && strings.HasPrefix(c.Verdict, "not tested") || tc.claim != "" && c.Verdict != tc.claim {
					t.Errorf("claim %q: %q, want %q", c.Text, c.Verdict, tc.claim)
				}
			}
			rep, err := BuildReport(sum, out, time.Unix(0, 0))
			if err != nil {
				t.Fatal(err)
			}
			md := string(rep.Files["report.md"])
			for _, row := range append(tc.rows, "**"+sum.Headline+"**") {
				if !strings.Contains(md, row) {
					t.Errorf("report.md lacks %q:\n%s", row, md)
				}
			}
			if tc.recommended == "" && strings.Contains(md, "## Recommended schedule") {
				t.Error("report.md recommends a schedule drawn from no data")
			}
		})
	}
}

// TestRunEveryTrialFailed is `lrkit bench` on a study whose program always
// fails: the study runs to its end, Summarize says there is nothing to
// score (it used to recommend cosine at a peak chosen from no run), and
// the report still lists the failures. No peak is chosen (the planner used
// to take the grid's low edge and train the evaluation runs there), so
// no evaluation run is trained, and no final metric is drawn as
// "diverged".
func TestRunEveryTrialFailed(t *testing.T) {
	t.Setenv("FAKE_FAIL", "out of memory")
	s, err := ParseStudy(filepath.Join("testdata", "cmd.yaml"), []byte(commandStudy))
	if err != nil {
		t.Fatal(err)
	}
	out, err := Run(context.Background(), s, commandStudy, RunOptions{Store: openStore(t), Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Results) != 0 || len(out.Failed) != len(out.Trials) {
		t.Fatalf("%d results, %d failed of %d trials", len(out.Results), len(out.Failed), len(out.Trials))
	}
	// 2 schedules × (5 grid points + 1 extension downwards) × 1 selection
	// seed, and no evaluation run.
	if got := roles(out.Trials); len(out.Trials) != 12 || got["tune"] != 12 {
		t.Errorf("trials by role %v, want 12 selection runs and nothing else", got)
	}
	for _, c := range out.Plan.Cells {
		if !c.NoPeak || c.Tuned || c.Spec != "" {
			t.Errorf("%s on %s: no peak %v, tuned %v, spec %q; want no peak", c.Entry, c.Problem(), c.NoPeak, c.Tuned, c.Spec)
		}
	}
	sum, err := Summarize(s, out)
	want := fmt.Sprintf(`bench: study "cmd": no successful trials: %d of %d trials failed; the first failure: trial fake/cosine/b1/tune/k-1/s100: command workload fake: exit status 3; its standard error ends: fake_train: out of memory`, len(out.Trials), len(out.Trials))
	if !errors.Is(err, ErrNoResults) || err.Error() != want {
		t.Fatalf("error %v,\nwant %s", err, want)
	}
	if sum.Recommended != "" || sum.RecommendedSpecs() != nil {
		t.Errorf("recommended %q: %v", sum.Recommended, sum.RecommendedSpecs())
	}
	rep, err := BuildReport(sum, out, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	md := string(rep.Files["report.md"])
	for _, want := range []string{
		"**No successful trials: ",
		"| fake@1 | no peak: every selection run failed [0.00316, 1] | no peak: every selection run failed [0.00316, 1] |",
		"| fake@1 | no peak | no peak |",
		"| cosine | — |  | no peak: every selection run failed |",
		"## Failed trials",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "Recommended: ") || strings.Contains(md, "keep cosine") {
		t.Errorf("report.md recommends from no data:\n%s", md)
	}
}
