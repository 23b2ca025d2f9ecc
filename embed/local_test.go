package embed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-router/switchyard/embed/kernel"
	"github.com/switchyard-router/switchyard/embed/modelstore"
	"github.com/switchyard-router/switchyard/embed/modeltest"
)

func openModel(tb testing.TB, opts LocalOptions) *Local {
	tb.Helper()
	m, err := NewLocal(context.Background(), modeltest.Dir(tb), modelstore.MiniLM(), opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { m.Close() })
	return m
}

type reference struct {
	Inputs []struct {
		Name      string    `json:"name"`
		Text      string    `json:"text"`
		IDs       []int32   `json:"ids"`
		Embedding []float32 `json:"embedding"`
	} `json:"inputs"`
}

func loadReference(t *testing.T) reference {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "embed", "reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref reference
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.Inputs) < 60 {
		t.Fatalf("reference has %d inputs, want ≥ 60", len(ref.Inputs))
	}
	return ref
}

// levels lists every kernel path this CPU can run.
func levels() []kernel.Level {
	var out []kernel.Level
	for _, l := range []kernel.Level{kernel.Generic, kernel.AVX2, kernel.AVX512} {
		if kernel.Supported(l) {
			out = append(out, l)
		}
	}
	return out
}

// TestParityWithSentenceTransformers checks every reference input, on every
// kernel path, one at a time and as one mixed-length batch, against the
// token ids and embeddings sentence-transformers produced
// (scripts/reference.py).
func TestParityWithSentenceTransformers(t *testing.T) {
	full := loadReference(t)
	for _, level := range levels() {
		t.Run(level.String(), func(t *testing.T) {
			ref := full
			if level == kernel.Generic {
				// The portable path is ~50x slower, and far slower again
				// under -race: it gets the short inputs. The SIMD paths,
				// checked against it in embed/kernel, get every input.
				ref = subset(full, 24)
			}
			texts := make([]string, len(ref.Inputs))
			for i, in := range ref.Inputs {
				texts[i] = in.Text
			}
			m := openModel(t, LocalOptions{Level: level, ForceLevel: true})
			batch, err := m.Embed(t.Context(), texts)
			if err != nil {
				t.Fatal(err)
			}
			worst, worstName := 1.0, ""
			for i, in := range ref.Inputs {
				if ids := m.Tokens(in.Text); !slices.Equal(ids, in.IDs) {
					t.Errorf("%s: token ids differ\n got %v\nwant %v", in.Name, ids, in.IDs)
				}
				single, err := m.Embed(t.Context(), []string{in.Text})
				if err != nil {
					t.Fatal(err)
				}
				for _, v := range [][]float32{single[0], batch[i]} {
					c := cos(v, in.Embedding)
					if c < 0.9999 {
						t.Errorf("%s: cosine with sentence-transformers %.6f < 0.9999", in.Name, c)
					}
					if c < worst {
						worst, worstName = c, in.Name
					}
				}
			}
			t.Logf("%s: lowest cosine 1 - %.2g (%s) over %d inputs", level, 1-worst, worstName, len(ref.Inputs))
		})
	}
}

// subset keeps the inputs of at most maxTokens tokens.
func subset(ref reference, maxTokens int) reference {
	var out reference
	for _, in := range ref.Inputs {
		if len(in.IDs) <= maxTokens {
			out.Inputs = append(out.Inputs, in)
		}
	}
	return out
}

func TestEmptyInputGivesEmptyResult(t *testing.T) {
	m := openModel(t, LocalOptions{})
	for _, in := range [][]string{nil, {}} {
		out, err := m.Embed(t.Context(), in)
		if err != nil || out == nil || len(out) != 0 {
			t.Fatalf("Embed(%v) = %v, %v; want an empty, non-nil result", in, out, err)
		}
	}
}

func TestOversizeInputIsTruncatedNotRefused(t *testing.T) {
	m := openModel(t, LocalOptions{})
	long := strings.Repeat("tokens upon tokens ", 2000) // ≈ 6000 tokens
	if n := len(m.Tokens(long)); n != 256 {
		t.Fatalf("Tokens(long) has %d ids, want 256", n)
	}
	// Everything past the limit is cut, so a different tail changes nothing.
	out, err := m.Embed(t.Context(), []string{long, long + " but a different ending entirely"})
	if err != nil {
		t.Fatal(err)
	}
	if c := cos(out[0], out[1]); c < 0.999999 {
		t.Fatalf("texts equal in their first 256 tokens embed differently: cosine %.7f", c)
	}
}

func TestSemanticsOrderSimilarTextsFirst(t *testing.T) {
	m := openModel(t, LocalOptions{})
	out, err := m.Embed(t.Context(), []string{
		"my python script throws a KeyError, how do I fix it",
		"debugging an exception in Python code",
		"a recipe for banana bread",
	})
	if err != nil {
		t.Fatal(err)
	}
	related, unrelated := cos(out[0], out[1]), cos(out[0], out[2])
	if related < unrelated+0.3 {
		t.Fatalf("cos(python error, python debugging) = %.3f, cos(python error, bread) = %.3f; want a clear gap", related, unrelated)
	}
}

