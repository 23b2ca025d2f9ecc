package config

import (
	"context"
	"os"
	"time"

	"github.com/knadh/koanf/providers/file"
)

// Watch timings. A change is reported once the file has been quiet for
// watchDebounce: editors and tools write a file in several steps
// (truncate, then a few writes), and reporting each step would load a
// half-written file, which may well parse (a YAML file cut at a line end
// is valid YAML with fewer routes). Half a second covers a tool that
// writes in parts a few hundred milliseconds apart; a rename over the
// file (what editors do, and `config` commands) is complete at once.
// watchRetry is how often a missing file is looked for.
const (
	watchDebounce = 500 * time.Millisecond
	watchRetry    = 50 * time.Millisecond
)

// Watch calls onChange after the file at path changes, until ctx is done;
// then it returns nil. It blocks, so run it in a goroutine. onChange runs
// on Watch's goroutine, one call at a time: it should only signal (the
// reload loop loads the file itself, with Load), never block.
//
// A burst of writes is one change, reported once the file has been quiet
// for 100 ms. The watch survives the file being deleted and recreated, or
// replaced by a rename as editors do: the watch is re-armed, and the new
// file counts as a change. A missing file (before the first write, or
// between a delete and its recreation) is looked for every 50 ms.
//
// Watch uses koanf's file provider, and works around its limits: one
// provider dies for good once the file is removed, and its Unwatch
// deadlocks when its Watch failed on a missing file, so each arming gets
// a fresh provider, a file is watched only once it exists, and Unwatch is
// called only on a provider whose Watch succeeded.
func Watch(ctx context.Context, path string, onChange func()) error {
	changed := make(chan struct{}, 1)
	died := make(chan *file.File, 1)
	signal := func(c chan struct{}) {
		select {
		case c <- struct{}{}:
		default: // one pending signal is as good as many
		}
	}

	// arm watches path with a fresh provider; nil means the file is
	// missing or cannot be watched yet.
	arm := func() *file.File {
		if _, err := os.Stat(path); err != nil {
			return nil // never Watch a missing file: its Unwatch would deadlock
		}
		p := file.Provider(path)
		err := p.Watch(func(_ any, err error) {
			if err != nil {
				// The provider's goroutine stops after reporting an error
				// (the file was removed, or fsnotify failed).
				select {
				case died <- p:
				default:
				}
				return
			}
			signal(changed)
		})
		if err != nil {
			// The file vanished between Stat and Watch. p's lock may be
			// held for good; drop it without Unwatch.
			return nil
		}
		return p
	}

	watched := arm()
	retry := time.NewTicker(watchRetry)
	defer retry.Stop()
	debounce := time.NewTimer(watchDebounce)
	debounce.Stop()
	defer debounce.Stop()
	defer func() {
		if watched != nil {
			watched.Unwatch()
		}
	}()

	for {
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
			debounce.Reset(watchDebounce)
		case p := <-died:
			if p == watched {
				watched = nil
				// The file may be back already, or being rewritten: a
				// remove is a change either way.
				debounce.Reset(watchDebounce)
			}
		case <-retry.C:
			if watched == nil {
				if watched = arm(); watched != nil {
					debounce.Reset(watchDebounce)
				}
			}
		case <-debounce.C:
			if watched == nil {
				// Still missing: report the change once it is back, rather
				// than have the loader fail on a missing file.
				continue
			}
			onChange()
		}
	}
}
