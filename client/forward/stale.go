package forward

import (
	"bytes"
	"io"
	"net/http"
	"strings"
)

// staleBodyPeek is how much of a 403's body is read to find an AWS error
// code that is not in the x-amzn-ErrorType header.
const staleBodyPeek = 4 << 10

// mustReplay reports whether resp says the credential itself is stale, so
// that the broker should re-exchange it and the request be replayed once:
// a 401, or AWS's 403 ExpiredTokenException (ExpiredToken in the XML
// protocols), which Bedrock answers for expired STS keys (its error code is
// in x-amzn-ErrorType, "Code:namespace"; JSON protocols put it in the body's
// __type). The body is peeked only under a SigV4 lease (sigV4): another
// upstream's 403 may echo the text without meaning it. A 403 whose body is
// peeked keeps its bytes for the relay.
func (f *Forwarder) mustReplay(resp *http.Response, sigV4 bool) bool {
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		return true
	case http.StatusForbidden:
	default:
		return false
	}
	if et := resp.Header.Get("X-Amzn-Errortype"); et != "" {
		return isExpiredTokenCode(et)
	}
	if !sigV4 {
		return false
	}
	peek, err := io.ReadAll(io.LimitReader(resp.Body, staleBodyPeek))
	resp.Body = readCloser{io.MultiReader(bytes.NewReader(peek), errReader{err}, resp.Body), resp.Body}
	return bytes.Contains(peek, []byte("ExpiredTokenException")) ||
		bytes.Contains(peek, []byte("<Code>ExpiredToken</Code>"))
}

// isExpiredTokenCode reports whether an x-amzn-ErrorType value names
// ExpiredTokenException ("ExpiredTokenException:http://internal.amazon.com/…").
func isExpiredTokenCode(v string) bool {
	code, _, _ := strings.Cut(v, ":")
	code = strings.TrimSpace(code)
	return code == "ExpiredTokenException" || code == "ExpiredToken"
}

// readCloser reads from one reader and closes another.
type readCloser struct {
	io.Reader
	io.Closer
}

// errReader returns err, or nothing when err is nil.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	return 0, io.EOF
}
