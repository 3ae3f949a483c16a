package fed

import (
	"math"
	"slices"
)

// Compass is FedCompass's COMPASS scheduler (Li et al., ICLR 2024, arXiv
// 2309.14675; APPFL/FedCompass, src/appfl/scheduler/compass_scheduler.py
// as published in APPFL, read for this). It estimates each client's time
// per local step and gives each client a number of local steps such that
// clients arrive in groups, which the server then aggregates together.
// Compass holds only times, speeds and group membership; the server keeps
// the updates (see Run).
//
// Per client i the scheduler keeps a speed estimate s_i (virtual seconds
// per step), updated at every arrival from the round's measured time per
// step m as s_i ← (1 − μ)·s_i + μ·m (the first arrival sets s_i = m; μ is
// Momentum, 0.9 in the released code, which weighs the new measurement).
//
// A group g has an expected arrival time E_g and a latest arrival time
// L_g. Assigning client i at time t:
//
//   - no group exists: a new group with i alone, Q_max steps,
//     E = t + Q_max·s_i, L = t + λ·Q_max·s_i;
//   - else join: among the groups, the one whose ⌊(E_g − t)/s_i⌋ is largest
//     within [Q_min, Q_max] (ties: the later group), with that many steps;
//   - else create: for each group with t < L_g, let f_g be the smallest s
//     of its members and q_g = ⌊(L_g + f_g·Q_max − t)/s_i⌋ (the steps that
//     would bring i back when g's fastest member next returns); take the
//     largest q_g ≤ Q_max, raised to Q_min if below it, or Q_max if there
//     is none; the new group has E = t + q·s_i, L = t + λ·q·s_i.
//
// At its arrival a client with no group (the first round) is aggregated at
// once, alone; a client arriving at or before its group's L waits for the
// group; one arriving after L is a straggler: its update goes to a general
// buffer, it gets the current global model and a new assignment. A group
// is aggregated, together with the general buffer, when its last member
// arrives or at L if some have arrived; its arrived members are then
// assigned again in order of increasing s (fastest first), and the group
// takes no new members.
type Compass struct {
	QMin, QMax int
	Lambda     float64 // latest-arrival factor λ ≥ 1
	Momentum   float64 // μ in (0, 1]

	clients []compassClient
	groups  []*compassGroup // in creation order
	nextID  int
}

type compassClient struct {
	speed float64 // estimated virtual seconds per step
	known bool
	group int // −1: none
	steps int
	start float64
}

type compassGroup struct {
	id               int
	clients, arrived []int
	expected, latest float64
	closed           bool
}

// Arrival says what the server does with an arriving client's update.
type Arrival int

// The kinds of arrival.
const (
	ArriveSingle   Arrival = iota // no group: aggregate alone now, then Assign
	ArriveLate                    // after the group's latest time: general buffer, current model, Assign
	ArriveWait                    // buffered in its group; wait for the group
	ArriveComplete                // the group's last member: aggregate the group now
)

// NewCompass returns a scheduler for n clients.
func NewCompass(n, qmin, qmax int, lambda, momentum float64) *Compass {
	c := &Compass{QMin: qmin, QMax: qmax, Lambda: lambda, Momentum: momentum, clients: make([]compassClient, n)}
	for i := range c.clients {
		c.clients[i].group = -1
	}
	return c
}

// Start records that client i starts a round of steps steps at time t
// outside any group (the first round).
func (c *Compass) Start(i int, t float64, steps int) {
	c.clients[i].group, c.clients[i].steps, c.clients[i].start = -1, steps, t
}

// Speed returns client i's estimated time per step (0 before its first
// arrival).
func (c *Compass) Speed(i int) float64 { return c.clients[i].speed }

func (c *Compass) group(id int) *compassGroup {
	for _, g := range c.groups {
		if g.id == id {
			return g
		}
	}
	return nil
}

func (c *Compass) dropGroup(id int) {
	c.groups = slices.DeleteFunc(c.groups, func(g *compassGroup) bool { return g.id == id })
}

