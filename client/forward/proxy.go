package forward

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/client"
)

// HealthPath is answered by the forwarder itself and never proxied.
const HealthPath = "/healthz"

// minGrantBudget is the least time a request gives the broker to grant
// headers, even when waiting for the lease used up MaxWait.
const minGrantBudget = 250 * time.Millisecond

// maxReacquires bounds how often one request replaces a lease the broker
// no longer accepts, so a broker that refuses every new lease is not
// flooded with lease creations.
const maxReacquires = 2

// ServeHTTP forwards r to the upstream with the headers the broker grants,
// or answers the failure itself in the provider's error shape.
func (f *Forwarder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == HealthPath && r.URL.Host == "" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		f.serveHealth(w, r)
		return
	}
	w.Header()[requestIDHeader] = []string{ensureRequestID(r.Header)}
	t, err := f.up.mapTarget(r)
	if err != nil {
		writeFailure(w, f.provider, fail(http.StatusBadRequest, err.Error()))
		return
	}
	t.upgrade = isWebSocketUpgrade(r.Header)
	if t.upgrade {
		f.serveUpgrade(w, r, &t)
		return
	}
	ctx := r.Context()

	// The lease first: it says whether the body must be hashed.
	s, budget, fl := f.awaitLease(ctx)
	if fl != nil {
		f.refuse(w, r, fl)
		return
	}

	body, fl := f.readBody(r, s.needsSHA)
	if fl != nil {
		if fl.status == http.StatusBadRequest {
			f.log.Info("request body failed; nothing was sent upstream", "method", r.Method, "path", t.url.Path, "error", fl.msg)
		}
		f.refuse(w, r, fl)
		return
	}
	defer f.releaseBody(body)

	hreq := api.HeadersRequest{Method: r.Method, URL: t.abs, BodySHA256: body.sum}
	out, s, fl := f.prepare(ctx, r, &t, body, s, &hreq, budget)
	if fl != nil {
		f.refuse(w, r, fl)
		return
	}
	resp, err := f.transport.RoundTrip(out)
	if err == nil && f.mustReplay(resp, s.needsSHA) {
		resp, err = f.retryUnauthorized(ctx, r, &t, body, s, &hreq, resp)
	}
	if cerr := body.clientErr(); cerr != nil {
		// The upstream saw the broker's headers and a body cut short;
		// whatever it answered is not an answer to the client's request.
		if err == nil {
			_ = resp.Body.Close()
		}
		f.log.Info("request body failed midway; the upstream request was aborted",
			"method", r.Method, "path", t.url.Path, "error", cerr)
		if ctx.Err() == nil {
			writeFailure(w, f.provider, fail(http.StatusBadRequest, "cannot read the request body: "+cerr.Error()))
		}
		return
	}
	if err != nil {
		if ctx.Err() != nil {
			f.log.Info("client went away; the upstream request was aborted", "method", r.Method, "path", t.url.Path)
			return
		}
		f.log.Warn("upstream request failed", "method", r.Method, "path", t.url.Path, "error", err)
		writeFailure(w, f.provider, fail(http.StatusBadGateway, "upstream request failed: "+err.Error()))
		return
	}
	f.relay(ctx, w, resp)
}

// refuse answers fl, or logs that the client is gone and cannot hear it.
func (f *Forwarder) refuse(w http.ResponseWriter, r *http.Request, fl *failure) {
	if r.Context().Err() != nil {
		f.log.Info("client went away; nothing was sent upstream", "method", r.Method, "path", r.URL.Path)
		return
	}
	writeFailure(w, f.provider, fl)
}

// awaitLease waits up to MaxWait for the lease and returns it with the
// time left for the headers call. Reading the body does not count against
// MaxWait; a lease that came late still leaves the headers call a moment.
func (f *Forwarder) awaitLease(ctx context.Context) (*leaseState, time.Duration, *failure) {
	waitStart := time.Now()
	lctx, cancel := context.WithTimeout(ctx, f.maxWait)
	s, err := f.leases.wait(lctx)
	cancel()
	if err != nil {
		return nil, 0, f.noLease(err)
	}
	return s, max(f.maxWait-time.Since(waitStart), minGrantBudget), nil
}

