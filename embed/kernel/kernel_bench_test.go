package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// Run with: go test -run XXX -bench . -count 6 -cpu 1 ./embed/kernel/

// benchShapes are the model's four products as (N, K): the fused QKV
// projection, the attention output, and the two feed-forward layers.
var benchShapes = []struct {
	name string
	n, k int
}{
	{"qkv", 1152, 384},
	{"attnout", 384, 384},
	{"ffup", 1536, 384},
	{"ffdown", 384, 1536},
}

func BenchmarkMatMul(b *testing.B) {
	for _, k := range levels(b) {
		b.Run(k.Level().String(), func(b *testing.B) {
			for _, s := range benchShapes {
				for _, m := range []int{16, 128, 512} {
					b.Run(fmt.Sprintf("%s_%dx%d/m=%d", s.name, s.n, s.k, m), func(b *testing.B) {
						r := rand.New(rand.NewPCG(1, 2))
						w := k.Pack(randSlice(r, s.n*s.k, 1), s.n, s.k)
						a, bias := randSlice(r, m*s.k, 1), randSlice(r, s.n, 1)
						c := make([]float32, m*s.n)
						for b.Loop() {
							k.MatMul(c, a, m, w, bias, 0, w.Panels())
						}
						flops := 2 * float64(m) * float64(s.n) * float64(s.k)
						b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
					})
				}
			}
		})
	}
}

