package fed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lrkit/lrkit/dispatch"
	"github.com/lrkit/lrkit/internal/safefile"
)

// maxStudyFile bounds the size of a study file.
const maxStudyFile = 1 << 20

// FileOptions configure RunFile, the body of `lrkit fed run`.
type FileOptions struct {
	Output  string // report directory (out/fed/<study name> when empty)
	Workers int    // runs at once
	// NATS, if set, sends the clients' local rounds to client processes
	// (`lrkit fed client --nats URL`) through the NATS server at that URL;
	// "embedded" starts one in this process and prints its URL.
	NATS  string
	Queue string
	// Clients starts that many client servers in this process on the
	// NATS queue (with NATS only), besides any external ones.
	Clients int
	Quiet   bool
	// Command is the command line quoted in the report.
	Command string
}

// RunFile reads a study file, runs it (resuming what Output already holds),
// and writes the report to Output. Progress goes to errOut (a bar on a
// terminal, a line every 5% otherwise), the report's location and the
// claims' verdicts to out. A bad study file gives a *StudyError.
func RunFile(ctx context.Context, file string, o FileOptions, out, errOut io.Writer) error {
	text, err := safefile.ReadFile(file, maxStudyFile)
	if err != nil {
		return err
	}
	s, err := ParseStudy(file, text)
	if err != nil {
		return err
	}
	if o.Output == "" {
		o.Output = filepath.Join("out", "fed", s.Name)
	}
	if o.Command == "" {
		o.Command = "lrkit fed run " + file
	}
	envs := NewEnvs()
	so := StudyOptions{Out: o.Output, Workers: o.Workers, Envs: envs, Progress: NewProgress(errOut)}
	if o.Quiet {
		so.Progress = nil
	}
	if o.NATS != "" {
		url := o.NATS
		if url == "embedded" {
			dir, err := os.MkdirTemp("", "lrkit-fed-nats-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			e, err := dispatch.StartEmbedded(dir)
			if err != nil {
				return err
			}
			defer e.Close()
			url = e.URL()
		}
		ex, err := NewNATS(ctx, url, o.Queue)
		if err != nil {
			return err
		}
		defer ex.Close()
		so.Exec = ex
		cctx, stop := context.WithCancel(ctx)
		defer stop()
		for range o.Clients {
			go func() { _ = Serve(cctx, url, ServeOptions{Queue: o.Queue}) }()
		}
		queue := o.Queue
		if queue == "" {
			queue = DefaultQueue
		}
		fmt.Fprintf(errOut, "fed: clients run as `lrkit fed client --nats %s --queue %s`\n", url, queue)
	} else if o.Clients > 0 {
		return fmt.Errorf("fed: clients %d needs a NATS server (--nats)", o.Clients)
	}
	oc, err := RunStudy(ctx, s, so)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return fmt.Errorf("interrupted: the finished runs are kept in %s; run the same command to resume", filepath.Join(o.Output, "runs"))
		}
		return err
	}
	rep, err := BuildReport(oc, o.Command, time.Now())
	if err != nil {
		return err
	}
	if err := rep.Write(o.Output); err != nil {
		return err
	}
	fmt.Fprintf(out, "report: %s (%d runs, %d run now)\n", filepath.Join(o.Output, "report.md"), len(oc.Records), oc.Ran)
	for _, c := range rep.Claims {
		fmt.Fprintf(out, "%-14s %-14s %s: %s\n", c.Verdict, c.Dataset, c.Test, effectText(c))
	}
	return nil
}

// ClientBanner is what `lrkit fed client` prints when it starts.
func ClientBanner(url, queue string) string {
	if queue == "" {
		queue = DefaultQueue
	}
	return strings.TrimSpace(fmt.Sprintf("fed client: taking local rounds from %s (queue %s)", url, queue))
}
