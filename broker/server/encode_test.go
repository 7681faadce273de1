package server

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/awf-broker/awf-broker/api"
)

// TestAppendHeadersResponse checks the hand-rolled encoder against
// encoding/json, byte for byte.
func TestAppendHeadersResponse(t *testing.T) {
	until := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		set    map[string]string
		remove []string
	}{
		{nil, nil},
		{map[string]string{}, []string{}},
		{map[string]string{"authorization": "Bearer sk-ant-oat01-x", "anthropic-beta": "a,oauth-2025-04-20", "anthropic-version": "2023-06-01"}, []string{"x-api-key"}},
		{map[string]string{"x-amz-date": "20261128T120000Z", "authorization": "AWS4-HMAC-SHA256 Credential=AKIA/20261128/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc"}, nil},
		{map[string]string{"weird": "quote\" back\\ nl\n cr\r tab\t bell\x07 <tag> & \u2028 \u2029 é 日本 \xff\xfe end"}, []string{"<", "\x00"}},
	}
	for _, c := range cases {
		got := string(appendHeadersResponse(nil, c.set, c.remove, until))
		set, remove := c.set, c.remove
		if set == nil {
			set = map[string]string{}
		}
		if remove == nil {
			remove = []string{}
		}
		want, err := json.Marshal(api.HeadersResponse{Set: set, Remove: remove, ValidUntil: until})
		if err != nil {
			t.Fatal(err)
		}
		if got != string(want)+"\n" {
			t.Errorf("appendHeadersResponse:\n got %s\nwant %s", got, want)
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "a", "\"\\", "\x00\x1f\x7f", "<>&", "\u2028\u2029", "\xff", "日本語"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendJSONString(nil, s); string(got) != string(want) {
			t.Errorf("appendJSONString(%q) = %s, want %s", s, got, want)
		}
	})
}
