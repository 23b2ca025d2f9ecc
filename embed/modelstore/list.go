package modelstore

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Installed is one model directory under the models root.
type Installed struct {
	Name string // directory name, which is the model name
	Dir  string
	// Size is the total length in bytes of the regular files under Dir,
	// including any left by an interrupted pull.
	Size int64
	// Known reports whether Name is a built-in model; only those are verified.
	Known bool
	// Report is the verification of a known model; zero otherwise.
	Report Report
	// Err is Report.Err for a known model: nil when intact, matching
	// ErrNotInstalled when required files are missing. It is nil for an
	// unknown model.
	Err error
}

// Status is a one-word summary for listings: "ok", "incomplete", "damaged"
// or "unknown".
func (i Installed) Status() string {
	switch {
	case !i.Known:
		return "unknown"
	case i.Err == nil:
		return "ok"
	case errors.Is(i.Err, ErrNotInstalled):
		return "incomplete"
	}
	return "damaged"
}

// List returns the model directories under root, in name order, each with
// its size and, for built-in models, a full verification. A root that does
// not exist holds no models. Hidden directories are skipped.
func List(ctx context.Context, root string) ([]Installed, error) {
	ents, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Installed
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		dir := filepath.Join(root, e.Name())
		if st, err := os.Stat(dir); err != nil || !st.IsDir() { // follows symlinks
			continue
		}
		it := Installed{Name: e.Name(), Dir: dir}
		if it.Size, err = dirSize(dir); err != nil {
			return nil, err
		}
		if m, ok := Lookup(e.Name()); ok {
			it.Known = true
			if it.Report, err = check(ctx, dir, m); err != nil {
				return nil, err
			}
			it.Err = it.Report.Err()
		}
		out = append(out, it)
	}
	return out, nil
}

func dirSize(dir string) (int64, error) {
	var n int64
	// Resolve a symlinked model dir, as Verify's reads would.
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return 0, err
	}
	err = filepath.WalkDir(real, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			n += info.Size()
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
