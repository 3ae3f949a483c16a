//go:build !purego

package optim

import "golang.org/x/sys/cpu"

// haveAVX2 selects the assembly Adam loop (x/sys/cpu reports AVX2 only
// when the OS saves the YMM registers).
var haveAVX2 = cpu.X86.HasAVX2

// adamAVX2 applies adamGo's update to n elements, n a multiple of 8, with
// c = {β1, 1−β1, β2, 1−β2, step, rb2, ε, λ, decay} (λ used only when
// coupled, decay only when decays).
//
//go:noescape
func adamAVX2(w, grad, m, v *float32, n int, c *adamConsts, coupled, decays bool)
