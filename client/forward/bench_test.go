package forward

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/client"
)

const benchBody = `{"model":"claude-test","max_tokens":64,"messages":[{"role":"user","content":"` +
	`The quick brown fox jumps over the lazy dog. The quick brown fox jumps over the lazy dog."}]}`

const benchAnswer = `{"id":"msg_1","type":"message","role":"assistant","model":"claude-test",` +
	`"content":[{"type":"text","text":"ok"}],"stop_reason":"end_turn","stop_sequence":null,` +
	`"usage":{"input_tokens":30,"output_tokens":1}}`

// benchEnv is a fixed upstream, a stub broker on a unix socket, the real
// forwarder and a naive reference (httputil.ReverseProxy asking the broker
// for headers), each on a loopback port.
type benchEnv struct {
	upstream, forwarder, naive string
	hc                         *http.Client
}

func newBenchEnv(b *testing.B) *benchEnv {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok-1" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, benchAnswer)
	}))
	b.Cleanup(up.Close)
	upURL, _ := url.Parse(up.URL)
	broker := newStubBroker(b, upURL.Host, false)
	cl := client.New(broker.sock)

	fwd, err := New(Config{Client: cl, Credential: "anthropic", Upstream: upURL})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := fwd.Start(ctx); err != nil {
		b.Fatal(err)
	}
	naive := naiveProxy(b, cl, upURL)
	env := &benchEnv{
		upstream:  up.URL,
		forwarder: serveBench(b, ctx, fwd),
		naive:     serveBench(b, ctx, naive),
		hc: &http.Client{Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256,
			DisableCompression: true}},
	}
	b.Cleanup(func() {
		cancel()
		fwd.Close()
		env.hc.CloseIdleConnections()
	})
	return env
}

func serveBench(b *testing.B, ctx context.Context, h http.Handler) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go Serve(ctx, ln, NewServer(h, nil))
	return "http://" + ln.Addr().String()
}

// naiveProxy is §9's naive reference: a plain ReverseProxy that asks the
// broker for headers over the same client for every request.
func naiveProxy(b *testing.B, cl *client.Client, upURL *url.URL) http.Handler {
	l, err := cl.CreateLease(context.Background(), api.CreateLeaseRequest{Credential: "anthropic", Bind: api.BindProcess})
	if err != nil {
		b.Fatal(err)
	}
	return &httputil.ReverseProxy{
		Transport:     DefaultTransport(0),
		FlushInterval: -1,
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(upURL)
			hdrs := map[string]string{}
			for k, vs := range pr.Out.Header {
				if isStripped(k, nil) {
					pr.Out.Header.Del(k)
					continue
				}
				hdrs[strings.ToLower(k)] = strings.Join(vs, ",")
			}
			g, err := cl.Headers(pr.In.Context(), l.ID, l.Secret, &api.HeadersRequest{
				Method: pr.Out.Method, URL: pr.Out.URL.String(), Headers: hdrs})
			if err != nil {
				pr.Out.URL.Host = "127.0.0.1:1" // fail the request
				return
			}
			applyGrant(pr.Out.Header, g.Set, g.Remove)
		},
	}
}

// load sends n requests to base from c concurrent clients and returns how
// long they took.
func (e *benchEnv) load(b *testing.B, base string, c, n int, direct bool) time.Duration {
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				req, _ := http.NewRequest("POST", base+"/v1/messages", strings.NewReader(benchBody))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Anthropic-Version", "2023-06-01")
				if direct {
					req.Header.Set("Authorization", "Bearer tok-1")
				} else {
					req.Header.Set("X-Api-Key", "placeholder")
				}
				resp, err := e.hc.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(start)
}

func rate(n int, d time.Duration) float64 { return float64(n) / d.Seconds() }

// BenchmarkForward measures requests sent direct to the upstream, through
// the forwarder (with the stub broker on a unix socket), and through §9's
// naive reference. The forwarder runs interleave, untimed, as many direct
// and naive requests in the same chunks, so that x_direct and x_naive
// compare the three under the same machine load.
func BenchmarkForward(b *testing.B) {
	env := newBenchEnv(b)
	for _, c := range []int{1, 32} {
		b.Run(fmt.Sprintf("direct/c=%d", c), func(b *testing.B) {
			b.ReportMetric(rate(b.N, env.load(b, env.upstream, c, b.N, true)), "req/s")
		})
		b.Run(fmt.Sprintf("naive/c=%d", c), func(b *testing.B) {
			b.ReportMetric(rate(b.N, env.load(b, env.naive, c, b.N, false)), "req/s")
		})
		b.Run(fmt.Sprintf("forwarder/c=%d", c), func(b *testing.B) {
			b.ReportAllocs()
			const chunks = 4
			var fwd, direct, naive time.Duration
			done := 0
			for i := range chunks {
				n := b.N/chunks + btoi(i < b.N%chunks)
				if n == 0 {
					continue
				}
				b.StartTimer()
				fwd += env.load(b, env.forwarder, c, n, false)
				b.StopTimer()
				direct += env.load(b, env.upstream, c, n, true)
				naive += env.load(b, env.naive, c, n, false)
				done += n
			}
			b.ReportMetric(rate(done, fwd), "req/s")
			b.ReportMetric(direct.Seconds()/fwd.Seconds(), "x_direct")
			b.ReportMetric(naive.Seconds()/fwd.Seconds(), "x_naive")
		})
	}
}

func btoi(v bool) int {
	if v {
		return 1
	}
	return 0
}
