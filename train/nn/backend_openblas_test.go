//go:build openblas

package nn

const wantBackend = "openblas"
