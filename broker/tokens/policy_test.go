package tokens

import (
	"math"
	"testing"
	"time"
)

func TestRefreshAfter(t *testing.T) {
	cases := []struct {
		name    string
		l, want time.Duration
	}{
		{"1 h: 0.75·L (L − 5 min is later)", 3600 * time.Second, 2700 * time.Second},
		{"15 min: L − 5 min", 900 * time.Second, 600 * time.Second},
		{"5 min: 0.5·L (L − 5 min is 0)", 300 * time.Second, 150 * time.Second},
		{"1 min: 0.5·L (L − 5 min is negative)", 60 * time.Second, 30 * time.Second},
		{"2 s: 0.5·L", 2 * time.Second, time.Second},
		{"1 ns: floored, never zero", time.Nanosecond, MinBackoff},
	}
	for _, c := range cases {
		if got := RefreshAfter(c.l); got != c.want {
			t.Errorf("%s: RefreshAfter(%v) = %v, want %v", c.name, c.l, got, c.want)
		}
	}
	// The refresh point always comes before the cut-off, so every token
	// has a window in which to be replaced.
	for l := time.Second; l <= 24*time.Hour; l += 7 * time.Second {
		if r, s := RefreshAfter(l), ServeUntil(l); r <= 0 || r >= s {
			t.Fatalf("L=%v: refresh point %v not in (0, cut-off %v)", l, r, s)
		}
	}
}

func TestServeUntil(t *testing.T) {
	cases := []struct{ l, want time.Duration }{
		{3600 * time.Second, 3570 * time.Second}, // 30 s before expiry
		{900 * time.Second, 870 * time.Second},
		{120 * time.Second, 90 * time.Second}, // L/4 = 30 s: the two agree
		{100 * time.Second, 75 * time.Second}, // L/4 = 25 s
		{60 * time.Second, 45 * time.Second},
	}
	for _, c := range cases {
		if got := ServeUntil(c.l); got != c.want {
			t.Errorf("ServeUntil(%v) = %v, want %v", c.l, got, c.want)
		}
	}
}

func TestBackoff(t *testing.T) {
	top := func(n int64) int64 { return n - 1 }
	half := func(n int64) int64 { return n / 2 }
	zero := func(int64) int64 { return 0 }
	cases := []struct {
		name      string
		attempt   int
		base, cap time.Duration
		rnd       func(int64) int64
		want      time.Duration
	}{
		{"first retry below 1 s", 0, TransientBase, TransientCap, top, time.Second - 1},
		{"doubles", 1, TransientBase, TransientCap, top, 2*time.Second - 1},
		{"grows", 4, TransientBase, TransientCap, top, 16*time.Second - 1},
		{"capped at 30 s", 5, TransientBase, TransientCap, top, 30*time.Second - 1},
		{"stays capped", 20, TransientBase, TransientCap, top, 30*time.Second - 1},
		{"no overflow", 63, TransientBase, TransientCap, top, 30*time.Second - 1},
		{"no overflow near the edge", 33, TransientBase, TransientCap, top, 30*time.Second - 1},
		{"negative attempt is the first", -3, TransientBase, TransientCap, top, time.Second - 1},
		{"full jitter", 3, TransientBase, TransientCap, half, 4 * time.Second},
		{"jitter drawing 0 is floored", 3, TransientBase, TransientCap, zero, MinBackoff},
		{"zero base is floored", 0, 0, TransientCap, top, MinBackoff},
		{"slow schedule starts at 30 s", 0, PermanentBase, PermanentCap, top, 30*time.Second - 1},
		{"slow schedule capped at 5 min", 4, PermanentBase, PermanentCap, top, 5*time.Minute - 1},
	}
	for _, c := range cases {
		if got := Backoff(c.attempt, c.base, c.cap, c.rnd); got != c.want {
			t.Errorf("%s: Backoff(%d, %v, %v) = %v, want %v", c.name, c.attempt, c.base, c.cap, got, c.want)
		}
	}
}