// prepare asks the broker for the headers of this request and builds the
// outbound request carrying them.
func (f *Forwarder) prepare(ctx context.Context, r *http.Request, t *target, body *reqBody,
	s *leaseState, hreq *api.HeadersRequest, budget time.Duration) (*http.Request, *leaseState, *failure) {
	out := r.WithContext(ctx)
	out.Header = make(http.Header, len(r.Header)+4)
	want := make(map[string]string, len(r.Header))
	copyRequestHeaders(out.Header, want, r.Header)
	if t.upgrade {
		stripSubprotocolKeys(out.Header, want)
	}
	hreq.Headers = want

	gctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	g, s, fl := f.grant(gctx, s, hreq)
	if fl != nil {
		return nil, s, fl
	}
	applyGrant(out.Header, g.Set, g.Remove)
	if t.upgrade {
		// The hop-by-hop pair that asks the upstream to switch protocols.
		out.Header["Connection"] = []string{"Upgrade"}
		out.Header["Upgrade"] = []string{"websocket"}
	}

	out.URL = &t.url
	out.Host = ""
	out.RequestURI = ""
	out.Proto, out.ProtoMajor, out.ProtoMinor = "HTTP/1.1", 1, 1
	out.Close = false
	out.TransferEncoding = nil
	out.Trailer = nil
	out.Form, out.PostForm, out.MultipartForm = nil, nil, nil
	out.RemoteAddr = ""
	out.TLS = nil
	out.ContentLength = body.size
	out.Body, out.GetBody = nil, nil
	if body.size != 0 {
		rc, err := body.reader()
		if err != nil {
			return nil, s, fail(http.StatusBadGateway, "the request cannot be sent again: "+err.Error())
		}
		out.Body = rc
		if body.stream == nil {
			// The transport sends the body again on a new connection when a
			// reused one turns out closed or an HTTP/2 stream is refused.
			out.GetBody = body.reader
		}
	}
	return out, s, nil
}

// retryUnauthorized handles an upstream answer that says the credential is
// stale (mustReplay): the broker re-exchanges the credential, and a request
// whose body was kept is replayed once with fresh headers (as the Anthropic
// SDK does). Otherwise the upstream's answer is relayed.
func (f *Forwarder) retryUnauthorized(ctx context.Context, r *http.Request, t *target, body *reqBody,
	s *leaseState, hreq *api.HeadersRequest, first *http.Response) (*http.Response, error) {
	ictx, cancel := context.WithTimeout(ctx, f.maxWait)
	_, err := f.b.Invalidate(ictx, s.id, s.secret)
	cancel()
	if err != nil {
		f.log.Warn("invalidate after a stale-credential answer failed", "lease", s.id, "status", first.StatusCode, "error", err)
	} else {
		f.log.Info("upstream says the credential is stale; credential invalidated", "lease", s.id,
			"status", first.StatusCode, "replay", body.replayable())
	}
	if !body.replayable() || ctx.Err() != nil {
		return first, nil
	}
	out, _, fl := f.prepare(ctx, r, t, body, s, hreq, f.maxWait)
	if fl != nil {
		f.log.Warn("cannot replay the request; relaying the upstream's answer", "status", first.StatusCode, "error", fl.msg)
		return first, nil
	}
	drain(first.Body)
	return f.transport.RoundTrip(out)
}

// drain reads a little of a discarded response so its connection can be
// reused, then closes it.
func drain(rc io.ReadCloser) {
	_, _ = io.CopyN(io.Discard, rc, 64<<10)
	_ = rc.Close()
}

