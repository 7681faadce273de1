package forward

import (
	"net"
	"net/http"
	"time"
)

// DefaultTransport returns the upstream transport a Forwarder uses when its
// Config has none: http.DefaultTransport's settings, proxies from
// HTTPS_PROXY/HTTP_PROXY/NO_PROXY, a keep-alive pool sized for 64+
// concurrent requests, no transparent decompression (bodies pass through
// byte for byte), and responseHeaderTimeout (default 10 minutes) to wait for
// the upstream's response headers.
func DefaultTransport(responseHeaderTimeout time.Duration) *http.Transport {
	if responseHeaderTimeout <= 0 {
		responseHeaderTimeout = 10 * time.Minute
	}
	var t *http.Transport
	if dt, ok := http.DefaultTransport.(*http.Transport); ok {
		t = dt.Clone()
	} else {
		t = &http.Transport{ForceAttemptHTTP2: true}
	}
	t.Proxy = http.ProxyFromEnvironment
	t.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 10 * time.Second
	t.ResponseHeaderTimeout = responseHeaderTimeout
	t.ExpectContinueTimeout = time.Second
	t.IdleConnTimeout = 90 * time.Second
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 128
	t.DisableCompression = true
	return t
}
