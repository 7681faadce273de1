package benchsuite

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Result is one closed-loop measurement.
type Result struct {
	N, Errors int64
	Elapsed   time.Duration
	P50, P99  time.Duration
	// FirstErr is the first error seen, for the log.
	FirstErr error
	lats     []time.Duration
}

// Rate is successful calls per second.
func (r Result) Rate() float64 { return float64(r.N-r.Errors) / r.Elapsed.Seconds() }

// measure calls f from conc goroutines in a closed loop for d (after a
// short untimed warm-up) and returns throughput and latency percentiles.
func measure(ctx context.Context, conc int, d time.Duration, f func(context.Context) error) Result {
	warm, cancel := context.WithTimeout(ctx, min(d/8, 100*time.Millisecond))
	loop(warm, conc, f, nil)
	cancel()
	var res Result
	lats := make([][]time.Duration, conc)
	run, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	start := time.Now()
	res.Errors, res.FirstErr = loop(run, conc, f, lats)
	res.Elapsed = time.Since(start)
	res.lats = slices.Concat(lats...)
	res.N = int64(len(res.lats)) + res.Errors
	return res.summarize()
}

// summarize sets the percentiles from the latencies.
func (r Result) summarize() Result {
	slices.Sort(r.lats)
	if len(r.lats) > 0 {
		r.P50, r.P99 = r.lats[len(r.lats)/2], r.lats[len(r.lats)*99/100]
	}
	return r
}

// interleaved measures each of fs for d in total, in rounds of d/rounds
// taken in turn, so that a change in the machine's load (2 shared cores)
// falls on all of them alike.
func interleaved(ctx context.Context, conc int, d time.Duration, fs ...func(context.Context) error) []Result {
	const rounds = 4
	out := make([]Result, len(fs))
	for range rounds {
		for i, f := range fs {
			r := measure(ctx, conc, d/rounds, f)
			o := &out[i]
			o.N += r.N
			o.Errors += r.Errors
			o.Elapsed += r.Elapsed
			o.lats = append(o.lats, r.lats...)
			if o.FirstErr == nil {
				o.FirstErr = r.FirstErr
			}
		}
	}
	for i := range out {
		out[i] = out[i].summarize()
	}
	return out
}

// loop runs f until ctx ends; when lats is set, goroutine g appends the
// latency of each successful call to lats[g].
func loop(ctx context.Context, conc int, f func(context.Context) error, lats [][]time.Duration) (int64, error) {
	var errs atomic.Int64
	var first atomic.Value
	var wg sync.WaitGroup
	for g := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				t := time.Now()
				// The call itself is not bounded by ctx: a cut-off call
				// would count as an error.
				if err := f(context.Background()); err != nil {
					errs.Add(1)
					first.CompareAndSwap(nil, errBox{err})
					continue
				}
				if lats != nil {
					lats[g] = append(lats[g], time.Since(t))
				}
			}
		}()
	}
	wg.Wait()
	var err error
	if b, ok := first.Load().(errBox); ok {
		err = b.err
	}
	return errs.Load(), err
}

type errBox struct{ err error }

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