// grant asks the broker for the headers of hreq, retrying within ctx while
// the broker is unreachable or the credential unavailable, and acquiring a
// new lease when the broker no longer knows the one in hand.
func (f *Forwarder) grant(ctx context.Context, s *leaseState, hreq *api.HeadersRequest) (*api.HeadersResponse, *leaseState, *failure) {
	var last error
	var retryAfter time.Duration
	reacquires := 0
	for attempt := 0; ; attempt++ {
		g, err := f.b.Headers(ctx, s.id, s.secret, hreq)
		if err == nil {
			if g == nil || len(g.Set) == 0 {
				f.log.Error("broker granted no headers; refusing to forward", "lease", s.id)
				return nil, s, fail(http.StatusBadGateway, "awf-broker granted no headers; the request was not sent upstream")
			}
			return g, s, nil
		}
		if ctx.Err() != nil {
			return nil, s, f.gaveUp(last, retryAfter, err)
		}
		last = err
		act, ce := classify(err)
		var wait time.Duration
		switch act {
		case actRetry:
			wait = backoff(attempt, 25*time.Millisecond, time.Second, f.jitter())
		case actWait:
			retryAfter = ce.RetryAfter
			wait = ce.RetryAfter
			if wait <= 0 {
				wait = backoff(attempt, 100*time.Millisecond, time.Second, f.jitter())
			}
			if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
				return nil, s, f.gaveUp(err, retryAfter, err)
			}
		case actReacquire:
			f.leases.drop(s, err)
			if reacquires++; reacquires > maxReacquires {
				return nil, s, fail(http.StatusServiceUnavailable, "awf-broker keeps refusing the forwarder's leases ("+err.Error()+"); the request was not sent upstream")
			}
			if attempt > 0 {
				if !sleep(ctx, backoff(attempt-1, 50*time.Millisecond, time.Second, f.jitter())) {
					return nil, s, f.gaveUp(last, retryAfter, err)
				}
			}
			ns, werr := f.leases.wait(ctx)
			if werr != nil {
				return nil, s, f.noLease(werr)
			}
			s = ns
			continue
		case actRevoked:
			f.leases.setRevoked()
			return nil, s, fail(http.StatusServiceUnavailable, errRevoked.Error())
		case actRefuse:
			return nil, s, refusal(ce)
		case actGarbage:
			f.log.Error("broker answered garbage; refusing to forward", "lease", s.id, "error", err)
			return nil, s, fail(http.StatusBadGateway, "awf-broker answered with an invalid response; the request was not sent upstream")
		}
		if !sleep(ctx, wait) {
			return nil, s, f.gaveUp(last, retryAfter, err)
		}
	}
}

// refusal is the answer to a permanent refusal by the broker.
func refusal(ce *client.Error) *failure {
	switch ce.Code {
	case api.CodeCredentialFailed:
		code := ce.UpstreamCode
		if code == "" {
			code = "unknown"
		}
		return fail(http.StatusServiceUnavailable, "credential failed upstream ("+code+"): "+problemText(ce)+"; the request was not sent upstream")
	case api.CodeScopeViolation:
		return fail(http.StatusForbidden, "request outside the lease's scope: "+problemText(ce))
	}
	return fail(http.StatusBadGateway, "awf-broker refused the request ("+ce.Code+"): "+problemText(ce)+"; the request was not sent upstream")
}

// problemText is the broker's detail, or its title; neither carries a secret.
func problemText(ce *client.Error) string {
	if ce.Detail != "" {
		return ce.Detail
	}
	return ce.Title
}

// gaveUp is the 503 answered when MaxWait passed without headers.
func (f *Forwarder) gaveUp(last error, retryAfter time.Duration, final error) *failure {
	if last == nil {
		last = final
	}
	act, _ := classify(last)
	var fl *failure
	switch act {
	case actWait:
		fl = fail(http.StatusServiceUnavailable, "credential not available yet ("+last.Error()+"); the request was not sent upstream")
	case actRetry:
		fl = fail(http.StatusServiceUnavailable, "awf-broker unreachable ("+last.Error()+"); the request was not sent upstream")
	default:
		fl = fail(http.StatusServiceUnavailable, "no headers from awf-broker within "+f.maxWait.String()+" ("+last.Error()+"); the request was not sent upstream")
	}
	fl.retryAfter = retryAfter
	if fl.retryAfter <= 0 {
		fl.retryAfter = time.Second
	}
	return fl
}

// noLease is the answer when there is no lease to ask for headers with.
func (f *Forwarder) noLease(err error) *failure {
	switch {
	case errors.Is(err, errRevoked):
		return fail(http.StatusServiceUnavailable, errRevoked.Error())
	case errors.Is(err, errClosed):
		return fail(http.StatusServiceUnavailable, "the forwarder is shutting down")
	}
	return &failure{status: http.StatusServiceUnavailable, retryAfter: time.Second,
		msg: "no lease from awf-broker (" + err.Error() + "); the request was not sent upstream"}
}
