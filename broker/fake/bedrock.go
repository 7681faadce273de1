package fake

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// BedrockOptions configures the Bedrock Runtime fake.
type BedrockOptions struct {
	// STS issued the only credentials accepted.
	STS *STS
	// Region is the region signatures must be scoped to (default us-east-1).
	Region string
}

// Bedrock fakes Bedrock Runtime: it verifies every request's SigV4
// signature by signing it again, with the SDK's v4 signer, using the
// credentials its STS issued; and it serves Converse, InvokeModel,
// ConverseStream and InvokeModelWithResponseStream.
type Bedrock struct {
	srv    *httptest.Server
	opts   BedrockOptions
	signer *v4.Signer

	mu         sync.Mutex
	served     int
	refused    map[string]int // x-amzn-ErrorType → count
	models     []string
	eventDelay time.Duration
	hold       chan struct{} // streams pause after their first event until closed
	// streamFault, when set, ends the next stream after streamFaultAt
	// events with an exception frame of that type.
	streamFault   string
	streamFaultAt int
}

// MaxSkew is how far x-amz-date may be from the fake's clock.
const MaxSkew = 5 * time.Minute

// NewBedrock starts the fake on a loopback port.
func NewBedrock(opts BedrockOptions) *Bedrock {
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	b := &Bedrock{opts: opts, signer: v4.NewSigner(), refused: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /model/{model}/converse", b.authorized(b.serveConverse))
	mux.HandleFunc("POST /model/{model}/converse-stream", b.authorized(b.serveConverseStream))
	mux.HandleFunc("POST /model/{model}/invoke", b.authorized(b.serveInvoke))
	mux.HandleFunc("POST /model/{model}/invoke-with-response-stream", b.authorized(b.serveInvokeStream))
	mux.HandleFunc("/", b.authorized(func(w http.ResponseWriter, r *http.Request, _ []byte) {
		bedrockError(w, http.StatusNotFound, "UnknownOperationException", "")
	}))
	b.srv = httptest.NewServer(mux)
	return b
}

// URL is the fake's base URL.
func (b *Bedrock) URL() string { return b.srv.URL }

// Host is the fake's host:port.
func (b *Bedrock) Host() string { return strings.TrimPrefix(b.srv.URL, "http://") }

// Close stops the fake.
func (b *Bedrock) Close() { b.srv.Close() }

// Served counts requests that passed the signature check.
func (b *Bedrock) Served() int { b.mu.Lock(); defer b.mu.Unlock(); return b.served }

// Refused counts requests refused with the error type typ ("" for all).
func (b *Bedrock) Refused(typ string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if typ != "" {
		return b.refused[typ]
	}
	n := 0
	for _, c := range b.refused {
		n += c
	}
	return n
}

// Models returns the (decoded) model ids of the requests served.
func (b *Bedrock) Models() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.models...)
}

// HoldStreams makes streams pause after their first event until release
// is called, so a test can see that event arrive while the stream is open.
func (b *Bedrock) HoldStreams() (release func()) {
	ch := make(chan struct{})
	b.mu.Lock()
	b.hold = ch
	b.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			b.mu.Lock()
			if b.hold == ch {
				b.hold = nil
			}
			b.mu.Unlock()
			close(ch)
		})
	}
}

// FailNextStream makes the next stream end after n events with an
// in-stream exception of type typ (e.g. "throttlingException").
func (b *Bedrock) FailNextStream(n int, typ string) {
	b.mu.Lock()
	b.streamFault, b.streamFaultAt = typ, n
	b.mu.Unlock()
}

// SetEventDelay sets the pause between streamed events.
func (b *Bedrock) SetEventDelay(d time.Duration) { b.mu.Lock(); b.eventDelay = d; b.mu.Unlock() }

// authorized wraps h with the signature check; h gets the body read.
func (b *Bedrock) authorized(h func(http.ResponseWriter, *http.Request, []byte)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 32<<20))
		if err != nil {
			bedrockError(w, http.StatusBadRequest, "ValidationException", "cannot read the body")
			return
		}
		if refusal := b.verify(r, body); refusal != nil {
			b.mu.Lock()
			b.refused[refusal.typ]++
			b.mu.Unlock()
			bedrockError(w, refusal.status, refusal.typ, refusal.msg)
			return
		}
		b.mu.Lock()
		b.served++
		if m := r.PathValue("model"); m != "" {
			b.models = append(b.models, m)
		}
		b.mu.Unlock()
		h(w, r, body)
	}
}

type sigRefusal struct {
	status   int
	typ, msg string
}

func refuse403(typ, format string, args ...any) *sigRefusal {
	return &sigRefusal{status: http.StatusForbidden, typ: typ, msg: fmt.Sprintf(format, args...)}
}

// sigV4 is a parsed Authorization header.
type sigV4 struct {
	akid, date, region, service string
	signedHeaders               []string
	signature                   string
}

