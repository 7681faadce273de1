package tokens

import (
	"testing"
	"time"
)

func TestRefreshAfter(t *testing.T) {
	cases := []struct{ l, want time.Duration }{
		{3600 * time.Second, 2700 * time.Second},
		{900 * time.Second, 600 * time.Second},
		{300 * time.Second, 150 * time.Second},
		{60 * time.Second, 30 * time.Second},
		{2 * time.Second, time.Second},
	}
	for _, c := range cases {
		if got := RefreshAfter(c.l); got != c.want {
			t.Errorf("RefreshAfter(%v) = %v, want %v", c.l, got, c.want)
		}
		if RefreshAfter(c.l) >= ServeFor(c.l) {
			t.Errorf("L=%v: refresh point %v is not before the cut-off %v", c.l, RefreshAfter(c.l), ServeFor(c.l))
		}
	}
}

func TestServeFor(t *testing.T) {
	cases := []struct{ l, want time.Duration }{
		{3600 * time.Second, 3570 * time.Second},
		{60 * time.Second, 45 * time.Second},
		{100 * time.Second, 75 * time.Second},
		{120 * time.Second, 90 * time.Second},
	}
	for _, c := range cases {
		if got := ServeFor(c.l); got != c.want {
			t.Errorf("ServeFor(%v) = %v, want %v", c.l, got, c.want)
		}
	}
}

func TestBackoff(t *testing.T) {
	maxRand := func(n int64) int64 { return n - 1 }
	zeroRand := func(int64) int64 { return 0 }
	cases := []struct {
		attempt    int
		base, cap  time.Duration
		rnd        func(int64) int64
		want       time.Duration
		comparison string
	}{
		{0, time.Second, 30 * time.Second, maxRand, time.Second - 1, "first"},
		{1, time.Second, 30 * time.Second, maxRand, 2*time.Second - 1, "doubles"},
		{4, time.Second, 30 * time.Second, maxRand, 16*time.Second - 1, "grows"},
		{5, time.Second, 30 * time.Second, maxRand, 30*time.Second - 1, "capped"},
		{60, time.Second, 30 * time.Second, maxRand, 30*time.Second - 1, "no overflow"},
		{3, time.Second, 30 * time.Second, zeroRand, MinBackoff, "floored"},
		{10, PermanentBase, PermanentCap, maxRand, PermanentCap - 1, "slow cap"},
	}
	for _, c := range cases {
		if got := Backoff(c.attempt, c.base, c.cap, c.rnd); got != c.want {
			t.Errorf("%s: Backoff(%d) = %v, want %v", c.comparison, c.attempt, got, c.want)
		}
	}
}
