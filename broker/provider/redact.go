package provider

import (
	"encoding/json"

	anthropiccfg "github.com/anthropics/anthropic-sdk-go/v2/config"
)

// Redact returns a form of an upstream error body that is safe to log and
// show: for a JSON object only error, error_description and error_uri
// survive (providers have echoed assertions and tokens back), anything
// else becomes a placeholder, and the result is cut at 2,000 characters.
// It is the Anthropic SDK's RFC 6749 redactor, applied to every provider.
func Redact(body []byte) string {
	return anthropiccfg.RedactOAuthErrorBody(string(body))
}

// ErrorCode returns the machine error code of an upstream error body in
// any of the shapes the providers use: RFC 6749 {"error":"invalid_grant"},
// Anthropic's {"type":"error","error":{"type":"authentication_error"}},
// Google's {"error":{"status":"PERMISSION_DENIED"}}; "" otherwise.
func ErrorCode(body []byte) string {
	var v struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &v) != nil || len(v.Error) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(v.Error, &s) == nil {
		return s
	}
	var obj struct {
		Type   string `json:"type"`
		Status string `json:"status"`
	}
	if json.Unmarshal(v.Error, &obj) != nil {
		return ""
	}
	if obj.Type != "" {
		return obj.Type
	}
	return obj.Status
}
