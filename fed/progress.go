package fed

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"
)

// Progress is told how a study advances, in runs.
type Progress interface {
	Start(total, done int)
	Update(done int, last string) // last: the key of the run just finished ("" if none)
	Finish()
}

type noProgress struct{}

func (noProgress) Start(int, int)     {}
func (noProgress) Update(int, string) {}
func (noProgress) Finish()            {}

// NewProgress returns a progress bar when w is a terminal, else a
// TextProgress.
func NewProgress(w io.Writer) Progress {
	if f, ok := w.(*os.File); ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())) {
		return &barProgress{w: w}
	}
	return NewTextProgress(w)
}

// TextProgress writes a line at the start, whenever another 5% of the
// runs is done, and at the end: for logs and pipes.
type TextProgress struct {
	w           io.Writer
	mu          sync.Mutex
	total, last int
	start       time.Time
	startDone   int
}

// NewTextProgress writes progress lines to w.
func NewTextProgress(w io.Writer) *TextProgress { return &TextProgress{w: w} }

// Start prints the number of runs and how many are already done.
func (p *TextProgress) Start(total, done int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.total, p.last, p.start, p.startDone = total, done, time.Now(), done
	fmt.Fprintf(p.w, "fed: %d runs, %d already done\n", total, done)
}

// Update prints a line when the done count crosses another 5%.
func (p *TextProgress) Update(done int, _ string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.total == 0 || done*20/p.total == p.last*20/p.total {
		p.last = done
		return
	}
	p.last = done
	line := fmt.Sprintf("fed: %d/%d runs (%d%%)", done, p.total, done*100/p.total)
	if n := done - p.startDone; n > 0 && done < p.total {
		el := time.Since(p.start)
		left := time.Duration(float64(el) / float64(n) * float64(p.total-done))
		line += fmt.Sprintf(", about %v left", left.Round(time.Second))
	}
	fmt.Fprintln(p.w, line)
}

// Finish prints nothing more.
func (p *TextProgress) Finish() {}

type barProgress struct {
	w   io.Writer
	bar *progressbar.ProgressBar
}

func (p *barProgress) Start(total, done int) {
	p.bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(p.w), progressbar.OptionShowCount(),
		progressbar.OptionSetDescription("fed runs"), progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionSetWidth(30))
	_ = p.bar.Set(done)
}

func (p *barProgress) Update(done int, _ string) { _ = p.bar.Set(done) }

func (p *barProgress) Finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
		fmt.Fprintln(p.w)
	}
}
