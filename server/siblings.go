package server

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"

	"github.com/lrkit/lrkit/early"
	"github.com/lrkit/lrkit/store"
)

// Early ranking on the runs page: the runs of a project that share a step
// budget are siblings, and package early ranks them by their training loss
// averaged just before 10%, 20% or 30% of the budget (RuleLoss: the rule
// that agreed best with the final ranking on lrkit's own runs,
// docs/papers.md §1), at the largest of those fractions every sibling has
// reached. It is a hint, not a verdict: the page says how it was measured.

// Bounds on the work one page load does for the ranking.
const (
	maxRankGroups = 6
	maxRankRuns   = 12
)

// rankFractions are the checkpoints the ranking may use, largest first.
var rankFractions = []float64{0.3, 0.2, 0.1}

// rankWindow is the window before a checkpoint whose losses are averaged:
// 5% of the budget, in five blocks (as the page says).
var rankWindow = early.Window{Frac: 0.05, Blocks: 5}

// rankGroup is one group of siblings, ranked.
type rankGroup struct {
	Budget   int64
	Fraction float64 // of the budget
	Step     int64   // the checkpoint step
	Scores   []rankRow
}

type rankRow struct {
	Name                      string
	ID, Rank                  int64
	Loss, GradNorm, Value, SE float64
}

// earlyRanking ranks every group of two or more runs that share a budget
// and have all passed the first checkpoint. Groups it cannot rank (a run
// without losses there) are left out; the error of a store read is not.
func (s *Server) earlyRanking(ctx context.Context, projectID int64, runs []store.Run) ([]rankGroup, error) {
	byBudget := map[int64][]store.Run{}
	for _, r := range runs {
		if r.Budget > 0 {
			byBudget[r.Budget] = append(byBudget[r.Budget], r)
		}
	}
	budgets := make([]int64, 0, len(byBudget))
	for b, rs := range byBudget {
		if len(rs) >= 2 && len(rs) <= maxRankRuns {
			budgets = append(budgets, b)
		}
	}
	sort.Slice(budgets, func(i, j int) bool { return budgets[i] < budgets[j] })
	var out []rankGroup
	for _, b := range budgets[:min(len(budgets), maxRankGroups)] {
		g, ok, err := s.rankSiblings(ctx, projectID, b, byBudget[b])
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, g)
		}
	}
	return out, nil
}

// rankSiblings ranks one group at the largest checkpoint all have passed.
func (s *Server) rankSiblings(ctx context.Context, projectID, budget int64, runs []store.Run) (rankGroup, bool, error) {
	reached := runs[0].LastStep
	for _, r := range runs {
		reached = min(reached, r.LastStep)
	}
	for _, f := range rankFractions {
		at := early.CheckpointStep(budget, f)
		if reached < at {
			continue
		}
		// Only the window is read (a little more: it is at most
		// max(Frac·budget rounded, Blocks) steps, see early.ScoreAt), not
		// every step before the checkpoint: those were read on every
		// load of the page and its refresh every 5 s, hundreds of
		// megabytes for a few siblings of a million steps.
		from := max(at-int64(math.Ceil(rankWindow.Frac*float64(budget)))-int64(rankWindow.Blocks), 0)
		trials := make([]early.Trial, len(runs))
		names := map[string]string{}
		for i, r := range runs {
			recs, err := s.st.Metrics(ctx, projectID, r.ID, from, int(at-from))
			if err != nil {
				return rankGroup{}, false, err
			}
			id := fmt.Sprint(r.ID)
			trials[i] = early.Trial{ID: id, Budget: budget, Records: recs}
			names[id] = r.Name
		}
		scores, err := early.Rank(trials, f, early.RuleLoss, rankWindow)
		if err != nil {
			return rankGroup{}, false, nil // too few losses logged: no ranking
		}
		g := rankGroup{Budget: budget, Fraction: f, Step: at}
		for _, sc := range scores {
			id, _ := strconv.ParseInt(sc.ID, 10, 64)
			g.Scores = append(g.Scores, rankRow{Name: names[sc.ID], ID: id, Rank: int64(sc.Rank),
				Loss: sc.Loss, GradNorm: sc.GradNorm, Value: sc.Score, SE: sc.SE})
		}
		return g, true, nil
	}
	return rankGroup{}, false, nil
}
