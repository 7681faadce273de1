package forward

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Provider names that shape the forwarder's own error bodies, so that the
// agent's SDK parses them as it parses the provider's errors.
const (
	ProviderAnthropic = "anthropic"
	ProviderOpenAI    = "openai"
	ProviderAzure     = "azure"
	ProviderAWS       = "aws"
	ProviderGCP       = "gcp"
)

// GuessProvider names the provider an upstream host most likely belongs to,
// defaulting to Anthropic. It only shapes error bodies.
func GuessProvider(host string) string {
	h := strings.ToLower(host)
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.HasSuffix(h, "]") {
		h = h[:i]
	}
	switch {
	case h == "api.openai.com":
		return ProviderOpenAI
	case strings.HasSuffix(h, ".openai.azure.com"), strings.HasSuffix(h, ".cognitiveservices.azure.com"),
		strings.HasSuffix(h, ".services.ai.azure.com"):
		return ProviderAzure
	case strings.HasSuffix(h, ".amazonaws.com"):
		return ProviderAWS
	case strings.HasSuffix(h, ".googleapis.com"):
		return ProviderGCP
	}
	return ProviderAnthropic
}

// failure is an answer the forwarder gives itself instead of the upstream's.
type failure struct {
	status     int
	msg        string
	retryAfter time.Duration
}

func (f *failure) Error() string { return f.msg }

func fail(status int, msg string) *failure { return &failure{status: status, msg: msg} }

// writeFailure answers f with a JSON body shaped like the provider's errors.
func writeFailure(w http.ResponseWriter, provider string, f *failure) {
	h := w.Header()
	for k := range h {
		if k != requestIDHeader {
			delete(h, k)
		}
	}
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	if f.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int((f.retryAfter+time.Second-1)/time.Second)))
	}
	var body any
	switch provider {
	case ProviderOpenAI, ProviderAzure:
		body = map[string]any{"error": map[string]any{
			"message": f.msg, "type": openAIType(f.status), "param": nil, "code": nil,
		}}
	case ProviderAWS:
		// AWS SDKs read the error code from this header and the message from the body.
		h.Set("X-Amzn-Errortype", awsType(f.status))
		body = map[string]string{"message": f.msg}
	case ProviderGCP:
		body = map[string]any{"error": map[string]any{
			"code": f.status, "message": f.msg, "status": gcpStatus(f.status),
		}}
	default:
		body = map[string]any{"type": "error", "error": map[string]string{
			"type": anthropicType(f.status), "message": f.msg,
		}}
	}
	b, _ := json.Marshal(body)
	b = append(b, '\n')
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(f.status)
	_, _ = w.Write(b)
}

func anthropicType(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "invalid_request_error"
	case http.StatusForbidden:
		return "permission_error"
	case http.StatusRequestEntityTooLarge:
		return "request_too_large"
	}
	return "api_error"
}

func openAIType(status int) string {
	switch status {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		return "invalid_request_error"
	case http.StatusForbidden:
		return "permission_error"
	}
	return "api_error"
}

func awsType(status int) string {
	switch status {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		return "ValidationException"
	case http.StatusForbidden:
		return "AccessDeniedException"
	case http.StatusServiceUnavailable:
		return "ServiceUnavailableException"
	}
	return "InternalServerException"
}

func gcpStatus(status int) string {
	switch status {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		return "INVALID_ARGUMENT"
	case http.StatusForbidden:
		return "PERMISSION_DENIED"
	case http.StatusServiceUnavailable:
		return "UNAVAILABLE"
	}
	return "INTERNAL"
}
