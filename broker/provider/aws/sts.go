package aws

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/awf-broker/awf-broker/broker/provider"
	"github.com/awf-broker/awf-broker/broker/secret"
)

// stsCredentials is the part of an AssumeRoleWithWebIdentity answer the
// broker keeps.
type stsCredentials struct {
	provider.AWSCredentials
	expiration time.Time
	requestID  string
}

// rawCredentials are the Credentials element in either encoding.
type rawCredentials struct {
	AccessKeyID     string          `xml:"AccessKeyId" json:"AccessKeyId"`
	SecretAccessKey string          `xml:"SecretAccessKey" json:"SecretAccessKey"`
	SessionToken    string          `xml:"SessionToken" json:"SessionToken"`
	ExpirationXML   string          `xml:"Expiration" json:"-"`
	ExpirationJSON  json.RawMessage `xml:"-" json:"Expiration"`
}

type xmlAnswer struct {
	XMLName     xml.Name        `xml:"AssumeRoleWithWebIdentityResponse"`
	Credentials *rawCredentials `xml:"AssumeRoleWithWebIdentityResult>Credentials"`
	RequestID   string          `xml:"ResponseMetadata>RequestId"`
}

type jsonAnswer struct {
	Response *struct {
		Result *struct {
			Credentials *rawCredentials `json:"Credentials"`
		} `json:"AssumeRoleWithWebIdentityResult"`
		Metadata struct {
			RequestID string `json:"RequestId"`
		} `json:"ResponseMetadata"`
	} `json:"AssumeRoleWithWebIdentityResponse"`
}

// isJSON reports whether an answer is JSON, by its Content-Type or, when
// that says neither, by its first byte.
func isJSON(ctype string, body []byte) bool {
	ctype = strings.ToLower(ctype)
	switch {
	case strings.Contains(ctype, "json"):
		return true
	case strings.Contains(ctype, "xml"):
		return false
	}
	b := bytes.TrimSpace(body)
	return len(b) > 0 && b[0] == '{'
}

// parseCredentials reads a successful answer. Its errors name the field
// or the format, never a value.
func parseCredentials(ctype string, body []byte) (stsCredentials, error) {
	var out stsCredentials
	var raw *rawCredentials
	if isJSON(ctype, body) {
		var a jsonAnswer
		if err := json.Unmarshal(body, &a); err != nil {
			return out, errors.New("the STS answer is not valid JSON")
		}
		if a.Response == nil || a.Response.Result == nil || a.Response.Result.Credentials == nil {
			return out, errors.New("the STS answer has no Credentials")
		}
		out.requestID, raw = a.Response.Metadata.RequestID, a.Response.Result.Credentials
	} else {
		var a xmlAnswer
		if err := xml.Unmarshal(body, &a); err != nil {
			return out, errors.New("the STS answer is neither JSON nor an AssumeRoleWithWebIdentityResponse document")
		}
		if a.Credentials == nil {
			return out, errors.New("the STS answer has no Credentials")
		}
		out.requestID, raw = a.RequestID, a.Credentials
	}
	for _, f := range []struct{ name, val string }{
		{"AccessKeyId", raw.AccessKeyID}, {"SecretAccessKey", raw.SecretAccessKey}, {"SessionToken", raw.SessionToken},
	} {
		if strings.TrimSpace(f.val) == "" {
			return out, fmt.Errorf("the STS answer's Credentials have no %s", f.name)
		}
	}
	exp, err := parseExpiration(raw)
	if err != nil {
		return out, err
	}
	out.AccessKeyID = raw.AccessKeyID
	out.SecretAccessKey = secret.New(raw.SecretAccessKey)
	out.SessionToken = secret.New(raw.SessionToken)
	out.expiration = exp
	return out, nil
}

