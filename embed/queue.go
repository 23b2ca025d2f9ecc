package embed

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
)

// The in-process model's scheduler. Every Embed call puts its sequences
// on one queue, in groups (one group per core for a large batch, one for a
// single text), and runners, one per core at most, take them off in
// order. A runner that finds several groups waiting takes as many as fit
// one pass (BatchTokens) and embeds them together: under load, many
// requests' short texts share a pass, which streams the weights once for
// all of them and fills the kernels' row tiles. An idle model runs a lone
// group at once, on every idle core.

// group is one run of sequences from one Embed call.
type group struct {
	seqs   [][]int32
	tokens int
	ctx    context.Context // the caller's
	vecs   [][]float32
	err    error
	done   chan struct{}
}

// queue is the scheduler's state.
type queue struct {
	mu      sync.Mutex
	waiting []*group
	idle    int // cores no runner holds

	passes atomic.Uint64 // forward passes run, for tests
}

// embedGroups queues the groups, starts runners for the idle cores and
// waits for every group. A caller whose ctx ends withdraws the groups no
// runner has taken; a pass already running for it finishes for the others
// it carries.
func (l *Local) embedGroups(ctx context.Context, groups [][][]int32) ([][]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("embed: %w", err)
	}
	gs := make([]*group, len(groups))
	total := 0
	for i, seqs := range groups {
		g := &group{seqs: seqs, ctx: ctx, done: make(chan struct{})}
		for _, s := range seqs {
			g.tokens += len(s)
		}
		total += len(seqs)
		gs[i] = g
	}
	q := &l.q
	q.mu.Lock()
	q.waiting = append(q.waiting, gs...)
	l.dispatch()
	q.mu.Unlock()

	out := make([][]float32, 0, total)
	for _, g := range gs {
		select {
		case <-g.done:
		case <-ctx.Done():
			l.withdraw(gs)
			return nil, fmt.Errorf("embed: %w", ctx.Err())
		}
		if g.err != nil {
			l.withdraw(gs)
			return nil, fmt.Errorf("embed: %w", g.err)
		}
		out = append(out, g.vecs...)
	}
	return out, nil
}

// withdraw takes the groups no runner has taken off the queue.
func (l *Local) withdraw(gs []*group) {
	q := &l.q
	q.mu.Lock()
	defer q.mu.Unlock()
	// DeleteFunc zeroes what it cuts off: the queue keeps no withdrawn group.
	q.waiting = slices.DeleteFunc(q.waiting, func(w *group) bool { return slices.Contains(gs, w) })
}

// dispatch starts a runner on each idle core while groups wait. Called
// with q.mu held.
func (l *Local) dispatch() {
	q := &l.q
	for q.idle > 0 && len(q.waiting) > 0 {
		batch, threads := l.take()
		go l.run(batch, threads)
	}
}

// take removes the next batch from the queue and the cores that run it
// from the idle count. A batch is the groups that fit one pass, but no
// more than an idle core's share of what waits, so that the groups of one
// large Embed call spread over the cores. A batch that empties the queue
// borrows the cores left idle for its products. Called with q.mu held and
// at least one core idle.
func (l *Local) take() (batch []*group, threads int) {
	q := &l.q
	waiting := 0
	for _, g := range q.waiting {
		waiting += g.tokens
	}
	share := min(l.batch, (waiting+q.idle-1)/q.idle)
	tokens, n := 0, 0
	for n < len(q.waiting) && (n == 0 || tokens+q.waiting[n].tokens <= share) {
		tokens += q.waiting[n].tokens
		n++
	}
	batch = append(batch, q.waiting[:n]...)
	rest := copy(q.waiting, q.waiting[n:])
	clear(q.waiting[rest:])
	q.waiting = q.waiting[:rest]
	threads = 1
	if len(q.waiting) == 0 {
		threads = q.idle
	}
	q.idle -= threads
	return batch, threads
}

// run embeds batches until the queue is empty, then gives its cores back.
func (l *Local) run(batch []*group, threads int) {
	for {
		l.pass(batch, threads)
		q := &l.q
		q.mu.Lock()
		q.idle += threads
		if len(q.waiting) == 0 {
			q.mu.Unlock()
			return
		}
		batch, threads = l.take()
		l.dispatch() // cores this runner freed beyond its next batch
		q.mu.Unlock()
	}
}

// pass runs one forward pass over a batch and hands each group its
// vectors. A pass that carries one caller's groups stops when that caller
// gives up; one that carries several callers' runs to the end for the
// others.
func (l *Local) pass(batch []*group, threads int) {
	l.q.passes.Add(1)
	ctx, seqs := batch[0].ctx, batch[0].seqs
	if len(batch) > 1 {
		seqs = nil
		for _, g := range batch {
			seqs = append(seqs, g.seqs...)
			if g.ctx != ctx {
				ctx = context.Background()
			}
		}
	}
	vecs, err := l.model.Forward(ctx, seqs, threads)
	for _, g := range batch {
		if err != nil {
			g.err = err
		} else {
			g.vecs, vecs = vecs[:len(g.seqs):len(g.seqs)], vecs[len(g.seqs):]
		}
		close(g.done)
	}
}
