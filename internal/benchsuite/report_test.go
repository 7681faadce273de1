package benchsuite

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestReportTableAndJSON(t *testing.T) {
	r := &Report{Date: time.Date(2026, 11, 28, 23, 0, 0, 0, time.UTC), Machine: Machine{CPUs: 2, Model: "cpu", Go: "go1.26", Kernel: "6"}, Elapsed: "1s"}
	r.add(Row{Section: "grants c=1", Name: "header grants/s", Value: 12000, Unit: "/s", Counterpart: "trivial handler", CounterValue: 16000, Ratio: 0.75, Goal: "≥ 0.6× trivial handler", Pass: pass(true)})
	r.add(Row{Section: "forward c=1", Name: "forwarder added p50", Value: 150, Unit: "µs", Goal: "≤ naive's added p50", Pass: pass(false)})
	r.add(Row{Section: "cold start", Name: "exchanges", Value: 1})
	var tab bytes.Buffer
	if err := r.WriteTable(&tab); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"2026-11-28 23:00 UTC", "12000/s", "trivial handler 16000/s", "0.75×", "| pass", "| gap", "150.0 µs"} {
		if !strings.Contains(tab.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, tab.String())
		}
	}
	if f := r.Failed(); len(f) != 1 || f[0].Name != "forwarder added p50" {
		t.Errorf("failed = %+v", f)
	}
	var js bytes.Buffer
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || len(back.Rows) != 3 || back.Rows[0].Ratio != 0.75 || *back.Rows[1].Pass {
		t.Fatalf("JSON round trip: %+v, %v", back, err)
	}
}

func TestInterleavedCountsEachCallAndError(t *testing.T) {
	var a, b atomic.Int64
	boom := errors.New("boom")
	rs, err := interleaved(context.Background(), 2, 80*time.Millisecond,
		target{call: tiny(func(context.Context) error { a.Add(1); time.Sleep(time.Millisecond); return nil })},
		target{call: tiny(func(context.Context) error { b.Add(1); time.Sleep(time.Millisecond); return boom })},
		target{call: func(context.Context) (time.Duration, error) {
			time.Sleep(time.Millisecond)
			return 7 * time.Microsecond, nil
		}, pids: []int{os.Getpid()}})
	if err != nil {
		t.Fatal(err)
	}
	if rs[0].N == 0 || rs[0].Errors != 0 || rs[0].P50 < time.Millisecond || rs[0].P99 < rs[0].P50 {
		t.Errorf("ok calls: %+v", rs[0])
	}
	if rs[1].Errors != rs[1].N || !errors.Is(rs[1].FirstErr, boom) || rs[1].Rate() != 0 {
		t.Errorf("failing calls: %+v", rs[1])
	}
	if rs[0].TTFB50 != 0 || rs[0].CPUEach != nil {
		t.Errorf("a tiny call with no pids has a TTFB %v or CPU samples %v", rs[0].TTFB50, rs[0].CPUEach)
	}
	// A stream's time to first byte, and its processes' CPU time (this
	// one: the loop's goroutines at least).
	if s := rs[2]; s.N == 0 || s.Errors != 0 || s.TTFB50 != 7*time.Microsecond || len(s.CPUEach) != 1 || s.CPU != s.CPUEach[0] || s.CPU <= 0 {
		t.Errorf("stream calls: %+v", s)
	}
	// The warm-up calls are not counted.
	if rs[0].N >= a.Load() {
		t.Errorf("counted %d of %d calls: the warm-up leaked into the result", rs[0].N, a.Load())
	}
}
