package provider

import (
	"errors"
	"fmt"
	"testing"
)

func TestKindOfStatus(t *testing.T) {
	for status, want := range map[int]Kind{
		400: Permanent, 401: Permanent, 403: Permanent, 404: Permanent,
		408: Transient, 429: Transient, 500: Transient, 502: Transient, 503: Transient,
	} {
		if got := KindOfStatus(status); got != want {
			t.Errorf("KindOfStatus(%d) = %v, want %v", status, got, want)
		}
	}
}

type permErr struct{}

func (permErr) Error() string   { return "job completed" }
func (permErr) Permanent() bool { return true }

func TestIsPermanent(t *testing.T) {
	cases := []struct {
		err  error
		want bool
	}{
		{&Error{Kind: Permanent}, true},
		{&Error{Kind: Transient}, false},
		{fmt.Errorf("wrapped: %w", &Error{Kind: Permanent}), true},
		{fmt.Errorf("wrapped: %w", permErr{}), true},
		{errors.New("plain"), false},
		{nil, false},
	}
	for _, c := range cases {
		if got := IsPermanent(c.err); got != c.want {
			t.Errorf("IsPermanent(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

func TestErrorMessage(t *testing.T) {
	e := &Error{Op: "exchange", Status: 400, RequestID: "req_1", Code: "invalid_grant", Detail: `{"error":"invalid_grant"}`}
	want := `exchange failed (status 400, request-id req_1): invalid_grant: {"error":"invalid_grant"}`
	if e.Error() != want {
		t.Errorf("got %q\nwant %q", e.Error(), want)
	}
}
