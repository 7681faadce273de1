package tokens

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkTokenHot measures the valid-token path across 8 credentials
// from many goroutines: it must not allocate or serialize on one lock.
func BenchmarkTokenHot(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const n = 8
	creds := make([]*Credential, n)
	for i := range creds {
		ex := newScripted(step{lifetime: time.Hour})
		creds[i] = New(Config{Name: "c" + strconv.Itoa(i), Exchanger: ex, Generation: func() uint64 { return 0 }})
		go creds[i].Run(ctx)
		if _, err := creds[i].Token(ctx); err != nil {
			b.Fatal(err)
		}
	}
	var next atomic.Uint32
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c := creds[next.Add(1)%n]
		for pb.Next() {
			if _, err := c.Token(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}
