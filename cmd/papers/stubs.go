package main

import "context"

func runContinual(ctx context.Context, args []string) error { return nil }

func runPlasticity(ctx context.Context, args []string) error { return nil }
