package modelstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fixture is a small fake model: two required files and two optional ones,
// one of them in a subdirectory like 1_Pooling/config.json.
type fixture struct {
	m    Manifest
	data map[string][]byte // by manifest path
}

func newFixture(t testing.TB) fixture {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	weights := make([]byte, 300<<10) // several hash buffers' worth
	for i := range weights {
		weights[i] = byte(rng.UintN(256))
	}
	data := map[string][]byte{
		"weights.bin":     weights,
		"tok.json":        []byte(`{"vocab":["[PAD]","[CLS]"]}`),
		"extra.txt":       []byte("extra\n"),
		"sub/config.json": []byte(`{"pooling":"mean"}`),
	}
	m := Manifest{Name: "tiny", Repo: "org/tiny", Revision: "0123abc", Dim: 4, MaxSeqLen: 8, Pooling: "mean", Normalize: true}
	for _, p := range []string{"weights.bin", "tok.json", "extra.txt", "sub/config.json"} {
		m.Files = append(m.Files, File{Path: p, Size: int64(len(data[p])), SHA256: sum(data[p]), Optional: p == "extra.txt" || p == "sub/config.json"})
	}
	return fixture{m: m, data: data}
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// writeTree writes files (by slash path) under dir.
func writeTree(t testing.TB, dir string, files map[string][]byte) {
	t.Helper()
	for p, b := range files {
		name := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// install puts the whole fixture into a fresh model dir and returns it.
func (fx fixture) install(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), fx.m.Name)
	writeTree(t, dir, fx.data)
	return dir
}

// assertIntact fails unless dir verifies against the fixture's manifest.
func (fx fixture) assertIntact(t testing.TB, dir string) {
	t.Helper()
	if _, err := Verify(context.Background(), dir, fx.m); err != nil {
		t.Fatalf("Verify after install: %v", err)
	}
}

// assertNoPartials fails if a temporary download was left behind.
func assertNoPartials(t testing.TB, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".partial") {
			t.Errorf("temporary file left behind: %s", p)
		}
		return nil
	})
}