func parseAuthorization(h string) (sigV4, bool) {
	var s sigV4
	rest, ok := strings.CutPrefix(h, "AWS4-HMAC-SHA256 ")
	if !ok {
		return s, false
	}
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return s, false
		}
		switch k {
		case "Credential":
			f := strings.Split(v, "/")
			if len(f) != 5 || f[4] != "aws4_request" {
				return s, false
			}
			s.akid, s.date, s.region, s.service = f[0], f[1], f[2], f[3]
		case "SignedHeaders":
			s.signedHeaders = strings.Split(v, ";")
		case "Signature":
			s.signature = v
		}
	}
	return s, s.akid != "" && len(s.signedHeaders) > 0 && s.signature != ""
}

// verify checks r's signature as AWS does and returns the refusal, if any.
func (b *Bedrock) verify(r *http.Request, body []byte) *sigRefusal {
	authz := r.Header.Get("Authorization")
	if authz == "" {
		return refuse403("MissingAuthenticationTokenException", "Missing Authentication Token")
	}
	sig, ok := parseAuthorization(authz)
	if !ok {
		return refuse403("IncompleteSignatureException", "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters.")
	}
	when, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return refuse403("IncompleteSignatureException", "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
	}
	if d := time.Since(when); d > MaxSkew || d < -MaxSkew {
		return refuse403("InvalidSignatureException", "Signature expired: %s is now earlier than %s (%s - 5 min.)",
			when.Format("20060102T150405Z"), time.Now().UTC().Add(-MaxSkew).Format("20060102T150405Z"), time.Now().UTC().Format("20060102T150405Z"))
	}
	if sig.date != when.Format("20060102") {
		return refuse403("InvalidSignatureException", "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s'", sig.date, when.Format("20060102"))
	}
	if sig.service != "bedrock" {
		return refuse403("InvalidSignatureException", "Credential should be scoped to correct service: 'bedrock'. ")
	}
	if sig.region != b.opts.Region {
		return refuse403("InvalidSignatureException", "Credential should be scoped to a valid region. ")
	}
	signed := map[string]bool{}
	for _, h := range sig.signedHeaders {
		signed[h] = true
	}
	for _, h := range []string{"host", "x-amz-date"} {
		if !signed[h] {
			return refuse403("InvalidSignatureException", "'%s' must be a signed header", h)
		}
	}
	secretKey, token, expires, ok := b.lookup(sig.akid)
	if !ok {
		return refuse403("UnrecognizedClientException", "The security token included in the request is invalid.")
	}
	if subtle.ConstantTimeCompare([]byte(r.Header.Get("X-Amz-Security-Token")), []byte(token)) != 1 || !signed["x-amz-security-token"] {
		return refuse403("UnrecognizedClientException", "The security token included in the request is invalid.")
	}
	if !time.Now().Before(expires) {
		return refuse403("ExpiredTokenException", "The security token included in the request is expired")
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" && h != hash {
		return refuse403("InvalidSignatureException", "The provided 'x-amz-content-sha256' header does not match what was computed.")
	}
	want, err := b.resign(r, sig, hash, when, sdkaws.Credentials{AccessKeyID: sig.akid, SecretAccessKey: secretKey, SessionToken: token})
	if err != nil || subtle.ConstantTimeCompare([]byte(want), []byte(authz)) != 1 {
		return refuse403("InvalidSignatureException", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
	}
	return nil
}

func (b *Bedrock) lookup(akid string) (string, string, time.Time, bool) {
	if b.opts.STS == nil {
		return "", "", time.Time{}, false
	}
	return b.opts.STS.Lookup(akid)
}

// resign signs a copy of r holding only the headers r says it signed, with
// the body's actual hash, and returns the Authorization it yields.
func (b *Bedrock) resign(r *http.Request, sig sigV4, hash string, when time.Time, creds sdkaws.Credentials) (string, error) {
	u := &url.URL{Scheme: "https", Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	c := &http.Request{Method: r.Method, URL: u, Host: r.Host, Header: http.Header{}}
	for _, h := range sig.signedHeaders {
		switch h {
		case "host":
		case "content-length":
			c.ContentLength = r.ContentLength
		default:
			vals := r.Header.Values(h)
			if len(vals) == 0 {
				return "", fmt.Errorf("signed header %s is missing", h)
			}
			c.Header[http.CanonicalHeaderKey(h)] = vals
		}
	}
	if err := b.signer.SignHTTP(context.Background(), creds, c, hash, "bedrock", b.opts.Region, when); err != nil {
		return "", err
	}
	return c.Header.Get("Authorization"), nil
}

// bedrockError writes an error as Bedrock Runtime (restJson1) does.
func bedrockError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("x-amzn-ErrorType", typ+":http://internal.amazon.com/coral/com.amazon.coral.service/")
	w.Header().Set("x-amzn-RequestId", uuidLike())
	writeJSON(w, status, map[string]string{"message": msg})
}
