package server

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/clock"
	"github.com/awf-broker/awf-broker/broker/lease"
	"github.com/awf-broker/awf-broker/broker/metrics"
	"github.com/awf-broker/awf-broker/broker/peer"
)

const benchHeadersBody = `{"method":"POST","url":"https://api.anthropic.com/v1/messages","headers":{"anthropic-version":"2023-06-01","content-type":"application/json"}}`

// benchForwarderBody is what a forwarder sends for a bearer credential.
const benchForwarderBody = `{"method":"POST","url":"https://api.anthropic.com/v1/messages"}`

// benchServer is a server with one lease held by this process.
func benchServer(b *testing.B, opts ...func(*Config)) (*Server, api.CreatedLease, peer.Cred) {
	b.Helper()
	creds := stubSource{"anthropic": {info: Description{Name: "anthropic", Hosts: []string{"api.anthropic.com"}, LeaseTTL: 24 * 60 * 60e9}}}
	leases := lease.New(lease.Config{Clock: clock.Real()})
	cfg := Config{Credentials: creds, Leases: leases,
		Logger: hclog.NewNullLogger(), ContainerID: func(int32) string { return "" }}
	for _, o := range opts {
		o(&cfg)
	}
	s := New(cfg)
	st, _ := peer.StartTime(int32(os.Getpid()))
	me := peer.Cred{UID: uint32(os.Getuid()), GID: uint32(os.Getgid()), PID: int32(os.Getpid()), StartTime: st}
	l, sec, err := leases.Create(lease.Ceiling{Name: "anthropic", Hosts: []string{"api.anthropic.com"}, MaxTTL: 24 * 60 * 60e9},
		api.CreateLeaseRequest{Credential: "anthropic", Bind: api.BindProcess}, lease.Holder{Cred: me})
	if err != nil {
		b.Fatal(err)
	}
	return s, api.CreatedLease{Lease: l.API(), Secret: sec.Reveal()}, me
}

// BenchmarkHeadersHandler is one header grant through the handler, in
// process: wrapper, lease check, decode, scope, encode.
func BenchmarkHeadersHandler(b *testing.B) {
	b.Run("plain", func(b *testing.B) { benchHeadersHandler(b, benchHeadersBody) })
	b.Run("metrics", func(b *testing.B) {
		m := metrics.New(metrics.Config{Version: "bench"})
		benchHeadersHandler(b, benchHeadersBody, func(c *Config) { c.OnGrant = m.Grant })
	})
	b.Run("forwarder", func(b *testing.B) {
		m := metrics.New(metrics.Config{Version: "bench"})
		benchHeadersHandler(b, benchForwarderBody, func(c *Config) { c.OnGrant = m.Grant })
	})
}

func benchHeadersHandler(b *testing.B, reqBody string, opts ...func(*Config)) {
	s, l, me := benchServer(b, opts...)
	h := s.Handler()
	ctx := peer.WithCred(context.Background(), me)
	body := strings.NewReader(reqBody)
	req := httptest.NewRequest("POST", "http://unix/v1/leases/"+l.ID+"/headers", body).WithContext(ctx)
	req.Header.Set("Authorization", "Bearer "+l.Secret)
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		body.Reset(reqBody)
		req.Body = io.NopCloser(body)
		w.status = 0
		h.ServeHTTP(w, req)
		if w.status != 200 {
			b.Fatalf("status %d", w.status)
		}
	}
}

type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(s int)           { w.status = s }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkSocket compares header grants with a trivial handler served
// over the same kind of socket by the same HTTP stack (DESIGN §9: grants
// should reach at least 0.6× its throughput).
func BenchmarkSocket(b *testing.B) {
	s, l, _ := benchServer(b)
	trivial := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{}`))
	})
	for _, c := range []struct {
		name    string
		handler http.Handler
		path    string
	}{
		{"trivial", trivial, "/trivial"},
		{"headers", s.Handler(), "/v1/leases/" + l.ID + "/headers"},
	} {
		b.Run(c.name, func(b *testing.B) {
			sock := filepath.Join(b.TempDir(), "s.sock")
			ln, err := peer.Listen(sock, 0o600, -1)
			if err != nil {
				b.Fatal(err)
			}
			srv := &http.Server{Handler: c.handler, ConnContext: peer.ConnContext}
			go srv.Serve(ln)
			defer srv.Close()
			tr := &http.Transport{MaxIdleConnsPerHost: 64, DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, "unix", sock)
			}}
			defer tr.CloseIdleConnections()
			hc := &http.Client{Transport: tr}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest("POST", "http://unix"+c.path, strings.NewReader(benchHeadersBody))
					req.Header.Set("Authorization", "Bearer "+l.Secret)
					resp, err := hc.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						b.Fatalf("status %d", resp.StatusCode)
					}
				}
			})
		})
	}
}
