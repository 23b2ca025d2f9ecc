package usage

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Inserter is what a Writer writes to.
type Inserter interface {
	Insert(ctx context.Context, rows []Record) error
}

// Writer queues rows and writes them in batches on its own goroutine, so
// that recording a request costs a channel send. When the queue is full a
// row is dropped and counted (Dropped) rather than slowing the request.
// Close writes what is queued. It is safe for concurrent use.
type Writer struct {
	store   Inserter
	queue   chan Record
	batch   int
	every   time.Duration
	dropped atomic.Uint64
	written atomic.Uint64
	failed  atomic.Uint64 // rows lost to a failed insert
	onError func(error)
	// kick wakes the writer when a batch is queued. It sleeps otherwise,
	// up to every: waking it for each row (a goroutine switch per
	// request) cost more than the row's insert.
	kick chan struct{}
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// WriterOptions tune a Writer; zero fields take the defaults.
type WriterOptions struct {
	Queue   int           // rows queued at most; default 10,000
	Batch   int           // rows per insert at most; default 500
	Every   time.Duration // the longest a row waits; default 1s
	OnError func(error)   // hears a failed insert; nil = ignored (counted)
}

// NewWriter starts a writer to store.
func NewWriter(store Inserter, o WriterOptions) *Writer {
	if o.Queue <= 0 {
		o.Queue = 10000
	}
	if o.Batch <= 0 {
		o.Batch = 500
	}
	if o.Every <= 0 {
		o.Every = time.Second
	}
	w := &Writer{store: store, queue: make(chan Record, o.Queue), batch: o.Batch, every: o.Every,
		onError: o.OnError, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go w.run()
	return w
}

// Add queues r; it never blocks.
func (w *Writer) Add(r Record) {
	select {
	case w.queue <- r:
	default:
		w.dropped.Add(1)
		return
	}
	if len(w.queue) >= w.batch {
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
}

// Stats reports rows written, dropped (queue full) and lost (a failed
// insert) since start.
func (w *Writer) Stats() (written, dropped, failed uint64) {
	return w.written.Load(), w.dropped.Load(), w.failed.Load()
}

// Close stops taking rows, writes those queued, and returns once they are
// written (or ctx is done). Add must not be called after Close.
func (w *Writer) Close(ctx context.Context) error {
	w.once.Do(func() { close(w.stop) })
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (w *Writer) run() {
	defer close(w.done)
	t := time.NewTicker(w.every)
	defer t.Stop()
	buf := make([]Record, 0, w.batch)
	flush := func() {
		if len(buf) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := w.store.Insert(ctx, buf)
		cancel()
		if err != nil {
			w.failed.Add(uint64(len(buf)))
			if w.onError != nil {
				w.onError(err)
			}
		} else {
			w.written.Add(uint64(len(buf)))
		}
		buf = buf[:0]
	}
	for {
		stopping := false
		select {
		case <-w.kick:
		case <-t.C:
		case <-w.stop:
			stopping = true
		}
		// Everything queued now, in batches. Add is not called after
		// Close, so once stopping, the queue only shrinks.
	drain:
		for {
			select {
			case r := <-w.queue:
				buf = append(buf, r)
				if len(buf) >= w.batch {
					flush()
				}
			default:
				break drain
			}
		}
		flush()
		if stopping {
			return
		}
	}
}
