package server

import (
	"bytes"
	"io"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/awf-broker/awf-broker/api"
)

func TestParsePlainHeadersRequest(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		plain      bool
		want       api.HeadersRequest
	}{
		{"forwarder", `{"method":"POST","url":"https://api.anthropic.com/v1/messages"}`, true,
			api.HeadersRequest{Method: "POST", URL: "https://api.anthropic.com/v1/messages"}},
		{"all fields, spaced", " {\t\"method\" : \"GET\",\n\"url\":\"https://a/\", \"headers\" : { \"x\" : \"1\" , \"y\":\"\" },\"body_sha256\":\"00\"}\r\n", true,
			api.HeadersRequest{Method: "GET", URL: "https://a/", Headers: map[string]string{"x": "1", "y": ""}, BodySHA256: "00"}},
		{"empty object", `{}`, true, api.HeadersRequest{}},
		{"empty headers", `{"headers":{}}`, true, api.HeadersRequest{Headers: map[string]string{}}},
		{"header twice keeps the last", `{"headers":{"x":"1","x":"2"}}`, true, api.HeadersRequest{Headers: map[string]string{"x": "2"}}},
		{"escape", `{"method":"P\u004fST"}`, false, api.HeadersRequest{}},
		{"non-ASCII", `{"url":"https://é/"}`, false, api.HeadersRequest{}},
		{"DEL", "{\"url\":\"\x7f\"}", false, api.HeadersRequest{}},
		{"case-folded name", `{"Method":"POST"}`, false, api.HeadersRequest{}},
		{"unknown name", `{"colour":"red"}`, false, api.HeadersRequest{}},
		{"field twice", `{"method":"GET","method":"POST"}`, false, api.HeadersRequest{}},
		{"null", `{"method":null}`, false, api.HeadersRequest{}},
		{"null headers", `{"headers":null}`, false, api.HeadersRequest{}},
		{"number", `{"headers":{"x":1}}`, false, api.HeadersRequest{}},
		{"trailing value", `{} {}`, false, api.HeadersRequest{}},
		{"trailing comma", `{"method":"GET",}`, false, api.HeadersRequest{}},
		{"unterminated", `{"method":"GET"`, false, api.HeadersRequest{}},
		{"not an object", `"x"`, false, api.HeadersRequest{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var req api.HeadersRequest
			plain := parsePlainHeadersRequest([]byte(tc.body), &req)
			if plain != tc.plain {
				t.Fatalf("plain = %t, want %t", plain, tc.plain)
			}
			if plain && !reflect.DeepEqual(req, tc.want) {
				t.Fatalf("decoded %+v, want %+v", req, tc.want)
			}
		})
	}
}

// timeoutErr is a read that hit its deadline.
type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

// sameAsDecode checks that decodeHeaders answers a body exactly as the
// general decoder does: the same request, the same problem, the same
// Connection header. The body ends with readErr after its bytes (nil:
// it ends where its Content-Length says).
func sameAsDecode(t *testing.T, body []byte, readErr error) {
	t.Helper()
	s := New(Config{})
	call := func() *call {
		var rd io.Reader = bytes.NewReader(body)
		if readErr != nil {
			rd = io.MultiReader(rd, errReader{readErr})
		}
		r := httptest.NewRequest("POST", "/v1/leases/x/headers", rd)
		r.ContentLength = int64(len(body))
		if readErr != nil {
			r.ContentLength++
		}
		return &call{w: httptest.NewRecorder(), r: r}
	}
	plainCall, jsonCall := call(), call()
	var plain, general api.HeadersRequest
	perr := s.decodeHeaders(plainCall, &plain)
	gerr := s.decode(jsonCall, &general, false)
	if !reflect.DeepEqual(perr, gerr) {
		t.Fatalf("body %q: decodeHeaders answered %v, decode %v", body, perr, gerr)
	}
	if gerr == nil && !reflect.DeepEqual(plain, general) {
		t.Fatalf("body %q: decodeHeaders decoded %+v, decode %+v", body, plain, general)
	}
	if p, g := plainCall.w.Header().Get("Connection"), jsonCall.w.Header().Get("Connection"); p != g {
		t.Fatalf("body %q: Connection %q, decode's %q", body, p, g)
	}
}

func TestDecodeHeadersAnswersAsDecode(t *testing.T) {
	for _, tc := range []struct {
		name    string
		body    string
		readErr error
	}{
		{"plain", `{"method":"POST","url":"https://a/v1"}`, nil},
		{"escaped", `{"method":"POST","url":"https:\/\/a/v1"}`, nil},
		{"unknown field", `{"method":"POST","colour":"red"}`, nil},
		{"case-folded", `{"METHOD":"POST"}`, nil},
		{"malformed", `{"method":`, nil},
		{"wrong type", `{"headers":{"a":1}}`, nil},
		{"trailing", `{} x`, nil},
		{"spaces only", `   `, nil},
		{"short body", `{"method":"POST"`, io.ErrUnexpectedEOF},
		{"complete value, short body", `{}`, io.ErrUnexpectedEOF},
		{"body timed out", `{"method":"PO`, timeoutErr{}},
		{"nothing arrived in time", ``, timeoutErr{}},
		{"past the plain bound", `{"url":"https://a/` + string(bytes.Repeat([]byte("a"), maxPlainBody)) + `"}`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) { sameAsDecode(t, []byte(tc.body), tc.readErr) })
	}
}

// FuzzDecodeHeadersAsDecode: whatever the body, plain or not, complete or
// cut short, decodeHeaders answers as the general decoder does.
func FuzzDecodeHeadersAsDecode(f *testing.F) {
	for _, s := range []string{`{"method":"POST","url":"https://a/"}`, `{"method":"GET","url":"https://a/","headers":{"x":"y","x":"z"},"body_sha256":"00"}`,
		`{"headers":{}}`, `{"Url":"x"}`, `{"method":"\u0050"}`, `{} {}`, ``, `null`, `{"headers":null}`, "{\"url\":\"\xff\"}"} {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, body []byte, short bool) {
		var readErr error
		if short {
			readErr = io.ErrUnexpectedEOF
		}
		sameAsDecode(t, body, readErr)
	})
}
