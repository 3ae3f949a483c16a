//go:build !openblas

package nn

const wantBackend = "gonum"
