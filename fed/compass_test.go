package fed

import (
	"math"
	"slices"
	"testing"
)

// TestCompassAssignment walks the scheduler through arrivals whose
// assignments were computed by hand (Q_min 20, Q_max 100, λ 1.5, μ 0.9;
// speeds in virtual seconds per step).
func TestCompassAssignment(t *testing.T) {
	c := NewCompass(3, 20, 100, 1.5, 0.9)
	for i := range 3 {
		c.Start(i, 0, 100)
	}
	arrive := func(i int, at float64, want Arrival, wantGroup int) {
		t.Helper()
		k, g := c.Arrive(i, at)
		if k != want || g != wantGroup {
			t.Fatalf("client %d at %g: arrival %d in group %d, want %d in group %d", i, at, k, g, want, wantGroup)
		}
	}
	assign := func(i int, at float64, steps, group int, created bool, deadline float64) {
		t.Helper()
		s, g, cr, dl := c.Assign(i, at)
		if s != steps || g != group || cr != created || math.Abs(dl-deadline) > 1e-9 {
			t.Fatalf("assign client %d at %g: %d steps, group %d, created %v, deadline %v; want %d, %d, %v, %v", i, at, s, g, cr, dl, steps, group, created, deadline)
		}
	}
	speed := func(i int, want float64) {
		t.Helper()
		if math.Abs(c.Speed(i)-want) > 1e-9 {
			t.Fatalf("client %d: speed %v, want %v", i, c.Speed(i), want)
		}
	}

	// Client 0 back at 100 after 100 steps: speed 1; no group exists, so
	// group 0 with Q_max: expected 200, latest 100 + 1.5·100 = 250.
	arrive(0, 100, ArriveSingle, -1)
	speed(0, 1)
	assign(0, 100, 100, 0, true, 250)

	// Client 1 back at 200: speed 2. Joining group 0 would leave 0 steps
	// (< Q_min); a new group aims at group 0's fastest member's next
	// return, 250 + 1·100 = 350: ⌊(350 − 200)/2⌋ = 75 steps; expected
	// 350, latest 200 + 1.5·150 = 425.
	arrive(1, 200, ArriveSingle, -1)
	assign(1, 200, 75, 1, true, 425)

	// Client 0 at 205 completes group 0 alone: speed 0.1·1 + 0.9·1.05 =
	// 1.045. Group 1 would need ⌊145/1.045⌋ = 138 > Q_max steps, and its
	// fastest member's next return (425 + 200 = 625) ⌊420/1.045⌋ = 401:
	// no fit, so a new group of Q_max: expected 309.5, latest 361.75.
	arrive(0, 205, ArriveComplete, 0)
	speed(0, 1.045)
	if got := c.Close(0); !slices.Equal(got, []int{0}) {
		t.Fatalf("close group 0: %v", got)
	}
	assign(0, 205, 100, 2, true, 361.75)

	// Client 2 at 300: speed 3. Groups 1 and 2 would give 16 and 3 steps
	// (< Q_min). New group: via group 1, ⌊(625 − 300)/3⌋ = 108 > Q_max;
	// via group 2, ⌊(361.75 + 104.5 − 300)/3⌋ = 55. Expected 465, latest
	// 300 + 1.5·165 = 547.5.
	arrive(2, 300, ArriveSingle, -1)
	speed(2, 3)
	assign(2, 300, 55, 3, true, 547.5)

	// Client 0 at 310 completes group 2: speed 0.1·1.045 + 0.9·1.05 =
	// 1.0495. It joins group 1: ⌊40/1.0495⌋ = 38 steps (group 3 would
	// need 147 > Q_max).
	arrive(0, 310, ArriveComplete, 2)
	speed(0, 1.0495)
	c.Close(2)
	assign(0, 310, 38, 1, false, 0)

	// Group 1 gathers clients 0 (at 349) and 1 (at 352); the last
	// completes it, and Close lists the fastest first.
	arrive(0, 349, ArriveWait, 1)
	if !c.Waiting(1) {
		t.Fatal("group 1 has an arrival but is not waiting")
	}
	arrive(1, 352, ArriveComplete, 1)
	speed(1, 0.1*2+0.9*152.0/75)
	if got := c.Close(1); !slices.Equal(got, []int{0, 1}) {
		t.Fatalf("close group 1: %v, want fastest first [0 1]", got)
	}
	if c.Waiting(1) {
		t.Fatal("a closed group is waiting")
	}
	// Client 0 (speed ≈ 1.02863): group 3 needs ⌊113/1.02863⌋ = 109 >
	// Q_max, so a new group of Q_max. Client 1 (≈ 2.024) then prefers
	// group 3 (⌊113/2.024⌋ = 55 steps) to the new group 4 (50 steps).
	s0 := c.Speed(0)
	assign(0, 352, 100, 4, true, 352+150*s0)
	assign(1, 352, 55, 3, false, 0)

	// Client 2 comes back at 600, after group 3's latest time (547.5): a
	// straggler. Group 3 keeps client 1.
	arrive(2, 600, ArriveLate, 3)
	if c.Waiting(3) {
		t.Fatal("group 3 has no arrivals but is waiting")
	}
}

// TestCompassFloorSteps checks the step rounding.
func TestCompassFloorSteps(t *testing.T) {
	for _, c := range []struct {
		x    float64
		want int
	}{{2.9999999999, 3}, {2.5, 2}, {0, 0}, {-0.5, -1}, {math.NaN(), -1}, {1e12, 1e9}} {
		if got := floorSteps(c.x); got != c.want {
			t.Errorf("floorSteps(%v) = %d, want %d", c.x, got, c.want)
		}
	}
}
