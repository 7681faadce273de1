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
	// TTFB50 is the p50 time to the first byte of the answer, for calls
	// that report it (streams); zero otherwise.
	TTFB50 time.Duration
	// CPU is the CPU time of the target's processes during the run, and
	// CPUEach the same split by process, in target.pids order; zero and
	// nil for a target with no pids.
	CPU     time.Duration
	CPUEach []time.Duration
	// FirstErr is the first error seen, for the log.
	FirstErr error
	lats     []time.Duration
	ttfbs    []time.Duration
}

// Rate is successful calls per second.
func (r Result) Rate() float64 { return float64(r.N-r.Errors) / r.Elapsed.Seconds() }

// CPUPerRequest is the target's processes' CPU time per successful call.
func (r Result) CPUPerRequest() time.Duration {
	if ok := r.N - r.Errors; ok > 0 {
		return r.CPU / time.Duration(ok)
	}
	return 0
}

// call is one request of a measurement; it reports the time to the first
// byte of the answer (0 where that means nothing) or why it failed.
type call func(context.Context) (time.Duration, error)

// tiny is f as a call with no time to first byte.
func tiny(f func(context.Context) error) call {
	return func(ctx context.Context) (time.Duration, error) { return 0, f(ctx) }
}

// target is what one measurement calls, and the processes whose CPU time
// counts for it (none: no CPU is sampled).
type target struct {
	call call
	pids []int
}

// measure calls t from conc goroutines in a closed loop for d (after a
// short untimed warm-up) and returns throughput, latency and time-to-first-
// byte percentiles, and the CPU time t's processes used. Only reading that
// CPU time fails.
func measure(ctx context.Context, conc int, d time.Duration, t target) (Result, error) {
	warm, cancel := context.WithTimeout(ctx, min(d/8, 200*time.Millisecond))
	loop(warm, conc, t.call, nil, nil)
	cancel()
	var res Result
	cpu0, err := cpuTimes(t.pids)
	if err != nil {
		return res, err
	}
	lats, ttfbs := make([][]time.Duration, conc), make([][]time.Duration, conc)
	run, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	start := time.Now()
	res.Errors, res.FirstErr = loop(run, conc, t.call, lats, ttfbs)
	res.Elapsed = time.Since(start)
	cpu1, err := cpuTimes(t.pids)
	if err != nil {
		return res, err
	}
	if len(t.pids) > 0 {
		res.CPUEach = make([]time.Duration, len(t.pids))
		for i := range t.pids {
			res.CPUEach[i] = cpu1[i] - cpu0[i]
			res.CPU += res.CPUEach[i]
		}
	}
	res.lats, res.ttfbs = slices.Concat(lats...), slices.Concat(ttfbs...)
	res.N = int64(len(res.lats)) + res.Errors
	return res.summarize(), nil
}

// summarize sets the percentiles from the latencies and times to first
// byte.
func (r Result) summarize() Result {
	slices.Sort(r.lats)
	if len(r.lats) > 0 {
		r.P50, r.P99 = r.lats[len(r.lats)/2], r.lats[len(r.lats)*99/100]
	}
	slices.Sort(r.ttfbs)
	if len(r.ttfbs) > 0 {
		r.TTFB50 = r.ttfbs[len(r.ttfbs)/2]
	}
	return r
}

// interleaved measures each of ts for d in total, in rounds of d/rounds
// taken in turn, so that a change in the machine's load (2 shared cores)
// falls on all of them alike; a target's CPU time is that of its own turns.
func interleaved(ctx context.Context, conc int, d time.Duration, ts ...target) ([]Result, error) {
	const rounds = 4
	out := make([]Result, len(ts))
	for range rounds {
		for i, t := range ts {
			r, err := measure(ctx, conc, d/rounds, t)
			if err != nil {
				return nil, err
			}
			o := &out[i]
			o.N += r.N
			o.Errors += r.Errors
			o.Elapsed += r.Elapsed
			o.CPU += r.CPU
			if o.CPUEach == nil && r.CPUEach != nil {
				o.CPUEach = make([]time.Duration, len(r.CPUEach))
			}
			for j, c := range r.CPUEach {
				o.CPUEach[j] += c
			}
			o.lats = append(o.lats, r.lats...)
			o.ttfbs = append(o.ttfbs, r.ttfbs...)
			if o.FirstErr == nil {
				o.FirstErr = r.FirstErr
			}
		}
	}
	for i := range out {
		out[i] = out[i].summarize()
	}
	return out, nil
}

// loop runs f until ctx ends; when lats is set, goroutine g appends the
// latency and the time to first byte of each successful call to lats[g]
// and ttfbs[g].
func loop(ctx context.Context, conc int, f call, lats, ttfbs [][]time.Duration) (int64, error) {
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
				ttfb, err := f(context.Background())
				if err != nil {
					errs.Add(1)
					first.CompareAndSwap(nil, errBox{err})
					continue
				}
				if lats != nil {
					lats[g] = append(lats[g], time.Since(t))
					ttfbs[g] = append(ttfbs[g], ttfb)
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
