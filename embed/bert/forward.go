package bert

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/switchyard-router/switchyard/embed/kernel"
)

// Sequences of one batch are packed back to back: every linear layer runs
// once over all tokens of all sequences, and only attention looks at
// sequence boundaries. That is the attention mask of a padded batch without
// the padding: no FLOP is spent on [PAD] tokens, so mixed lengths cost what
// their tokens cost.

// workspace holds the activations of one forward pass; pooled because a
// batch of 32 sentences needs a few megabytes.
type workspace struct {
	x, tmp, qkv, ctx, inter []float32
	scratch                 [][]float32      // attention scratch, one per thread
	q                       kernel.Quantized // a linear layer's input, at int8 precision
}

type workspacePool struct{ p sync.Pool }

func (wp *workspacePool) get(tokens, hidden, inter, maxLen, threads int) *workspace {
	ws, _ := wp.p.Get().(*workspace)
	if ws == nil {
		ws = &workspace{}
	}
	ws.x = grow(ws.x, tokens*hidden)
	ws.tmp = grow(ws.tmp, tokens*hidden)
	ws.qkv = grow(ws.qkv, tokens*3*hidden)
	ws.ctx = grow(ws.ctx, tokens*hidden)
	ws.inter = grow(ws.inter, tokens*inter)
	for len(ws.scratch) < threads {
		ws.scratch = append(ws.scratch, nil)
	}
	for i := 0; i < threads; i++ {
		ws.scratch[i] = grow(ws.scratch[i], kernel.AttentionScratch(maxLen))
	}
	return ws
}

func (wp *workspacePool) put(ws *workspace) { wp.p.Put(ws) }

func grow(b []float32, n int) []float32 {
	if cap(b) < n {
		return make([]float32, n)
	}
	return b[:n]
}

// ErrTooLong reports a sequence longer than the model's maximum; callers
// truncate before calling Forward.
var ErrTooLong = errors.New("bert: sequence longer than the model's maximum")

// Forward embeds each token-id sequence (each already holding its [CLS] and
// [SEP]) into a unit-length vector: the mean of the last hidden states over
// the sequence's tokens, L2-normalised. threads ≥ 1 bounds the goroutines
// the pass may use; each extra one is worth it only for long inputs or large
// batches. Forward checks ctx between layers.
func (m *Model) Forward(ctx context.Context, seqs [][]int32, threads int) ([][]float32, error) {
	if len(seqs) == 0 {
		return [][]float32{}, nil
	}
	threads = max(threads, 1)
	h := m.cfg.Hidden
	tokens, maxLen := 0, 0
	for i, s := range seqs {
		if len(s) == 0 {
			return nil, fmt.Errorf("bert: sequence %d is empty", i)
		}
		if len(s) > m.maxSeq {
			return nil, fmt.Errorf("%w: sequence %d has %d tokens, max %d", ErrTooLong, i, len(s), m.maxSeq)
		}
		for _, id := range s {
			if id < 0 || int(id) >= m.cfg.VocabSize {
				return nil, fmt.Errorf("bert: sequence %d: token id %d outside vocabulary of %d", i, id, m.cfg.VocabSize)
			}
		}
		tokens += len(s)
		maxLen = max(maxLen, len(s))
	}
	ws := m.spaces.get(tokens, h, m.cfg.Intermediate, maxLen, threads)
	defer m.spaces.put(ws)

	// offsets[i] is the first row of sequence i; the same for every layer.
	offsets := make([]int, len(seqs)+1)
	for i, s := range seqs {
		offsets[i+1] = offsets[i] + len(s)
	}
	tm := newTeam(threads)
	defer tm.stop()
	m.embedTokens(ws.x, seqs)
	for li := range m.layers {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		m.layer(&m.layers[li], ws, offsets, tm)
	}
	return m.pool(ws.x, seqs), nil
}

// embedTokens writes word + position + type-0 embeddings, then LayerNorm.
func (m *Model) embedTokens(x []float32, seqs [][]int32) {
	h := m.cfg.Hidden
	row := 0
	for _, s := range seqs {
		for p, id := range s {
			dst := x[row*h : row*h+h]
			w := m.word[int(id)*h : int(id)*h+h]
			ps := m.pos[p*h : p*h+h]
			t := m.typ[:h]
			for j := range dst {
				dst[j] = w[j] + ps[j] + t[j]
			}
			row++
		}
	}
	m.k.LayerNorm(x, nil, row, h, m.lnG, m.lnB, m.eps)
}