func TestRoot(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    string
		wantErr bool
	}{
		{"override", map[string]string{"SWITCHYARD_MODELS": "/m", "XDG_CACHE_HOME": "/x", "HOME": "/h"}, "/m", false},
		{"xdg", map[string]string{"XDG_CACHE_HOME": "/x", "HOME": "/h"}, "/x/switchyard/models", false},
		{"relative xdg ignored", map[string]string{"XDG_CACHE_HOME": "x", "HOME": "/h"}, "/h/.cache/switchyard/models", false},
		{"home", map[string]string{"HOME": "/h"}, "/h/.cache/switchyard/models", false},
		{"nothing set", nil, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Root(func(k string) string { return tt.env[k] })
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("Root = %q, %v; want %q, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
	if got := MiniLM().Dir("/r"); got != "/r/all-MiniLM-L6-v2" {
		t.Errorf("Dir = %q", got)
	}
}

func TestVerify(t *testing.T) {
	fx := newFixture(t)
	ctx := t.Context()

	t.Run("intact", func(t *testing.T) {
		rep, err := Verify(ctx, fx.install(t), fx.m)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range rep.Files {
			if f.Status != StatusOK || f.SHA256 != f.File.SHA256 || f.Size != f.File.Size {
				t.Errorf("%s: %v (size %d, sha256 %s)", f.File.Path, f.Status, f.Size, f.SHA256)
			}
		}
	})

	t.Run("not installed", func(t *testing.T) {
		for _, dir := range []string{t.TempDir(), filepath.Join(t.TempDir(), "nope")} {
			_, err := Verify(ctx, dir, fx.m)
			if !errors.Is(err, ErrNotInstalled) {
				t.Fatalf("err = %v, want ErrNotInstalled", err)
			}
			want := fmt.Sprintf(`model tiny is not installed in %s: run "switchyard model pull" (offline: "bash scripts/fetch-model.sh")`, dir)
			if err.Error() != want {
				t.Errorf("message:\n got %s\nwant %s", err, want)
			}
		}
	})

	t.Run("required file missing", func(t *testing.T) {
		dir := fx.install(t)
		os.Remove(filepath.Join(dir, "tok.json"))
		rep, err := Verify(ctx, dir, fx.m)
		if !errors.Is(err, ErrNotInstalled) || !strings.Contains(err.Error(), "(missing tok.json)") {
			t.Fatalf("err = %v, want ErrNotInstalled naming tok.json", err)
		}
		if rep.Files[1].Status != StatusMissing {
			t.Errorf("tok.json status = %v", rep.Files[1].Status)
		}
	})

	t.Run("optional file missing", func(t *testing.T) {
		dir := fx.install(t)
		os.RemoveAll(filepath.Join(dir, "sub"))
		os.Remove(filepath.Join(dir, "extra.txt"))
		if _, err := Verify(ctx, dir, fx.m); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("truncated", func(t *testing.T) {
		dir := fx.install(t)
		os.Truncate(filepath.Join(dir, "weights.bin"), 1000)
		rep, err := Verify(ctx, dir, fx.m)
		if err == nil || errors.Is(err, ErrNotInstalled) {
			t.Fatalf("err = %v, want a damaged-model error", err)
		}
		want := fmt.Sprintf("weights.bin: size mismatch: expected %d bytes, got 1000", len(fx.data["weights.bin"]))
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to contain %q", err, want)
		}
		if rep.Files[0].Status != StatusSizeMismatch {
			t.Errorf("status = %v", rep.Files[0].Status)
		}
	})

	t.Run("wrong hash", func(t *testing.T) {
		dir := fx.install(t)
		bad := bytes.Clone(fx.data["weights.bin"])
		bad[len(bad)/2] ^= 1
		writeTree(t, dir, map[string][]byte{"weights.bin": bad})
		rep, err := Verify(ctx, dir, fx.m)
		want := fmt.Sprintf("weights.bin: sha256 mismatch: expected %s, got %s", fx.m.Files[0].SHA256, sum(bad))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("err = %v\nwant it to contain %q", err, want)
		}
		if r := rep.Files[0]; r.Status != StatusHashMismatch || r.SHA256 != sum(bad) {
			t.Errorf("result = %+v", r)
		}
		if got := rep.Files[0].Err().Error(); got != want {
			t.Errorf("FileResult.Err = %q", got)
		}
	})

	t.Run("damaged optional file", func(t *testing.T) {
		dir := fx.install(t)
		writeTree(t, dir, map[string][]byte{"sub/config.json": []byte(`{"pooling":"max!"}`)})
		if _, err := Verify(ctx, dir, fx.m); err == nil || !strings.Contains(err.Error(), "sub/config.json: sha256 mismatch") {
			t.Fatalf("err = %v, want a mismatch naming sub/config.json", err)
		}
	})

	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := Verify(ctx, fx.install(t), fx.m); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	})

	t.Run("manifest path escaping the dir", func(t *testing.T) {
		m := fx.m
		m.Files = []File{{Path: "../evil", Size: 1, SHA256: "00"}}
		if _, err := Verify(ctx, t.TempDir(), m); err == nil || errors.Is(err, ErrNotInstalled) {
			t.Fatalf("err = %v, want a refusal", err)
		}
	})
}

func TestWriteFileKeepsGoodFileOnBadCopy(t *testing.T) {
	fx := newFixture(t)
	dir := fx.install(t)
	f := fx.m.Files[0]
	bad := bytes.Clone(fx.data[f.Path])
	bad[0] ^= 0xff
	var out bytes.Buffer
	err := writeFile(t.Context(), dir, f, bytes.NewReader(bad), newOutput(&out))
	if err == nil || !strings.Contains(err.Error(), "sha256 mismatch") {
		t.Fatalf("err = %v, want sha256 mismatch", err)
	}
	err = writeFile(t.Context(), dir, f, bytes.NewReader(fx.data[f.Path][:100]), newOutput(&out))
	if err == nil || !strings.Contains(err.Error(), "size mismatch") {
		t.Fatalf("err = %v, want size mismatch", err)
	}
	err = writeFile(t.Context(), dir, f, bytes.NewReader(append(bytes.Clone(fx.data[f.Path]), 'x')), newOutput(&out))
	if err == nil || !strings.Contains(err.Error(), "got more") {
		t.Fatalf("err = %v, want size mismatch (too long)", err)
	}
	fx.assertIntact(t, dir)
	assertNoPartials(t, dir)
}

