package benchsuite

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/client"
	"github.com/awf-broker/awf-broker/client/forward"
)

// benchBody and benchAnswer are a small Messages call and its answer.
const (
	benchBody = `{"model":"claude-test","max_tokens":64,"messages":[{"role":"user","content":"` +
		`The quick brown fox jumps over the lazy dog. The quick brown fox jumps over the lazy dog."}]}`
	benchAnswer = `{"id":"msg_1","type":"message","role":"assistant","model":"claude-test",` +
		`"content":[{"type":"text","text":"ok"}],"stop_reason":"end_turn","stop_sequence":null,` +
		`"usage":{"input_tokens":30,"output_tokens":1}}`
)

// servers owns the listeners the suite starts and closes them together.
type servers struct {
	closers []func()
}

func (s *servers) close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
}

// serve serves h on ln until close.
func (s *servers) serve(ln net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	s.closers = append(s.closers, func() { _ = srv.Close() })
}

// tcp listens on a loopback port.
func (s *servers) tcp() (net.Listener, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	return ln, nil
}

// upstream is a fixed Messages endpoint that wants some bearer.
func (s *servers) upstream() (string, error) {
	ln, err := s.tcp()
	if err != nil {
		return "", err
	}
	s.serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") || r.Header.Get("X-Api-Key") != "" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, benchAnswer)
	}))
	return "http://" + ln.Addr().String(), nil
}

// echo is the raw unix-socket echo server: the floor of any round trip
// on the socket.
func (s *servers) echo(path string) error {
	ln, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	s.closers = append(s.closers, func() { _ = ln.Close() })
	go acceptLoop(ln, func(c net.Conn) { defer c.Close(); _, _ = io.Copy(c, c) })
	return nil
}

// trivial serves a fixed JSON answer on the socket with net/http, the
// stack the broker's API uses: the floor of a header grant.
func (s *servers) trivial(path string) error {
	ln, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	s.serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"ok","version":"x"}`)
	}))
	return nil
}

// relay is a raw TCP byte relay to target: the limit of any one-hop proxy.
func (s *servers) relay(target string) (string, error) {
	ln, err := s.tcp()
	if err != nil {
		return "", err
	}
	s.closers = append(s.closers, func() { _ = ln.Close() })
	go acceptLoop(ln, func(c net.Conn) { relayConn(c, target) })
	return "http://" + ln.Addr().String(), nil
}

// ServeRelay is the raw TCP relay as a process of its own, listening on
// addr until ctx ends: the workload's floor, with its CPU time.
func ServeRelay(ctx context.Context, addr, target string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("relay: %w", err)
	}
	go func() { <-ctx.Done(); _ = ln.Close() }()
	acceptLoop(ln, func(c net.Conn) { relayConn(c, target) })
	return nil
}

// relayConn copies bytes both ways between c and a new connection to target.
func relayConn(c net.Conn, target string) {
	defer c.Close()
	up, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer up.Close()
	done := make(chan struct{})
	go func() { _, _ = io.Copy(up, c); _ = up.(*net.TCPConn).CloseWrite(); close(done) }()
	_, _ = io.Copy(c, up)
	<-done
}

func acceptLoop(ln net.Listener, h func(net.Conn)) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go h(c)
	}
}

// stubBroker answers every header request with a fixed bearer: the
// "separate stub broker" of DESIGN §9's naive reference, in process.
func (s *servers) stubBroker(path string) error {
	ln, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	s.serve(ln, StubBrokerHandler())
	return nil
}

// ServeStubBroker serves the naive reference's stub broker on a unix
// socket at path until ctx ends; awf-bench runs it as a separate process.
func ServeStubBroker(ctx context.Context, path string) error {
	ln, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("stub broker: %w", err)
	}
	srv := &http.Server{Handler: StubBrokerHandler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { <-ctx.Done(); _ = srv.Close() }()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("stub broker: %w", err)
	}
	return nil
}

// StubBrokerHandler answers POST /v1/leases/{id}/headers with a constant.
func StubBrokerHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req api.HeadersRequest
		if err := decodeJSON(r.Body, &req); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"set":{"authorization":"Bearer stub-token","anthropic-version":"2023-06-01"},"remove":[],"valid_until":"2100-01-01T00:00:00Z"}`)
	})
}