// Arrive records client i's arrival at time t, updates its speed estimate
// and returns what to do with its update, and its group (−1 for none).
func (c *Compass) Arrive(i int, t float64) (Arrival, int) {
	cl := &c.clients[i]
	m := (t - cl.start) / float64(cl.steps)
	if cl.known {
		cl.speed = (1-c.Momentum)*cl.speed + c.Momentum*m
	} else {
		cl.speed, cl.known = m, true
	}
	if cl.group < 0 {
		return ArriveSingle, -1
	}
	gid := cl.group
	g := c.group(gid)
	cl.group = -1
	g.clients = slices.DeleteFunc(g.clients, func(j int) bool { return j == i })
	if g.closed || t > g.latest {
		if len(g.clients) == 0 && len(g.arrived) == 0 {
			c.dropGroup(gid)
		}
		return ArriveLate, gid
	}
	g.arrived = append(g.arrived, i)
	if len(g.clients) == 0 {
		return ArriveComplete, gid
	}
	return ArriveWait, gid
}

// Waiting reports whether group id is open and has arrived members.
func (c *Compass) Waiting(id int) bool {
	g := c.group(id)
	return g != nil && !g.closed && len(g.arrived) > 0
}

// Close ends group id after its aggregation: it returns the arrived
// members, fastest first (ties by index), for the server to Assign in that
// order. The group takes no more members and disappears once its
// remaining members (stragglers) have arrived.
func (c *Compass) Close(id int) []int {
	g := c.group(id)
	if g == nil {
		return nil
	}
	out := slices.Clone(g.arrived)
	slices.SortStableFunc(out, func(a, b int) int {
		sa, sb := c.clients[a].speed, c.clients[b].speed
		switch {
		case sa < sb:
			return -1
		case sa > sb:
			return 1
		}
		return a - b
	})
	g.arrived = nil
	g.closed = true
	g.expected, g.latest = 0, 0
	if len(g.clients) == 0 {
		c.dropGroup(id)
	}
	return out
}

// Assign gives client i, free at time t, its next number of local steps
// and a group. If it created a group, created is true and deadline is the
// group's latest arrival time, when the server must call Waiting and
// aggregate what has arrived.
func (c *Compass) Assign(i int, t float64) (steps, group int, created bool, deadline float64) {
	s := c.clients[i].speed
	if len(c.groups) == 0 {
		return c.newGroup(i, t, c.QMax)
	}
	best, bestG := -1, (*compassGroup)(nil)
	for _, g := range c.groups {
		if g.closed {
			continue
		}
		q := floorSteps((g.expected - t) / s)
		if q < c.QMin || q < best || q > c.QMax {
			continue
		}
		best, bestG = q, g
	}
	if bestG != nil {
		bestG.clients = append(bestG.clients, i)
		cl := &c.clients[i]
		cl.group, cl.steps, cl.start = bestG.id, best, t
		return best, bestG.id, false, 0
	}
	q := -1
	for _, g := range c.groups {
		if !(t < g.latest) {
			continue
		}
		fastest := math.Inf(1)
		for _, j := range g.clients {
			fastest = min(fastest, c.clients[j].speed)
		}
		for _, j := range g.arrived {
			fastest = min(fastest, c.clients[j].speed)
		}
		if k := floorSteps((g.latest + fastest*float64(c.QMax) - t) / s); k <= c.QMax {
			q = max(q, k)
		}
	}
	switch {
	case q >= 0 && q < c.QMin:
		q = c.QMin
	case q < 0:
		q = c.QMax
	}
	return c.newGroup(i, t, q)
}

func (c *Compass) newGroup(i int, t float64, q int) (int, int, bool, float64) {
	s := c.clients[i].speed
	g := &compassGroup{id: c.nextID, clients: []int{i},
		expected: t + float64(q)*s, latest: t + float64(q)*s*c.Lambda}
	c.nextID++
	c.groups = append(c.groups, g)
	cl := &c.clients[i]
	cl.group, cl.steps, cl.start = g.id, q, t
	return q, g.id, true, g.latest
}

// floorSteps is ⌊x⌋ as an int, with a small tolerance so that a time that
// should divide exactly but lost a bit to rounding (2.9999999) still
// counts, and −1 for NaN or x < 0.
func floorSteps(x float64) int {
	if math.IsNaN(x) || x < 0 {
		return -1
	}
	if x > 1e9 {
		return 1e9
	}
	return int(math.Floor(x + 1e-9))
}
