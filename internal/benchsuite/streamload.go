package benchsuite

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// interleavedStreams measures each target for d in total, in rounds taken
// in turn, with the CPU time its processes used during its own turns.
func interleavedStreams(ctx context.Context, p *streamPoster, conc int, d time.Duration, ts []streamTarget) ([]streamResult, error) {
	const rounds = 4
	out := make([]streamResult, len(ts))
	for range rounds {
		for i, t := range ts {
			r, err := measureStream(ctx, p, conc, d/rounds, t)
			if err != nil {
				return nil, err
			}
			o := &out[i]
			o.N += r.N
			o.Errors += r.Errors
			o.Elapsed += r.Elapsed
			o.CPU += r.CPU
			if o.CPUEach == nil {
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
		out[i].Result = out[i].Result.summarize()
		slices.Sort(out[i].ttfbs)
		if n := len(out[i].ttfbs); n > 0 {
			out[i].TTFB50 = out[i].ttfbs[n/2]
		}
	}
	return out, nil
}

// measureStream runs the workload against t from conc goroutines for d
// (after a short untimed warm-up), recording latency, time to first byte
// and the CPU time of t's processes.
func measureStream(ctx context.Context, p *streamPoster, conc int, d time.Duration, t streamTarget) (streamResult, error) {
	call := func(ctx context.Context) (time.Duration, error) { return p.post(ctx, t.base, t.direct) }
	warm, cancel := context.WithTimeout(ctx, min(d/8, 200*time.Millisecond))
	streamLoop(warm, conc, call, nil, nil)
	cancel()
	var r streamResult
	cpu0, err := cpuTimes(t.pids)
	if err != nil {
		return r, err
	}
	lats, ttfbs := make([][]time.Duration, conc), make([][]time.Duration, conc)
	run, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	start := time.Now()
	r.Errors, r.FirstErr = streamLoop(run, conc, call, lats, ttfbs)
	r.Elapsed = time.Since(start)
	cpu1, err := cpuTimes(t.pids)
	if err != nil {
		return r, err
	}
	r.CPUEach = make([]time.Duration, len(t.pids))
	for i := range t.pids {
		r.CPUEach[i] = cpu1[i] - cpu0[i]
		r.CPU += r.CPUEach[i]
	}
	r.lats, r.ttfbs = slices.Concat(lats...), slices.Concat(ttfbs...)
	r.N = int64(len(r.lats)) + r.Errors
	return r, nil
}

// streamLoop is loop for calls that also report a time to first byte.
func streamLoop(ctx context.Context, conc int, f func(context.Context) (time.Duration, error), lats, ttfbs [][]time.Duration) (int64, error) {
	var errs atomic.Int64
	var first atomic.Value
	var wg sync.WaitGroup
	for g := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				t := time.Now()
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
