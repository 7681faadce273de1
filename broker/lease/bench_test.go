package lease

import (
	"testing"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/peer"
)

func benchStore(tb testing.TB, n int) (*Store, []string, []string, peer.Cred) {
	s := New(Config{})
	me := peer.Cred{UID: 1000, PID: 1, StartTime: 1}
	ids, secs := make([]string, n), make([]string, n)
	for i := range ids {
		l, sec, err := s.Create(cred, api.CreateLeaseRequest{Bind: api.BindProcess}, Holder{Cred: me})
		if err != nil {
			tb.Fatal(err)
		}
		ids[i], secs[i] = l.ID, sec.Reveal()
	}
	return s, ids, secs, me
}

func TestHotPathAllocatesNothing(t *testing.T) {
	s, ids, secs, me := benchStore(t, 10)
	l, _ := s.Get(ids[0])
	u, err := NormalizeURL("https://api.anthropic.com:443/v1/messages")
	if err != nil {
		t.Fatal(err)
	}
	scoped := &Lease{Scope: api.Scope{Hosts: []string{"x.com", "*.anthropic.com", "api.anthropic.com:443"}, Methods: []string{"GET", "POST"}, PathPrefixes: []string{"/v1/messages"}}}
	if n := testing.AllocsPerRun(1000, func() {
		if _, err := s.Authorize(ids[3], secs[3], me); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("Authorize allocates %.1f times", n)
	}
	if n := testing.AllocsPerRun(1000, func() {
		if l.Check("POST", u) != nil || scoped.Check("POST", u) != nil {
			t.Fatal("out of scope")
		}
	}); n != 0 {
		t.Errorf("Check allocates %.1f times", n)
	}
}

func BenchmarkAuthorize(b *testing.B) {
	s, ids, secs, me := benchStore(b, 10000)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := s.Authorize(ids[i%len(ids)], secs[i%len(ids)], me); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

func BenchmarkCheck(b *testing.B) {
	l := &Lease{Scope: api.Scope{Hosts: []string{"api.anthropic.com"}, Methods: []string{"POST"}, PathPrefixes: []string{"/v1/messages"}}}
	u, _ := NormalizeURL("https://api.anthropic.com/v1/messages")
	b.ReportAllocs()
	for b.Loop() {
		if err := l.Check("POST", u); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNormalizeURL(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NormalizeURL("https://api.anthropic.com/v1/messages?beta=true"); err != nil {
			b.Fatal(err)
		}
	}
}