// naive is DESIGN §9's naive reference, in this process: a plain
// httputil.ReverseProxy that asks the stub broker for headers over a
// keep-alive unix-socket pool.
func (s *servers) naive(upstream, brokerSock string) (string, error) {
	up, err := url.Parse(upstream)
	if err != nil {
		return "", fmt.Errorf("naive: %w", err)
	}
	cl := client.New(brokerSock)
	s.closers = append(s.closers, cl.Close)
	ln, err := s.tcp()
	if err != nil {
		return "", err
	}
	s.serve(ln, naiveHandler(up, cl))
	return "http://" + ln.Addr().String(), nil
}

// ServeNaive serves the naive reference on addr, forwarding to upstream
// with headers from the stub broker on brokerSock, until ctx ends;
// awf-bench runs it as a separate process so its CPU time can be read.
func ServeNaive(ctx context.Context, addr, upstream, brokerSock string) error {
	up, err := url.Parse(upstream)
	if err != nil {
		return fmt.Errorf("naive: %w", err)
	}
	cl := client.New(brokerSock)
	defer cl.Close()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("naive: %w", err)
	}
	srv := &http.Server{Handler: naiveHandler(up, cl), ReadHeaderTimeout: 10 * time.Second}
	go func() { <-ctx.Done(); _ = srv.Close() }()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("naive: %w", err)
	}
	return nil
}

// naiveHandler is the reference's proxy: ReverseProxy with the forwarder's
// own upstream transport (so that only the proxy logic differs), one
// headers call per request, the agent's key stripped, full duplex (as in
// DESIGN §9's independent measurement: without it net/http may close an
// HTTP/1.1 request body that is still being relayed once the answer
// starts, and some streamed calls fail).
func naiveHandler(up *url.URL, cl *client.Client) http.Handler {
	rp := &httputil.ReverseProxy{
		Transport:     forward.DefaultTransport(0),
		FlushInterval: -1,
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(up)
			hdrs := map[string]string{}
			for k, vs := range pr.Out.Header {
				lk := strings.ToLower(k)
				if lk == "authorization" || lk == "x-api-key" || strings.HasPrefix(lk, "x-forwarded-") {
					pr.Out.Header.Del(k)
					continue
				}
				hdrs[lk] = strings.Join(vs, ",")
			}
			g, err := cl.Headers(pr.In.Context(), "stub", "stub-secret", &api.HeadersRequest{Method: pr.Out.Method, URL: pr.Out.URL.String(), Headers: hdrs})
			if err != nil {
				pr.Out.URL.Host = "127.0.0.1:1" // fail closed
				return
			}
			for k, v := range g.Set {
				pr.Out.Header.Set(k, v)
			}
		},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = http.NewResponseController(w).EnableFullDuplex()
		rp.ServeHTTP(w, r)
	})
}

// poster sends the benchmark's Messages call to base.
type poster struct {
	hc *http.Client
}

func newPoster() *poster {
	return &poster{hc: &http.Client{Transport: &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 512, DisableCompression: true}}}
}

// post sends one call; direct calls carry the bearer themselves, the
// others a placeholder key that the proxy must strip.
func (p *poster) post(ctx context.Context, base string, direct bool) error {
	req, err := http.NewRequestWithContext(ctx, "POST", base+"/v1/messages", strings.NewReader(benchBody))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Anthropic-Version", "2023-06-01")
	if direct {
		req.Header.Set("Authorization", "Bearer direct-token")
	} else {
		req.Header.Set("X-Api-Key", "placeholder")
	}
	resp, err := p.hc.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: status %d", base, resp.StatusCode)
	}
	return nil
}

var errNotJSON = errors.New("not JSON")