func TestMeter(t *testing.T) {
	t.Run("pipe: one line per file", func(t *testing.T) {
		var out bytes.Buffer
		m := newMeter(&out, false, "weights.bin", 3<<20)
		for range 3 {
			m.Write(make([]byte, 1<<20))
		}
		m.done("ok")
		got := out.String()
		if strings.Count(got, "\n") != 1 || strings.Contains(got, "\r") {
			t.Fatalf("want one clean line, got %q", got)
		}
		for _, want := range []string{"weights.bin", "3.0 MiB / 3.0 MiB", "100%", "/s", "ok"} {
			if !strings.Contains(got, want) {
				t.Errorf("%q lacks %q", got, want)
			}
		}
	})
	t.Run("terminal: redrawn in place", func(t *testing.T) {
		var out bytes.Buffer
		m := newMeter(&out, true, "weights.bin", 2048)
		m.drawn = m.drawn.Add(-redrawEvery) // due for a redraw
		m.Write(make([]byte, 1024))
		m.done("ok")
		got := out.String()
		if !strings.HasPrefix(got, "\rweights.bin  1.0 KiB / 2.0 KiB   50%") || !strings.HasSuffix(got, "ok\n") || strings.Count(got, "\r") != 2 {
			t.Fatalf("got %q", got)
		}
	})
	if got := formatBytes(90868376); got != "86.7 MiB" {
		t.Errorf("formatBytes = %q", got)
	}
}

func TestList(t *testing.T) {
	ctx := t.Context()
	if got, err := List(ctx, filepath.Join(t.TempDir(), "none")); err != nil || len(got) != 0 {
		t.Fatalf("List(missing root) = %v, %v", got, err)
	}
	root := t.TempDir()
	writeTree(t, root, map[string][]byte{
		"all-MiniLM-L6-v2/config.json": []byte("{}"), // a pull that stopped early
		"other-model/weights.bin":      make([]byte, 10),
		"other-model/sub/vocab.txt":    make([]byte, 5),
		".tmp/junk":                    []byte("x"),
		"stray-file":                   []byte("x"),
	})
	got, err := List(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("List = %+v, want 2 entries", got)
	}
	mini, other := got[0], got[1]
	if mini.Name != MiniLMName || !mini.Known || !errors.Is(mini.Err, ErrNotInstalled) || mini.Status() != "incomplete" || mini.Size != 2 {
		t.Errorf("MiniLM entry = %+v (status %s)", mini, mini.Status())
	}
	if other.Name != "other-model" || other.Known || other.Err != nil || other.Status() != "unknown" || other.Size != 15 || other.Dir != filepath.Join(root, "other-model") {
		t.Errorf("other entry = %+v (status %s)", other, other.Status())
	}
	if len(mini.Report.Files) != len(MiniLM().Files) {
		t.Errorf("MiniLM report has %d files", len(mini.Report.Files))
	}
}

func TestLookup(t *testing.T) {
	m, ok := Lookup(MiniLMName)
	if !ok || m.Name != MiniLMName || m.Dim != 384 || m.MaxSeqLen != 256 || m.Pooling != "mean" || !m.Normalize {
		t.Fatalf("Lookup(%q) = %+v, %v", MiniLMName, m, ok)
	}
	m.Files[0].SHA256 = "changed"
	if MiniLM().Files[0].SHA256 == "changed" {
		t.Fatal("MiniLM shares its Files slice between calls")
	}
	if _, ok := Lookup("nope"); ok {
		t.Fatal("Lookup(nope) found something")
	}
	for _, f := range m.Files {
		if !filepath.IsLocal(f.Path) || len(f.SHA256) != 64 && f.SHA256 != "changed" || f.Size <= 0 {
			t.Errorf("bad pin %+v", f)
		}
	}
}

func ExampleRoot() {
	env := map[string]string{"HOME": "/home/ada", "XDG_CACHE_HOME": "/var/cache/ada"}
	root, _ := Root(func(k string) string { return env[k] })
	fmt.Println(MiniLM().Dir(root))
	// Output: /var/cache/ada/switchyard/models/all-MiniLM-L6-v2
}