// BenchmarkMatMulInt8 times the int8 product with its activation
// quantization, which is part of every call in the model; GOP/s counts
// 2·m·n·k operations, as GFLOP/s does for the float32 path.
func BenchmarkMatMulInt8(b *testing.B) {
	for _, k := range levels(b) {
		b.Run(k.Level().String(), func(b *testing.B) {
			for _, s := range benchShapes {
				for _, m := range []int{16, 128, 512} {
					b.Run(fmt.Sprintf("%s_%dx%d/m=%d", s.name, s.n, s.k, m), func(b *testing.B) {
						r := rand.New(rand.NewPCG(1, 2))
						w := k.PackInt8(randSlice(r, s.n*s.k, 1), s.n, s.k)
						a, bias := randSlice(r, m*s.k, 1), randSlice(r, s.n, 1)
						c := make([]float32, m*s.n)
						var q Quantized
						for b.Loop() {
							q.Reset(m, s.k)
							k.Quantize(&q, a, 0, m)
							k.MatMulInt8(c, &q, w, bias, 0, w.Panels())
						}
						ops := 2 * float64(m) * float64(s.n) * float64(s.k)
						b.ReportMetric(ops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GOP/s")
					})
				}
			}
		})
	}
}

func BenchmarkGELU(b *testing.B) {
	for _, k := range levels(b) {
		b.Run(k.Level().String(), func(b *testing.B) {
			x := randSlice(rand.New(rand.NewPCG(1, 3)), 16*1536, 4)
			y := make([]float32, len(x))
			for b.Loop() {
				copy(y, x)
				k.GELU(y)
			}
		})
	}
}

func BenchmarkAttention(b *testing.B) {
	for _, k := range levels(b) {
		b.Run(k.Level().String(), func(b *testing.B) {
			for _, seq := range []int{16, 32, 64, 128, 256} {
				b.Run(fmt.Sprintf("seq=%d", seq), func(b *testing.B) {
					qkv := randSlice(rand.New(rand.NewPCG(1, 4)), seq*1152, 1)
					out := make([]float32, seq*384)
					scratch := make([]float32, AttentionScratch(seq))
					for b.Loop() {
						k.Attention(out, qkv, seq, 12, 32, seq, scratch)
					}
				})
			}
		})
	}
}

// Model dimensions of all-MiniLM-L6-v2.
const (
	benchLayers = 6
	benchHidden = 384
	benchHeads  = 12
	benchFF     = 1536
)

type benchLayer struct {
	qkv, out, up, down     *Packed
	bQKV, bOut, bUp, bDown []float32
	ln1g, ln1b, ln2g, ln2b []float32
}

// benchEncoder is a stand-in for the model: six layers of random weights
// with the real shapes (about 42 MB, so like the real model it does not fit
// in cache and every forward pass streams its weights from memory).
type benchEncoder struct {
	k      *Kernels
	layers []benchLayer
}

func newBenchEncoder(k *Kernels) *benchEncoder {
	r := rand.New(rand.NewPCG(9, 9))
	mat := func(n, kk int) *Packed {
		w := randSlice(r, n*kk, float32(math.Sqrt(3/float64(kk)))) // unit variance outputs
		return k.Pack(w, n, kk)
	}
	e := &benchEncoder{k: k}
	for range benchLayers {
		e.layers = append(e.layers, benchLayer{
			qkv: mat(3*benchHidden, benchHidden), out: mat(benchHidden, benchHidden),
			up: mat(benchFF, benchHidden), down: mat(benchHidden, benchFF),
			bQKV: randSlice(r, 3*benchHidden, 0.1), bOut: randSlice(r, benchHidden, 0.1),
			bUp: randSlice(r, benchFF, 0.1), bDown: randSlice(r, benchHidden, 0.1),
			ln1g: randSlice(r, benchHidden, 1), ln1b: randSlice(r, benchHidden, 0.1),
			ln2g: randSlice(r, benchHidden, 1), ln2b: randSlice(r, benchHidden, 0.1),
		})
	}
	return e
}

// forward runs the encoder in place on x ([sentences·seq x hidden]): each
// sentence of seq tokens attends only to itself, as in a packed batch.
func (e *benchEncoder) forward(x []float32, sentences, seq int, buf []float32) {
	m := sentences * seq
	k := e.k
	qkv := buf[:m*3*benchHidden]
	att := buf[len(qkv) : len(qkv)+m*benchHidden]
	ff := buf[len(qkv)+len(att) : len(qkv)+len(att)+m*benchFF]
	scratch := buf[len(qkv)+len(att)+len(ff):]
	for _, l := range e.layers {
		k.MatMul(qkv, x, m, l.qkv, l.bQKV, 0, l.qkv.Panels())
		for s := 0; s < sentences; s++ {
			k.Attention(att[s*seq*benchHidden:], qkv[s*seq*3*benchHidden:], seq, benchHeads, benchHidden/benchHeads, seq, scratch)
		}
		h := ff[:m*benchHidden] // the attention output projection, reusing ff
		k.MatMul(h, att, m, l.out, l.bOut, 0, l.out.Panels())
		k.LayerNorm(x, h, m, benchHidden, l.ln1g, l.ln1b, 1e-12)
		k.MatMul(ff, x, m, l.up, l.bUp, 0, l.up.Panels())
		k.GELU(ff)
		k.MatMul(att, ff, m, l.down, l.bDown, 0, l.down.Panels())
		k.LayerNorm(x, att, m, benchHidden, l.ln2g, l.ln2b, 1e-12)
	}
}

func BenchmarkEncoder(b *testing.B) {
	type run struct{ sentences, seq int }
	runs := []run{{1, 8}, {1, 16}, {1, 32}, {1, 64}, {1, 128}, {32, 16}}
	for _, k := range levels(b) {
		b.Run(k.Level().String(), func(b *testing.B) {
			e := newBenchEncoder(k)
			for _, rn := range runs {
				name := fmt.Sprintf("tokens=%d", rn.seq)
				if rn.sentences > 1 {
					name = fmt.Sprintf("batch=%dx%d", rn.sentences, rn.seq)
				}
				b.Run(name, func(b *testing.B) {
					m := rn.sentences * rn.seq
					x0 := randSlice(rand.New(rand.NewPCG(1, 5)), m*benchHidden, 1)
					x := make([]float32, len(x0))
					buf := make([]float32, m*(4*benchHidden+benchFF)+AttentionScratch(rn.seq))
					for b.Loop() {
						copy(x, x0)
						e.forward(x, rn.sentences, rn.seq, buf)
					}
					sec := b.Elapsed().Seconds() / float64(b.N)
					b.ReportMetric(sec*1e3, "ms/op")
					if rn.sentences > 1 {
						b.ReportMetric(float64(rn.sentences)/sec, "sentences/s")
					}
				})
			}
		})
	}
}