// parseExpiration reads Expiration as an ISO-8601 string (XML, and JSON
// from some endpoints) or as epoch seconds, possibly fractional or in
// exponent form (JSON: 1.7643696E9).
func parseExpiration(raw *rawCredentials) (time.Time, error) {
	s := raw.ExpirationXML
	if len(raw.ExpirationJSON) > 0 {
		j := bytes.TrimSpace(raw.ExpirationJSON)
		if len(j) > 0 && j[0] != '"' {
			if string(j) == "null" {
				return time.Time{}, errors.New("the STS answer's Credentials have no Expiration")
			}
			f, err := strconv.ParseFloat(string(j), 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f <= 0 || f > 1e11 {
				return time.Time{}, errors.New("the STS answer's Expiration is not a number of epoch seconds")
			}
			sec, frac := math.Modf(f)
			return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
		}
		if err := json.Unmarshal(j, &s); err != nil {
			return time.Time{}, errors.New("the STS answer's Expiration is not a string or a number")
		}
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, errors.New("the STS answer's Credentials have no Expiration")
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f > 0 && f < 1e11 {
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("the STS answer's Expiration %.40q is not ISO-8601 or epoch seconds", s)
}

// stsErrorBody is the error element in either encoding.
type stsErrorBody struct {
	Type    string `xml:"Type" json:"Type"`
	Code    string `xml:"Code" json:"Code"`
	Message string `xml:"Message" json:"Message"`
}

// parseSTSError returns an error answer's code and message: XML
// <ErrorResponse><Error>…, JSON {"Error":{…}}, or the awsJson shape
// {"__type","message"}.
func parseSTSError(ctype string, body []byte) (code, msg string, reqID string, ok bool) {
	if isJSON(ctype, body) {
		var j struct {
			Error     *stsErrorBody `json:"Error"`
			RequestID string        `json:"RequestId"`
			Type      string        `json:"__type"`
			Message   string        `json:"message"`
		}
		if json.Unmarshal(body, &j) != nil {
			return "", "", "", false
		}
		if j.Error != nil && j.Error.Code != "" {
			return j.Error.Code, j.Error.Message, j.RequestID, true
		}
		if j.Type != "" {
			code := j.Type
			if i := strings.LastIndexByte(code, '#'); i >= 0 {
				code = code[i+1:]
			}
			return code, j.Message, j.RequestID, true
		}
		return "", "", "", false
	}
	var x struct {
		XMLName   xml.Name     `xml:"ErrorResponse"`
		Error     stsErrorBody `xml:"Error"`
		RequestID string       `xml:"RequestId"`
	}
	if xml.Unmarshal(body, &x) != nil || x.Error.Code == "" {
		return "", "", "", false
	}
	return x.Error.Code, x.Error.Message, x.RequestID, true
}

// Error codes by class (protocols.md §3).
var (
	permanentCodes = map[string]bool{
		"AccessDenied": true, "AccessDeniedException": true, "IDPRejectedClaim": true,
		"MalformedPolicyDocument": true, "PackedPolicyTooLarge": true, "RegionDisabledException": true,
		"ValidationError": true, "InvalidParameterValue": true, "InvalidParameterCombination": true,
		"MissingParameter": true, "InvalidAction": true, "InvalidQueryParameter": true,
	}
	transientCodes = map[string]bool{
		"IDPCommunicationError": true, "Throttling": true, "ThrottlingException": true,
		"RequestLimitExceeded": true, "ServiceUnavailable": true, "InternalFailure": true,
		"InternalError": true, "RequestTimeout": true,
	}
)

// jwtLike matches anything shaped like a JWT, so an echoed assertion is
// cut out of an upstream message even if it is not the one we sent.
var jwtLike = regexp.MustCompile(`eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.?[A-Za-z0-9_-]*`)

// maxMessage bounds the upstream message kept in an error.
const maxMessage = 500

// redactMessage makes an upstream message safe to log: the assertion and
// anything JWT-shaped removed, control characters dropped, length capped.
func redactMessage(msg, jwt string) string {
	if jwt != "" {
		msg = strings.ReplaceAll(msg, jwt, "[redacted]")
	}
	msg = jwtLike.ReplaceAllString(msg, "[redacted]")
	msg = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, msg)
	if len(msg) > maxMessage {
		msg = msg[:maxMessage] + "...[truncated]"
	}
	return msg
}

// stsError classifies a non-200 answer. Its text carries only the code and
// the redacted message.
func stsError(resp *http.Response, body []byte, reqID, jwt string) *provider.Error {
	e := &provider.Error{Op: "exchange", Status: resp.StatusCode, RequestID: reqID, RetryAfter: provider.RetryAfter(resp.Header)}
	code, msg, bodyReqID, ok := parseSTSError(resp.Header.Get("Content-Type"), body)
	if e.RequestID == "" {
		e.RequestID = redactMessage(bodyReqID, jwt)
	}
	if !ok {
		e.Kind = provider.KindOfStatus(resp.StatusCode)
		e.Code = http.StatusText(resp.StatusCode)
		e.Detail = "[redacted; not an STS error response]"
		return e
	}
	e.Code = redactMessage(code, jwt)
	e.Detail = redactMessage(msg, jwt)
	switch {
	case code == "ExpiredTokenException":
		e.Kind, e.Remint = provider.Transient, true
	case code == "InvalidIdentityToken":
		e.Kind = provider.Transient // Exchange counts the streak
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 || transientCodes[code]:
		e.Kind = provider.Transient
	case permanentCodes[code]:
		e.Kind = provider.Permanent
	default:
		e.Kind = provider.KindOfStatus(resp.StatusCode)
	}
	return e
}