func TestConcurrentCallsAgreeWithSequential(t *testing.T) {
	m := openModel(t, LocalOptions{Threads: 2})
	ref := loadReference(t)
	want := make([][]float32, len(ref.Inputs))
	for i, in := range ref.Inputs {
		v, err := m.Embed(t.Context(), []string{in.Text})
		if err != nil {
			t.Fatal(err)
		}
		want[i] = v[0]
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each goroutine embeds a different rotation, in batches of 5.
			for start := 0; start < len(ref.Inputs); start += 5 {
				var texts []string
				var idx []int
				for j := start; j < min(start+5, len(ref.Inputs)); j++ {
					k := (j + g*7) % len(ref.Inputs)
					texts = append(texts, ref.Inputs[k].Text)
					idx = append(idx, k)
				}
				got, err := m.Embed(context.Background(), texts)
				if err != nil {
					errs <- err
					return
				}
				for i, k := range idx {
					if c := cos(got[i], want[k]); c < 0.99999 {
						errs <- fmt.Errorf("goroutine %d: %s: cosine %.7f with the sequential result", g, ref.Inputs[k].Name, c)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestCancelledContextStopsEmbedding(t *testing.T) {
	m := openModel(t, LocalOptions{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	texts := make([]string, 64)
	for i := range texts {
		texts[i] = strings.Repeat("a long enough sentence ", 40)
	}
	_, err := m.Embed(ctx, texts)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Embed with a cancelled context: err = %v, want context.Canceled", err)
	}
	_, err = m.Embed(ctx, texts[:1])
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("single Embed with a cancelled context: err = %v, want context.Canceled", err)
	}
}

func TestSplitBalancesAndBoundsGroups(t *testing.T) {
	seq := func(n int) []int32 { return make([]int32, n) }
	var seqs [][]int32
	for _, n := range []int{10, 10, 10, 10, 200, 5, 5, 5} {
		seqs = append(seqs, seq(n))
	}
	groups := split(seqs, 100, 2)
	total := 0
	for _, g := range groups {
		toks := 0
		for _, s := range g {
			toks += len(s)
		}
		// One oversize sequence may stand alone; otherwise the budget holds.
		if toks > 100 && len(g) > 1 {
			t.Errorf("group of %d tokens over budget 100: %v", toks, g)
		}
		total += len(g)
	}
	if total != len(seqs) || len(groups) < 2 {
		t.Fatalf("split into %d groups holding %d sequences, want ≥ 2 groups holding %d", len(groups), total, len(seqs))
	}
	if got := split(seqs[:1], 100, 1); len(got) != 1 {
		t.Fatalf("one sequence split into %d groups", len(got))
	}
}

func cos(a, b []float32) float64 {
	var d, na, nb float64
	for i := range a {
		d += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	return d / math.Sqrt(na*nb)
}

// TestConcurrentTextsShareAPass: single texts that wait for the one core
// are embedded together in the next pass, and each gets exactly the vector
// it gets alone (a row's arithmetic does not depend on the rows beside it).
func TestConcurrentTextsShareAPass(t *testing.T) {
	m := openModel(t, LocalOptions{Threads: 1})
	texts := []string{"how do I reverse a linked list", "write a poem about the sea", "what is 17% of 240",
		"translate good morning into German", "summarise these meeting notes", "why is my Go build failing",
		"a haiku about autumn rain", "prove that there are infinitely many primes", "tell me a joke about cats",
		"explain the CAP theorem", "book a table for two", "what does HTTP 429 mean"}
	want := make([][]float32, len(texts))
	for i, text := range texts {
		v, err := m.Embed(t.Context(), []string{text})
		if err != nil {
			t.Fatal(err)
		}
		want[i] = v[0]
	}
	before := m.q.passes.Load()
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, len(texts))
	for i, text := range texts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			v, err := m.Embed(t.Context(), []string{text})
			if err != nil {
				errs <- err
				return
			}
			if !slices.Equal(v[0], want[i]) {
				errs <- fmt.Errorf("%q: the vector from a shared pass differs from the one embedded alone", text)
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	passes := m.q.passes.Load() - before
	t.Logf("%d concurrent texts took %d passes", len(texts), passes)
	if passes >= uint64(len(texts)) {
		t.Fatalf("%d concurrent texts took %d passes: none shared", len(texts), passes)
	}
	// The runner hands its core back just after the last vectors.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		m.q.mu.Lock()
		idle, waiting := m.q.idle, len(m.q.waiting)
		m.q.mu.Unlock()
		if idle == 1 && waiting == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the calls: %d cores idle, %d groups waiting; want 1 and 0", idle, waiting)
		}
	}
}