func (m *Model) layer(l *layer, ws *workspace, offsets []int, tm *team) {
	h, heads := m.cfg.Hidden, m.cfg.Heads
	seqs, tokens := len(offsets)-1, offsets[len(offsets)-1]
	m.matmul(ws.qkv, ws.x, tokens, &l.qkv, ws, tm)

	// Attention: the unit of work is one head of one sequence, so a single
	// long sentence (where attention's quadratic cost is a third of the
	// pass) is split across threads too, not just the sequences of a batch.
	tm.run(seqs*heads, func(t, lo, hi int) {
		for u := lo; u < hi; {
			i, h0 := u/heads, u%heads
			h1 := min(heads, h0+hi-u)
			a, b := offsets[i], offsets[i+1]
			n := b - a
			m.k.AttentionHeads(ws.ctx[a*h:b*h], ws.qkv[a*3*h:b*3*h], n, heads, h/heads, n, h0, h1, ws.scratch[t])
			u += h1 - h0
		}
	})

	m.matmul(ws.tmp, ws.ctx, tokens, &l.attnOut, ws, tm)
	m.layerNorm(ws.tmp, ws.x, tokens, l.ln1G, l.ln1B, tm)
	ws.x, ws.tmp = ws.tmp, ws.x

	m.matmul(ws.inter, ws.x, tokens, &l.inter, ws, tm)
	in := m.cfg.Intermediate
	tm.run(tokens, func(_, lo, hi int) {
		m.k.GELU(ws.inter[lo*in : hi*in])
	})
	m.matmul(ws.tmp, ws.inter, tokens, &l.out, ws, tm)
	m.layerNorm(ws.tmp, ws.x, tokens, l.ln2G, l.ln2B, tm)
	ws.x, ws.tmp = ws.tmp, ws.x
}

// serialFLOPs is the work below which a product stays on one goroutine:
// splitting it would leave each thread too little to hide the hand-off.
const serialFLOPs = 1 << 20

// int8Speedup is how many times faster the int8 product runs than the
// float32 one: the same hand-off cost is worth paying only for
// proportionally more work.
const int8Speedup = 4

// matmul runs one linear layer, c = a·Wᵀ + bias, split across the team by
// column panels. At int8 precision the input is first quantized into
// ws.q, split by rows: every panel needs every row, so the two steps are
// separate team runs.
func (m *Model) matmul(c, a []float32, rows int, l *linear, ws *workspace, tm *team) {
	if l.q != nil {
		w := l.q
		serial := 2*rows*w.N*w.K < serialFLOPs*int8Speedup
		ws.q.Reset(rows, w.K)
		if serial {
			m.k.Quantize(&ws.q, a, 0, rows)
			m.k.MatMulInt8(c, &ws.q, w, l.bias, 0, w.Panels())
			return
		}
		tm.run(rows, func(_, lo, hi int) {
			m.k.Quantize(&ws.q, a, lo, hi)
		})
		tm.run(w.Panels(), func(_, lo, hi int) {
			m.k.MatMulInt8(c, &ws.q, w, l.bias, lo, hi)
		})
		return
	}
	w := l.f
	panels := w.Panels()
	if 2*rows*w.N*w.K < serialFLOPs {
		m.k.MatMul(c, a, rows, w, l.bias, 0, panels)
		return
	}
	tm.run(panels, func(_, lo, hi int) {
		m.k.MatMul(c, a, rows, w, l.bias, lo, hi)
	})
}

func (m *Model) layerNorm(x, res []float32, rows int, g, b []float32, tm *team) {
	h := m.cfg.Hidden
	tm.run(rows, func(_, lo, hi int) {
		m.k.LayerNorm(x[lo*h:hi*h], res[lo*h:hi*h], hi-lo, h, g, b, m.eps)
	})
}

// pool averages each sequence's hidden states and normalises the result to
// unit length (sentence-transformers' Pooling(mean) then Normalize). Sums are
// in float64 so that 256-token means are as exact as the reference.
func (m *Model) pool(x []float32, seqs [][]int32) [][]float32 {
	h := m.cfg.Hidden
	out := make([][]float32, len(seqs))
	flat := make([]float32, len(seqs)*h)
	acc := make([]float64, h)
	row := 0
	for i, s := range seqs {
		clear(acc)
		for range s {
			for j, v := range x[row*h : row*h+h] {
				acc[j] += float64(v)
			}
			row++
		}
		var norm float64
		for j := range acc {
			acc[j] /= float64(len(s))
			norm += acc[j] * acc[j]
		}
		// Normalize divides by max(‖v‖, 1e-12), as torch's F.normalize does.
		norm = max(math.Sqrt(norm), 1e-12)
		v := flat[i*h : i*h+h : i*h+h]
		for j := range v {
			v[j] = float32(acc[j] / norm)
		}
		out[i] = v
	}
	return out
}
