package fed

import "context"

// Executor runs clients' local rounds. Start hands a task over and
// returns without waiting; the server calls Wait on the returned Pending
// when the round's virtual arrival time comes. Since a task carries all it
// depends on, every executor gives the same results: only real time
// differs.
type Executor interface {
	Start(ctx context.Context, t *Task) (Pending, error)
}

// Pending is a task that was started.
type Pending interface {
	Wait(ctx context.Context) (*Result, error)
}

// Local runs tasks in this process, lazily: a task is trained when its
// result is first waited for, on the caller's goroutine. This is the
// default executor; the simulation is then a single goroutine and a
// study parallelises over runs instead.
type Local struct{ Envs *Envs }

// Start returns a pending task that Wait will train.
func (l Local) Start(_ context.Context, t *Task) (Pending, error) {
	return &lazy{envs: l.Envs, task: t}, nil
}

type lazy struct {
	envs *Envs
	task *Task
	res  *Result
	err  error
	done bool
}

func (p *lazy) Wait(ctx context.Context) (*Result, error) {
	if !p.done {
		env, err := p.envs.Get(ctx, p.task.Env)
		if err == nil {
			p.res, err = env.Train(ctx, p.task)
		}
		p.err, p.done = err, true
		p.task = nil
	}
	return p.res, p.err
}
