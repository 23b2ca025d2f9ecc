package bert

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/switchyard-router/switchyard/embed/kernel"
	"github.com/switchyard-router/switchyard/embed/modeltest"
)

func load(t *testing.T) *Model { return loadB(t, kernel.FP32) }

func loadB(t testing.TB, prec kernel.Precision) *Model {
	t.Helper()
	k, err := kernel.New(kernel.Best())
	if err != nil {
		t.Fatal(err)
	}
	m, err := Load(modeltest.Dir(t), 256, k, prec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func TestReadConfigRejectsWhatItCannotRun(t *testing.T) {
	good := `{"model_type":"bert","hidden_act":"gelu","hidden_size":384,"num_hidden_layers":6,
		"num_attention_heads":12,"intermediate_size":1536,"vocab_size":30522,
		"max_position_embeddings":512,"type_vocab_size":2,"layer_norm_eps":1e-12}`
	tests := []struct{ name, from, to, want string }{
		{"ok", "", "", ""},
		{"tanh gelu", `"gelu"`, `"gelu_new"`, "hidden_act"},
		{"not bert", `"bert"`, `"gpt2"`, "model_type"},
		{"heads do not divide", `"num_attention_heads":12`, `"num_attention_heads":7`, "multiple"},
		{"zero layers", `"num_hidden_layers":6`, `"num_hidden_layers":0`, "positive"},
		{"not json", `{`, `[`, "parse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.json")
			if err := os.WriteFile(path, []byte(strings.Replace(good, tt.from, tt.to, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := ReadConfig(path)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func TestForwardRejectsBadSequences(t *testing.T) {
	m := load(t)
	long := make([]int32, 257)
	for i := range long {
		long[i] = 1000
	}
	tests := []struct {
		name string
		seqs [][]int32
		want string
	}{
		{"empty sequence", [][]int32{{101, 102}, {}}, "sequence 1 is empty"},
		{"id past vocab", [][]int32{{101, 30522, 102}}, "outside vocabulary"},
		{"negative id", [][]int32{{101, -1, 102}}, "outside vocabulary"},
		{"too long", [][]int32{long}, "257 tokens"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := m.Forward(t.Context(), tt.seqs, 1)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
	if _, err := m.Forward(t.Context(), [][]int32{long}, 1); !errors.Is(err, ErrTooLong) {
		t.Fatalf("too long: err = %v, want ErrTooLong", err)
	}
}

// precisions runs a test at both precisions: at int8 too, each token's
// activations are quantized on their own, so packing and threads must not
// change results.
func precisions(t *testing.T, test func(t *testing.T, m *Model)) {
	for _, p := range []kernel.Precision{kernel.FP32, kernel.Int8} {
		t.Run(p.String(), func(t *testing.T) { test(t, loadB(t, p)) })
	}
}

// TestPackedBatchEqualsSeparatePasses checks the packing of several
// sequences into one pass: attention must not leak across sequence
// boundaries, and thread count must not change results.
func TestPackedBatchEqualsSeparatePasses(t *testing.T) { precisions(t, testPackedBatch) }

func testPackedBatch(t *testing.T, m *Model) {
	seqs := [][]int32{
		{101, 7592, 2088, 102},                   // hello world
		{101, 2129, 2079, 1045, 8081, 2023, 102}, // how do i fix this
		{101, 102},
	}
	long := []int32{101}
	for i := 0; i < 120; i++ {
		long = append(long, int32(2000+i))
	}
	seqs = append(seqs, append(long, 102))
	var single [][]float32
	for _, s := range seqs {
		v, err := m.Forward(t.Context(), [][]int32{s}, 1)
		if err != nil {
			t.Fatal(err)
		}
		single = append(single, v[0])
	}
	for _, threads := range []int{1, 2, 3} {
		batch, err := m.Forward(t.Context(), seqs, threads)
		if err != nil {
			t.Fatal(err)
		}
		for i := range seqs {
			var dot, norm float64
			for j := range batch[i] {
				dot += float64(batch[i][j]) * float64(single[i][j])
				norm += float64(batch[i][j]) * float64(batch[i][j])
			}
			if math.Abs(norm-1) > 1e-5 || dot < 0.999999 {
				t.Errorf("threads=%d seq %d: norm² %.7f, cosine with its own pass %.7f", threads, i, norm, dot)
			}
		}
	}
}

// TestThreadsSplitOneSequenceExactly: a lone long sentence is split across
// threads by weight panels and by attention heads, and every value is
// computed by the same kernel calls whatever the split, so the result is
// bit for bit that of one thread.
func TestThreadsSplitOneSequenceExactly(t *testing.T) { precisions(t, testThreadsSplit) }

func testThreadsSplit(t *testing.T, m *Model) {
	seq := []int32{101}
	for i := 0; i < 198; i++ {
		seq = append(seq, int32(3000+7*i))
	}
	seq = append(seq, 102)
	want, err := m.Forward(t.Context(), [][]int32{seq}, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, threads := range []int{2, 3, 5} {
		got, err := m.Forward(t.Context(), [][]int32{seq}, threads)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got[0], want[0]) {
			t.Errorf("threads=%d: embedding differs from one thread's", threads)
		}
	}
}

func TestForwardHonoursCancellation(t *testing.T) {
	m := load(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := m.Forward(ctx, [][]int32{{101, 102}}, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestLoadReportsMissingWeights(t *testing.T) {
	dir := t.TempDir()
	cfg, err := os.ReadFile(filepath.Join(modeltest.Dir(t), "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	k, _ := kernel.New(kernel.Generic)
	if _, err := Load(dir, 256, k, kernel.FP32); err == nil || !strings.Contains(err.Error(), "model.safetensors") {
		t.Fatalf("err = %v, want one naming model.safetensors", err)
	}
	if _, err := Load(modeltest.Dir(t), 600, k, kernel.Int8); err == nil || !strings.Contains(err.Error(), "max sequence") {
		t.Fatalf("maxSeq 600: err = %v, want a max sequence error", err)
	}
}