func TestRetryDelay(t *testing.T) {
	top := func(n int64) int64 { return n - 1 }
	cases := []struct {
		name       string
		attempt    int
		permanent  bool
		retryAfter time.Duration
		want       time.Duration
	}{
		{"transient backoff", 2, false, 0, 4*time.Second - 1},
		{"permanent: slow backoff", 2, true, 0, 2*time.Minute - 1},
		{"Retry-After above the backoff wins", 0, false, 20 * time.Second, 20 * time.Second},
		{"Retry-After above the cap wins", 10, false, 2 * time.Minute, 2 * time.Minute},
		{"Retry-After below the backoff loses", 4, false, 2 * time.Second, 16*time.Second - 1},
		{"absurd Retry-After is bounded", 0, false, 72 * time.Hour, MaxRetryAfter},
	}
	for _, c := range cases {
		if got := RetryDelay(c.attempt, c.permanent, c.retryAfter, top); got != c.want {
			t.Errorf("%s: RetryDelay = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestRetryHint(t *testing.T) {
	cases := []struct {
		name string
		next time.Time
		want time.Duration
	}{
		{"nothing scheduled", time.Time{}, time.Second},
		{"due now", t0, time.Second},
		{"soon: at least 1 s", t0.Add(200 * time.Millisecond), time.Second},
		{"later", t0.Add(17 * time.Second), 17 * time.Second},
	}
	for _, c := range cases {
		if got := retryHint(t0, c.next); got != c.want {
			t.Errorf("%s: retryHint = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestStateOf(t *testing.T) {
	cases := []struct {
		servable, hasToken, inflight, failing, permanent bool
		want                                             State
	}{
		{false, false, false, false, false, StatePending},
		{false, false, true, false, false, StatePending},
		{true, true, false, false, false, StateReady},
		{true, true, true, false, false, StateRefreshing},
		{true, true, false, true, false, StateDegraded},
		{true, true, true, true, false, StateDegraded}, // retrying does not flicker
		{true, true, false, true, true, StateFailed},   // a permanent refusal fails closed (DESIGN §5)
		{true, true, true, true, true, StateFailed},    // and a retry in flight does not hide it
		{false, true, false, true, false, StateExpired},
		{false, true, true, true, false, StateExpired},
		{false, true, false, true, true, StateFailed},
		{false, false, false, true, true, StateFailed},
		{false, false, true, true, true, StateFailed},
	}
	for _, c := range cases {
		if got := stateOf(c.servable, c.hasToken, c.inflight, c.failing, c.permanent); got != c.want {
			t.Errorf("stateOf(servable=%v token=%v inflight=%v failing=%v permanent=%v) = %s, want %s",
				c.servable, c.hasToken, c.inflight, c.failing, c.permanent, got, c.want)
		}
	}
}

func TestMayInvalidate(t *testing.T) {
	cases := []struct {
		last time.Time
		want bool
	}{
		{time.Time{}, true},
		{t0.Add(-InvalidateInterval + time.Nanosecond), false},
		{t0.Add(-InvalidateInterval), true},
	}
	for _, c := range cases {
		if got := mayInvalidate(t0, c.last); got != c.want {
			t.Errorf("mayInvalidate(last %v) = %v, want %v", c.last, got, c.want)
		}
	}
}

func TestClampLifetime(t *testing.T) {
	cases := []struct {
		name   string
		stated time.Duration
		want   time.Duration
	}{
		{"no expiry", 0, 0},
		{"negative is left for the exchange to refuse", -time.Second, -time.Second},
		{"a nanosecond rises to 1 s", time.Nanosecond, time.Second},
		{"100 ms rises to 1 s", 100 * time.Millisecond, time.Second},
		{"1 s", time.Second, time.Second},
		{"an hour", time.Hour, time.Hour},
		{"24 h", 24 * time.Hour, 24 * time.Hour},
		{"25 h falls to 24 h", 25 * time.Hour, 24 * time.Hour},
		{"the largest duration falls to 24 h", time.Duration(math.MaxInt64), 24 * time.Hour},
	}
	for _, c := range cases {
		if got := ClampLifetime(c.stated); got != c.want {
			t.Errorf("%s: ClampLifetime(%v) = %v, want %v", c.name, c.stated, got, c.want)
		}
	}
}

func TestNextExchange(t *testing.T) {
	cases := []struct {
		name      string
		due, last time.Time
		want      time.Time
	}{
		{"no exchange yet", t0, time.Time{}, t0},
		{"due at once after an exchange", t0, t0, t0.Add(5 * time.Second)},
		{"due within the spacing", t0.Add(time.Second), t0, t0.Add(5 * time.Second)},
		{"due exactly at the spacing", t0.Add(5 * time.Second), t0, t0.Add(5 * time.Second)},
		{"due after the spacing", t0.Add(time.Minute), t0, t0.Add(time.Minute)},
	}
	for _, c := range cases {
		if got := NextExchange(c.due, c.last); !got.Equal(c.want) {
			t.Errorf("%s: NextExchange = %v, want %v", c.name, got.Sub(t0), c.want.Sub(t0))
		}
	}
}
