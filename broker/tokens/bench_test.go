package tokens

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// hotCredentials returns n running credentials on the real clock, each
// holding a valid token.
func hotCredentials(tb testing.TB, n int) []*Cache {
	ctx, cancel := context.WithCancel(context.Background())
	creds := make([]*Cache, n)
	done := make(chan struct{}, n)
	for i := range creds {
		creds[i] = New(Config{Name: "c" + strconv.Itoa(i), Exchanger: newScripted(step{lifetime: time.Hour}),
			Generation: func() uint64 { return 0 }})
		go func() { creds[i].Run(ctx); done <- struct{}{} }()
		if _, err := creds[i].Token(ctx); err != nil {
			tb.Fatal(err)
		}
	}
	tb.Cleanup(func() {
		cancel()
		for range n {
			<-done
		}
	})
	return creds
}

// The valid-token path allocates nothing.
func TestTokenHotPathAllocs(t *testing.T) {
	c := hotCredentials(t, 1)[0]
	ctx := context.Background()
	if n := testing.AllocsPerRun(1000, func() { _, _ = c.Token(ctx) }); n != 0 {
		t.Fatalf("Token allocates %v times on the hot path", n)
	}
}

// BenchmarkTokenHot measures the valid-token path across 8 credentials
// from many goroutines: it must not allocate or serialize on one lock.
func BenchmarkTokenHot(b *testing.B) {
	const n = 8
	creds := hotCredentials(b, n)
	ctx := context.Background()
	var next atomic.Uint32
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c := creds[next.Add(1)%n]
		for pb.Next() {
			if _, err := c.Token(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
