package forward

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestAWSExpiredTokenIsHandledLikeA401(t *testing.T) {
	long := strings.Repeat("x", 10<<10)
	for _, tc := range []struct {
		name        string
		errType     string // x-amzn-ErrorType of the first answer; "" for none
		body        string // the first answer's body
		status      int    // what the client gets
		invalidates int64
		arrivals    int
		bearer      bool // the lease is not SigV4-signed
	}{
		{"ExpiredTokenException in x-amzn-ErrorType", "ExpiredTokenException:http://internal.amazon.com/coral/com.amazon.coral.service/",
			`{"message":"The security token included in the request is expired"}`, 200, 1, 2, false},
		{"ExpiredTokenException in the JSON body's __type", "",
			`{"__type":"com.amazon.coral.service#ExpiredTokenException","message":"expired"}`, 200, 1, 2, false},
		{"ExpiredToken in an XML body", "",
			`<ErrorResponse><Error><Type>Sender</Type><Code>ExpiredToken</Code><Message>expired</Message></Error></ErrorResponse>`, 200, 1, 2, false},
		{"AccessDeniedException is relayed", "AccessDeniedException:http://internal.amazon.com/coral/com.amazon.coral.service/",
			`{"message":"not authorized to invoke this model"}`, 403, 0, 1, false},
		{"a 403 with a long body and no code is relayed intact", "", long, 403, 0, 1, false},
		{"a non-SigV4 lease's 403 naming ExpiredTokenException in its body is relayed", "",
			`{"error":{"message":"upstream said: ExpiredTokenException"}}`, 403, 0, 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, harnessOpts{needsSHA: !tc.bearer, provider: ProviderAWS})
			h.up.route = func(w http.ResponseWriter, r *http.Request, body []byte) {
				if h.broker.invalidates.Load() == 0 {
					if tc.errType != "" {
						w.Header().Set("X-Amzn-Errortype", tc.errType)
					}
					w.WriteHeader(http.StatusForbidden)
					io.WriteString(w, tc.body)
					return
				}
				w.Write(body)
			}
			payload := `{"messages":[{"role":"user","content":[{"text":"hi"}]}]}`
			resp, body := h.do("POST", "/model/m/converse", strings.NewReader(payload), nil)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if tc.status == 200 && string(body) != payload {
				t.Errorf("replay answered %q, want the request's body echoed", body)
			}
			if tc.status == 403 && string(body) != tc.body {
				t.Errorf("relayed 403 body %d bytes, want the upstream's %d intact", len(body), len(tc.body))
			}
			if n := h.broker.invalidates.Load(); n != tc.invalidates {
				t.Errorf("invalidate called %d times, want %d", n, tc.invalidates)
			}
			reqs := h.up.requests()
			if len(reqs) != tc.arrivals {
				t.Fatalf("%d upstream arrivals, want %d", len(reqs), tc.arrivals)
			}
			for i, r := range reqs {
				if !bytes.Equal(r.Body, []byte(payload)) {
					t.Errorf("arrival %d carried %q", i, r.Body)
				}
			}
		})
	}
}

func TestIsExpiredTokenCode(t *testing.T) {
	for v, want := range map[string]bool{
		"ExpiredTokenException:http://internal.amazon.com/coral/com.amazon.coral.service/": true,
		"ExpiredTokenException": true,
		"ExpiredToken":          true,
		"AccessDeniedException:http://internal.amazon.com/coral/": false,
		"UnrecognizedClientException":                             false,
		"NotExpiredTokenException":                                false,
		"":                                                        false,
	} {
		if got := isExpiredTokenCode(v); got != want {
			t.Errorf("isExpiredTokenCode(%q) = %v, want %v", v, got, want)
		}
	}
}
