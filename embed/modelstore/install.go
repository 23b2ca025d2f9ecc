package modelstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// errNotInSource is returned by a fetch for a file the source does not have.
var errNotInSource = errors.New("not in source")

// fetchFunc installs one file into dir, usually by calling writeFile.
type fetchFunc func(ctx context.Context, f File, out *output) error

// output is where an install reports what it does.
type output struct {
	w     io.Writer
	tty   bool
	width int // of the longest file path, to line up the columns
}

func newOutput(w io.Writer) *output {
	if w == nil {
		w = io.Discard
	}
	return &output{w: w, tty: isTerminal(w)}
}

func (o *output) printf(format string, args ...any) {
	fmt.Fprintf(o.w, format+"\n", args...)
}

// name pads a file path to the column width.
func (o *output) name(p string) string {
	return fmt.Sprintf("%-*s", o.width, p)
}

// install makes dir hold every file of m that the source has, fetching only
// those that are missing or damaged, so a re-run after an interruption or on
// an intact model costs one verification.
func install(ctx context.Context, dir string, m Manifest, progress io.Writer, fetch fetchFunc) error {
	out := newOutput(progress)
	for _, f := range m.Files {
		out.width = max(out.width, len(f.Path))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create model directory: %w", err)
	}
	buf := make([]byte, hashBufSize)
	for _, f := range m.Files {
		have, err := checkFile(ctx, dir, f, buf)
		if err != nil {
			return fmt.Errorf("check %s: %w", f.Path, err)
		}
		if have.Status == StatusOK {
			out.printf("%s  %s  already installed", out.name(f.Path), formatBytes(f.Size))
			continue
		}
		err = fetch(ctx, f, out)
		switch {
		case err == nil:
		case f.Optional && errors.Is(err, errNotInSource):
			if have.Status != StatusMissing {
				// A damaged copy that cannot be replaced is worse than none:
				// Verify would reject the whole model for a file it can do without.
				name, _ := localPath(dir, f.Path)
				if err := os.Remove(name); err != nil {
					return fmt.Errorf("remove damaged %s: %w", f.Path, err)
				}
				out.printf("%s  damaged and not in source: removed", out.name(f.Path))
				continue
			}
			out.printf("%s  not in source: skipped (optional)", out.name(f.Path))
		default:
			return fmt.Errorf("install %s: %w", f.Path, err)
		}
	}
	return nil
}

// writeFile copies r to f's place under dir through a temporary file in the
// same directory, hashing as it goes, and renames it into place only once
// size and digest match the pin: an interrupted or bad copy never replaces
// what was there. Read errors come back as *readError.
func writeFile(ctx context.Context, dir string, f File, r io.Reader, out *output) error {
	dst, err := localPath(dir, f.Path)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".*.partial")
	if err != nil {
		return err
	}
	renamed := false
	defer func() {
		if !renamed {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()

	h := sha256.New()
	bar := newMeter(out.w, out.tty, out.name(f.Path), f.Size)
	// One byte past the pin is enough to know the source is wrong, and keeps
	// a misbehaving server from filling the disk.
	n, err := copyCtx(ctx, io.MultiWriter(tmp, h, bar), io.LimitReader(r, f.Size+1), make([]byte, hashBufSize))
	if err != nil {
		bar.done("failed")
		return err
	}
	if n != f.Size {
		bar.done("failed")
		if n > f.Size {
			return fmt.Errorf("%s: size mismatch: expected %d bytes, got more", f.Path, f.Size)
		}
		return fmt.Errorf("%s: size mismatch: expected %d bytes, got %d", f.Path, f.Size, n)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != f.SHA256 {
		bar.done("failed")
		return fmt.Errorf("%s: sha256 mismatch: expected %s, got %s", f.Path, f.SHA256, sum)
	}
	if err := tmp.Chmod(0o644); err != nil { // CreateTemp makes 0600
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return err
	}
	renamed = true
	syncDir(filepath.Dir(dst))
	bar.done("ok")
	return nil
}

// syncDir makes a rename durable across a crash. It is best effort: some
// filesystems refuse to sync a directory, and the file itself is already safe.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
