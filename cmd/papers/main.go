// Command papers runs the small studies behind docs/papers.md, each a
// claim of the papers lrkit covers checked at this machine's scale:
//
//	papers early       early indicators: ranking and pruning sibling trials
//	papers continual   continual training across a data shift
//	papers plasticity  Normalize-and-Project on a sequence of shifted tasks
//	papers kjv-scaling kjv-gpt at four widths, cosine and WSD runs, as
//	                   scaling-law points for `lrkit scaling --points`
//
// Each study trains its runs into -out (one run log per run, written under
// a temporary name and renamed when the run is complete, so an
// interrupted study resumes by skipping the finished runs), then writes a
// markdown section and SVG figures into -doc. `lrkit scaling` is the
// fourth study (scripts/papers-scaling.sh).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: papers early|continual|plasticity|kjv-scaling [flags]")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch os.Args[1] {
	case "early":
		err = runEarly(ctx, os.Args[2:])
	case "continual":
		err = runContinual(ctx, os.Args[2:])
	case "plasticity":
		err = runPlasticity(ctx, os.Args[2:])
	case "kjv-scaling":
		err = runKJVScaling(ctx, os.Args[2:])
	default:
		err = fmt.Errorf("unknown study %q (have early, continual, plasticity, kjv-scaling)", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "papers:", err)
		os.Exit(1)
	}
}
